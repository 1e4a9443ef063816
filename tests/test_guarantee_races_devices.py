"""Issue 15, rows 8, 9, 10, 12 and the two Keras-user findings, each tried as the
attack tried it: threads with a watchdog for the copy race, hypothesis for inputs.

- Row 8: ``copy.deepcopy(net)`` racing ``initialize(force_reinit=True)`` and
  ``load_parameters`` gives copies of one complete state, never mixed.
- Row 9: a GPU the backend cannot see is an ``MXNetError`` naming it, from every
  entry point, before anything changes.
- Row 10: a string ``ctx`` is a ``TypeError`` quoting the whole string and saying
  how to write the context.
- Row 12: a built (or unbuilt) block called with something that is not an array is
  the documented ``TypeError`` naming the block, never a Keras internal error, and the
  net is unchanged.
- Keras user 1: a channels-first ``Conv2D`` fed Keras's channels-last images raises,
  before anything changes, an error saying so and how to fix it.
- Keras user 2: a 'TNC' recurrent layer built by Keras from ``(None, T, C)`` warns
  that it would take the batch for time.
"""

import copy
import os
import tempfile
import threading
import time
import warnings

import keras
import numpy as np
import pytest
from hypothesis import given, strategies as st

import keras_defer as mx
from keras_defer import init, nd
from keras_defer.errors import MXNetError, ShapeMismatchError
from keras_defer.gluon import nn, rnn
from tests.robustness_helpers import FAST, assert_same_state, mlp, state

WATCHDOG_S = 60


def _run_with_watchdog(targets):
    """Start one thread per target, all released together; fail if any is still
    running after ``WATCHDOG_S`` (a deadlock) or raised."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WATCHDOG_S
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), (
        "watchdog: a thread still runs after %d s (deadlock?)" % WATCHDOG_S)
    assert errors == [], errors


# -- row 8: deepcopy is a snapshot of one state ------------------------------------------

def _values(net):
    """The weights' values (a Constant initializer sets weights; biases keep their
    own initializer, zeros, in every state)."""
    return {name: np.array(p.data().asnumpy(), copy=True)
            for name, p in net.collect_params().items() if name.endswith("weight")}


def _uniform_value(values):
    """The one value every parameter holds, or None when they hold several."""
    seen = {float(v) for array in values.values() for v in np.unique(array)}
    return seen.pop() if len(seen) == 1 else None


def test_deepcopy_racing_reinit_and_load_copies_one_state():
    """The attack: 154 of 1,323 copies held mixed weights. Here two threads copy
    while one alternates ``initialize(Constant(a|b), force_reinit=True)`` and one
    alternates ``load_parameters`` between files of all-c and all-d: every copy holds
    one of a, b, c, d in every parameter. (MXNet 1.9.1 has no lock at all: its
    ``deepcopy`` of a block copies each NDArray in turn, and a racing ``set_data``
    is seen half-way.)"""
    net = mlp((16, 16, 16, 16, 16, 4), in_units={0: 8})
    net.initialize()
    net(nd.ones((2, 8)))
    folder = tempfile.mkdtemp()
    files = {}
    for value in (3.0, 4.0):
        net.initialize(init.Constant(value), force_reinit=True)
        files[value] = os.path.join(folder, "%d.params" % value)
        net.save_parameters(files[value])
    net.initialize(init.Constant(1.0), force_reinit=True)
    stop = threading.Event()
    copies, mixed = [], []

    def copier():
        while not stop.is_set() or len(copies) < 8:
            values = _values(copy.deepcopy(net))
            copies.append(values)
            if _uniform_value(values) not in (1.0, 2.0, 3.0, 4.0):
                mixed.append(sorted({float(v) for a in values.values() for v in np.unique(a)}))

    def reinit():
        for i in range(30):
            net.initialize(init.Constant((1.0, 2.0)[i % 2]), force_reinit=True)
        stop.set()

    def load():
        i = 0
        while not stop.is_set():
            net.load_parameters(files[(3.0, 4.0)[i % 2]])
            i += 1

    _run_with_watchdog([copier, copier, reinit, load])
    assert mixed == [], "%d of %d copies mixed states, e.g. %s" % (
        len(mixed), len(copies), mixed[:3])
    assert len(copies) >= 8
    assert _uniform_value(_values(net)) in (1.0, 2.0, 3.0, 4.0)


def test_copies_taken_during_writes_are_independent_of_the_original():
    """A copy taken while another thread rewrites the net keeps its own values."""
    net = mlp((8, 4), in_units={0: 4})
    net.initialize(init.Constant(1.0))
    net(nd.ones((1, 4)))
    made = []

    def copier():
        for _ in range(5):
            made.append(copy.deepcopy(net))

    def writer():
        for i in range(10):
            net.initialize(init.Constant(float(i % 2)), force_reinit=True)

    _run_with_watchdog([copier, writer])
    frozen = [_uniform_value(_values(c)) for c in made]
    net.initialize(init.Constant(7.0), force_reinit=True)
    assert [_uniform_value(_values(c)) for c in made] == frozen
    assert all(v in (0.0, 1.0) for v in frozen)


# -- row 9: a GPU that is not there ---------------------------------------------------------

# MXNet 1.9.1 (CPU build) for each, run with /root/.cache/mxnet-1.9.1/bin/python:
#   net.initialize(ctx=mx.gpu(0))        -> MXNetError: GPU is not enabled (ndarray.cc:1297)
#     (Dense without in_units too: the deferred init is registered, then the bias fails)
#   net.collect_params().reset_ctx(gpu)  -> MXNetError: GPU is not enabled
#   nd.array([1, 2], ctx=mx.gpu(0))      -> MXNetError: Compile with USE_CUDA=1 to enable GPU usage
# keras_defer says "GPU is not enabled: gpu(N) was asked for, but ..." everywhere, and
# refuses before anything changes (docs/divergences.md row 19).

def _missing_gpu(offset):
    return mx.gpu(mx.context.num_gpus() + offset)  # absent on any machine


def _saved_file():
    net = mlp((3,), in_units={0: 5})
    net.initialize()
    path = os.path.join(tempfile.mkdtemp(), "net.params")
    net.save_parameters(path)
    return path


_PATH = []


def _entry(how, ctx):
    """Run entry point ``how`` with ``ctx`` on a fresh net; return the net."""
    net = mlp((3,), in_units={0: 5} if how.endswith("known") else None)
    if how.startswith("initialize"):
        net.initialize(ctx=ctx)
    elif how == "initialize list":
        net.initialize(ctx=[mx.cpu(), ctx])
    elif how == "with ctx":
        with ctx:
            net.initialize()
    elif how == "Parameter.initialize":
        net[0].weight.initialize(ctx=ctx)
    elif how == "reset_ctx":
        net.initialize()
        net(nd.ones((2, 5)))
        before, where = state(net), net.collect_params().list_ctx()
        try:
            net.collect_params().reset_ctx(ctx)
        finally:
            assert_same_state(before, state(net))
            assert net.collect_params().list_ctx() == where
    elif how == "load_parameters":
        if not _PATH:
            _PATH.append(_saved_file())
        net.load_parameters(_PATH[0], ctx=ctx)
    elif how == "nd.array":
        nd.array([1.0, 2.0], ctx=ctx)
    elif how == "nd.zeros":
        nd.zeros((2,), ctx=ctx)
    return net


ENTRIES = ["initialize", "initialize known", "initialize list", "with ctx",
           "Parameter.initialize", "reset_ctx", "load_parameters", "nd.array", "nd.zeros"]


@FAST
@given(how=st.sampled_from(ENTRIES), offset=st.integers(0, 7))
def test_a_missing_gpu_is_refused_naming_it_before_anything_changes(how, offset):
    ctx = _missing_gpu(offset)
    holder = {}
    with pytest.raises(MXNetError, match=r"GPU is not enabled: %s was asked for"
                       % str(ctx).replace("(", r"\(").replace(")", r"\)")):
        holder["net"] = _entry(how, ctx)
    assert "net" not in holder


@pytest.mark.parametrize("in_units", [0, 5])
def test_initialize_on_a_missing_gpu_leaves_the_net_as_it_was(in_units):
    net = mlp((3, 2), in_units={0: in_units})
    before = state(net)
    with pytest.raises(MXNetError, match="GPU is not enabled"):
        net.initialize(ctx=_missing_gpu(0))
    assert_same_state(before, state(net))
    for p in net.collect_params().values():
        assert p.pending is None and p.variable is None, p.name
    net.initialize(ctx=mx.cpu())  # the retry works as on a fresh net
    assert net.collect_params().list_ctx() == [mx.cpu()]
    assert np.asarray(net(nd.ones((2, 5)))).shape == (2, 2)


# -- row 10: a string where a Context belongs ----------------------------------------------

# MXNet 1.9.1: net.initialize(ctx='gpu') and ctx='cpu' -> AttributeError: 'str' object
# has no attribute 'device_typeid' (at the first use). keras_defer: TypeError quoting
# the string and the fix (docs/divergences.md row 20).

@FAST
@given(text=st.one_of(st.sampled_from(["gpu", "cpu", "gpu(0)", "gpu:1", "cuda", "GPU", ""]),
                      st.text(max_size=12)),
       in_list=st.booleans(),
       how=st.sampled_from(["initialize", "reset_ctx", "load_parameters", "nd.array"]))
def test_a_string_context_says_what_came_and_how_to_write_it(text, in_list, how):
    ctx = [text] if in_list else text
    net = mlp((3,), in_units={0: 5})
    if how == "reset_ctx":
        net.initialize()
    before = state(net)
    with pytest.raises(TypeError) as info:
        if how == "load_parameters":
            if not _PATH:
                _PATH.append(_saved_file())
            net.load_parameters(_PATH[0], ctx=ctx)
        elif how == "nd.array":
            nd.array([1.0], ctx=ctx)
        else:
            getattr(net if how == "initialize" else net.collect_params(), how)(ctx=ctx)
    message = str(info.value)
    if in_list and how == "nd.array":  # an array lives on one device: not a list
        assert "ctx must be one Context here" in message and repr(ctx) in message
    else:
        assert "got the string %r" % (text,) in message  # the whole string, not a character
    assert "write ctx=mx." in message
    assert_same_state(before, state(net))


@pytest.mark.parametrize("text, fix", [("gpu", "mx.gpu(0)"), ("cpu", "mx.cpu()"),
                                       ("gpu(1)", "mx.gpu(1)"), ("gpu:2", "mx.gpu(2)"),
                                       ("tpu", "mx.cpu() or mx.gpu(0)")])
def test_a_string_context_names_the_context_it_meant(text, fix):
    with pytest.raises(TypeError, match=r"got the string '%s': write ctx=%s" % (
            text.replace("(", r"\(").replace(")", r"\)"),
            fix.replace("(", r"\(").replace(")", r"\)"))):
        nn.Dense(2).initialize(ctx=text)


# -- row 12: a block called with something that is not an array ------------------------------

# MXNet 1.9.1 refuses each of these on a HybridBlock (Dense, HybridSequential, Sequential
# of HybridBlocks), plain or hybridized: ValueError: In HybridBlock, there must be one
# NDArray or one Symbol in the input. Please check the type of the args. (It refuses
# numpy arrays too; keras_defer takes those, and nested lists are not taken as
# nd.array would: MXNet does not take them either.) keras_defer raises the TypeError
# documented in docs/guarantees.md ("a Python list raises TypeError"), built or not.

ODD = st.one_of(
    st.none(),
    st.just([]),
    st.lists(st.floats(-3, 3, allow_nan=False), max_size=6),
    st.lists(st.lists(st.floats(-3, 3, allow_nan=False), min_size=5, max_size=5),
             min_size=1, max_size=3),
    st.text(max_size=8),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.floats(-1, 1, allow_nan=False)),
    st.integers(-5, 5),
    st.floats(-1, 1, allow_nan=False),
)


def _built_nets():
    dense = nn.Dense(3)
    dense.initialize()
    dense(nd.ones((2, 5)))
    seq = mlp((4, 3))
    seq.initialize()
    seq(nd.ones((2, 5)))
    hyb = mlp((4, 3))
    hyb.initialize()
    hyb.hybridize()
    hyb(nd.ones((2, 5)))
    return {"Dense": dense, "Sequential": seq, "hybridized": hyb}


_NETS = {}


@FAST
@given(value=ODD, which=st.sampled_from(["Dense", "Sequential", "hybridized", "unbuilt"]))
def test_odd_inputs_give_the_documented_type_error_and_change_nothing(value, which):
    if not _NETS:
        _NETS.update(_built_nets())
    if which == "unbuilt":
        net = mlp((4, 3))
        net.initialize()
    else:
        net = _NETS[which]
    before = state(net)
    x = nd.ones((2, 5))
    out_before = None if which == "unbuilt" else np.asarray(net(x))
    with pytest.raises(TypeError) as info:
        net(value)
    message = str(info.value)
    assert "%s %r expects a tensor as its first input" % (type(net).__name__, net.name) \
        in message, message
    assert "NDArray" in message
    if isinstance(value, list):
        assert "mx.nd.array(x)" in message
    assert_same_state(before, state(net))
    if out_before is not None:
        np.testing.assert_array_equal(np.asarray(net(x)), out_before)
    else:
        assert np.asarray(net(x)).shape == (2, 3)  # the first pass still works


# -- Keras user 1: channels-last images into a channels-first Conv2D --------------------------

# MXNet 1.9.1: nn.Conv2D(8, 3) on nd.ones((2, 28, 28, 1)) -> ValueError: Deferred
# initialization failed because shape cannot be inferred. ... kernel size exceed input;
# MaxPool2D -> MXNetError: kernel size (2) exceeds input (1 padded to 1). keras_defer:
# ShapeMismatchError (an MXNetError and a ValueError) saying the input looks
# channels-last and how to fix it, raised before any parameter takes a shape.

def test_a_keras_model_with_channels_last_images_says_how_to_fix_it():
    conv = nn.Conv2D(8, 3)
    before = state(conv)
    with pytest.raises(ValueError) as info:
        keras.Sequential([keras.Input((28, 28, 1)), conv, keras.layers.Flatten(),
                          keras.layers.Dense(10)])
    assert isinstance(info.value, ShapeMismatchError)
    message = str(info.value)
    for part in ("(None, 28, 28, 1)", "'NCHW'", "looks channels-last", "layout='NHWC'",
                 "keras.layers.Permute((3, 1, 2))"):
        assert part in message, (part, message)
    assert_same_state(before, state(conv))
    assert conv.weight.shape == (8, 0, 3, 3)
    # nothing half-changed: the same layer works behind the fix it names
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Permute((3, 1, 2)), conv,
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    assert conv.weight.shape == (8, 1, 3, 3)
    assert tuple(model.predict(np.ones((2, 28, 28, 1), "float32"), verbose=0).shape) == (2, 10)
    nhwc = nn.Conv2D(8, 3, layout="NHWC")
    model = keras.Sequential([keras.Input((28, 28, 1)), nhwc, keras.layers.Flatten()])
    assert tuple(model.output_shape) == (None, 26 * 26 * 8)


@FAST
@given(dims=st.sampled_from([1, 2, 3]), size=st.integers(4, 9), channels=st.sampled_from([1, 3]),
       kernel=st.integers(2, 4), pool=st.booleans(), eager=st.booleans())
def test_channels_last_inputs_to_channels_first_layers_always_get_the_fix(
        dims, size, channels, kernel, pool, eager):
    """Whatever the rank and sizes, a window larger than the channels-last input's
    last axis is refused with the fix, and the layer stays as it was."""
    if kernel <= channels:
        kernel = channels + 1
    layer = (getattr(nn, "MaxPool%dD" % dims)(pool_size=kernel) if pool
             else getattr(nn, "Conv%dD" % dims)(4, kernel))
    layer.initialize()
    before = state(layer)
    shape = (2,) + (size,) * dims + (channels,)
    layout = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[dims]
    with pytest.raises(ShapeMismatchError) as info:
        if eager:
            layer(nd.ones(shape))
        else:
            layer(keras.Input(shape[1:]))
    message = str(info.value)
    assert repr(layout) in message and "layout=%r" % {1: "NWC", 2: "NHWC", 3: "NDHWC"}[dims] \
        in message, message
    assert "looks channels-last" in message
    assert_same_state(before, state(layer))
    assert not layer.built


def test_a_small_channels_first_input_is_not_called_channels_last():
    conv = nn.Conv2D(2, 3)
    conv.initialize()
    with pytest.raises(ShapeMismatchError) as info:
        conv(nd.ones((2, 3, 1, 1)))  # channels first, 1x1: too small, not transposed
    message = str(info.value)
    assert "(2, 3, 1, 1)" in message and "axes 2, 3" in message
    assert "looks channels-last" not in message
    assert not conv.built and conv.weight.shape == (2, 0, 3, 3)


# -- Keras user 2: a TNC recurrent layer built by Keras ---------------------------------------

# MXNet 1.9.1 has no symbolic batch axis: rnn.LSTM(8) (layout 'TNC') always reads axis 0
# as time, with no warning. In Keras, (None, T, C) is batch-first, so keras_defer warns
# (docs/divergences.md).

@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_a_tnc_layer_built_by_keras_from_batch_first_inputs_warns(cls):
    layer = getattr(rnn, cls)(8)
    with pytest.warns(UserWarning) as record:
        out = layer(keras.Input((5, 3)))
    texts = [str(w.message) for w in record if "TNC" in str(w.message)]
    assert len(texts) == 1, [str(w.message) for w in record]
    assert "%s %r" % (cls, layer.name) in texts[0]
    assert "layout='NTC'" in texts[0] and "(None, 5, 3)" in texts[0]
    assert tuple(out.shape) == (None, 5, 8)  # still Gluon's TNC semantics


@pytest.mark.parametrize("case", ["NTC", "eager TNC", "known time axis", "unknown both"])
def test_no_warning_where_the_layout_is_not_in_doubt(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if case == "NTC":
            rnn.LSTM(8, layout="NTC")(keras.Input((5, 3)))
        elif case == "eager TNC":
            layer = rnn.LSTM(8)
            layer.initialize()
            layer(nd.ones((5, 2, 3)))
        elif case == "known time axis":
            rnn.LSTM(8)(keras.Input(batch_shape=(5, 2, 3)))
        else:
            rnn.LSTM(8)(keras.Input((None, 3)))
