"""PyTorch's ``DistributedDataParallel`` over keras_defer nets: 2 gloo processes on
localhost (this file is also the worker: ``python tests/test_distributed_torch.py
--worker ...``), each bounded by a timeout.

After a few SGD steps on each rank's half of a batch, every rank holds the same
weights, and they are those of one process trained on the whole batch (DDP averages
the ranks' gradients; the loss is a mean over equal halves). Issue 14: before the fix
a deferred net's weights were no torch parameters of the net, so DDP synchronized and
``torch.optim`` trained the biases only, silently.
"""

import json
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()
WORLD = 2
STEPS = 3
LR = 0.1
COLLECTIVE_TIMEOUT_S = 30  # a rank waiting longer for the other fails
TIMEOUT_S = 58  # both ranks, start to end (most of it importing torch and Keras)

if BACKEND != "torch" and __name__ != "__main__":
    pytest.skip("DistributedDataParallel is PyTorch's (Keras's torch backend only)",
                allow_module_level=True)

import torch  # noqa: E402

from keras_defer.gluon import nn  # noqa: E402


def _net(deferred):
    """An MLP with a BatchNorm (non-trainable running statistics) and a Dropout-free
    head; ``deferred``: input sizes left to the first pass."""
    net = nn.HybridSequential()
    if deferred:
        net.add(nn.Dense(8, activation="relu"), nn.BatchNorm(), nn.Dense(3))
    else:
        net.add(nn.Dense(8, activation="relu", in_units=5), nn.BatchNorm(in_channels=8),
                nn.Dense(3, in_units=8))
    return net


def _batch():
    rng = np.random.RandomState(7)
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.normal(size=(8, 3)).astype("float32")
    return torch.tensor(x), torch.tensor(y)


def _values(net):
    return {name: p.data().asnumpy().tolist() for name, p in
            net._collect_params_with_prefix().items()}


def _train(model, params, x, y):
    """``STEPS`` SGD steps of torch's optimizer on a mean squared error."""
    optimizer = torch.optim.SGD(params, lr=LR)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()


# -- the worker process ---------------------------------------------------------------
SCENARIOS = {  # name: (deferred shapes, dry run before DDP)
    "deferred_after_dry_run": (True, True),
    "known_shapes_no_dry_run": (False, False),
    "deferred_no_dry_run": (True, False),
}


def _scenario(rank, deferred, dry_run):
    from torch.nn.parallel import DistributedDataParallel

    torch.manual_seed(rank)  # different initial values on each rank: DDP syncs them
    keras.utils.set_random_seed(rank)
    net = _net(deferred)
    net.initialize()
    x, y = _batch()
    if dry_run:
        net(x[:2])  # every parameter's shape is known: the variables exist
    try:
        model = DistributedDataParallel(net)
    except RuntimeError as exc:
        return {"refused": str(exc)}
    initial = _values(net)  # after DDP broadcast rank 0's values
    half = len(x) // WORLD
    shard = slice(rank * half, (rank + 1) * half)
    _train(model, model.parameters(), x[shard], y[shard])
    return {"initial": initial, "final": _values(net)}


def _worker(rank, port, out):
    """Every scenario in turn, in one process group (one start-up per rank)."""
    from datetime import timedelta

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    try:
        results = {name: _scenario(rank, *how) for name, how in SCENARIOS.items()}
        with open(out, "w") as f:
            json.dump(results, f)
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Both ranks' results of every scenario: ``[{scenario: result}, ...]``."""
    tmp_path = tmp_path_factory.mktemp("ddp")
    port = _free_port()
    env = dict(os.environ, KERAS_BACKEND="torch", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [
                   os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   os.environ.get("PYTHONPATH")])))
    outs = [str(tmp_path / ("rank%d.json" % r)) for r in range(WORLD)]
    procs = [subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", str(r), str(port), outs[r]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(WORLD)]
    logs, deadline = [], time.monotonic() + TIMEOUT_S
    try:
        for proc in procs:
            left = max(1.0, deadline - time.monotonic())
            logs.append(proc.communicate(timeout=left)[0].decode(errors="replace"))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for rank, proc in enumerate(procs):
        assert proc.returncode == 0, "rank %d failed:\n%s" % (rank, logs[rank][-3000:])
    results = []
    for out in outs:
        with open(out) as f:
            results.append(json.load(f))
    return results


def _single_process(initial, deferred):
    """One process, the whole batch, from rank 0's initial values."""
    net = _net(deferred)
    net.initialize()
    x, y = _batch()
    net(x[:2])
    params = net._collect_params_with_prefix()
    for name, value in initial.items():
        params[name].set_data(np.asarray(value, dtype="float32"))
    _train(net, net.parameters(), x, y)
    return _values(net)


def _assert_ddp_matches_one_process(results, deferred):
    first, second = results
    assert first["initial"] == second["initial"]  # DDP broadcast rank 0's values
    assert first["final"].keys() == second["final"].keys()
    for name in first["final"]:
        np.testing.assert_array_equal(first["final"][name], second["final"][name],
                                      err_msg=name)
    # every trainable parameter moved: none was left out of torch's view
    for name in first["final"]:
        if not name.endswith(("running_mean", "running_var")):
            assert first["final"][name] != first["initial"][name], name
    reference = _single_process(first["initial"], deferred)
    for name in reference:
        np.testing.assert_allclose(first["final"][name], reference[name], rtol=1e-5,
                                   atol=1e-5, err_msg=name)


def test_ddp_over_a_deferred_net_after_a_dry_run(ranks):
    _assert_ddp_matches_one_process([r["deferred_after_dry_run"] for r in ranks],
                                    deferred=True)


def test_ddp_over_known_shapes_needs_no_dry_run(ranks):
    _assert_ddp_matches_one_process([r["known_shapes_no_dry_run"] for r in ranks],
                                    deferred=False)


def test_ddp_over_a_deferred_net_without_a_dry_run_refuses_clearly(ranks):
    # as for PyTorch's lazy modules: the shapes are unknown until data has passed, and
    # DDP fixes its buckets when it is made; it refuses instead of syncing a part
    for rank in ranks:
        refused = rank["deferred_no_dry_run"]["refused"]
        assert "uninitialized parameters" in refused and "forward pass" in refused


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
