"""The eager fast paths on every backend change speed, never behaviour.

TensorFlow and PyTorch run a built net's plan (``keras_defer.fast_path``) as raw ops;
JAX compiles a built net called the same way again and again into one jitted
function (``backend.jax_fast_path``); on TensorFlow, ``nn.Sequential.hybridize()``
runs its hybridized children as one compiled graph. Each test compares the fast
path with the ordinary Keras path (``net._keras_call``), after every kind of change
a net can go through: new values (``set_data``, ``load_parameters``,
``force_reinit``, a Trainer step), new variables (``cast``, sharing), new children,
hooks, ``hybridize``. No timing is asserted here (``benchmarks/backends.py`` measures).
"""

import os
import sys
import warnings

import keras
import numpy as np
import pytest

from keras_defer import autograd, backend, errors, gluon, keras_compat, nd
from keras_defer.gluon import nn

NAME = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_recording = pytest.mark.skipif(
    NAME == "jax", reason="autograd.record() refuses on JAX (JAX records no operations)")
tensorflow_only = pytest.mark.skipif(
    NAME != "tensorflow", reason="nn.Sequential.hybridize() compiles only on TensorFlow "
    "and JAX, and on JAX the whole net is compiled by the fast path anyway")


@pytest.fixture(autouse=True)
def compile_at_once(monkeypatch):
    """On JAX a signature is compiled at its HOT_CALLS-th call: here, the first."""
    if NAME == "jax":
        from keras_defer.backend import jax_fast_path

        monkeypatch.setattr(jax_fast_path, "HOT_CALLS", 1)


def _x(*shape, seed=0, dtype="float32"):
    return keras.ops.convert_to_tensor(
        np.random.RandomState(seed).uniform(-1, 1, size=shape).astype(dtype), dtype=dtype)


def _np(t):
    if isinstance(t, nd.NDArray):
        return t.asnumpy()
    if hasattr(t, "detach"):
        t = t.detach()
    return keras.ops.convert_to_numpy(t)


def _mlp(depth=3, container=nn.Sequential, act="relu"):
    net = container()
    for i in range(depth):
        net.add(nn.Dense(8 if i < depth - 1 else 3, activation=act if i < depth - 1 else None))
    net.initialize()
    return net


def _cnn():
    net = nn.Sequential()
    net.add(nn.Conv2D(4, 3, padding=1, activation="relu"), nn.BatchNorm(), nn.MaxPool2D(2),
            nn.Conv2D(6, 3), nn.Activation("tanh"), nn.Flatten(), nn.Dropout(0.5),
            nn.Dense(10, activation="sigmoid"), nn.Dense(3))
    net.initialize()
    return net


def _fast(net, x):
    """The fast path's output (asserting it was taken)."""
    out = backend.fast_call(net, (x,))
    assert out is not backend.MISS
    return out


def _same_as_slow(net, x):
    """net(x) equals the Keras path's output bit for bit, and the fast path ran."""
    fast = _np(_fast(net, x))
    np.testing.assert_array_equal(_np(net(x)), fast)
    np.testing.assert_array_equal(_np(net._keras_call(x)), fast)
    return fast


@pytest.mark.parametrize("act", ["relu", "tanh", None])
def test_mlp_fast_path_equals_the_keras_path(act):
    net = _mlp(act=act)
    x = _x(4, 5)
    net(x)
    _same_as_slow(net, x)
    assert tuple(net(_x(9, 5)).shape) == (9, 3)  # another batch size


def test_gluon_ndarray_call_takes_the_fast_path_and_returns_ndarrays():
    net = _mlp()
    x = _x(2, 5)
    net(x)
    out = net(nd.array(_np(x)))
    assert isinstance(out, nd.NDArray)
    np.testing.assert_array_equal(out.asnumpy(), _same_as_slow(net, x))


@pytest.mark.skipif(NAME != "jax", reason="JAX compiles whole nets; TF's and PyTorch's "
                    "plans of CNNs (BatchNorm unplanned) are in test_fast_path_layers.py")
def test_jax_compiles_a_cnn_to_the_same_values_and_refuses_training_mode():
    net = _cnn()
    x = _x(2, 3, 12, 12)
    net(x)
    _same_as_slow(net, x)
    stats = [_np(p.data()) for p in net.collect_params(".*running").values()]
    with keras_compat.training_context(net, True):  # what train_mode() gives an NDArray call
        assert backend.fast_call(net, (x,)) is backend.MISS  # Dropout, BatchNorm train
    with autograd.train_mode():
        trained = _np(net(nd.array(_np(x))))
    assert not np.array_equal(trained, _np(net(x)))
    moved = [_np(p.data()) for p in net.collect_params(".*running").values()]
    assert any(not np.array_equal(a, b) for a, b in zip(stats, moved))
    _same_as_slow(net, x)  # the new statistics are read


@pytest.mark.skipif(NAME != "jax", reason="JAX compiles a net at its HOT_CALLS-th call")
def test_jax_compiles_only_after_hot_calls(monkeypatch):
    from keras_defer.backend import jax_fast_path

    monkeypatch.setattr(jax_fast_path, "HOT_CALLS", 3)
    net = _mlp()
    x = _x(2, 5)
    net(x)  # the first pass: eager
    assert backend.fast_call(net, (x,)) is backend.MISS  # call 1 of this signature
    assert backend.fast_call(net, (x,)) is backend.MISS  # 2
    assert backend.fast_call(net, (x,)) is not backend.MISS  # 3: compiled
    assert backend.fast_call(net, (_x(3, 5),)) is backend.MISS  # a new signature counts anew


def test_user_blocks_and_lambdas_keep_running_their_python():
    calls = []

    class Mine(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.dense = nn.Dense(3)

        def forward(self, x):
            calls.append(1)
            return self.dense(x)

    net = Mine()
    net.initialize()
    x = _x(2, 5)
    for _ in range(3):
        net(x)
    assert len(calls) == 3
    assert backend.fast_call(net, (x,)) is backend.MISS
    seq = nn.Sequential()
    seq.add(nn.Dense(4), nn.Lambda(lambda y: (calls.append(1), y * 2)[1]))
    seq.initialize()
    seq(x)  # the first pass (its shape inference may run the function too)
    count = len(calls)
    for _ in range(3):
        seq(x)
    assert len(calls) == count + 3
    assert backend.fast_call(seq, (x,)) is backend.MISS


def test_new_values_are_seen_on_the_next_call(tmp_path):
    net = _mlp()
    x = _x(2, 5)
    net(x)
    before = _same_as_slow(net, x)
    net[2].bias.set_data(nd.ones((3,)))
    after = _same_as_slow(net, x)
    np.testing.assert_allclose(after, before + 1, rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "net.params")
    net.save_parameters(path)
    net.initialize(force_reinit=True)
    reinit = _same_as_slow(net, x)
    assert not np.array_equal(reinit, after)
    net.load_parameters(path)
    np.testing.assert_array_equal(_same_as_slow(net, x), after)


@needs_recording
def test_trainer_steps_are_seen_and_gradients_match_the_keras_path():
    net = _mlp()
    x, label = _x(4, 5), nd.array(np.array([0, 1, 2, 1], "float32"))
    net(x)
    data = nd.array(_np(x))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    params = list(net.collect_params().values())

    def grads(fast):
        with autograd.record():
            out = net(data) if fast else nd.NDArray(net._keras_call(x))
            loss = loss_fn(out, label)
        loss.backward()
        return [p.grad().asnumpy().copy() for p in params]

    for fast_grad, slow_grad in zip(grads(True), grads(False)):
        np.testing.assert_allclose(fast_grad, slow_grad, rtol=1e-6, atol=1e-7)
    before = _same_as_slow(net, x)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    grads(True)
    trainer.step(4)
    assert not np.array_equal(_same_as_slow(net, x), before)


def test_new_variables_children_hooks_and_hybridize_are_seen():
    net = _mlp()
    x = _x(2, 5)
    net(x)
    _same_as_slow(net, x)
    # new variables: cast
    net.cast("float64")
    assert backend.fast_call(net, (x,)) is backend.MISS  # float32 input, float64 net
    net.cast("float32")
    _same_as_slow(net, x)
    # new children
    extra = nn.Dense(2)
    extra.initialize()
    net.add(extra)
    assert backend.fast_call(net, (x,)) is backend.MISS  # extra is not built yet
    assert tuple(net(x).shape) == (2, 2)  # its first pass
    assert _same_as_slow(net, x).shape == (2, 2)
    # hooks run, and the fast path steps aside for them
    seen = []
    handle = net[1].register_forward_hook(lambda block, inputs, output: seen.append(1))
    net(x)
    assert seen == [1]
    assert backend.fast_call(net, (x,)) is backend.MISS
    handle.detach()
    _same_as_slow(net, x)
    # sharing: another net's parameters
    other = _mlp()
    last = nn.Dense(2)
    last.initialize()
    other.add(last)
    other(x)
    net.share_parameters(other)
    np.testing.assert_array_equal(_same_as_slow(net, x), _np(other._keras_call(x)))


def test_wrong_feature_size_raises_keras_defers_error_and_changes_nothing():
    net = _mlp()
    x = _x(2, 5)
    net(x)
    before = _same_as_slow(net, x)
    for _ in range(2):
        with pytest.raises(errors.ShapeMismatchError):
            net(_x(2, 6))
    np.testing.assert_array_equal(_same_as_slow(net, x), before)


def test_symbolic_and_keyword_calls_take_the_keras_path():
    net = _mlp()
    x = _x(2, 5)
    net(x)
    assert tuple(net(x, training=True).shape) == (2, 3)
    inputs = keras.Input((5,))
    model = keras.Model(inputs, net(inputs))
    np.testing.assert_allclose(_np(model(x)), _np(net(x)), rtol=1e-6)


def _hybridized_sequential(x):
    net = _mlp()
    net(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Gluon's "consider HybridSequential"
        net.hybridize()
    return net


def _per_child(net, x):
    """What the hybridized children compute one by one, each its own compiled call."""
    for child in net._children.values():
        x = child(x)
    return _np(x)


def test_sequential_hybridize_first_call_goes_through_each_child():
    x = _x(2, 5)
    net = _hybridized_sequential(x)
    compiles = backend.compile_call(net[0]) is not None  # not on PyTorch: stays eager
    if compiles:
        assert backend.fast_call(net, (x,)) is backend.MISS  # children not called since
    first = _np(net(x))
    if compiles:
        assert all("_export_graph" in child.__dict__ for child in net._children.values())
    np.testing.assert_array_equal(_np(_fast(net, x)), first)
    np.testing.assert_array_equal(_per_child(net, x), first)


@tensorflow_only
def test_sequential_hybridize_runs_the_children_as_one_graph():
    x = _x(2, 5)
    net = _hybridized_sequential(x)
    first = _np(net(x))
    out = _np(net(x))
    plan = net.__dict__["_fast_plan"]
    assert plan is not None and plan.dtype is None and len(plan.steps) == 1  # one run
    np.testing.assert_array_equal(out, first)
    np.testing.assert_array_equal(_np(net(_x(7, 5))), _per_child(net, _x(7, 5)))
    with pytest.raises(errors.ShapeMismatchError):
        net(_x(2, 6))
    # new values, hooks, un-hybridizing
    net[2].bias.set_data(nd.ones((3,)))
    np.testing.assert_array_equal(_np(net(x)), _per_child(net, x))
    seen = []
    handle = net[0].register_forward_hook(lambda block, inputs, output: seen.append(1))
    net(x)
    assert seen == [1]
    handle.detach()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.hybridize(False)
    np.testing.assert_array_equal(_np(net(x)), _np(net._keras_call(x)))
    assert net.__dict__["_fast_plan"].dtype is not None  # the eager plan again


@tensorflow_only
def test_sequential_hybridize_records_gradients_and_exports(tmp_path):
    x = _x(4, 5)
    net = _hybridized_sequential(x)
    net(x)
    data = nd.array(_np(x))
    params = list(net.collect_params().values())

    def grads(call):
        with autograd.record():
            loss = call().sum()
        loss.backward()
        return [p.grad().asnumpy().copy() for p in params]

    fast = grads(lambda: net(data))
    per_child = grads(lambda: net[2](net[1](net[0](data))))
    for a, b in zip(fast, per_child):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    net[0].export(str(tmp_path / "dense0"))
    assert os.path.exists(str(tmp_path / "dense0-symbol.json"))


def test_backend_benchmark_smoke(capsys):
    """benchmarks/backends.py runs on this backend and reports complete rows (in this
    process: its --quick sizes, no timing asserted)."""
    import json

    sys.path.insert(0, ROOT)
    from benchmarks import backends

    assert backends.main(["--quick", "--json", "--only", "first_call",
                          "sequential_hybridize", "eager_forward_cnn"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["backend"] == NAME
    assert {r["id"] for r in report["rows"]} == {"first_call", "sequential_hybridize",
                                                 "eager_forward_cnn"}
    for r in report["rows"]:
        assert r["ratio"] > 0 and r["met"] in (True, False)


@pytest.mark.skipif(NAME != "jax", reason="on JAX the fast path compiles whole nets")
def test_jax_compiles_hybridized_children_into_the_net():
    x = _x(2, 5)
    net = _hybridized_sequential(x)
    first = _np(net(x))  # each child's first call after hybridize(): its own graph
    np.testing.assert_array_equal(_np(_fast(net, x)), first)
    np.testing.assert_array_equal(_per_child(net, x), first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.hybridize()  # new compiled calls: the net's function is made again
    assert backend.fast_call(net, (x,)) is backend.MISS  # first calls again
    np.testing.assert_array_equal(_np(net(x)), first)
    np.testing.assert_array_equal(_np(_fast(net, x)), first)


@pytest.mark.skipif(NAME != "torch", reason="a variable swaps its tensor on PyTorch only")
def test_torch_plan_follows_a_variable_holding_a_new_tensor():
    import torch

    net = _mlp()
    x = _x(2, 5)
    net(x)
    _same_as_slow(net, x)
    variable = net[2].bias.variable
    keras_compat.set_variable_tensor(
        variable, torch.nn.Parameter(torch.ones(3), requires_grad=variable.trainable))
    fast = _same_as_slow(net, x)
    np.testing.assert_array_equal(fast, _np(net[2](net[1](net[0](x)))))
