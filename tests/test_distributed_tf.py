"""A deferred net under ``tf.distribute``: ``MirroredStrategy`` on two logical CPU
devices, ``MultiWorkerMirroredStrategy`` with two local worker processes.

TensorFlow fixes its logical devices when it first initializes them, which the
shared test process has done long before this file runs: each scenario runs in a
fresh Python process (this file run as a script), which prints one JSON line of
findings that the tests below check. One process holds every MirroredStrategy
scenario (TensorFlow's import is most of the cost); two more are the workers.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason="tf.distribute is TensorFlow's; the JAX and PyTorch engines have their own "
           "tests (Keras's distribution API, DDP)")

HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))
# Bounds against a hang (a replica waiting for another forever), far above the time
# taken (about 12 s of CPU for the MirroredStrategy process, 6 s per worker).
MIRRORED_TIMEOUT_S = 240
WORKER_TIMEOUT_S = 85


# -- the scenarios (run in the child processes) -----------------------------------------
def _setup_devices(count):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    return tf


def _data():
    import numpy as np

    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (32, 5)).astype("float32")
    y = (x @ rng.uniform(-1, 1, (5, 1))).astype("float32")
    return x, y


def _counting_init(calls):
    """A Gluon initializer that records each call and draws from the shape only, so
    two nets (one distributed, one not) start from the same values. (Dense's bias
    has its own initializer, 'zeros', as in Gluon: only the weights come here.)"""
    import numpy as np

    from keras_defer import init

    class Counting(init.Initializer):
        def _init_weight(self, name, arr):
            calls.append(str(name))
            arr[:] = np.random.RandomState(arr.size).uniform(-0.5, 0.5, arr.shape)

    return Counting()


def _mlp(hybrid=False):
    from keras_defer.gluon import nn

    net = nn.HybridSequential() if hybrid else nn.Sequential()
    net.add(nn.Dense(8, activation="relu"), nn.Dense(1))
    return net


def _replica_values(variable):
    """Each replica's copy of a Keras variable, as numpy arrays."""
    import numpy as np

    value = variable.value
    copies = getattr(value, "values", (value,))
    return [np.asarray(c) for c in copies]


def _report(net):
    """Is every variable mirrored, and does every replica hold the same value?"""
    import numpy as np

    kinds = sorted({type(v.value).__name__ for v in net.weights})
    same = all(all(np.array_equal(c[0], other) for other in c[1:])
               for c in (_replica_values(v) for v in net.weights))
    replicas = min(len(_replica_values(v)) for v in net.weights)
    return {"kinds": kinds, "same": bool(same), "replicas": replicas,
            "params": list(net.collect_params().keys())}


def _mirrored_scenarios(tmp):
    """Every MirroredStrategy scenario; returns {name: findings or error text}."""
    start = time.perf_counter()
    tf = _setup_devices(2)
    import keras
    import numpy as np

    from keras_defer import MXNetError, nd

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x, y = _data()
    out = {"import_seconds": {"seconds": round(time.perf_counter() - start, 2)}}

    def scenario(fn):
        start = time.perf_counter()
        try:
            out[fn.__name__] = fn()
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails
            out[fn.__name__] = {"error": "%s: %s" % (type(e).__name__, e)}
        out[fn.__name__]["seconds"] = round(time.perf_counter() - start, 2)
        return fn

    def trained(hybrid, distributed):
        calls = []
        scope = strategy.scope() if distributed else tf.distribute.get_strategy().scope()
        with scope:
            net = _mlp(hybrid)
            net.initialize(_counting_init(calls))
            if hybrid:
                net.hybridize()
            net.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        history = net.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        return net, calls, history.history["loss"]

    def max_diff(net, other):
        return max(float(np.abs(a.data().asnumpy() - b.data().asnumpy()).max())
                   for a, b in zip(net.collect_params().values(),
                                   other.collect_params().values()))

    nets = {}

    @scenario
    def fit_first_pass():
        net, calls, losses = nets["trained"] = trained(hybrid=False, distributed=True)
        single, _, single_losses = trained(hybrid=False, distributed=False)
        diff = max_diff(net, single)
        return dict(_report(net), calls=calls, losses=losses, single_losses=single_losses,
                    max_diff_to_one_device=diff)

    @scenario
    def evaluate_first_pass():
        with strategy.scope():
            net = _mlp()
            net.initialize()
            net.compile(optimizer="sgd", loss="mse")
        loss = net.evaluate(x, y, batch_size=16, verbose=0)
        return dict(_report(net), loss=float(loss))

    @scenario
    def predict_first_pass():
        with strategy.scope():
            net = _mlp()
            net.initialize()
        pred = net.predict(x, batch_size=16, verbose=0)
        eager = net(nd.array(x)).asnumpy()
        return dict(_report(net), shape=list(pred.shape),
                    max_diff_to_eager=float(np.abs(pred - eager).max()))

    def run_first_pass(in_function):
        calls = []
        with strategy.scope():
            net = _mlp()
            net.initialize(_counting_init(calls))

        def step(batch):
            return strategy.run(lambda a: net(a), args=(batch,))

        step = tf.function(step) if in_function else step
        dataset = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices(x).batch(16))
        for batch in dataset:
            step(batch)
        return dict(_report(net), calls=calls)

    @scenario
    def strategy_run_in_function_first_pass():
        return run_first_pass(in_function=True)

    @scenario
    def strategy_run_eager_first_pass():
        return run_first_pass(in_function=False)

    @scenario
    def hybridize_deferred_fit():
        net, _, losses = trained(hybrid=True, distributed=True)
        plain, _, plain_losses = nets["trained"]  # the same start, not hybridized
        diff = max_diff(net, plain)
        return dict(_report(net), losses=losses, plain_losses=plain_losses,
                    max_diff_to_not_hybridized=diff)

    @scenario
    def hybridize_built_fit():
        with strategy.scope():
            net = _mlp(hybrid=True)
            net.initialize()
            net(nd.array(x[:2]))
            net.hybridize()
            net(nd.array(x[:2]))  # a graph traced and cached in cross-replica context
            net.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        before = net[0].weight.data().asnumpy()
        net.fit(x, y, batch_size=16, epochs=2, verbose=0)
        changed = not np.array_equal(before, net[0].weight.data().asnumpy())
        return dict(_report(net), changed=changed)

    def replica_gradients(hybrid, built, in_function):
        """Which replicas get a gradient for every weight in a custom step."""
        with strategy.scope():
            net = _mlp(hybrid)
            net.initialize()
            if built:
                net(nd.array(x[:2]))
            if hybrid:
                net.hybridize()
                if built:
                    net(nd.array(x[:2]))  # a graph cached in cross-replica context

        def step(batch):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(net(batch))
            grads = tape.gradient(loss, net.trainable_weights)
            return tf.constant(all(g is not None for g in grads))

        def run(batch):
            return strategy.experimental_local_results(strategy.run(step, args=(batch,)))

        run = tf.function(run) if in_function else run
        dataset = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices(x).batch(16))
        found = [bool(v) for batch in dataset for v in run(batch)]
        return dict(_report(net), every_replica_has_gradients=all(found), results=len(found))

    @scenario
    def custom_step_gradients():
        found = {}
        for hybrid, built, in_function in [(False, False, False), (False, False, True),
                                           (True, True, False), (True, True, True),
                                           (True, False, True)]:
            key = "%s_%s_%s" % ("hybrid" if hybrid else "plain",
                                "built" if built else "deferred",
                                "function" if in_function else "eager")
            found[key] = replica_gradients(hybrid, built, in_function)
        return found

    def reinit_in_run(in_function):
        with strategy.scope():
            net = _mlp()
            net.initialize()
            net(nd.array(x[:2]))
        before = net[0].weight.data().asnumpy()

        def reinit():
            net.initialize(force_reinit=True)
            return tf.constant(0.0)

        run = (lambda: strategy.run(reinit))
        (tf.function(run) if in_function else run)()
        changed = not np.array_equal(before, net[0].weight.data().asnumpy())
        return dict(_report(net), changed=changed)

    @scenario
    def force_reinit_in_run_eager():
        return reinit_in_run(in_function=False)

    @scenario
    def force_reinit_in_run_function():
        return reinit_in_run(in_function=True)

    @scenario
    def set_data_in_run_refused():
        with strategy.scope():
            net = _mlp()
            net.initialize()
            net(nd.array(x[:2]))
        errors = []

        def write():
            try:
                net[1].bias.set_data(nd.ones((1,)))
            except MXNetError as e:
                errors.append(str(e))
            return tf.constant(0.0)

        strategy.run(write)
        return dict(_report(net), errors=errors,
                    bias=net[1].bias.data().asnumpy().tolist())

    @scenario
    def set_data_and_reinit_in_scope():
        with strategy.scope():
            net = _mlp()
            net.initialize()
            net(nd.array(x[:2]))
            net[1].bias.set_data(nd.array([3.0]))
            set_in_scope = _report(net)
            net.initialize(force_reinit=True)
        net[1].bias.set_data(nd.array([5.0]))  # at top level, after the scope
        return dict(_report(net), set_in_scope=set_in_scope,
                    bias=[c.tolist() for c in _replica_values(net[1].bias.variable)])

    @scenario
    def save_load_parameters():
        net = nets["trained"][0]
        path = os.path.join(tmp, "mlp.params")
        net.save_parameters(path)
        with strategy.scope():
            loaded = _mlp()
            loaded.load_parameters(path)  # deferred: the variables are made here
        same_values = all(np.array_equal(a.data().asnumpy(), b.data().asnumpy())
                          for a, b in zip(net.collect_params().values(),
                                          loaded.collect_params().values()))
        diff = float(np.abs(loaded(nd.array(x)).asnumpy() - net(nd.array(x)).asnumpy()).max())
        return dict(_report(loaded), same_values=same_values, max_diff=diff)

    @scenario
    def keras_file_save_load():
        net = nets["trained"][0]
        path = os.path.join(tmp, "mlp.keras")
        net.save(path)
        with strategy.scope():
            loaded = keras.models.load_model(path)
        diff = float(np.abs(loaded(nd.array(x)).asnumpy() - net(nd.array(x)).asnumpy()).max())
        loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)  # trains on, mirrored
        return dict(_report(loaded), max_diff=diff, type=type(loaded).__name__)

    return out


def _worker(index, ports):
    """One MultiWorkerMirroredStrategy worker: a deferred net, a custom loop (Keras's
    ``fit`` refuses MWMS on CPU-only local workers, native layers too)."""
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": ["127.0.0.1:%d" % p for p in ports]},
        "task": {"type": "worker", "index": index}})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_defer.gluon import nn

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    x, y = _data()
    calls = []
    with strategy.scope():
        net = nn.Sequential()
        net.add(nn.Dense(8, activation="relu"), nn.Dense(1))
        net.initialize(_counting_init(calls))  # deferred: nothing drawn yet
        optimizer = keras.optimizers.SGD(0.1)

    # each worker reads its own half of every global batch of 16
    dataset = strategy.distribute_datasets_from_function(
        lambda ctx: tf.data.Dataset.from_tensor_slices((x, y)).shard(
            ctx.num_input_pipelines, ctx.input_pipeline_id).batch(
            ctx.get_per_replica_batch_size(16)))

    @tf.function
    def train_step(batch):
        def step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((net(xb) - yb) ** 2) / strategy.num_replicas_in_sync
            grads = tape.gradient(loss, net.trainable_weights)
            optimizer.apply_gradients(zip(grads, net.trainable_weights))
            return loss

        losses = strategy.run(step, args=batch)
        return strategy.reduce("SUM", losses, axis=None)

    losses = []
    for _ in range(3):
        for batch in dataset:
            losses.append(float(train_step(batch)))
    weights = [np.asarray(v).tolist() for v in net.get_weights()]
    return {"calls": calls, "losses": losses, "weights": weights,
            "kinds": sorted({type(v.value).__name__ for v in net.weights})}


# -- the tests (in the shared process) --------------------------------------------------
def _child(args, logs):
    """This file run as a script with ``args``; its output goes to files in ``logs``
    (a pipe nobody reads while another child is awaited could fill and block it)."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CONFIG", None)
    name = args[0] + (args[1] if args[0] == "worker" else "")
    out = open(os.path.join(logs, name + ".out"), "w+")
    err = open(os.path.join(logs, name + ".err"), "w+")
    proc = subprocess.Popen([sys.executable, HERE] + args, cwd=ROOT, env=env,
                            stdout=out, stderr=err, text=True)
    proc.files = (out, err)
    return proc


def _result(proc, timeout):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out, err = proc.files
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    if proc.returncode == -9:
        pytest.fail("scenario process ran past %d s:\n%s" % (timeout, stderr[-3000:]))
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, "scenario process failed:\n%s" % stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """The three processes, started together (the workers wait for each other on
    loopback ports); each test waits for the one it reads."""
    tmp = str(tmp_path_factory.mktemp("distributed_tf"))
    ports = ",".join(map(str, _free_ports(2)))
    procs = {"mirrored": _child(["mirrored", tmp], tmp),
             "workers": [_child(["worker", str(i), ports], tmp) for i in range(2)]}
    yield procs
    for proc in [procs["mirrored"]] + procs["workers"]:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for f in proc.files:
            f.close()


@pytest.fixture(scope="module")
def mirrored(children):
    return _result(children["mirrored"], MIRRORED_TIMEOUT_S)


def _weights(findings):
    names = [name for name in findings["params"] if name.endswith("weight")]
    assert len(names) == 2, findings
    return names


def _ok(findings):
    assert "error" not in findings, findings["error"]
    assert findings["kinds"] == ["MirroredVariable"], findings
    assert findings["replicas"] == 2 and findings["same"], findings
    return findings


def test_fit_runs_the_first_pass_once_with_mirrored_variables(mirrored):
    found = _ok(mirrored["fit_first_pass"])
    assert found["calls"] == _weights(found)  # one call each, in forward order
    assert found["losses"][-1] < found["losses"][0]
    # the same training on one device
    assert found["max_diff_to_one_device"] < 1e-5, found
    assert max(abs(a - b) for a, b in zip(found["losses"], found["single_losses"])) < 1e-5


def test_evaluate_and_predict_run_the_first_pass(mirrored):
    _ok(mirrored["evaluate_first_pass"])
    found = _ok(mirrored["predict_first_pass"])
    assert found["shape"] == [32, 1] and found["max_diff_to_eager"] < 1e-6


@pytest.mark.parametrize("where", ["in_function", "eager"])
def test_strategy_run_runs_the_first_pass_once(mirrored, where):
    found = _ok(mirrored["strategy_run_%s_first_pass" % where])
    assert found["calls"] == _weights(found)


def test_hybridized_net_trains_under_a_strategy(mirrored):
    found = _ok(mirrored["hybridize_deferred_fit"])
    assert found["max_diff_to_not_hybridized"] < 1e-5, found
    assert _ok(mirrored["hybridize_built_fit"])["changed"]


def test_every_replica_gets_gradients_in_a_custom_step(mirrored):
    found = mirrored["custom_step_gradients"]
    assert "error" not in found, found["error"]
    assert len(found) == 6  # five cases and the time taken
    for case, result in found.items():
        if case != "seconds":
            _ok(result)
            assert result["every_replica_has_gradients"] and result["results"] == 4, case


@pytest.mark.parametrize("where", ["eager", "function"])
def test_force_reinit_in_a_replica_function_gives_every_replica_the_same_values(
        mirrored, where):
    assert _ok(mirrored["force_reinit_in_run_%s" % where])["changed"]


def test_set_data_in_a_replica_function_is_refused_and_changes_nothing(mirrored):
    found = _ok(mirrored["set_data_in_run_refused"])
    assert len(found["errors"]) == 2  # each replica is told
    assert "strategy.run" in found["errors"][0] and "strategy.scope()" in found["errors"][0]
    assert found["bias"] == [0.0]


def test_set_data_and_reinit_under_the_scope_reach_every_replica(mirrored):
    found = _ok(mirrored["set_data_and_reinit_in_scope"])
    assert found["set_in_scope"]["same"]
    assert found["bias"] == [[5.0], [5.0]]


def test_save_and_load_parameters_under_a_strategy(mirrored):
    found = _ok(mirrored["save_load_parameters"])
    assert found["same_values"] and found["max_diff"] < 1e-6


def test_keras_file_save_and_load_under_a_strategy(mirrored):
    found = _ok(mirrored["keras_file_save_load"])
    assert found["max_diff"] < 1e-6


def test_multi_worker_mirrored_custom_loop_two_local_workers(children):
    results = [_result(p, WORKER_TIMEOUT_S) for p in children["workers"]]
    for found in results:
        assert found["kinds"] == ["MirroredVariable"]
        assert found["calls"] == ["dense0_weight", "dense1_weight"]  # one call each
        assert found["losses"][-1] < found["losses"][0]
    assert results[0]["weights"] == results[1]["weights"]  # identical on both workers


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    if sys.argv[1] == "mirrored":
        result = _mirrored_scenarios(sys.argv[2])
    else:
        result = _worker(int(sys.argv[2]), [int(p) for p in sys.argv[3].split(",")])
    print("RESULT " + json.dumps(result), flush=True)
