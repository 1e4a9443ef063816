"""The eager fast path's plans of convolutions, pooling, Flatten and Dropout
(``keras_defer/nn/layer_plans.py``) compute the Keras path's values bit for bit.

Each test builds a small net, runs it once (the first pass), then compares the fast
path's output (asserting it was taken, on TensorFlow and PyTorch: their plans; on JAX
the whole net compiled) with the ordinary path's (``backend.fast_call`` switched off,
so every block goes through ``Layer.__call__`` and ``keras.ops``), with
``np.testing.assert_array_equal``: the same bits (on JAX, whose fast path is XLA's
compilation of the whole net, not these plans, within 1e-6: XLA fuses an average's
sum and divisor differently from eager, ~1 ulp). Both of Gluon's layouts, groups
(split by hand, and depthwise), dilation, strides, explicit and 'same' padding, bias
or not, activation or not; pooling with padding, ``ceil_mode`` and
``count_include_pad``. What must not be planned (dilated transposed convolutions, hooks, a
subclass's forward, training mode) takes the Keras path and keeps its behaviour.
No timing is asserted here (``benchmarks/backends.py`` measures).
"""

import contextlib
import functools

import keras
import numpy as np
import pytest

from keras_defer import autograd, backend, errors, nd
from keras_defer.gluon import nn

NAME = keras.backend.backend()
PLANS = NAME in ("tensorflow", "torch")
plans_only = pytest.mark.skipif(
    not PLANS, reason="option by option, these are TensorFlow's and PyTorch's plans; JAX "
    "compiles whole nets (jax_fast_path, tested in test_fast_path_backends; a compile per "
    "case would cost minutes), and is checked here on whole CNNs")
needs_recording = pytest.mark.skipif(
    NAME == "jax", reason="autograd.record() refuses on JAX (JAX records no operations)")


@pytest.fixture(autouse=True)
def compile_at_once(monkeypatch):
    """On JAX a signature is compiled at its HOT_CALLS-th call: here, the first."""
    if NAME == "jax":
        from keras_defer.backend import jax_fast_path

        monkeypatch.setattr(jax_fast_path, "HOT_CALLS", 1)


def _x(*shape, seed=0):
    return keras.ops.convert_to_tensor(
        np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32"))


_same = (np.testing.assert_array_equal if PLANS
         else functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-7))


def _np(t):
    if isinstance(t, nd.NDArray):
        return t.asnumpy()
    if hasattr(t, "detach"):
        t = t.detach()
    return keras.ops.convert_to_numpy(t)


@contextlib.contextmanager
def _keras_path_only():
    """Every block call takes ``Layer.__call__`` (``Block.__call__`` looks
    ``backend.fast_call`` up at each call)."""
    real = backend.fast_call
    backend.fast_call = lambda block, args: backend.MISS
    try:
        yield
    finally:
        backend.fast_call = real


def _keras_path(net, x):
    with _keras_path_only():
        return _np(net(x))


def _check(net, x):
    """The fast path is taken (TensorFlow, PyTorch) and equals the Keras path bit for
    bit; returns it."""
    if not net.built:
        net.initialize()
        net(x)  # the first pass
    fast = backend.fast_call(net, (x,))
    if PLANS:
        assert fast is not backend.MISS
    elif fast is backend.MISS:  # JAX refuses a trace that closes over an array (the
        fast = net(x)           # average pooling's divisor correction): eager
    fast = _np(fast)
    np.testing.assert_array_equal(_np(net(x)), fast)
    _same(_keras_path(net, x), fast)
    return fast


def _seq(*blocks):
    net = nn.Sequential()
    net.add(*blocks)
    return net


CONVS = [
    # (ndim, layout channels-last?, keyword arguments)
    (2, False, dict(channels=4, kernel_size=3)),
    (2, True, dict(channels=4, kernel_size=3)),
    (2, False, dict(channels=4, kernel_size=3, padding=1, activation="relu")),
    (2, True, dict(channels=4, kernel_size=3, padding=1, activation="relu")),
    (2, False, dict(channels=6, kernel_size=(3, 2), strides=(2, 1), padding=(2, 1),
                    use_bias=False)),
    (2, True, dict(channels=6, kernel_size=3, strides=2, padding=1, activation="sigmoid")),
    (2, False, dict(channels=4, kernel_size=3, dilation=2, padding=2, activation="tanh")),
    (2, True, dict(channels=4, kernel_size=3, dilation=(2, 1), padding=1)),
    (2, False, dict(channels=4, kernel_size=3, dilation=2, strides=2, padding=1)),
    (2, True, dict(channels=4, kernel_size=3, dilation=2, strides=2)),
    (2, False, dict(channels=6, kernel_size=3, groups=2, padding=1, activation="relu")),
    (2, True, dict(channels=6, kernel_size=3, groups=2, strides=2)),
    (2, False, dict(channels=4, kernel_size=3, groups=4, padding=1)),  # depthwise
    (2, True, dict(channels=8, kernel_size=3, groups=4, use_bias=False)),  # depthwise x2
    (2, False, dict(channels=4, kernel_size=3, groups=4, dilation=2, strides=2, padding=1)),
    (2, False, dict(channels=1, kernel_size=1)),  # one channel: AddV2, not BiasAdd
    (1, False, dict(channels=4, kernel_size=3, padding=1, activation="relu")),
    (1, True, dict(channels=4, kernel_size=3, strides=2, dilation=1)),
    (1, False, dict(channels=4, kernel_size=2, dilation=3, groups=2, use_bias=False)),
    (1, True, dict(channels=4, kernel_size=3, dilation=2, strides=2, padding=2)),
    (3, False, dict(channels=3, kernel_size=2, padding=1, activation="relu")),
    (3, True, dict(channels=3, kernel_size=(2, 1, 2), strides=(1, 2, 1))),
    (3, False, dict(channels=4, kernel_size=3, groups=2, padding=1)),
    # transposed (Conv*DTranspose): output_padding, padding cropped, groups
    (2, False, dict(channels=4, kernel_size=3, strides=2, transpose=True)),
    (2, True, dict(channels=4, kernel_size=3, strides=2, padding=1, output_padding=1,
                   activation="relu", transpose=True)),
    (2, False, dict(channels=6, kernel_size=(3, 2), groups=2, use_bias=False,
                    transpose=True)),
    (1, True, dict(channels=3, kernel_size=3, strides=3, padding=2, output_padding=2,
                   transpose=True)),
    (3, False, dict(channels=2, kernel_size=2, strides=2, transpose=True)),
]


def _conv_input(ndim, channels_last, channels=4, size=9, batch=2):
    spatial = (size,) * ndim
    shape = (batch,) + spatial + (channels,) if channels_last else (batch, channels) + spatial
    return _x(*shape)


@plans_only
@pytest.mark.parametrize("ndim, last, kwargs", CONVS,
                         ids=["%dd-%s-%d" % (c[0], "last" if c[1] else "first", i)
                              for i, c in enumerate(CONVS)])
def test_convolution_plans_equal_the_keras_path(ndim, last, kwargs):
    layouts = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
    kwargs = dict(kwargs)
    kind = "Conv%dDTranspose" if kwargs.pop("transpose", False) else "Conv%dD"
    conv = getattr(nn, kind % ndim)(layout=layouts[ndim][last], **kwargs)
    _check(conv, _conv_input(ndim, last, size=7 if ndim == 3 else 9))


POOLS = [
    ("Max", 2, False, dict()),
    ("Max", 2, True, dict(pool_size=3, strides=2, padding=1)),
    ("Max", 2, False, dict(pool_size=3, strides=2, ceil_mode=True)),
    ("Max", 2, True, dict(pool_size=(3, 2), strides=(2, 1), padding=(1, 0), ceil_mode=True)),
    ("Avg", 2, False, dict()),
    ("Avg", 2, True, dict(pool_size=3, strides=2, padding=1)),
    ("Avg", 2, False, dict(pool_size=3, strides=2, padding=1, count_include_pad=False)),
    ("Avg", 2, True, dict(pool_size=3, strides=2, ceil_mode=True)),
    ("Avg", 2, False, dict(pool_size=3, strides=2, padding=1, ceil_mode=True,
                           count_include_pad=False)),
    ("Max", 1, False, dict(pool_size=3, strides=2, padding=1)),
    ("Avg", 1, True, dict(pool_size=2, ceil_mode=True)),
    ("Max", 3, True, dict(pool_size=2, ceil_mode=True)),
    ("Avg", 3, False, dict(pool_size=2, padding=1, count_include_pad=False)),
    ("GlobalMax", 2, False, dict()),
    ("GlobalAvg", 2, True, dict()),
    ("GlobalMax", 1, True, dict()),
    ("GlobalAvg", 1, False, dict()),
    ("GlobalAvg", 3, False, dict()),
    ("GlobalMax", 3, True, dict()),
]


@plans_only
@pytest.mark.parametrize("kind, ndim, last, kwargs", POOLS,
                         ids=["%s%dd-%s-%d" % (p[0], p[1], "last" if p[2] else "first", i)
                              for i, p in enumerate(POOLS)])
def test_pooling_plans_equal_the_keras_path(kind, ndim, last, kwargs):
    layouts = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
    pool = getattr(nn, "%sPool%dD" % (kind, ndim))(layout=layouts[ndim][last], **kwargs)
    size = 7 if ndim == 3 else 9
    _check(pool, _conv_input(ndim, last, size=size))
    _check(pool, _conv_input(ndim, last, size=size + 1, batch=3))  # other sizes


def test_a_lenet_without_flatten_runs_as_one_plan():
    """d2l's LeNet (Gluon's NCHW, Dense flattening its 4-d input) and the
    benchmark's NHWC CNN, with Flatten."""
    lenet = _seq(nn.Conv2D(6, 5, padding=2, activation="sigmoid"), nn.AvgPool2D(2, 2),
                 nn.Conv2D(16, 5, activation="sigmoid"), nn.AvgPool2D(2, 2),
                 nn.Dense(120, activation="sigmoid"), nn.Dense(84, activation="sigmoid"),
                 nn.Dense(10))
    _check(lenet, _x(2, 1, 28, 28))
    cnn = _seq(nn.Conv2D(8, 3, padding=1, activation="relu", layout="NHWC"),
               nn.MaxPool2D(2, layout="NHWC"),
               nn.Conv2D(16, 3, padding=1, activation="relu", layout="NHWC"),
               nn.MaxPool2D(2, layout="NHWC"), nn.Flatten(),
               nn.Dense(64, activation="relu"), nn.Dense(10))
    _check(cnn, _x(2, 16, 16, 1))
    assert tuple(cnn(_x(5, 16, 16, 1)).shape) == (5, 10)  # another batch size
    if PLANS:
        plan = cnn.__dict__["_fast_plan"]
        assert plan.rank == 4 and not plan.inference


def test_a_first_pass_of_a_fresh_cnn_runs_its_plan(monkeypatch):
    planned = []
    real = backend.fast_call

    def spy(block, args):
        out = real(block, args)
        planned.append((block.name, out is not backend.MISS))
        return out

    monkeypatch.setattr(backend, "fast_call", spy)
    net = _seq(nn.Conv2D(4, 3, activation="relu"), nn.MaxPool2D(), nn.Dense(3))
    net.initialize()
    first = _np(net(_x(2, 3, 8, 8)))
    if PLANS:
        assert planned == [(net.name, True)]  # one plan for the net, none per child
    _same(_keras_path(net, _x(2, 3, 8, 8)), first)


def test_dropout_is_planned_in_inference_and_drops_in_training():
    net = _seq(nn.Conv2D(4, 3), nn.Flatten(), nn.Dropout(0.5), nn.Dense(8), nn.Dropout(0.3))
    x = _x(4, 2, 6, 6)
    out = _check(net, x)
    if PLANS:
        assert net.__dict__["_fast_plan"].inference
    with autograd.train_mode():  # an NDArray call then trains (Keras's training context)
        trained = _np(net(nd.array(_np(x))))
    assert not np.array_equal(trained, out)
    assert (trained == 0).any()
    np.testing.assert_array_equal(_np(net(x)), out)  # inference again
    assert not np.array_equal(_np(net(x, training=True)), out)


def test_dense_without_flatten_after_a_convolution_takes_the_keras_path():
    net = _seq(nn.Conv2D(4, 3, layout="NHWC"), nn.Dense(5, flatten=False))
    x = _x(2, 6, 6, 3)
    net.initialize()
    first = _np(net(x))
    assert first.shape == (2, 4, 4, 5)
    if PLANS:
        assert backend.fast_call(net, (x,)) is backend.MISS
    np.testing.assert_array_equal(_np(net(x)), first)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_wrong_channels_raise_keras_defers_error_and_change_nothing(layout):
    for conv in (nn.Conv2D(4, 3, layout=layout), nn.Conv2D(4, 3, groups=2, layout=layout),
                 nn.Conv2D(4, 3, groups=4, layout=layout)):  # depthwise
        net = _seq(conv, nn.GlobalAvgPool2D(layout=layout))
        shape = (2, 6, 6, 4) if layout == "NHWC" else (2, 4, 6, 6)
        out = _check(net, _x(*shape))
        weights = _np(conv.weight.data())
        wrong = (2, 6, 6, 8) if layout == "NHWC" else (2, 8, 6, 6)
        with pytest.raises(errors.ShapeMismatchError):
            net(_x(*wrong))
        with pytest.raises(errors.ShapeMismatchError):
            net(nd.array(_np(_x(*wrong))))
        np.testing.assert_array_equal(_np(conv.weight.data()), weights)
        np.testing.assert_array_equal(_np(net(_x(*shape))), out)
    with pytest.raises(Exception) as raised:  # a wrong rank: the Keras path's error
        net(_x(2, 4, 6))
    with _keras_path_only(), pytest.raises(type(raised.value)):
        net(_x(2, 4, 6))


def test_new_weights_are_seen_on_the_next_call():
    conv = nn.Conv2D(4, 3, padding=1, activation="relu")
    net = _seq(conv, nn.MaxPool2D(), nn.Flatten(), nn.Dense(3))
    x = _x(2, 3, 8, 8)
    first = _check(net, x)
    conv.weight.set_data(conv.weight.data() * 2)
    conv.bias.set_data(conv.bias.data() + 1)
    second = _check(net, x)
    assert not np.array_equal(first, second)
    net.initialize(force_reinit=True)
    assert not np.array_equal(_check(net, x), second)


def test_unplanned_blocks_keep_their_behaviour():
    calls = []

    class Doubled(nn.Conv2D):
        def forward(self, x):
            return 2 * super().forward(x)

    x = _x(2, 3, 8, 8)
    doubled = Doubled(4, 3)
    doubled.initialize()
    doubled(x)
    if PLANS:
        assert backend.fast_call(doubled, (x,)) is backend.MISS
    np.testing.assert_array_equal(_np(doubled(x)), 2 * _np(nn.Conv2D.forward(doubled, x)))

    hooked = nn.Conv2D(4, 3, activation="relu")
    net = _seq(hooked, nn.MaxPool2D())
    net.initialize()
    net(x)
    hooked.act.register_forward_hook(lambda block, inputs, out: calls.append(out.shape))
    net(x)
    assert calls and tuple(calls[-1]) == (2, 4, 6, 6)  # Gluon's layout, as on the Keras path
    if PLANS:
        assert backend.fast_call(net, (x,)) is backend.MISS

    deconv = _seq(nn.Conv2DTranspose(4, 3, strides=2, dilation=2), nn.MaxPool2D())
    deconv.initialize()
    first = _np(deconv(x))
    if PLANS:
        assert backend.fast_call(deconv, (x,)) is backend.MISS
    _same(_keras_path(deconv, x), first)


@needs_recording
def test_gradients_through_the_plan_equal_the_keras_paths():
    def grads(fast):
        net = _seq(nn.Conv2D(4, 3, padding=1, activation="relu", groups=1),
                   nn.AvgPool2D(3, 2, padding=1), nn.Conv2D(4, 3, groups=4),
                   nn.GlobalMaxPool2D(), nn.Dense(3))
        net.initialize()
        x = nd.array(_np(_x(2, 3, 8, 8)))
        net(x)
        for i, p in enumerate(net.collect_params().values()):
            p.set_data(nd.array(np.random.RandomState(i).uniform(-1, 1, p.shape)
                                .astype("float32")))
        with (contextlib.nullcontext() if fast else _keras_path_only()):
            with autograd.record():
                loss = (net(x) ** 2).sum()
            loss.backward()
        return [_np(p.grad()) for p in net.collect_params().values()]

    for fast, slow in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("layout, kwargs", [
    ("NCHW", dict()),
    ("NHWC", dict(axis=-1, epsilon=1e-3)),
    ("NCHW", dict(center=False, scale=False)),
    ("NHWC", dict(axis=3, use_global_stats=True)),
])
def test_batchnorm_is_planned_in_inference_and_trains_on_the_keras_path(layout, kwargs):
    norm = nn.BatchNorm(**kwargs)
    net = _seq(nn.Conv2D(4, 3, layout=layout), norm, nn.Activation("relu"),
               nn.GlobalAvgPool2D(layout=layout), nn.Dense(3))
    x = _x(4, 6, 6, 2) if layout == "NHWC" else _x(4, 2, 6, 6)
    net.initialize()
    net(x)
    for i, name in enumerate(("gamma", "beta", "running_mean", "running_var")):
        param = getattr(norm, name)  # statistics other than the initial 0 and 1
        param.set_data(nd.array(np.random.RandomState(i).uniform(0.5, 2, param.shape)
                                .astype("float32")))
    out = _check(net, x)
    if PLANS:
        assert net.__dict__["_fast_plan"].inference is not norm._use_global_stats
    stats = _np(norm.running_mean.data())
    with autograd.train_mode():  # an NDArray call trains: batch statistics, on Keras's path
        trained = _np(net(nd.array(_np(x))))
    moved = not np.array_equal(_np(norm.running_mean.data()), stats)
    assert moved is not norm._use_global_stats
    if norm._use_global_stats:
        _same(trained, out)  # the running statistics, in training too
    else:
        assert not np.array_equal(trained, out)
    after = _check(net, x)  # the new statistics are read
    assert np.array_equal(after, out) is norm._use_global_stats
