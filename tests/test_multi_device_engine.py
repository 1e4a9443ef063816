"""The multi-context Trainer sums through each engine's own collective
(``backend.sum_across_devices``): ``tf.distribute``'s cross-device ops where the copies
sit on distinct TensorFlow devices, ``torch.cuda.comm`` between GPUs, ``keras.ops.add``
where every copy is on one device (PyTorch's CPU contexts; TensorFlow and JAX without
logical devices).

The TensorFlow test runs MXNet's recorded scenario (``record_multi_device.run``) in a
child process with two logical CPU devices, so that copy 1 really lives on ``CPU:1``
and the sum is the strategy's: values as MXNet's, the strategy's reduce called once
per step (one batch for every parameter), each all-reduced gradient on its copy's
device.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras_defer as mx
from keras_defer import autograd, backend, gluon, nd
from keras_defer.backend import common
from keras_defer.gluon import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
with open(os.path.join(HERE, "mxnet_reference", "data", "multi_device.json")) as handle:
    RECORDED = json.load(handle)

CTX = [mx.cpu(0), mx.cpu(1)]
CHILD_TIMEOUT_S = 240  # a bound against a hang; the child takes ~10 s of CPU


def _close(ours, theirs, what, atol=2e-5):  # test_multi_device's tolerances
    np.testing.assert_allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64),
                               rtol=1e-4, atol=atol, err_msg=what)


# -- every backend: the fallback where all copies share one device ---------------------
def test_copies_on_one_device_are_summed_with_keras_ops():
    """Every CPU context is one device in this process (no logical devices): the
    backend's function sums as ``keras.ops.add`` does, also ``everywhere``."""
    rng = np.random.RandomState(0)
    groups = [[nd.array(rng.uniform(size=shape).astype("f"))._data for _ in CTX]
              for shape in [(3, 4), (5,)]]
    sums = backend.sum_across_devices(groups, CTX)
    spread = backend.sum_across_devices(groups, CTX, everywhere=True)
    for group, total, copies in zip(groups, sums, spread):
        expected = backend.to_numpy(group[0]) + backend.to_numpy(group[1])
        np.testing.assert_array_equal(backend.to_numpy(total), expected)
        assert len(copies) == 2
        for copy in copies:
            np.testing.assert_array_equal(backend.to_numpy(copy), expected)
    if backend.NAME == "tensorflow":
        from keras_defer.backend import tensorflow as tf_backend

        assert not tf_backend._mirrored_strategies  # no strategy over one device


@pytest.mark.skipif(backend.NAME == "jax", reason="autograd.record() refuses on jax")
def test_a_step_batches_every_parameter_into_one_collective(monkeypatch):
    """One call of the backend's sum per step for all parameters of one set of
    contexts (not one per parameter), and the optimizer gets exactly its sums."""
    net = nn.Sequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize(mx.init.Normal(0.1), ctx=CTX)
    x = nd.array(np.random.RandomState(1).uniform(size=(4, 3)).astype("f"))
    xs = gluon.utils.split_and_load(x, CTX)
    net(xs[0])
    calls = []
    real = backend.sum_across_devices

    def spy(groups, ctxs, everywhere=False):
        calls.append((len(groups), list(ctxs), everywhere))
        return real(groups, ctxs, everywhere)

    monkeypatch.setattr(backend, "sum_across_devices", spy)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
    with autograd.record():
        losses = [net(xk).sum() for xk in xs]
    for loss in losses:
        loss.backward()
    params = list(net.collect_params().values())
    grads = [[g.asnumpy() for g in p.list_grad()] for p in params]
    before = [p.data().asnumpy() for p in params]
    trainer.step(1)
    assert calls == [(4, CTX, False)]
    for param, start, (g0, g1) in zip(params, before, grads):
        for data in param.list_data():
            np.testing.assert_allclose(data.asnumpy(), start - (g0 + g1), rtol=1e-6,
                                       atol=1e-6)
    trainer2 = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0},
                             update_on_kvstore=False)
    with autograd.record():
        losses = [net(xk).sum() for xk in xs]
    for loss in losses:
        loss.backward()
    grads = [[g.asnumpy() for g in p.list_grad()] for p in params]
    trainer2.allreduce_grads()
    assert calls[1:] == [(4, CTX, True)]
    for param, (g0, g1) in zip(params, grads):
        for grad in param.list_grad():
            np.testing.assert_allclose(grad.asnumpy(), g0 + g1, rtol=1e-6, atol=1e-7)


# -- TensorFlow: tf.distribute over two logical CPU devices ----------------------------
def _tf_child():
    """Runs in a fresh process: two logical CPUs, MXNet's scenario, and what shows
    that the strategy's cross-device ops did the sums. Prints one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, ROOT)
    import keras_defer as mx
    from keras_defer import backend, naming
    from keras_defer.backend import tensorflow as tf_backend
    from tests.mxnet_reference import record_multi_device as scenario

    reduces = []
    real = tf.distribute.StrategyExtended.batch_reduce_to

    def counted(self, reduce_op, value_destination_pairs, options=None):
        reduces.append(len(value_destination_pairs))
        return real(self, reduce_op, value_destination_pairs, options)

    tf.distribute.StrategyExtended.batch_reduce_to = counted
    naming.reset_counters()
    out = {"scenario": scenario.run(mx)}
    out["reduces"] = reduces
    out["strategies"] = [list(devices) for devices in tf_backend._mirrored_strategies]
    out["cross_device_ops"] = [type(s.extended._cross_device_ops).__name__
                               for s in tf_backend._mirrored_strategies.values()]

    # where the copies, the slices and the gradients live
    from keras_defer import autograd, gluon, nd
    from keras_defer.gluon import nn

    ctx = [mx.cpu(0), mx.cpu(1)]
    net = nn.Dense(3)
    net.initialize(ctx=ctx)
    xs = gluon.utils.split_and_load(nd.ones((4, 2)), ctx)
    net(xs[0])
    out["data_contexts"] = [str(d.context) for d in net.weight.list_data()]
    out["slice_contexts"] = [str(x.context) for x in xs]
    with autograd.record():
        losses = [net(x).sum() for x in xs]
    for loss in losses:
        loss.backward()
    out["grad_devices"] = [g._data.device.rsplit(":", 1)[-1] for g in net.weight.list_grad()]

    # the engine's sum against keras.ops.add, on copies living on CPU:0 and CPU:1
    rng = np.random.RandomState(3)
    groups = [[backend.to_device(tf.constant(rng.uniform(size=shape).astype("f")), c)
               for c in ctx] for shape in [(7, 5), (5,), (2, 3, 4)]]
    out["copy_devices"] = [t.device.rsplit(":", 1)[-1] for t in groups[0]]
    engine = backend.sum_across_devices(groups, ctx)
    plain = common.added_across_devices(groups, ctx, False, backend.to_device)
    out["sum_equal"] = all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(engine, plain))
    out["sum_devices"] = [t.device.rsplit(":", 1)[-1] for t in engine]
    spread = backend.sum_across_devices(groups, ctx, everywhere=True)
    out["spread_devices"] = [[t.device.rsplit(":", 1)[-1] for t in copies] for copies in spread]
    out["spread_equal"] = all(np.array_equal(t.numpy(), b.numpy())
                              for copies, b in zip(spread, plain) for t in copies)
    before = len(reduces)
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():  # another strategy's scope
        inside = backend.sum_across_devices(groups, ctx)
    out["inside_other_scope"] = [len(reduces) - before, all(
        np.array_equal(a.numpy(), b.numpy()) for a, b in zip(inside, plain))]
    print(json.dumps(out))


@pytest.fixture(scope="module")
def tf_child():
    if backend.NAME != "tensorflow":
        pytest.skip("tf.distribute is TensorFlow's (PyTorch: torch.cuda.comm between "
                    "GPUs; JAX: autograd.record() refuses)")
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, os.path.abspath(__file__)], capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT_S, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tf_sum_is_the_mirrored_strategys_over_the_copies_devices(tf_child):
    assert tf_child["copy_devices"] == ["0", "1"]
    assert tf_child["strategies"] == [["/job:localhost/replica:0/task:0/device:CPU:0",
                                       "/job:localhost/replica:0/task:0/device:CPU:1"]]
    assert tf_child["cross_device_ops"] == ["ReductionToOneDevice"]
    # the scenario: 3 kvstore steps and the stale-copy kvstore step (one batch of the
    # 4 parameters each), allreduce_grads of the second net (4; its stale step refuses
    # before reducing, BatchNorm's net takes no step); then the 2 direct sums of 3
    assert tf_child["reduces"] == [4, 4, 4, 4, 4, 3, 3]


def test_tf_copies_and_gradients_live_on_two_logical_devices(tf_child):
    assert tf_child["data_contexts"] == ["cpu(0)", "cpu(1)"]
    assert tf_child["slice_contexts"] == ["cpu(0)", "cpu(1)"]
    assert tf_child["grad_devices"] == ["0", "1"]


def test_tf_engine_sum_equals_keras_ops_and_lands_on_each_device(tf_child):
    assert tf_child["sum_equal"] and tf_child["spread_equal"]
    assert tf_child["sum_devices"] == ["0", "0", "0"]
    assert tf_child["spread_devices"] == [["0", "1"]] * 3
    # in another strategy's scope this strategy may not reduce: keras.ops, same sums
    assert tf_child["inside_other_scope"] == [0, True]


@pytest.mark.parametrize("key", ["set_data_every_copy", "forward_per_ctx",
                                 "allreduced_grads", "allreduce_update_weights",
                                 "forward_after_write", "running_mean"])
def test_tf_two_devices_values_match_mxnet(tf_child, key):
    _close(tf_child["scenario"][key], RECORDED[key], key)


def test_tf_two_devices_training_steps_match_mxnet(tf_child):
    ours = tf_child["scenario"]
    for step, (mine, theirs) in enumerate(zip(ours["steps"], RECORDED["steps"])):
        for key in ("losses", "grads", "grads_after_step", "weights", "bias1"):
            _close(mine[key], theirs[key], "step %d %s" % (step, key))
        assert mine["weights"][0] == mine["weights"][1]


def test_tf_two_devices_behaviour_matches_mxnet(tf_child):
    ours = tf_child["scenario"]
    for key in ["list_ctx", "n_list_data", "n_list_grad", "data_other_ctx",
                "stale_copy", "stale_copy_kvstore", "zero_grad", "reset_two"]:
        assert ours[key] == RECORDED[key], key


# -- JAX: copies on forced host devices (no training: record() refuses) ----------------
def _jax_child():
    """Runs in a fresh process with two forced host devices: where the copies live,
    which copy a forward reads, where the sums land. Prints one JSON line."""
    sys.path.insert(0, ROOT)
    import keras_defer as mx
    from keras_defer import backend, gluon, nd
    from keras_defer.gluon import nn

    ctx = [mx.cpu(0), mx.cpu(1)]
    net = nn.Dense(3)
    net.initialize(mx.init.Normal(0.1), ctx=ctx)
    x = nd.array(np.random.RandomState(5).uniform(size=(4, 2)).astype("f"))
    xs = gluon.utils.split_and_load(x, ctx)
    net(xs[0])
    out = {"copy_devices": [backend.device_string(d._data) for d in net.weight.list_data()],
           "copy_contexts": [str(d.context) for d in net.weight.list_data()],
           "slice_devices": [backend.device_string(xk._data) for xk in xs]}
    before = net(xs[1]).asnumpy()
    net.weight.data(ctx[1])[:] = 0
    out["ctx1_reads_copy1"] = bool(np.allclose(net(xs[1]).asnumpy(), net.bias.data().asnumpy())
                                   and not np.allclose(before, net(xs[1]).asnumpy()))
    groups = [[backend.to_device(xk._data, c) for xk, c in zip(xs, ctx)]]
    total, = backend.sum_across_devices(groups, ctx)
    copies, = backend.sum_across_devices(groups, ctx, everywhere=True)
    out["sum_device"] = backend.device_string(total)
    out["spread_devices"] = [backend.device_string(t) for t in copies]
    out["sum_right"] = all(np.array_equal(np.asarray(t), x.asnumpy()[:2] + x.asnumpy()[2:])
                           for t in [total] + list(copies))
    print(json.dumps(out))


@pytest.mark.skipif(backend.NAME != "jax", reason="JAX's forced host devices")
def test_jax_copies_live_on_two_forced_host_devices():
    env = dict(os.environ, KERAS_BACKEND="jax",
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "jax"],
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                          env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["copy_devices"] == ["cpu:0", "cpu:1"]
    assert out["copy_contexts"] == ["cpu(0)", "cpu(1)"]
    assert out["slice_devices"] == ["cpu:0", "cpu:1"]
    assert out["ctx1_reads_copy1"]
    assert out["sum_device"] == "cpu:0"
    assert out["spread_devices"] == ["cpu:0", "cpu:1"]
    assert out["sum_right"]


# -- PyTorch: torch.cuda.comm between GPUs ---------------------------------------------
def _gpus():
    return backend.num_gpus() if backend.NAME == "torch" else 0


@pytest.mark.skipif(_gpus() < 2, reason="torch.cuda.comm needs two CUDA GPUs")
def test_torch_two_gpus_sum_through_cuda_comm(monkeypatch):
    import torch
    from torch.cuda import comm

    used = []
    real = comm.reduce_add_coalesced
    monkeypatch.setattr(comm, "reduce_add_coalesced",
                        lambda *a, **k: used.append(1) or real(*a, **k))
    ctx = [mx.gpu(0), mx.gpu(1)]
    rng = np.random.RandomState(4)
    values = [rng.uniform(size=(6, 3)).astype("f") for _ in ctx]
    groups = [[torch.tensor(v, device="cuda:%d" % c.device_id) for v, c in zip(values, ctx)]]
    total, = backend.sum_across_devices(groups, ctx)
    copies, = backend.sum_across_devices(groups, ctx, everywhere=True)
    assert used == [1, 1]
    np.testing.assert_allclose(total.cpu().numpy(), values[0] + values[1], rtol=1e-6)
    assert [str(t.device) for t in copies] == ["cuda:0", "cuda:1"]
    for t in copies:
        np.testing.assert_allclose(t.cpu().numpy(), values[0] + values[1], rtol=1e-6)


if __name__ == "__main__":
    _jax_child() if sys.argv[1:] == ["jax"] else _tf_child()
