"""Keras's distribution API on JAX over keras_defer nets (``keras.distribution``).

A keras_defer net is a Keras model whose parameters are Keras variables with paths
``<block name>/<parameter name>`` (``dense0/weight``), so Keras's ``DataParallel`` and
``ModelParallel`` (a ``LayoutMap`` keyed by those paths) apply as they do to any Keras
model. Block names come from global counters (``dense0``, ``dense1``, ... in creation
order), so layout keys are best written as regular expressions: ``r"dense\\d+/weight"``.

JAX fixes its devices when it initializes, so the checks run in one child process
started with ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` (two host devices);
it prints one JSON line the tests read.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from keras_defer import backend

pytestmark = pytest.mark.skipif(
    backend.NAME != "jax",
    reason="keras.distribution's DataParallel/ModelParallel run on the JAX backend only "
           "(this run: %s)" % backend.NAME)

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent(r"""
    import json
    import numpy as np
    from keras import distribution as kd
    import keras_defer as mx
    from keras_defer import init, nd
    from keras_defer.gluon import nn

    out = {}
    devices = kd.list_devices("cpu")
    out["devices"] = len(devices)
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (16, 6)).astype("float32")
    y = rng.uniform(-1, 1, (16, 4)).astype("float32")

    def make(in_units=0):
        net = nn.Sequential()
        net.add(nn.Dense(8, activation="relu", in_units=in_units))
        net.add(nn.Dense(4, in_units=8 if in_units else 0))
        net.initialize(init.Xavier())
        return net

    def spec(param):
        return [s for s in param.variable.value.sharding.spec]

    def train(net, start=None):
        if start is not None:
            for p, v in zip(net.collect_params().values(), start):
                p.set_data(nd.array(v))
        net.compile(optimizer="sgd", loss="mse")
        history = net.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return history.history["loss"], [p.data().asnumpy() for p in
                                         net.collect_params().values()]

    # the reference: one device, known initial weights
    ref = make(in_units=6)
    start = [p.data().asnumpy() for p in ref.collect_params().values()]
    ref_loss, ref_weights = train(ref)

    def same_as_reference(weights):
        return bool(all(np.allclose(a, b, rtol=1e-4, atol=1e-5)
                        for a, b in zip(weights, ref_weights)))

    # DataParallel: a deferred net whose first pass fit() runs
    kd.set_distribution(kd.DataParallel(devices=devices))
    dp = make()
    out["dp_weights_before_fit"] = [dp[0].weight.variable is None,
                                    dp[1].weight.variable is None]
    dp_loss, _ = train(dp)
    out["dp_paths"] = [p.variable.path for p in dp.collect_params().values()]
    out["dp_weight_spec"] = spec(dp[0].weight)
    out["dp_loss_finite"] = bool(np.all(np.isfinite(dp_loss)))
    out["dp_mesh"] = dict(dp[0].weight.variable.value.sharding.mesh.shape)
    # DataParallel with the reference's initial weights: the same training
    dp2 = make(in_units=6)
    dp2_loss, dp2_weights = train(dp2, start)
    out["dp_matches_one_device"] = same_as_reference(dp2_weights)

    # ModelParallel: a LayoutMap keyed by regular expressions over the parameter paths
    mesh = kd.DeviceMesh((1, 2), axis_names=("batch", "model"), devices=devices)
    layout_map = kd.LayoutMap(mesh)
    layout_map[r"dense\d+/weight"] = ("model", None)   # Gluon's weight: (units, in_units)
    layout_map[r"dense\d+/bias"] = ("model",)
    kd.set_distribution(kd.ModelParallel(layout_map=layout_map, batch_dim_name="batch"))
    mp = make(in_units=6)
    out["mp_paths"] = [p.variable.path for p in mp.collect_params().values()]
    out["mp_specs"] = [spec(p) for p in mp.collect_params().values()]
    mp_loss, mp_weights = train(mp, start)
    out["mp_specs_after_fit"] = [spec(p) for p in mp.collect_params().values()]
    out["mp_matches_one_device"] = same_as_reference(mp_weights)
    out["mp_shard_shapes"] = [list(s.data.shape) for s in
                              mp[0].weight.variable.value.addressable_shards]
    # a deferred net under ModelParallel: the layout applies when the first pass
    # (inside fit) makes the variables
    mp_deferred = make()
    train(mp_deferred)
    out["mp_deferred_specs"] = [spec(p) for p in mp_deferred.collect_params().values()]
    # an eager forward of the sharded net (no fit)
    out["mp_eager_forward"] = list(mp(nd.array(x[:4])).shape)
    kd.set_distribution(None)
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def result():
    env = dict(os.environ, KERAS_BACKEND="jax",
               XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300, env=env, cwd=os.path.dirname(HERE))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_two_forced_host_devices(result):
    assert result["devices"] == 2


def test_data_parallel_fits_a_deferred_net_with_replicated_parameters(result):
    assert result["dp_weights_before_fit"] == [True, True]  # fit ran the first pass
    assert result["dp_mesh"] == {"batch": 2}
    assert result["dp_weight_spec"] in ([], [None, None])  # replicated
    assert result["dp_loss_finite"]
    # names from the global counters: the reference net took dense0 and dense1
    assert result["dp_paths"] == ["dense2/weight", "dense2/bias",
                                  "dense3/weight", "dense3/bias"]


def test_data_parallel_trains_as_one_device(result):
    assert result["dp_matches_one_device"]


def test_model_parallel_layout_map_by_parameter_path(result):
    assert result["mp_paths"] == ["dense6/weight", "dense6/bias",
                                  "dense7/weight", "dense7/bias"]
    expected = [["model", None], ["model"], ["model", None], ["model"]]
    assert result["mp_specs"] == expected
    assert result["mp_specs_after_fit"] == expected
    assert result["mp_shard_shapes"] == [[4, 6], [4, 6]]  # (8, 6) split over 2 devices


def test_model_parallel_trains_as_one_device(result):
    assert result["mp_matches_one_device"]


def test_model_parallel_layout_applies_to_a_deferred_net(result):
    assert result["mp_deferred_specs"] == [["model", None], ["model"],
                                           ["model", None], ["model"]]
    assert result["mp_eager_forward"] == [4, 4]
