"""The first call of a fresh net got cheaper (issue 14) without changing a value.

What changed (``docs/performance.md``, "First call"): on JAX a grouped draw is one
compiled function (``backend.jax_initial_values``), zeros one dispatch, and the first
pass's forward runs as a plan of eager operations (``backend.jax_eager_plan``); on
PyTorch the draw skips ``keras.ops``' overhead (``backend.torch_initial_values``) and a
block's ``_torch_params`` is kept when a build would rebuild it unchanged. Checked here:

* the values: each draw equals Keras's own (``keras.random`` + ``keras.ops.split`` /
  ``reshape``, what ran before) bit for bit and advances Keras's global seed generator
  the same way; and the parameters, outputs and next draw of six nets under
  ``keras.utils.set_random_seed`` equal digests recorded with the code before the
  change (on the CPU, with the library versions they were recorded with);
* the semantics: the first pass on JAX runs its plan, not ``Layer.__call__``, only where
  the Keras path would compute the same (hooks, Dropout in training, a wrong shape take
  the Keras path, with its errors), and a failed first pass is still rolled back.
No timing is asserted (``python -m benchmarks.backends --only first_call`` measures).
"""

import hashlib

import keras
import numpy as np
import pytest

from keras_defer import backend, init, nd
from keras_defer.backend import common
from keras_defer.gluon import nn

NAME = keras.backend.backend()
jax_only = pytest.mark.skipif(NAME != "jax", reason="JAX's first-pass plan and draws")
torch_only = pytest.mark.skipif(NAME != "torch", reason="PyTorch's module parameters")


def _np(t):
    if isinstance(t, nd.NDArray):
        return t.asnumpy()
    if hasattr(t, "detach"):
        t = t.detach()
    return np.asarray(keras.ops.convert_to_numpy(t))


def _reference_draws(kind, shapes, scale, shift, dtype):
    """What ``init.Draws`` computed before: the backend's ``random_draw`` of one shape,
    or of the summed size split up (on JAX and PyTorch: ``keras.random`` and
    ``keras.ops``, i.e. ``backend.common``; TensorFlow keeps its own)."""
    draw = backend.random_draw if NAME == "tensorflow" else common.random_draw
    split = backend.split_into if NAME == "tensorflow" else common.split_into
    if len(shapes) == 1:
        return [draw(kind, shapes[0], scale, shift, dtype)]
    total = sum(int(np.prod(shape)) for shape in shapes)
    return split(draw(kind, (total,), scale, shift, dtype), shapes)


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.parametrize("shapes", [[(256, 20), (10, 256)], [(7, 3)], [(4,), (3, 5), (2, 2, 2)]])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_draws_equal_keras_own_bit_for_bit(kind, shapes, dtype):
    scale, shift = (0.14, -0.07) if kind == "uniform" else (0.5, 0.25)
    keras.utils.set_random_seed(5)
    ours = init._random_draws(kind, shapes, scale, shift, dtype)
    ours_next = _np(keras.random.uniform((3,)))  # the generator advanced the same way
    keras.utils.set_random_seed(5)
    theirs = _reference_draws(kind, shapes, scale, shift, dtype)
    theirs_next = _np(keras.random.uniform((3,)))
    assert len(ours) == len(theirs) == len(shapes)
    for a, b, shape in zip(ours, theirs, shapes):
        a, b = _np(a), _np(b)
        assert a.shape == b.shape == tuple(shape) and a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    assert ours_next.tobytes() == theirs_next.tobytes()


def test_each_draw_is_fresh():
    keras.utils.set_random_seed(1)
    first = _np(init._random_draws("uniform", [(5, 4)], 1.0, 0.0, "float32")[0])
    second = _np(init._random_draws("uniform", [(5, 4)], 1.0, 0.0, "float32")[0])
    assert not np.array_equal(first, second)


# -- values recorded before the change --------------------------------------------------
def _digest(a):
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a)).tobytes()).hexdigest()[:16]


def _nets():
    def seq(*blocks):
        net = nn.Sequential()
        net.add(*blocks)
        return net

    return {
        "chapter": lambda: (seq(nn.Dense(256, activation="relu"), nn.Dense(10)), None),
        "normal": lambda: (seq(nn.Dense(64, activation="tanh"), nn.Dense(3)),
                           init.Normal(0.5)),
        "xavier": lambda: (seq(nn.Dense(300, activation="relu"), nn.Dense(300), nn.Dense(7)),
                           init.Xavier()),
        "large": lambda: (seq(nn.Dense(4000), nn.Dense(5)), None),  # 80k: drawn alone
        "known": lambda: (seq(nn.Dense(30, in_units=20), nn.Dense(4, in_units=30)),
                          init.Uniform(0.3)),
        "half": lambda: (seq(nn.Dense(16, in_units=20, dtype="float16"),
                             nn.Dense(4, in_units=16, dtype="float16")), None),
    }


# sha256 prefixes of (parameters, output, next draw), recorded on the CPU with the code
# before the change (keras 3.15.1; tensorflow 2.21.0, jax 0.10.2, torch 2.14.1)
PINNED = {'jax': {'chapter': (('a665d0cabcab7b11',
                      '5f70bf18a0860070',
                      'a5fd234c22e13584',
                      '2c34ce1df23b838c'),
                     'c343345c2227ae37',
                     '92bb81835918fe91'),
         'half': (('02ab254b169d4f83',
                   '66687aadf862bd77',
                   'b39d1afd9704837a',
                   'af5570f5a1810b7a'),
                  None,
                  '92bb81835918fe91'),
         'known': (('6c5d057d286165de',
                    '6edd9f6f9cc92cde',
                    '4efe9e04ccf06fcb',
                    '374708fff7719dd5'),
                   '5e42ce84840bdaca',
                   '92bb81835918fe91'),
         'large': (('2dee79a552a5ff78',
                    'f85f2c34eb2843d2',
                    '5b3f143d78897419',
                    'de47c9b27eb8d300'),
                   '41ca56a3e8d27340',
                   'b22ba5f87c9646bf'),
         'normal': (('95ac526ee66459f5',
                     '5341e6b2646979a7',
                     '236f240d6ef8554a',
                     '15ec7bf0b50732b4'),
                    '0ab1f894d4430a2a',
                    '92bb81835918fe91'),
         'xavier': (('551d24b8e7e9090a',
                     '655a3ef0465a9f30',
                     'b5de4b82021a226f',
                     '655a3ef0465a9f30',
                     '2f25d88f45a2a6db',
                     '3addfb141cd7c9c4'),
                    'd7f69095f8d1cd3b',
                    '5ca597a863de41cc')},
 'tensorflow': {'chapter': (('c8d0a25717b25024',
                             '5f70bf18a0860070',
                             'ad7628d30101c355',
                             '2c34ce1df23b838c'),
                            '99df245d22c51d40',
                            '63e2386e4f9317a9'),
                'half': (('10c0aba63ecd36fd',
                          '66687aadf862bd77',
                          'a53ca3932591b639',
                          'af5570f5a1810b7a'),
                         None,
                         '63e2386e4f9317a9'),
                'known': (('ca7595f6d06eed4a',
                           '6edd9f6f9cc92cde',
                           '89872101a8b65818',
                           '374708fff7719dd5'),
                          '3b48f298600c775b',
                          '63e2386e4f9317a9'),
                'large': (('be19732648224b78',
                           'f85f2c34eb2843d2',
                           '9b25c696d3751099',
                           'de47c9b27eb8d300'),
                          '091b29eb886141e2',
                          'd6fce34f84788139'),
                'normal': (('d12714602c1c0cea',
                            '5341e6b2646979a7',
                            'da6260ba093a230f',
                            '15ec7bf0b50732b4'),
                           '83870dbab1b32086',
                           '63e2386e4f9317a9'),
                'xavier': (('1d18fd8ffdea2cf9',
                            '655a3ef0465a9f30',
                            '0ccaaac8f0ce1955',
                            '655a3ef0465a9f30',
                            'bf08c4bff4a3b1a7',
                            '3addfb141cd7c9c4'),
                           '591870a262d4ec65',
                           'c6e97dfb882ad069')},
 'torch': {'chapter': (('c657ca6962f4eae3',
                        '5f70bf18a0860070',
                        '2967bd63fc999b7b',
                        '2c34ce1df23b838c'),
                       '73919db3bc580f5e',
                       'd71c5cb7d6aa30ab'),
           'half': (('3c5ba7651303f8c7',
                     '66687aadf862bd77',
                     '53ed100ac62a1c71',
                     'af5570f5a1810b7a'),
                    None,
                    'd71c5cb7d6aa30ab'),
           'known': (('3338669b0b54e160',
                      '6edd9f6f9cc92cde',
                      'be5e07db106dde3c',
                      '374708fff7719dd5'),
                     '8bc905a77ca6c9f0',
                     'd71c5cb7d6aa30ab'),
           'large': (('dbb9100ddcdd1b56',
                      'f85f2c34eb2843d2',
                      '830c46f45808ec9f',
                      'de47c9b27eb8d300'),
                     'a7a2b279ee83c02d',
                     'b5ee49f354d72e4b'),
           'normal': (('b3977e7b3202dd4d',
                       '5341e6b2646979a7',
                       '64fcedefac8aaa58',
                       '15ec7bf0b50732b4'),
                      'c9fd6b581fe28103',
                      'd71c5cb7d6aa30ab'),
           'xavier': (('4cc7a12b7222d7a4',
                       '655a3ef0465a9f30',
                       '3977de2a0204eae6',
                       '655a3ef0465a9f30',
                       '4adb22d380b3532f',
                       '3addfb141cd7c9c4'),
                      '61cd1cbd460bbc24',
                      '83dd7577a0750b8f')}}
RECORDED_WITH = {"keras": "3.15.1", "tensorflow": "2.21.0", "jax": "0.10.2",
                 "torch": "2.14.1"}


def _recorded_versions():
    module = __import__(NAME)
    if keras.__version__ != RECORDED_WITH["keras"] or \
            not module.__version__.startswith(RECORDED_WITH[NAME]):
        pytest.skip("values recorded with %s; here keras %s, %s %s" % (
            RECORDED_WITH, keras.__version__, NAME, module.__version__))
    if NAME == "torch":
        import torch

        if torch.cuda.is_available():
            pytest.skip("values recorded on the CPU")
    if NAME == "jax":
        import jax

        if jax.default_backend() != "cpu":
            pytest.skip("values recorded on the CPU")
    if NAME == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            pytest.skip("values recorded on the CPU")


@pytest.mark.parametrize("name", sorted(_nets()))
def test_first_call_values_are_those_recorded_before_the_change(name):
    _recorded_versions()
    x = np.random.RandomState(0).uniform(size=(2, 20)).astype("float32")
    keras.utils.set_random_seed(123)
    net, initializer = _nets()[name]()
    net.initialize(initializer) if initializer is not None else net.initialize()
    out = None if name == "half" else net(keras.ops.convert_to_tensor(x))
    following = init.Uniform()("", init.InitArray.zeros((3,), "float32"))
    params = tuple(_digest(p.data().asnumpy()) for p in net.collect_params().values())
    assert params == PINNED[NAME][name][0]
    assert (None if out is None else _digest(_np(out))) == PINNED[NAME][name][1]
    assert _digest(following) == PINNED[NAME][name][2]


# -- JAX: the first pass's plan -------------------------------------------------------
def _chapter(act="relu"):
    net = nn.Sequential()
    net.add(nn.Dense(16, activation=act), nn.Dense(3))
    return net


def _keras_path_output(net, x):
    """The first pass of an identical net (same values) through Keras's path."""
    from keras_defer.backend import jax_eager_plan

    keras.utils.set_random_seed(3)
    twin = _chapter()
    twin.initialize()
    import keras_defer.backend.jax as jax_backend

    saved = jax_eager_plan.first_pass_call
    jax_backend._first_pass_call = lambda block, args: backend.MISS
    try:
        return _np(twin(x))
    finally:
        jax_backend._first_pass_call = saved


@jax_only
def test_jax_first_pass_runs_its_plan_with_keras_path_values(monkeypatch):
    x = keras.ops.convert_to_tensor(np.random.RandomState(1).uniform(size=(4, 7)),
                                    dtype="float32")
    expected = _keras_path_output(_chapter(), x)
    calls = []
    original = keras.layers.Layer.__call__
    monkeypatch.setattr(keras.layers.Layer, "__call__",
                        lambda self, *a, **k: calls.append(self) or original(self, *a, **k))
    keras.utils.set_random_seed(3)
    net = _chapter()
    net.initialize()
    out = _np(net(x))
    assert calls == []  # no Layer.__call__: the plan ran
    assert out.tobytes() == expected.tobytes()


@jax_only
def test_jax_first_pass_takes_keras_path_where_a_plan_cannot():
    from keras_defer import errors

    seen = []
    net = _chapter()
    net.initialize()
    net[0].register_forward_hook(lambda block, inputs, output: seen.append(block))
    net(keras.ops.ones((2, 5)))
    assert seen == [net[0]]  # the hook ran: no plan skipped it

    dropout = nn.Sequential()
    dropout.add(nn.Dense(400), nn.Dropout(0.5))
    dropout.initialize(init.One())
    out = _np(dropout(keras.ops.ones((8, 5)), training=True))
    assert (out == 0).any() and (out == 10).any()  # dropped and scaled, as Keras's path

    wrong = nn.Sequential()
    wrong.add(nn.Dense(4, in_units=6), nn.Dense(2))
    wrong.initialize()
    with pytest.raises(errors.ShapeMismatchError):
        wrong(keras.ops.ones((2, 5)))
    assert not wrong.built and wrong[1].weight.variable is None  # rolled back
    assert _np(wrong(keras.ops.ones((2, 6)))).shape == (2, 2)


@jax_only
def test_jax_zeros_are_fresh_arrays_and_tracing_is_seen():
    import jax

    from keras_defer.backend import jax_initial_values as values

    a, b = values.zeros((3, 2), "float32"), values.zeros((3, 2), "float32")
    assert a is not b and np.array_equal(np.asarray(a), np.zeros((3, 2), np.float32))
    assert str(a.dtype) == "float32"
    assert values.tracing() is False
    seen = []
    jax.jit(lambda v: seen.append(values.tracing()) or v)(1.0)
    jax.eval_shape(lambda v: seen.append(values.tracing()) or v, 1.0)
    assert seen == [True, True]


@jax_only
def test_jax_snapshot_is_a_new_buffer_with_the_same_bits():
    import jax.numpy as jnp

    value = jnp.asarray(np.array([-0.0, np.nan, 1.5, -np.inf], np.float32))
    copied = backend.snapshot(value)
    assert copied is not value
    assert copied.unsafe_buffer_pointer() != value.unsafe_buffer_pointer()
    assert np.asarray(copied).tobytes() == np.asarray(value).tobytes()
    variable = keras.Variable(value)
    assert backend.snapshot(variable).unsafe_buffer_pointer() != \
        variable.value.unsafe_buffer_pointer()


@jax_only
def test_jax_draws_take_keras_path_inside_a_trace():
    import jax

    from keras_defer.backend import jax_initial_values as values

    seen = []
    jax.jit(lambda v: seen.append(values.random_draws(
        "uniform", [(2,)], 1.0, 0.0, "float32")) or v)(1.0)
    assert seen == [None]
    assert values.random_draws("normal", [(2,)], 1.0, 0.0, "float32") is None


# -- PyTorch: module parameters ----------------------------------------------------------
@torch_only
def test_torch_params_kept_when_a_build_would_rebuild_them_unchanged():
    net = nn.Dense(4, in_units=3)
    net.initialize()
    params = net._torch_params
    net._track_variables()  # what Keras's build calls
    assert net._torch_params is params
    assert [n for n, _ in net.named_parameters()] == ["_torch_params.weight",
                                                      "_torch_params.bias"]
    deferred = nn.Dense(4)
    deferred.initialize()
    deferred(keras.ops.ones((2, 3)))
    assert [n for n, _ in deferred.named_parameters()] == ["_torch_params.weight",
                                                           "_torch_params.bias"]
    tensors = [t for _, t in deferred.named_parameters()]
    assert len(tensors) == 2 and tensors[0] is deferred.weight.variable.value \
        and tensors[1] is deferred.bias.variable.value
