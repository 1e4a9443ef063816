"""Gluon's multi-device idiom (``keras_defer.multi_device``) against MXNet 1.9.1.

``net.initialize(ctx=[cpu(0), cpu(1)])`` holds one copy of each parameter per context;
``split_and_load`` + a forward/backward per context + ``trainer.step`` is d2l's
"multiple GPUs, concise" loop. The scenario is ``record_multi_device.run``, the same
code MXNet ran (``data/multi_device.json``). These run in the test process: every CPU
context is the host device here, and ``split_and_load`` keeps which context each slice
is for. Two TensorFlow logical CPUs (copies really on two devices, the sum through
``tf.distribute``) and JAX's forced host devices: ``test_multi_device_engine.py``.
"""

import json
import os

import numpy as np
import pytest

import keras_defer as mx
from keras_defer import autograd, backend, gluon, multi_device, naming, nd
from keras_defer.gluon import nn
from tests.mxnet_reference import record_multi_device as scenario

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "mxnet_reference", "data", "multi_device.json")) as handle:
    RECORDED = json.load(handle)

RECORDS = backend.NAME in ("tensorflow", "torch")
needs_recording = pytest.mark.skipif(
    not RECORDS, reason="autograd.record() refuses on %s" % backend.NAME)

CTX = [mx.cpu(0), mx.cpu(1)]


def _close(ours, theirs, what, atol=2e-5):
    np.testing.assert_allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64),
                               rtol=1e-4, atol=atol, err_msg=what)


@pytest.fixture(scope="module")
def ours():
    if not RECORDS:
        pytest.skip("the scenario trains under autograd.record(), which refuses on %s"
                    % backend.NAME)
    naming.reset_counters()
    return scenario.run(mx)


@needs_recording
@pytest.mark.parametrize("key", ["pending_list_ctx", "pending_list_data", "split_shapes",
                                 "list_ctx", "params_list_ctx", "n_list_data",
                                 "n_list_grad", "data_other_ctx", "grad_other_ctx",
                                 "stale_copy", "stale_copy_kvstore", "write_one_copy",
                                 "data_in_ctx1_scope", "zero_grad", "set_data_again",
                                 "reset_one", "reset_two"])
def test_behaviour_matches_mxnet(ours, key):
    mine, theirs = ours[key], RECORDED[key]
    if key == "write_one_copy":
        _close(mine, theirs, key)
    else:
        assert mine == theirs


@needs_recording
@pytest.mark.parametrize("key", ["set_data_every_copy", "forward_per_ctx",
                                 "allreduced_grads", "allreduce_update_weights",
                                 "forward_after_write", "running_mean"])
def test_values_match_mxnet(ours, key):
    _close(ours[key], RECORDED[key], key)


@needs_recording
def test_training_steps_match_mxnet(ours):
    """Per step: each context's loss and gradient (its own slice), gradients left per
    copy by the kvstore step, both copies' weights equal and as MXNet's."""
    for step, (mine, theirs) in enumerate(zip(ours["steps"], RECORDED["steps"])):
        for key in ("losses", "grads", "grads_after_step", "weights", "bias1"):
            _close(mine[key], theirs[key], "step %d %s" % (step, key))
        assert mine["weights"][0] == mine["weights"][1]  # identical copies


def _net(ctx):
    net = nn.Sequential()
    net.add(nn.Dense(5, activation="relu"), nn.Dense(3))
    net.initialize(mx.init.Normal(0.1), ctx=ctx)
    return net


def test_copies_exist_after_the_first_pass_and_read_their_context():
    """Every backend (JAX too: no recording needed): one copy per context, writes to
    one copy change only the forward on its context."""
    net = _net(CTX)
    weight = net[0].weight
    assert weight.list_ctx() == CTX
    x = nd.array(np.random.RandomState(0).uniform(size=(4, 6)).astype(np.float32))
    xs = gluon.utils.split_and_load(x, CTX)
    net(xs[0])
    for param, value in zip(net.collect_params().values(), _fixed(7, net)):
        param.set_data(nd.array(value))
    before = [net(xk).asnumpy() for xk in xs]
    assert np.abs(before[1]).sum() > 0
    assert len(weight.list_data()) == len(weight.list_grad()) == 2
    np.testing.assert_array_equal(weight.list_data()[0].asnumpy(),
                                  weight.list_data()[1].asnumpy())
    weight.data(CTX[1])[:] = 0  # copy 1 only
    after = [net(xk).asnumpy() for xk in xs]
    np.testing.assert_array_equal(after[0], before[0])
    assert not np.array_equal(after[1], before[1])
    with CTX[1]:
        assert float(np.abs(weight.data().asnumpy()).sum()) == 0.0
    weight.set_data(nd.ones(weight.shape))  # every copy
    assert [float(d.asnumpy().sum()) for d in weight.list_data()] == [30.0, 30.0]


def test_one_context_keeps_one_copy():
    net = _net(mx.cpu(0))
    net(nd.ones((2, 6)))
    weight = net[0].weight
    assert weight._replicas is None
    assert len(weight.list_data()) == 1 and weight.data(mx.cpu(0)) is weight.data()


def test_reset_ctx_and_cast_keep_the_copies_in_step():
    net = _net(CTX)
    net(nd.ones((2, 6)))
    weight = net[0].weight
    weight.reset_ctx(mx.cpu(0))
    assert weight.list_ctx() == [mx.cpu(0)] and len(weight.list_data()) == 1
    weight.reset_ctx(CTX)
    assert len(weight.list_data()) == 2
    net.cast("float16")
    assert [d.dtype for d in weight.list_data()] == [np.float16, np.float16]
    np.testing.assert_array_equal(*[d.asnumpy() for d in weight.list_data()])


def test_save_and_load_write_every_copy(tmp_path):
    net = _net(CTX)
    net(nd.ones((2, 6)))
    path = str(tmp_path / "net.params")
    net.save_parameters(path)
    saved = net[0].weight.data().asnumpy()
    net[0].weight.data(CTX[1])[:] = 7
    net.load_parameters(path, ctx=CTX)
    for d in net[0].weight.list_data():
        np.testing.assert_array_equal(d.asnumpy(), saved)


def test_deepcopy_copies_the_copies():
    import copy

    net = _net(CTX)
    net(nd.ones((2, 6)))
    twin = copy.deepcopy(net)
    mine, theirs = net[0].weight, twin[0].weight
    assert len(theirs.list_data()) == 2
    theirs.data(CTX[1])[:] = 3
    assert float(mine.data(CTX[1]).asnumpy().sum()) != 90.0


@needs_recording
def test_stale_copy_refused_without_kvstore_updates_and_nothing_changes():
    net = _net(CTX)
    x = nd.ones((4, 6))
    xs = gluon.utils.split_and_load(x, CTX)
    net(xs[0])
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1},
                            update_on_kvstore=False)
    with autograd.record():
        out = net(xs[0]).sum()
    out.backward()
    before = [d.asnumpy() for d in net[0].weight.list_data()]
    with pytest.raises(UserWarning, match=r"on context cpu\(1\) has not been updated"):
        trainer.step(4)
    for d, b in zip(net[0].weight.list_data(), before):
        np.testing.assert_array_equal(d.asnumpy(), b)


@needs_recording
def test_allreduce_grads_refused_when_the_kvstore_updates():
    net = _net(CTX)
    net(nd.ones((2, 6)))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with pytest.raises(AssertionError, match="update_on_kvstore"):
        trainer.allreduce_grads()


@needs_recording
def test_without_kvstore_each_copy_takes_its_own_gradient():
    """kvstore=None (MXNet: no reduction): copy k is updated from copy k's gradient."""
    net = _net(CTX)
    rng = np.random.RandomState(1)
    xs = gluon.utils.split_and_load(nd.array(rng.uniform(size=(4, 6)).astype("f")), CTX)
    net(xs[0])
    weight = net[0].weight
    start = weight.data().asnumpy()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0},
                            kvstore=None)
    with autograd.record():
        losses = [net(xk).sum() for xk in xs]
    for loss in losses:
        loss.backward()
    grads = [g.asnumpy() for g in weight.list_grad()]
    trainer.step(1)
    for data, grad in zip(weight.list_data(), grads):
        np.testing.assert_allclose(data.asnumpy(), start - grad, rtol=1e-6, atol=1e-6)


@needs_recording
def test_matches_one_device_on_the_whole_batch():
    """The point of the idiom: the summed per-slice gradients are the whole batch's."""
    rng = np.random.RandomState(2)
    x = rng.uniform(-1, 1, (8, 6)).astype(np.float32)
    y = rng.randint(0, 3, (8,)).astype(np.float32)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    weights = []
    for ctx in (CTX, [mx.cpu(0)]):
        naming.reset_counters()
        net = _net(ctx)
        net(nd.array(x[:2]))
        for p, v in zip(net.collect_params().values(), _fixed(rng_seed=5, net=net)):
            p.set_data(nd.array(v))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
        for _ in range(3):
            xs = gluon.utils.split_and_load(nd.array(x), ctx)
            ys = gluon.utils.split_and_load(nd.array(y), ctx)
            with autograd.record():
                losses = [loss(net(a), b) for a, b in zip(xs, ys)]
            for l in losses:
                l.backward()
            trainer.step(8)
        weights.append([p.data().asnumpy() for p in net.collect_params().values()])
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _fixed(rng_seed, net):
    rng = np.random.RandomState(rng_seed)
    return [rng.uniform(-0.5, 0.5, p.shape).astype(np.float32)
            for p in net.collect_params().values()]


def test_a_context_the_parameter_is_not_on_is_refused():
    net = _net(CTX)
    net(nd.ones((2, 6)))
    x2 = nd.ones((2, 6)).as_in_context(mx.cpu(2))
    with pytest.raises(RuntimeError, match=r"not initialized on context cpu\(2\)"):
        net(x2)
    assert getattr(multi_device._local, "routing", None) is None


def test_a_hybridized_net_reads_each_context_copy():
    """A compiled function holds copy 0's variables: on another context the net runs
    plain, on that context's copies."""
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize(ctx=CTX)
    net.hybridize()
    x = nd.array(np.random.RandomState(4).uniform(size=(4, 3)).astype(np.float32))
    xs = gluon.utils.split_and_load(x, CTX)
    net(xs[0])
    net[0].weight.data(CTX[1])[:] = 0.5
    single = nn.HybridSequential()
    single.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    single.initialize(ctx=mx.cpu(0))
    single(xs[0])
    for mine, twin in zip(net.collect_params().values(), single.collect_params().values()):
        twin.set_data(mine.data(CTX[1]))
    np.testing.assert_allclose(net(xs[1]).asnumpy(), single(xs[1]).asnumpy(), rtol=1e-6)
    assert not np.allclose(net(xs[0]).asnumpy(), single(xs[0]).asnumpy())


def test_fit_trains_copy_0_and_set_data_brings_the_copies_in_step():
    net = _net(CTX)
    rng = np.random.RandomState(3)
    x = rng.uniform(size=(8, 6)).astype(np.float32)
    y = rng.uniform(size=(8, 3)).astype(np.float32)
    net(nd.array(x[:2]))
    net.compile(optimizer="sgd", loss="mse")
    net.fit(x, y, epochs=1, batch_size=4, verbose=0)
    weight = net[0].weight
    assert not np.array_equal(*[d.asnumpy() for d in weight.list_data()])
    for param in net.collect_params().values():
        param.set_data(param.data())
    np.testing.assert_array_equal(*[d.asnumpy() for d in weight.list_data()])


@needs_recording
def test_a_step_inside_with_ctx_updates_every_copy_alike():
    """``data()`` in ``with mx.cpu(1):`` is copy 1, but the Trainer updates copy 0 from
    the sum and copies it, whatever context is current."""
    rng = np.random.RandomState(6)
    xs = gluon.utils.split_and_load(nd.array(rng.uniform(size=(4, 6)).astype("f")), CTX)
    results = []
    for scope in (None, CTX[1]):
        naming.reset_counters()
        net = _net(CTX)
        net(xs[0])
        for param, value in zip(net.collect_params().values(), _fixed(8, net)):
            param.set_data(nd.array(value))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
        with autograd.record():
            losses = [net(xk).sum() for xk in xs]
        for loss in losses:
            loss.backward()
        if scope is None:
            trainer.step(4)
        else:
            with scope:
                trainer.step(4)
        data = [d.asnumpy() for d in net[0].weight.list_data()]
        np.testing.assert_array_equal(data[0], data[1])
        results.append(data[0])
    np.testing.assert_array_equal(results[0], results[1])
