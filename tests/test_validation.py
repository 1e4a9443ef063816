"""Bad arguments fail at once with a message naming what was expected and given, and
change nothing; odd inputs (NaN/Inf, empty batches, other dtypes, low rank) give a
clear error or the documented result, never a damaged parameter."""

import re
import warnings

import keras
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from keras_defer import ShapeMismatchError, init, nd
from keras_defer.gluon import nn, rnn
from keras_defer.parameter import Parameter
from tests.robustness_helpers import FAST, assert_same_state, mlp, state

# -- constructors --------------------------------------------------------------------------
DENSE_BAD = [
    (dict(units=0), ValueError, r"units must be an int >= 1, got 0"),
    (dict(units=-3), ValueError, r"units must be an int >= 1, got -3"),
    (dict(units=2.0), TypeError, r"units must be an int >= 1, got 2.0 of type float"),
    (dict(units=True), TypeError, r"units .* got True of type bool"),
    (dict(units="4"), TypeError, r"units .* got '4' of type str"),
    (dict(units=None), TypeError, r"units .* got None"),
    (dict(units=3, in_units="4"), TypeError, r"in_units must be an int >= 0, got '4'"),
    (dict(units=3, in_units=4.0), TypeError, r"in_units .* got 4.0 of type float"),
    (dict(units=3, in_units=-1), ValueError, r"in_units must be an int >= 0, got -1"),
    (dict(units=3, in_units=(4,)), TypeError, r"in_units .* got \(4,\)"),
    (dict(units=3, activation="relux"), ValueError, r"Unknown activation 'relux'.*relu"),
    (dict(units=3, activation=len), TypeError, r"activation must be a name"),
    (dict(units=3, use_bias="no"), TypeError, r"use_bias must be True or False, got 'no'"),
    (dict(units=3, flatten=None), TypeError, r"flatten must be True or False, got None"),
    (dict(units=3, dtype="floaty"), TypeError, r"Parameter '.*weight': dtype must be a NumPy"),
    (dict(units=3, weight_initializer="nope"), ValueError, r"Unknown initializer 'nope'"),
    (dict(units=3, weight_initializer=3), TypeError, r"Expected an initializer.*got 3"),
    (dict(units=3, bias_initializer=object()), TypeError, r"Expected an initializer"),
    (dict(units=3, prefix=5), TypeError, r"prefix must be a str, got 5"),
    (dict(units=3, params={}), TypeError, r"params must be a ParameterDict"),
]


@pytest.mark.parametrize("kwargs,error,message", DENSE_BAD,
                         ids=[re.sub(r" at 0x[0-9a-f]+", "", repr(k)) for k, _, _ in DENSE_BAD])
def test_dense_rejects_bad_arguments_at_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.Dense(**kwargs)


def test_numpy_integers_and_bools_are_accepted():
    dense = nn.Dense(np.int64(3), in_units=np.int32(2), use_bias=np.bool_(False))
    dense.initialize()
    assert dense.weight.shape == (3, 2) and dense.bias is None


@FAST
@given(units=st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3),
                       st.none(), st.booleans(), st.lists(st.integers(1, 3), max_size=2)))
def test_any_bad_units_is_refused_naming_the_argument(units):
    with pytest.raises((TypeError, ValueError), match="units must be an int >= 1, got"):
        nn.Dense(units)


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.Activation("nope"), ValueError, "Unknown activation 'nope'"),
    (lambda: nn.Activation(None), TypeError, "expects a name"),
    (lambda: nn.Sequential(prefix=3), TypeError, "prefix must be a str"),
    (lambda: nn.HybridSequential(params=[]), TypeError, "params must be a ParameterDict"),
    (lambda: Parameter(""), TypeError, "non-empty str"),
    (lambda: Parameter("w", shape=(2, -1)), ValueError, "ints >= 0"),
    (lambda: Parameter("w", shape="ab"), ValueError, "ints >= 0"),
    (lambda: Parameter("w", shape=2.5), TypeError, "int or a tuple"),
    (lambda: Parameter("w", grad_req="sometimes"), ValueError, "grad_req must be one of"),
    (lambda: Parameter("w", init="nope"), ValueError, "Unknown initializer"),
])
def test_other_constructors_reject_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


# Formerly strict xfails ("conv/pool/norm/dropout constructors do not check these yet"):
# now refused at construction, with the error type each case must raise.
@pytest.mark.parametrize("make,error", [
    (lambda: nn.Conv2D(2, 0), ValueError),
    (lambda: nn.Conv2D(2, 3, strides=-1), ValueError),
    (lambda: nn.MaxPool2D(0), ValueError),
    (lambda: nn.BatchNorm(epsilon=-1), ValueError),
    (lambda: nn.BatchNorm(momentum=2), ValueError),
    (lambda: nn.BatchNorm(axis="a"), TypeError),
], ids=["conv-kernel-0", "conv-stride--1", "pool-0", "bn-eps", "bn-momentum", "bn-axis"])
def test_known_gaps_elsewhere(make, error):
    with pytest.raises(error):
        make()


def test_layers_outside_basic_layers_already_checking():
    for make in (lambda: nn.Conv2D(0, 3), lambda: nn.Conv2D(2, 3, activation="nope"),
                 lambda: nn.Conv2D(2, 3, in_channels="3"), lambda: nn.Dropout(2),
                 lambda: nn.Embedding(0, 3), lambda: rnn.LSTM(0),
                 lambda: rnn.LSTM(3, num_layers=0)):
        with pytest.raises((TypeError, ValueError)):
            make()


# -- methods: the error comes first, nothing changes ------------------------------------------
GARBAGE = st.one_of(st.integers(), st.floats(), st.text(min_size=1, max_size=8)
                    .filter(lambda s: s.lower() not in init._registry and
                            s.lower() not in ("zeros", "ones", "xavier_uniform")),
                    st.lists(st.integers(), max_size=2), st.just(object()), st.just(len))


def _net_in_every_state():
    """(never initialized, deferred, partly initialized, run) nets."""
    nets = [mlp((4, 3)), mlp((4, 3)), mlp((4, 3), in_units={0: 5}), mlp((4, 3))]
    nets[1].initialize()
    nets[2].initialize()
    nets[3].initialize()
    nets[3](nd.ones((2, 5)))
    return nets


NETS = {}


@FAST
@given(garbage=GARBAGE, which=st.integers(0, 3))
def test_initialize_with_garbage_raises_and_changes_nothing(garbage, which):
    net = NETS.setdefault("nets", _net_in_every_state())[which]
    before = state(net)
    try:
        from keras_defer import init as init_module

        init_module.create(garbage)
    except (TypeError, ValueError):
        pass
    else:  # some strings are Keras initializer names: those are fine
        return
    with pytest.raises((TypeError, ValueError), match="initializer"):
        net.initialize(init=garbage, force_reinit=True)
    assert_same_state(before, state(net))
    for param in net.collect_params().values():
        with pytest.raises((TypeError, ValueError), match="initializer"):
            param.initialize(init=garbage, force_reinit=True)
    assert_same_state(before, state(net))


@pytest.mark.parametrize("flag", ["yes", 1, None, 0.0, [True]])
def test_force_reinit_and_verbose_must_be_bools(flag):
    for net in _net_in_every_state():
        before = state(net)
        with pytest.raises(TypeError, match="force_reinit must be True or False"):
            net.initialize(force_reinit=flag)
        with pytest.raises(TypeError, match="verbose must be True or False"):
            net.initialize(verbose=flag)
        with pytest.raises(TypeError, match="force_reinit"):
            net[0].bias.initialize(force_reinit=flag)
        assert_same_state(before, state(net))


@FAST
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple),
       which=st.sampled_from([1, 3]))
def test_set_data_with_a_wrong_shape_changes_nothing(shape, which):
    net = NETS.setdefault("nets", _net_in_every_state())[which]
    param = net[0].weight
    fits = (len(shape) == 2 and shape[0] == 4 and shape[1] > 0
            and (param.shape[1] in (0, shape[1])))
    if fits:
        return
    before = state(net)
    with pytest.raises(ValueError, match="set_data got shape"):
        param.set_data(np.ones(shape, "float32"))
    assert_same_state(before, state(net))


def test_set_data_with_a_wrong_type_changes_nothing():
    for net in _net_in_every_state()[1:]:
        before = state(net)
        for bad in ("abc", None, {"a": 1}, 3, [["a", "b"]]):
            with pytest.raises((TypeError, ValueError), match="weight"):
                net[0].weight.set_data(bad)
        assert_same_state(before, state(net))
    net = mlp((2,), in_units={0: 2})
    net.initialize()
    net[0].weight.set_data([[1, 2], [3, 4]])  # nested lists are arrays
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), [[1, 2], [3, 4]])


@pytest.mark.parametrize("select,error,message", [
    ("dense((", ValueError, r"not a valid regular expression"),
    ("*weight", ValueError, r"select='\*weight'"),
    (5, TypeError, "select must be a regular expression"),
    (["weight"], TypeError, "select must be a regular expression"),
])
def test_collect_params_with_a_bad_selector(select, error, message):
    net = mlp((3,))
    with pytest.raises(error, match=message) as info:
        net.collect_params(select)
    assert net.name in str(info.value)
    assert list(net.collect_params(re.compile(".*bias")).keys()) == [net[0].bias.name]


def test_parameter_dict_setattr_checks_before_changing():
    net = mlp((3, 2))
    params = net.collect_params()
    with pytest.raises(ValueError, match="grad_req must be one of"):
        params.setattr("grad_req", "sometimes")
    assert all(p.grad_req == "write" for p in params.values())


# -- odd inputs ----------------------------------------------------------------------------
def test_nan_and_inf_inputs_propagate_and_never_touch_parameters():
    """Documented: NaN/Inf are data, not errors. The first pass only reads shapes."""
    net = mlp((4, 3))
    net.initialize(init.One())
    x = np.array([[np.nan, 1, 2], [np.inf, -np.inf, 0]], "float32")
    out = keras.ops.convert_to_numpy(net(nd.array(x)))
    assert out.shape == (2, 3) and not np.isfinite(out).all()
    for param in net.collect_params().values():
        assert np.isfinite(keras.ops.convert_to_numpy(param.data())).all()
    before = state(net)
    net(nd.array(x))
    assert_same_state(before, state(net))


def test_an_empty_batch_infers_shapes_like_any_other_batch():
    """Documented: batch size 0 is a valid first pass (as in Gluon): shapes come from
    the feature dims, initializers run, the output has 0 rows."""
    net = mlp((4, 3))
    net.initialize()
    out = net(nd.ones((0, 5)))
    assert tuple(out.shape) == (0, 3)
    assert net[0].weight.shape == (4, 5)
    assert tuple(net(nd.ones((2, 5))).shape) == (2, 3)


def test_wrong_dtypes_rank_and_types():
    net = mlp((4, 3))
    net.initialize()
    before = state(net)
    with pytest.raises(TypeError, match=r"input dtype int32 does not match the parameters' "
                       r"float32.*astype\('float32'\)"):
        net(np.ones((2, 5), "int32"))
    assert_same_state(before, state(net))
    with pytest.raises(ShapeMismatchError, match=r"rank >= 2.*got shape \(5,\)"):
        net(nd.ones((5,)))
    with pytest.raises(ShapeMismatchError, match="rank >= 2"):
        net(nd.ones(()))
    with pytest.raises(TypeError, match="expects a tensor"):
        net([[1.0, 2.0]])
    assert_same_state(before, state(net))
    # Documented: float64 is cast to the parameters' float32 (Keras autocast).
    out = net(np.ones((2, 5), "float64"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    with pytest.raises(TypeError, match="input dtype int32"):
        net(np.ones((2, 5), "int32"))  # the same error after the first pass


def test_parameter_initialize_on_a_deferred_shape_validates_now():
    p = Parameter("w", shape=(3, 0), allow_deferred_init=True)
    with pytest.raises(TypeError, match="Expected an initializer"):
        p.initialize(init=object())
    assert p.pending is None
    with pytest.raises(TypeError, match="Expected an initializer"):
        p.initialize(default_init=42)
    assert p.pending is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p.initialize(init="ones")
    assert p.pending is not None  # registered for the first pass


# -- constructors of the conv, pool, norm, dropout, embedding, RNN and lambda blocks ----------
# Each argument is checked before Block.__init__ draws a name: TypeError for a wrong type,
# ValueError for a right type out of range. The message reads
# "<Block>: <argument> must be <expected>, got <value>[ of type <type>]".
#
# Matched against MXNet 1.9.1 (../shared/tools/mxnet-venv), case by case:
# * kernel_size/pool_size tuples of the wrong length: MXNet asserts "kernel_size must be a
#   number or a list of 2 ints" (AssertionError, before its name is drawn); we raise
#   ValueError (TypeError for non-int entries or a str, which MXNet also asserts on).
# * a layout of another dimensionality: MXNet asserts (AssertionError "Only supports 'NCHW'
#   and 'NHWC' layout for now"); we raise ValueError (TypeError for a non-str). Unlike
#   MXNet, Conv1D also takes 'NWC'.
# * kernel 0, strides <= 0, dilation 0, channels 0, groups not dividing channels or
#   in_channels, output_padding >= strides: MXNetErrors from the operator's shape check at
#   construction (groups=0 even kills MXNet with SIGFPE); we raise ValueError.
# * Lambda/HybridLambda of a non-callable: MXNet's ValueError "Unrecognized function in
#   lambda" — matched (type and wording), for ints too. An unknown function name is an
#   AssertionError in MXNet, a ValueError here.
# * RNN(activation='sigmoid'): MXNet's KeyError 'rnn_sigmoid'; a ValueError here.
# * MXNet accepts, and fails later or silently computes garbage with: padding < 0 (a crop),
#   pool_size 0 or 2.5, epsilon <= 0 or 'a', momentum 2, axis 'a', Dropout(1) and (-0.5),
#   negative Dropout axes (fails at the first pass), Embedding(0, 3) and (3.0, 3),
#   LSTM(0), LSTM(3.0), dropout 1.5, bidirectional='yes', input_size=-1, unknown
#   initializer names (fail at initialize()), use_bias='no'. All refused here.
from collections import namedtuple  # noqa: E402

from keras_defer import naming  # noqa: E402

# A kind of argument: a strategy of (bad value, error type) pairs, and fixed examples of them.
Kind = namedtuple("Kind", "bad examples")

_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
_ODD = st.sampled_from(["", "abc", "NCHW ", "nchw", "TNC", "NTC", "NCW", "NWC", "NCHW",
                        "NHWC", "NCDHW", "NDHWC"])
_NOT_STR = st.one_of(st.integers(-3, 3), st.floats(allow_nan=False), st.none(),
                     st.booleans(), st.lists(st.integers(0, 3), max_size=2))
_ZZ = st.text(alphabet="qxz_", min_size=1, max_size=5).map(lambda s: "zz" + s)


def _typed(strategy, error):
    return strategy.map(lambda v: (v, error))


def int_kind(minimum):
    return Kind(st.one_of(
        _typed(st.integers(max_value=minimum - 1), ValueError),
        _typed(st.integers(-5, minimum - 1).map(np.int64), ValueError),
        _typed(st.one_of(st.floats(), st.text(max_size=2), st.none(), st.booleans(),
                         st.just(np.bool_(True)), st.tuples(st.integers(1, 3))), TypeError)),
        [(minimum - 1, ValueError), (float(minimum + 1), TypeError), (True, TypeError),
         (str(minimum + 1), TypeError), (None, TypeError)])


def ints_kind(ndim, minimum):
    ok = st.integers(minimum, minimum + 3)
    full = st.lists(ok, min_size=ndim, max_size=ndim)

    def replace(values, index, new):
        return tuple(values[:index]) + (new,) + tuple(values[index + 1:])

    good = (minimum + 1,) * ndim
    return Kind(st.one_of(
        _typed(st.integers(max_value=minimum - 1), ValueError),
        st.lists(ok, max_size=4).filter(lambda v: len(v) != ndim).flatmap(  # wrong length
            lambda v: st.sampled_from([(tuple(v), ValueError), (list(v), ValueError)])),
        full.flatmap(lambda v: st.integers(0, ndim - 1).map(  # one entry too small
            lambda i: (replace(v, i, minimum - 1), ValueError))),
        full.flatmap(lambda v: st.tuples(  # one entry not an int
            st.integers(0, ndim - 1),
            st.one_of(st.floats(), st.booleans(), st.text(max_size=1), st.none())).map(
            lambda p: (replace(v, p[0], p[1]), TypeError))),
        _typed(st.one_of(st.floats(), st.text(max_size=3), st.none(), st.booleans(),
                         st.just({1: 2})), TypeError)),
        [(minimum - 1, ValueError), (good + (minimum,), ValueError),
         (replace(good, ndim - 1, minimum - 1), ValueError),
         (replace(good, 0, float(minimum + 1)), TypeError), (float(minimum), TypeError),
         (str(minimum + 1), TypeError)])


def real_kind(low, high, low_open, high_open):
    def out_of_range(v):
        return (v != v or v < low or (low_open and v == low) or (high is None and v == np.inf)
                or (high is not None and (v > high or (high_open and v == high))))
    examples = [(float("nan"), ValueError), (low - 1, ValueError), ("0.5", TypeError),
                (True, TypeError), (None, TypeError)]
    examples += [(low, ValueError)] if low_open else []
    examples += [(high, ValueError)] if high is not None and high_open else []
    examples += [(high + 0.5, ValueError)] if high is not None else [(np.inf, ValueError)]
    return Kind(st.one_of(
        _typed(st.floats().filter(out_of_range), ValueError),
        _typed(st.one_of(st.text(max_size=3), st.none(), st.booleans(),
                         st.lists(st.floats(0, 0.5), max_size=1)), TypeError)), examples)


def choice_kind(choices):
    return Kind(st.one_of(
        _typed(st.one_of(_ODD, st.text(max_size=4)).filter(lambda v: v not in choices),
               ValueError),
        _typed(_NOT_STR, TypeError)),
        [("abc", ValueError), (choices[0].lower() + " ", ValueError), (1, TypeError),
         (None, TypeError)])


BOOL = Kind(_typed(st.one_of(st.integers(), st.text(max_size=3), st.none(),
                             st.floats(allow_nan=False), st.lists(st.booleans(), max_size=1)),
                   TypeError),
            [(1, TypeError), ("yes", TypeError), (None, TypeError)])
# count_include_pad=None means True, as in MXNet ("expect boolean or None")
BOOL_OR_NONE = Kind(BOOL.bad.filter(lambda pair: pair[0] is not None),
                    [(1, TypeError), ("yes", TypeError)])
INIT = Kind(st.one_of(_typed(_ZZ, ValueError),
                      _typed(st.one_of(st.integers(), st.floats(allow_nan=False),
                                       st.just(object()), st.lists(st.integers(), max_size=1)),
                             TypeError)),
            [("nope", ValueError), (3, TypeError), (object(), TypeError)])
ACTIVATION = Kind(st.one_of(_typed(_ZZ, ValueError),
                            _typed(st.one_of(st.integers(), st.just(len),
                                             st.lists(st.just("relu"), max_size=1)), TypeError)),
                  [("relux", ValueError), (len, TypeError), (1, TypeError)])
DTYPE = Kind(_typed(st.one_of(st.text(alphabet="kw_", min_size=2, max_size=4), st.none(),
                              st.integers(2, 9)), TypeError),
             [("floaty", TypeError), (None, TypeError)])
AXIS = Kind(_typed(st.one_of(st.floats(), st.text(max_size=2), st.none(), st.booleans(),
                             st.tuples(st.integers(0, 2))), TypeError),
            [("a", TypeError), (1.0, TypeError), (None, TypeError), (True, TypeError)])
AXES = Kind(st.one_of(
    st.lists(st.integers(0, 3), max_size=2).flatmap(
        lambda v: st.integers(-4, -1).map(lambda n: (tuple(v) + (n,), ValueError))),
    _typed(st.integers(max_value=-1), ValueError),
    _typed(st.one_of(st.floats(), st.text(min_size=1, max_size=2), st.none(),
                     st.tuples(st.floats()), st.tuples(st.booleans())), TypeError)),
    [((-1,), ValueError), (-2, ValueError), ("ab", TypeError), ((1.0,), TypeError),
     (None, TypeError)])


def _conv_args(ndim, transpose):
    args = {"channels": int_kind(1), "kernel_size": ints_kind(ndim, 1),
            "strides": ints_kind(ndim, 1), "padding": ints_kind(ndim, 0),
            "dilation": ints_kind(ndim, 1), "groups": int_kind(1), "in_channels": int_kind(0),
            "layout": choice_kind(_LAYOUTS[ndim]), "use_bias": BOOL,
            "activation": ACTIVATION, "weight_initializer": INIT, "bias_initializer": INIT}
    if transpose:
        args["output_padding"] = ints_kind(ndim, 0)
    return args


def _pool_args(ndim, avg):
    strides = ints_kind(ndim, 1)  # None is a pool's default (strides = pool_size)
    strides = Kind(strides.bad.filter(lambda pair: pair[0] is not None), strides.examples)
    args = {"pool_size": ints_kind(ndim, 1), "strides": strides,
            "padding": ints_kind(ndim, 0), "layout": choice_kind(_LAYOUTS[ndim]),
            "ceil_mode": BOOL}
    if avg:
        args["count_include_pad"] = BOOL_OR_NONE
    return args


def _norm_args(batch):
    args = {"axis": AXIS, "epsilon": real_kind(0, None, True, False), "center": BOOL,
            "scale": BOOL, "in_channels": int_kind(0), "beta_initializer": INIT,
            "gamma_initializer": INIT}
    if batch:
        args.update(momentum=real_kind(0, 1, False, False), use_global_stats=BOOL,
                    running_mean_initializer=INIT, running_variance_initializer=INIT)
    return args


def _rnn_args(cls):
    args = {"hidden_size": int_kind(1), "num_layers": int_kind(1), "input_size": int_kind(0),
            "layout": choice_kind(("TNC", "NTC")), "dropout": real_kind(0, 1, False, True),
            "bidirectional": BOOL, "dtype": DTYPE,
            "i2h_weight_initializer": INIT, "h2h_weight_initializer": INIT,
            "i2h_bias_initializer": INIT, "h2h_bias_initializer": INIT}
    if cls is rnn.RNN:
        args["activation"] = choice_kind(("relu", "tanh"))
    return args


# (block class, its required arguments, {argument: Kind})
BLOCK_ARGS = (
    [(getattr(nn, "Conv%dD%s" % (d, t)), dict(channels=2, kernel_size=1),
      _conv_args(d, t == "Transpose")) for d in (1, 2, 3) for t in ("", "Transpose")]
    + [(getattr(nn, "%sPool%dD" % (k, d)), {}, _pool_args(d, k == "Avg"))
       for d in (1, 2, 3) for k in ("Max", "Avg")]
    + [(getattr(nn, "Global%sPool%dD" % (k, d)), {}, {"layout": choice_kind(_LAYOUTS[d])})
       for d in (1, 2, 3) for k in ("Max", "Avg")]
    + [(nn.BatchNorm, {}, _norm_args(True)), (nn.LayerNorm, {}, _norm_args(False)),
       (nn.InstanceNorm, {}, _norm_args(False)),
       (nn.Dropout, dict(rate=0.5), {"rate": real_kind(0, 1, False, True), "axes": AXES}),
       (nn.Embedding, dict(input_dim=3, output_dim=2),
        {"input_dim": int_kind(1), "output_dim": int_kind(1), "dtype": DTYPE,
         "weight_initializer": INIT, "sparse_grad": BOOL})]
    + [(cls, dict(hidden_size=2), _rnn_args(cls)) for cls in (rnn.RNN, rnn.LSTM, rnn.GRU)]
)
BLOCK_ARG_CASES = [(cls, required, arg, kind) for cls, required, args in BLOCK_ARGS
                   for arg, kind in args.items()]


def _counters():
    return dict(naming._top_level_counters())


def _assert_refused(cls, required, arg, value, error):
    before = _counters()
    with pytest.raises(error) as info:
        cls(**dict(required, **{arg: value}))
    message = str(info.value)
    assert type(info.value) is error, message  # exactly, not a subclass
    assert message.startswith("%s: %s" % (cls.__name__, arg)), message  # block, argument
    assert repr(value) in message, message  # what came
    assert ("must be" in message or "Unknown initializer" in message  # what was expected
            or "Expected an initializer" in message), message
    assert len(message) < 400, message  # short
    # Documented choice: unlike MXNet (which draws the name first for most checks, so a
    # refused Conv2D(2, 0) still uses up 'conv0'), a refused construction leaks no name.
    assert _counters() == before


@pytest.mark.parametrize("cls,required,arg,kind", BLOCK_ARG_CASES,
                         ids=["%s.%s" % (c.__name__, a) for c, _, a, _ in BLOCK_ARG_CASES])
def test_each_checked_argument_refuses_its_bad_values(cls, required, arg, kind):
    for value, error in kind.examples:
        _assert_refused(cls, required, arg, value, error)


@settings(FAST, max_examples=300)
@given(data=st.data())
def test_any_bad_argument_is_refused_naming_block_argument_expected_and_given(data):
    cls, required, arg, kind = data.draw(st.sampled_from(BLOCK_ARG_CASES), label="argument")
    value, error = data.draw(kind.bad, label="bad value")
    _assert_refused(cls, required, arg, value, error)


# -- valid arguments (generated) still build a block that runs --------------------------------
def _int(draw, low, high):
    """An int, sometimes a NumPy one."""
    value = draw(st.integers(low, high))
    return draw(st.sampled_from([value, np.int64(value), np.int32(value)]))


def _ints(draw, ndim, low, high):
    """Gluon's int-or-tuple: an int, a tuple or a list (as after a JSON round trip)."""
    if draw(st.booleans()):
        return _int(draw, low, high)
    values = [_int(draw, low, high) for _ in range(ndim)]
    return tuple(values) if draw(st.booleans()) else values


def _input_shape(layout, channels, spatial):
    return tuple({"N": 2, "C": channels}.get(c, spatial) for c in layout)


def _run(block, x, **call):
    before = _counters()
    block.initialize()
    y = block(x, **call)
    assert _counters() == before
    return y


@st.composite
def conv_cases(draw):
    ndim = draw(st.integers(1, 3))
    transpose = draw(st.booleans())
    groups = draw(st.integers(1, 2))
    in_ch = groups * draw(st.integers(1, 2))
    kernel = _ints(draw, ndim, 1, 2)
    strides = _ints(draw, ndim, 1, 2)
    kwargs = dict(channels=groups * _int(draw, 1, 2), kernel_size=kernel, strides=strides,
                  padding=_ints(draw, ndim, 0, 1), dilation=_ints(draw, ndim, 1, 2),
                  groups=_int(draw, groups, groups),
                  layout=draw(st.sampled_from(_LAYOUTS[ndim])),
                  in_channels=draw(st.sampled_from([0, in_ch])),
                  use_bias=draw(st.sampled_from([True, False, np.bool_(True)])),
                  activation=draw(st.sampled_from([None, "relu", "tanh", "softrelu"])),
                  weight_initializer=draw(st.sampled_from([None, "ones", init.Xavier()])),
                  bias_initializer=draw(st.sampled_from(["zeros", "ones", None])))
    if transpose:
        kwargs["output_padding"] = draw(st.sampled_from([0, [0] * ndim]))
    cls = getattr(nn, "Conv%dD%s" % (ndim, "Transpose" if transpose else ""))
    return cls, kwargs, _input_shape(kwargs["layout"], in_ch, 5)


@st.composite
def pool_cases(draw):
    ndim = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["Max", "Avg", "GlobalMax", "GlobalAvg"]))
    layout = draw(st.sampled_from(_LAYOUTS[ndim]))
    kwargs = dict(layout=layout)
    if not kind.startswith("Global"):
        size = _int(draw, 1, 3)
        kwargs.update(pool_size=size, padding=_int(draw, 0, int(size) // 2),
                      strides=draw(st.one_of(st.none(), st.just(_ints(draw, ndim, 1, 2)))),
                      ceil_mode=draw(st.booleans()))
        if kind == "Avg":
            kwargs["count_include_pad"] = draw(st.sampled_from([True, False, None]))
    return getattr(nn, "%sPool%dD" % (kind, ndim)), kwargs, _input_shape(layout, 2, 4)


@st.composite
def norm_cases(draw):
    cls = draw(st.sampled_from([nn.BatchNorm, nn.LayerNorm, nn.InstanceNorm]))
    axis = draw(st.sampled_from([1, -2] if cls is nn.InstanceNorm else [1, 2, -1, -2]))
    shape = (2, 3, 4)
    kwargs = dict(axis=_int(draw, axis, axis),
                  epsilon=draw(st.sampled_from([1e-5, 1e-3, 1, np.float32(1e-4), 0.5])),
                  center=draw(st.booleans()), scale=draw(st.booleans()),
                  in_channels=draw(st.sampled_from([0, shape[axis]])),
                  gamma_initializer=draw(st.sampled_from(["ones", init.Constant(2.0)])))
    if cls is nn.BatchNorm:
        kwargs.update(momentum=draw(st.floats(0, 1)), use_global_stats=draw(st.booleans()),
                      running_variance_initializer="ones")
    return cls, kwargs, shape


@st.composite
def rnn_cases(draw):
    cls = draw(st.sampled_from([rnn.RNN, rnn.LSTM, rnn.GRU]))
    kwargs = dict(hidden_size=_int(draw, 1, 3), num_layers=_int(draw, 1, 2),
                  layout=draw(st.sampled_from(["TNC", "NTC"])),
                  dropout=draw(st.floats(0, 0.9)), bidirectional=draw(st.booleans()),
                  input_size=draw(st.sampled_from([0, 3])),
                  i2h_weight_initializer=draw(st.sampled_from([None, "xavier"])),
                  dtype=draw(st.sampled_from(["float32", np.float32])))
    if cls is rnn.RNN:
        kwargs["activation"] = draw(st.sampled_from(["relu", "tanh"]))
    return cls, kwargs, (4, 2, 3)


@FAST
@given(case=conv_cases())
def test_generated_valid_conv_arguments_build_a_working_block(case):
    cls, kwargs, shape = case
    block = cls(**kwargs)
    y = _run(block, nd.ones(shape))
    assert tuple(y.shape) == block.compute_output_shape(shape)


@FAST
@given(case=pool_cases())
def test_generated_valid_pool_arguments_build_a_working_block(case):
    cls, kwargs, shape = case
    block = cls(**kwargs)
    y = _run(block, nd.ones(shape))
    assert tuple(y.shape) == block.compute_output_shape(shape)
    assert np.isfinite(keras.ops.convert_to_numpy(y)).all()


@FAST
@given(case=norm_cases(), training=st.booleans())
def test_generated_valid_norm_arguments_build_a_working_block(case, training):
    cls, kwargs, shape = case
    block = cls(**kwargs)
    x = nd.array(np.arange(24, dtype="float32").reshape(shape))
    y = _run(block, x, **({"training": training} if cls is nn.BatchNorm else {}))
    assert tuple(y.shape) == shape and np.isfinite(keras.ops.convert_to_numpy(y)).all()


@FAST
@given(rate=st.one_of(st.floats(0, 0.99), st.just(0), st.just(np.float32(0.5))),
       axes=st.one_of(st.lists(st.integers(0, 2), max_size=2, unique=True),
                      st.integers(0, 2), st.just(())))
def test_generated_valid_dropout_arguments_build_a_working_block(rate, axes):
    block = nn.Dropout(rate, axes=axes)
    x = nd.ones((2, 3, 4))
    y = _run(block, x, training=True)
    assert tuple(y.shape) == (2, 3, 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(x)),
                                  keras.ops.convert_to_numpy(x))  # inference: identity


@FAST
@given(input_dim=st.integers(1, 5), output_dim=st.integers(1, 4),
       dtype=st.sampled_from(["float32", "float64", np.float32]),
       sparse_grad=st.booleans(), weight_initializer=st.sampled_from([None, "ones"]))
def test_generated_valid_embedding_arguments_build_a_working_block(
        input_dim, output_dim, dtype, sparse_grad, weight_initializer):
    block = nn.Embedding(np.int64(input_dim), output_dim, dtype=dtype,
                         weight_initializer=weight_initializer, sparse_grad=sparse_grad)
    y = _run(block, nd.array(np.array([[0, input_dim - 1]], "int32")))
    assert tuple(y.shape) == (1, 2, output_dim)


@FAST
@given(case=rnn_cases(), training=st.booleans())
def test_generated_valid_rnn_arguments_build_a_working_block(case, training):
    cls, kwargs, shape = case
    block = cls(**kwargs)
    y = _run(block, nd.ones(shape), training=training)
    directions = 2 if kwargs["bidirectional"] else 1
    assert tuple(y.shape) == (4, 2, int(kwargs["hidden_size"]) * directions)


def test_lambda_checks_before_drawing_a_name():
    """Lambda/HybridLambda keep MXNet's ValueError for a non-callable (MXNet draws the
    name first; we do not), and an unknown name is a ValueError naming the block."""
    before = _counters()
    for cls in (nn.Lambda, nn.HybridLambda):
        for bad in (3, None, 2.5, [len]):
            with pytest.raises(ValueError, match=r"^%s: Unrecognized function in lambda: %s"
                               % (cls.__name__, re.escape(str(bad)))):
                cls(bad)
        with pytest.raises(ValueError, match=r"^%s: function name 'zz_nope' is not found"
                           % cls.__name__):
            cls("zz_nope")
    assert _counters() == before
    assert np.allclose(keras.ops.convert_to_numpy(nn.Lambda("tanh")(nd.zeros((1, 2)))), 0)


def test_a_refused_child_leaves_the_parents_name_scope_counters_alone(fresh_names):
    net = nn.HybridSequential()
    with net.name_scope():
        with pytest.raises(ValueError):
            nn.Conv2D(2, 0)
        with pytest.raises(TypeError):
            nn.BatchNorm(axis="a")
        net.add(nn.Conv2D(2, 1), nn.BatchNorm())
    assert [c.name for c in net._children.values()] == [
        "hybridsequential0_conv0", "hybridsequential0_batchnorm0"]


@pytest.mark.parametrize("make,error,message", [
    # MXNet: "adj(y) must be samller than stride[0]" (an MXNetError, at construction)
    (lambda: nn.Conv2DTranspose(2, 3, strides=2, output_padding=2), ValueError,
     r"^Conv2DTranspose: output_padding must be smaller than strides .* "
     r"got output_padding=\(2, 2\), strides=\(2, 2\)"),
    # MXNet: "output num_filter must divide group size" (MXNetError); also for Conv2D now
    (lambda: nn.Conv2D(3, 3, groups=2), ValueError,
     r"^Conv2D: channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv1DTranspose(4, 3, groups=2, in_channels=3), ValueError,
     r"^Conv1DTranspose: in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv3D(2, (1, 2)), ValueError,
     r"^Conv3D: kernel_size must be an int >= 1 or a tuple of 3 ints >= 1, got \(1, 2\)"),
    (lambda: nn.Conv2D(2, 3, layout="NCW"), ValueError,
     r"^Conv2D: layout must be 'NCHW' or 'NHWC', got 'NCW'"),
    (lambda: nn.MaxPool2D(2.5), TypeError, r"^MaxPool2D: pool_size must be an int >= 1 .* "
                                           r"got 2.5 of type float"),
    (lambda: nn.AvgPool1D(padding=-1), ValueError, r"^AvgPool1D: padding must be an int >= 0"),
    (lambda: nn.BatchNorm(epsilon=0), ValueError,
     r"^BatchNorm: epsilon must be a number in \(0, inf\), got 0"),
    (lambda: nn.BatchNorm(momentum=-0.1), ValueError,
     r"^BatchNorm: momentum must be a number in \[0, 1\], got -0.1"),
    (lambda: nn.LayerNorm(axis=1.5), TypeError, r"^LayerNorm: axis must be an int"),
    (lambda: nn.Dropout(1), ValueError, r"^Dropout: rate must be a number in \[0, 1\), got 1"),
    (lambda: nn.Dropout(0.5, axes=(-1,)), ValueError, r"^Dropout: axes must be a tuple of "
                                                     r"ints >= 0 .*got \(-1,\)"),
    (lambda: nn.Embedding(3.0, 3), TypeError,
     r"^Embedding: input_dim must be an int >= 1, got 3.0 of type float"),
    (lambda: rnn.LSTM(3, layout="NCT"), ValueError,
     r"^LSTM: layout must be 'TNC' or 'NTC', got 'NCT'"),
    (lambda: rnn.GRU(3, dropout=1.5), ValueError, r"^GRU: dropout must be a number in \[0, 1\)"),
    # MXNet: KeyError 'rnn_sigmoid'
    (lambda: rnn.RNN(3, activation="sigmoid"), ValueError,
     r"^RNN: activation must be 'relu' or 'tanh', got 'sigmoid'"),
    (lambda: nn.Conv2D(2, 3, weight_initializer="nope"), ValueError,
     r"^Conv2D: weight_initializer: Unknown initializer 'nope'"),
    (lambda: nn.Conv2D(2, 3, activation="relux"), ValueError,
     r"^Conv2D: activation must be a known name .*got 'relux'"),
])
def test_messages_of_selected_cases(make, error, message):
    before = _counters()
    with pytest.raises(error, match=message):
        make()
    assert _counters() == before


@pytest.mark.parametrize("make", [
    lambda: nn.Dense(2, foo=1),
    lambda: nn.Conv2D(2, 3, kernel=3),
    lambda: nn.BatchNorm(eps=1e-5),
    lambda: nn.Sequential(children=[]),
])
def test_an_unknown_keyword_is_refused_before_a_name_is_drawn(make):
    """Keras would refuse it after Block.__init__ drew the name; we refuse it first."""
    before = _counters()
    with pytest.raises(TypeError, match=r"got unknown argument\(s\) \w+=.*Keras layer ones"):
        make()
    assert _counters() == before
    assert nn.Dense(2, name="kept", trainable=False).name == "kept"
