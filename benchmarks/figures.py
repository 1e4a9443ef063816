"""One function per figure of the benchmark. Each returns a row of the ratio table.

A row holds the measured values per framework (``keras_defer``, ``keras``, ``tf``
for hand-written TensorFlow, ``mxnet``, ``torch`` for PyTorch's lazy modules), the
ratio the target is stated on, the
target, and whether it is met. Sizes shrink under ``quick`` (a smoke run), so only
full runs are comparable with the published tables (README, docs/performance.md).
"""

import os
import subprocess
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks import timing

HERE = os.path.dirname(os.path.abspath(__file__))


def _mxnet_python():
    """KERAS_DEFER_MXNET_PYTHON, else the python of the environment that
    ../shared/tools/mxnet-venv builds: $MXNET_VENV, else
    ${XDG_CACHE_HOME:-~/.cache}/mxnet-1.9.1."""
    if os.environ.get("KERAS_DEFER_MXNET_PYTHON"):
        return os.environ["KERAS_DEFER_MXNET_PYTHON"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    venv = os.environ.get("MXNET_VENV") or os.path.join(cache, "mxnet-1.9.1")
    return os.path.join(venv, "bin", "python")


MXNET_PYTHON = _mxnet_python()
TORCH_PYTHON = os.environ.get("KERAS_DEFER_TORCH_PYTHON",
                              os.path.join(os.path.dirname(HERE), ".venv-torch", "bin", "python"))


def row(rid, figure, unit, values, ratio_of, op, bound, note=""):
    num, den = ratio_of
    ratio = None
    if values.get(num) is not None and values.get(den):
        ratio = values[num] / values[den]
    met = None if ratio is None else (ratio <= bound if op == "<=" else ratio >= bound)
    return {
        "id": rid, "figure": figure, "unit": unit, "values": values,
        "ratio": ratio, "ratio_of": "%s / %s" % (num, den),
        "target": "%s %s" % (op, bound), "met": met, "note": note,
    }


# -- the nets -------------------------------------------------------------------------
def kd_mlp(widths, hybrid=False, in_units=None):
    from keras_defer.gluon import nn

    net = nn.HybridSequential() if hybrid else nn.Sequential()
    for i, units in enumerate(widths):
        last = i == len(widths) - 1
        net.add(nn.Dense(units, activation=None if last else "relu"))
    return net


def keras_mlp(widths):
    return keras.Sequential([
        keras.layers.Dense(units, activation=None if i == len(widths) - 1 else "relu")
        for i, units in enumerate(widths)
    ])


def tf_mlp(in_features, widths):
    """Hand-written ops on tf.Variables in Gluon's (units, in_units) layout."""
    params, fan_in = [], in_features
    for units in widths:
        params.append((tf.Variable(tf.random.uniform((units, fan_in), -0.07, 0.07)),
                       tf.Variable(tf.zeros((units,)))))
        fan_in = units
    last = len(params) - 1

    def forward(x):
        for i, (w, b) in enumerate(params):
            x = tf.matmul(x, w, transpose_b=True) + b
            if i != last:
                x = tf.nn.relu(x)
        return x

    return forward


CHAPTER = (256, 10)


def built_chapter_nets(x):
    """The chapter MLP as a keras_defer net and as a native Keras model, both built
    by one call on ``x`` (the first pass is not what these rows time)."""
    net = kd_mlp(CHAPTER)
    net.initialize()
    net(x)
    knet = keras_mlp(CHAPTER)
    knet(x)
    return net, knet


# -- figures --------------------------------------------------------------------------
def eager_forward(cfg, sides):
    x = tf.random.uniform((2, 20))
    net, knet = built_chapter_nets(x)
    hand = tf_mlp(20, CHAPTER)
    t = timing.per_call({
        "keras_defer": lambda: net(x), "keras": lambda: knet(x), "tf": lambda: hand(x),
    }, cfg["calls"], cfg["reps"])
    values = {k: v * 1e6 for k, v in t.items()}
    values["mxnet"] = _us(sides, "mxnet", "chapter_forward")
    values["torch"] = _us(sides, "torch", "chapter_forward")
    return row("eager_forward", "chapter MLP (2x20 -> 256 -> 10), eager forward", "us/call",
               values, ("keras_defer", "tf"), "<=", 1.25,
               "keras_defer is %.1fx faster than native Keras"
               % (values["keras"] / values["keras_defer"]))


def ndarray_forward(cfg, sides):
    """The same forward called as an MXNet user calls it, with an NDArray (which it
    returns), against the same net called with a tensor (the eager_forward row)."""
    from keras_defer import nd

    x = tf.random.uniform((2, 20))
    x_nd = nd.array(x)
    net = kd_mlp(CHAPTER)
    net.initialize()
    net(x)
    t = timing.per_call({"keras_defer": lambda: net(x_nd), "tensor": lambda: net(x)},
                        cfg["calls"], cfg["reps"])
    values = {"keras_defer": t["keras_defer"] * 1e6, "keras_defer_tensor": t["tensor"] * 1e6,
              "mxnet": _us(sides, "mxnet", "chapter_forward")}
    return row("ndarray_forward", "chapter MLP forward with an NDArray input", "us/call",
               values, ("keras_defer", "keras_defer_tensor"), "<=", 1.1,
               "ratio: NDArray input / tensor input (%.1f us) on the same keras_defer net"
               % values["keras_defer_tensor"])


def ndarray_ops(cfg, sides):
    """One elementwise op and one ``dot`` through NDArray (``a + b``, ``nd.dot``)
    against the same ops on the raw backend tensors (``a + b``, ``tf.linalg.matmul``):
    what wrapping costs per op. The ratio is the worse of the two."""
    from keras_defer import nd

    a, b = tf.random.uniform((64, 64)), tf.random.uniform((64, 64))
    a_nd, b_nd = nd.array(a), nd.array(b)
    t = timing.per_call({
        "nd_add": lambda: a_nd + b_nd, "tf_add": lambda: a + b,
        "nd_dot": lambda: nd.dot(a_nd, b_nd), "tf_dot": lambda: tf.linalg.matmul(a, b),
    }, cfg["calls"], cfg["reps"])
    add, dot = t["nd_add"] / t["tf_add"], t["nd_dot"] / t["tf_dot"]
    worst = ("nd_add", "tf_add") if add >= dot else ("nd_dot", "tf_dot")
    values = {"keras_defer": t[worst[0]] * 1e6, "tf": t[worst[1]] * 1e6}
    return row("ndarray_ops", "one op through NDArray (64x64 add, dot; the worse ratio)",
               "us/op", values, ("keras_defer", "tf"), "<=", 1.15,
               "add %.1f us vs %.1f us raw (%.2fx); dot %.1f us vs %.1f us raw (%.2fx)"
               % (t["nd_add"] * 1e6, t["tf_add"] * 1e6, add, t["nd_dot"] * 1e6,
                  t["tf_dot"] * 1e6, dot))


def hybridized_forward(cfg, sides):
    x = tf.random.uniform((2, 20))
    net = kd_mlp(CHAPTER, hybrid=True)
    net.initialize()
    net(x)
    net.hybridize()
    knet = keras_mlp(CHAPTER)
    knet(x)
    kfn = tf.function(knet, autograph=False)
    hand = tf.function(tf_mlp(20, CHAPTER), autograph=False)
    t = timing.per_call({
        "keras_defer": lambda: net(x), "keras": lambda: kfn(x), "tf": lambda: hand(x),
    }, cfg["calls"], cfg["reps"])
    values = {k: v * 1e6 for k, v in t.items()}
    values["mxnet"] = _us(sides, "mxnet", "chapter_forward_hybridized")
    return row("hybridized_forward", "same, after hybridize() (HybridSequential; "
               "Keras and hand ops in tf.function)", "us/call",
               values, ("keras_defer", "tf"), "<=", 1.1)


def autograd_step(cfg, sides):
    """``record()`` + forward + ``backward()``, the gradients stored in the parameters,
    against the same net's forward under a hand-written ``tf.GradientTape`` whose
    gradients are only returned (the "hand TF" column), and a native Keras model
    under a hand tape."""
    from keras_defer import autograd, nd

    x = tf.random.uniform((2, 20))
    net, knet = built_chapter_nets(x)
    x_nd = nd.array(x.numpy())  # as ported Gluon code does it

    def kd():
        with autograd.record():
            y = net(x_nd)
        y.backward()

    def under_tape(forward):
        def step():
            with tf.GradientTape() as tape:
                y = forward(x)
            return tape.gradient(y, tape.watched_variables())
        return step

    t = timing.per_call({"keras_defer": kd, "keras": under_tape(knet), "tf": under_tape(net)},
                        cfg["calls"], cfg["reps"])
    values = {k: v * 1e6 for k, v in t.items()}
    values["mxnet"] = _us(sides, "mxnet", "chapter_record_backward")
    return row("autograd_step", "chapter MLP, autograd.record() + forward + backward()",
               "us/step", values, ("keras_defer", "tf"), "<=", 1.2,
               "hand TF here: the same keras_defer net under a hand tf.GradientTape; "
               "native Keras: a Keras Sequential under one")


def _training_batch():
    """The d2l chapter's batch: 256 images of 784 pixels, labels 0-9 (seeded)."""
    rng = np.random.RandomState(0)
    return (rng.uniform(size=(256, 784)).astype(np.float32),
            rng.randint(0, 10, 256).astype(np.int64))


def hand_tf_training_step(x, y, lr=0.1):
    """The chapter MLP's training step written by hand: tf.Variables in Gluon's
    layout, a ``tf.GradientTape``, the fused sparse softmax cross-entropy (mean over
    the batch), a Keras SGD optimizer's ``apply_gradients``."""
    params, fan_in = [], x.shape[1]
    for units in CHAPTER:
        params += [tf.Variable(tf.random.uniform((units, fan_in), -0.07, 0.07)),
                   tf.Variable(tf.zeros((units,)))]
        fan_in = units
    sgd = keras.optimizers.SGD(lr)
    x, y = tf.constant(x), tf.constant(y)

    def step():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, params[0], transpose_b=True) + params[1])
            logits = tf.matmul(h, params[2], transpose_b=True) + params[3]
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        sgd.apply_gradients(zip(tape.gradient(loss, params), params))

    return step


def training_step(cfg, sides):
    """One d2l training step of the chapter MLP (784 -> 256 -> 10, batch 256):
    ``autograd.record()``, forward, ``gluon.loss.SoftmaxCrossEntropyLoss``,
    ``backward()``, ``trainer.step(256)`` (SGD), against the same step hand-written
    with a ``tf.GradientTape`` and a Keras SGD optimizer; and, where the PyTorch side
    ran, keras_defer on Keras's PyTorch backend against a hand-written torch loop."""
    from keras_defer import autograd, gluon, nd

    x, y = _training_batch()
    data, label = nd.array(x), nd.array(y.astype(np.float32))
    net = kd_mlp(CHAPTER)
    net.initialize()
    net(data)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    softmax_ce = gluon.loss.SoftmaxCrossEntropyLoss()

    def kd():
        with autograd.record():
            loss = softmax_ce(net(data), label)
        loss.backward()
        trainer.step(256)

    calls = max(cfg["calls"] // 10, 2)
    t = timing.per_call({"keras_defer": kd, "tf": hand_tf_training_step(x, y)},
                        calls, cfg["reps"])
    values = {k: v * 1e6 for k, v in t.items()}
    values["mxnet"] = _us(sides, "mxnet", "chapter_training_step")
    values["torch"] = _us(sides, "torch", "chapter_training_step")
    rows = [row("training_step", "chapter MLP (256x784 -> 256 -> 10), one training step",
                "us/step", values, ("keras_defer", "tf"), "<=", 1.2,
                "record + forward + SoftmaxCrossEntropyLoss + backward + trainer.step(256); "
                "hand TF: tf.GradientTape + sparse softmax cross-entropy + "
                "keras.optimizers.SGD; PyTorch column: a hand-written torch loop")]
    on_torch = _us(sides, "torch", "keras_defer_chapter_training_step")
    if on_torch is not None:
        rows.append(row(
            "training_step_torch", "the same step on Keras's PyTorch backend", "us/step",
            {"keras_defer": on_torch, "torch": values["torch"], "mxnet": values["mxnet"]},
            ("keras_defer", "torch"), "<=", 1.2,
            "keras_defer (KERAS_BACKEND=torch) against a hand-written torch loop "
            "(nn.Linear, CrossEntropyLoss, torch.optim.SGD), timed alternately in the "
            "PyTorch side's process"))
    return rows


def first_call(cfg, sides):
    x = tf.random.uniform((2, 20))

    def kd():
        net = kd_mlp(CHAPTER)
        start = time.perf_counter()
        net.initialize()
        net(x)
        return time.perf_counter() - start

    def native():
        net = keras_mlp(CHAPTER)
        start = time.perf_counter()
        net(x)
        return time.perf_counter() - start

    kd(), native()
    t = timing.one_shot({"keras_defer": kd, "keras": native}, cfg["first_reps"])
    values = {k: v * 1e3 for k, v in t.items()}
    values["mxnet"] = _ms(sides, "mxnet", "first_call_chapter")
    values["torch"] = _ms(sides, "torch", "first_call_chapter")
    return row("first_call", "first call of a fresh chapter MLP (initialize + shape "
               "inference + init + forward)", "ms", values, ("keras_defer", "keras"),
               "<=", 0.5)


def _deep_first_call(depth, reps, with_keras):
    x = tf.random.uniform((2, 20))

    def kd():
        net = kd_mlp((20,) * depth)
        start = time.perf_counter()
        net.initialize()
        net(x)
        return time.perf_counter() - start

    def native():
        net = keras_mlp((20,) * depth)
        start = time.perf_counter()
        net(x)
        return time.perf_counter() - start

    def hand():  # the TF floor: the same variables drawn, the same ops run, by hand
        start = time.perf_counter()
        tf_mlp(20, (20,) * depth)(x)
        return time.perf_counter() - start

    candidates = {"keras_defer": kd}
    if with_keras:
        candidates["keras"] = native
        candidates["tf"] = hand
    return timing.one_shot(candidates, reps)


def deep_first_call(cfg, sides):
    depth = cfg["depth"]
    _deep_first_call(5, 1, True)
    t = _deep_first_call(depth, cfg["deep_reps"], True)
    values = {k: v * 1e3 for k, v in t.items()}
    values["mxnet"] = _ms(sides, "mxnet", "first_call_depth_%d" % depth)
    values["torch"] = _ms(sides, "torch", "first_call_depth_%d" % depth)
    if values["mxnet"] is None:
        return row("deep_first_call", "first call of a %d-layer deferred net" % depth, "ms",
                   values, ("keras_defer", "keras"), "<=", 1.0,
                   "MXNet environment absent: ratio against native Keras instead")
    return row("deep_first_call", "first call of a %d-layer deferred net" % depth, "ms",
               values, ("keras_defer", "mxnet"), "<=", 1.0,
               "MXNet measured in its own process, same machine, just before; hand TF "
               "(%d x two tf.Variables drawn + matmul/add/relu) is the TensorFlow floor: "
               "keras_defer / hand TF %.2fx, hand TF / MXNet %.2fx"
               % (depth, values["keras_defer"] / values["tf"], values["tf"] / values["mxnet"]))


def depth_scaling(cfg, sides):
    small, big = cfg["depth"] // 4, cfg["depth"]
    t_small = _deep_first_call(small, cfg["deep_reps"], False)["keras_defer"]
    t_big = _deep_first_call(big, cfg["deep_reps"], False)["keras_defer"]
    values = {"keras_defer": (t_big / big) / (t_small / small)}
    mx_small = _get(sides, "mxnet", "first_call_depth_%d" % small)
    mx_big = _get(sides, "mxnet", "first_call_depth_%d" % big)
    values["mxnet"] = None if mx_small is None else (mx_big / big) / (mx_small / small)
    values["one"] = 1.0
    return row("depth_scaling", "first-call cost per layer, %d vs %d layers (1.0 = linear)"
               % (big, small), "ratio", values, ("keras_defer", "one"), "<=", 1.25,
               "%d layers: %.1f ms, %d layers: %.1f ms" % (small, t_small * 1e3, big, t_big * 1e3))


def large_mlp(cfg, sides):
    batch, fin = cfg["large"][0], cfg["large"][1]
    widths = tuple(cfg["large"][2:])
    x = tf.random.uniform((batch, fin))
    net = kd_mlp(widths, hybrid=True)
    net.initialize()
    net(x)
    net.hybridize()
    knet = keras_mlp(widths)
    knet(x)
    kfn = tf.function(knet, autograph=False)
    hand = tf.function(tf_mlp(fin, widths), autograph=False)
    flops, f = 0, fin
    for units in widths:
        flops += 2 * batch * f * units
        f = units
    t = timing.per_call({
        "keras_defer": lambda: net(x).numpy(), "keras": lambda: kfn(x).numpy(),
        "tf": lambda: hand(x).numpy(),
    }, cfg["large_calls"], cfg["large_reps"])
    values = {k: flops / v / 1e9 for k, v in t.items()}
    return row("large_mlp", "large MLP (%s), compiled" % " -> ".join(
        map(str, ("%dx%d" % (batch, fin),) + widths)), "GFLOP/s", values,
        ("keras_defer", "keras"), ">=", 0.98)


def lenet_fit(cfg, sides):
    from keras_defer.gluon import nn

    n = cfg["fit_samples"]
    rs = np.random.RandomState(0)
    x_nchw = rs.normal(size=(n, 1, 16, 16)).astype("float32")
    x_nhwc = np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))
    y = rs.randint(0, 4, size=n).astype("int32")

    def kd_net(layout):
        net = nn.Sequential()
        with net.name_scope():
            net.add(nn.Conv2D(6, 3, padding=1, activation="relu", layout=layout),
                    nn.MaxPool2D(pool_size=2, strides=2, layout=layout),
                    nn.Conv2D(16, 3, activation="relu", layout=layout),
                    nn.MaxPool2D(pool_size=2, strides=2, layout=layout),
                    nn.Flatten(), nn.Dense(64, activation="relu"), nn.Dense(4))
        net.initialize()
        net(x_nchw[:2] if layout == "NCHW" else x_nhwc[:2])
        return net

    native = keras.Sequential([
        keras.layers.Conv2D(6, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(4)])
    native(x_nhwc[:2])
    models = {"keras_defer": (kd_net("NCHW"), x_nchw), "keras_defer_nhwc": (kd_net("NHWC"), x_nhwc),
              "keras": (native, x_nhwc)}
    for model, data in models.values():
        model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        model.fit(data, y, batch_size=64, epochs=1, verbose=0)  # trace

    def fit(name):
        model, data = models[name]
        return lambda: model.fit(data, y, batch_size=64, epochs=1, verbose=0)

    t = timing.per_call({name: fit(name) for name in models}, 1, cfg["fit_reps"])
    values = {k: n / v for k, v in t.items()}
    return row("lenet_fit", "training step, LeNet-style net, model.fit (keras_defer in "
               "Gluon's NCHW; NHWC in its own column)", "samples/s", values,
               ("keras_defer", "keras"), ">=", 0.95,
               "keras_defer with layout='NHWC': %.2fx native Keras"
               % (values["keras_defer_nhwc"] / values["keras"]))


def _wide_net(depth, use_bias=True):
    from keras_defer.gluon import nn

    net = nn.Sequential()
    for _ in range(depth):
        net.add(nn.Dense(8, use_bias=use_bias))
    return net


def _registration_only(depth, reps):
    """Median seconds of ``initialize()`` when no shape is known yet (Dense(8) without
    bias): Gluon's deferred initialization proper, nothing is created."""
    def once():
        net = _wide_net(depth, use_bias=False)
        start = time.perf_counter()
        net.initialize()
        return time.perf_counter() - start

    return timing.one_shot({"keras_defer": once}, reps)["keras_defer"]


def _variable_floor(make, depth, reps):
    """Median seconds to create ``depth`` bias-sized variables with ``make``: the
    cost TensorFlow (or Keras) charges whoever creates them, before any of our code."""
    zeros = tf.zeros((8,))

    def once():
        start = time.perf_counter()
        for _ in range(depth):
            make(zeros)
        return time.perf_counter() - start

    return timing.one_shot({"floor": once}, reps)["floor"]


def collect_and_initialize(cfg, sides):
    """``initialize()`` on Dense(8) x depth creates the depth biases at once (their shape
    is known) and registers the rest: compared with creating as many bare TF and Keras
    variables, and with MXNet Gluon on the same net."""
    depth = cfg["params_depth"]
    rows = []
    times = {}
    for d in (depth // 4, depth):
        coll, inits = [], []
        for _ in range(cfg["deep_reps"]):
            net = _wide_net(d)
            start = time.perf_counter()
            net.collect_params()
            coll.append(time.perf_counter() - start)
            start = time.perf_counter()
            net.initialize()
            inits.append(time.perf_counter() - start)
        times[d] = (sorted(coll)[len(coll) // 2], sorted(inits)[len(inits) // 2])
    floors = {
        "tf": _variable_floor(lambda z: tf.Variable(z, name="bias"), depth, cfg["deep_reps"]),
        "keras": _variable_floor(lambda z: keras.Variable(z, name="bias"), depth,
                                 cfg["deep_reps"]),
    }
    for i, what in enumerate(("collect_params()", "initialize()")):
        big, small = times[depth][i], times[depth // 4][i]
        key = what.strip("()")
        values = {"keras_defer": big * 1e3, "limit": 50.0,
                  "mxnet": _ms(sides, "mxnet", "%s_depth_%d" % (key, depth))}
        note = ("per-layer cost %d vs %d layers: %.2fx (1.0 = linear)"
                % (depth, depth // 4, (big / depth) / (small / (depth // 4))))
        if key == "initialize":
            values.update({k: v * 1e3 for k, v in floors.items()})
            note += ("; the %d bias variables alone: bare tf.Variable %.0f ms, "
                     "keras.Variable %.0f ms; keras_defer / keras.Variable %.2fx; "
                     "without biases (every shape unknown, nothing created): %.1f ms"
                     % (depth, values["tf"], values["keras"], values["keras_defer"]
                        / values["keras"], _registration_only(depth, cfg["deep_reps"]) * 1e3))
        rows.append(row(
            "params_" + key, "%s on a %d-layer net" % (what, depth), "ms",
            values, ("keras_defer", "limit"), "<=", 1.0, note))
    return rows


def peak_memory(cfg, sides):
    units = cfg["memory_units"]
    out = {}
    for which in ("keras_defer", "keras"):
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "memory_probe.py"), which, str(units)],
            capture_output=True, text=True, env=dict(os.environ), timeout=600)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError("memory probe failed: %s" % proc.stderr[-2000:])
        import json

        out[which] = json.loads(lines[-1])
    param_bytes = out["keras_defer"]["param_bytes"]
    values = {k: v["peak_above_idle"] / param_bytes for k, v in out.items()}
    values["one"] = 1.0
    size = ("%.2f GiB" % (param_bytes / 2**30) if param_bytes >= 2**30
            else "%.0f MiB" % (param_bytes / 2**20))
    return row("peak_memory", "peak memory while initializing %s of parameters "
               "(first pass of Dense(%d) on %d features), x parameter bytes"
               % (size, units, units), "x bytes", values,
               ("keras_defer", "one"), "<=", 1.2, out["keras_defer"].get("how", ""))


_MXNET_EPOCH = """
import json, sys, time
import numpy as np
from mxnet import nd
from mxnet.gluon import data as gdata
n, reps = json.loads(sys.argv[1])
rng = np.random.RandomState(0)
loader = gdata.DataLoader(gdata.ArrayDataset(nd.array(rng.rand(n, 784).astype(np.float32)),
                                             nd.array(rng.randint(0, 10, n))), 256, shuffle=True)
def epoch():
    start = time.perf_counter()
    for X, y in loader:
        pass
    nd.waitall()
    return time.perf_counter() - start
epoch()
print(json.dumps({"epoch": sorted(epoch() for _ in range(reps))[reps // 2]}))
"""


def dataloader_epoch(cfg, sides):
    """One shuffled epoch of ``DataLoader(ArrayDataset(X, y), 256, shuffle=True)`` over
    in-memory NDArrays (d2l's pattern; 60000x784 float32 and labels), every batch
    materialized, against a ``tf.data`` pipeline doing the same batching
    (``from_tensor_slices(...).shuffle(n).batch(256)``). MXNet 1.9.1 beside it, run
    in its own environment."""
    from keras_defer import nd
    from keras_defer.gluon import data as gdata

    n = 60000 if cfg["reps"] >= 5 else 6000
    reps = max(3, cfg["reps"] // 2)
    rng = np.random.RandomState(0)
    features = rng.rand(n, 784).astype(np.float32)
    labels = rng.randint(0, 10, n).astype(np.float32)
    loader = gdata.DataLoader(gdata.ArrayDataset(nd.array(features), nd.array(labels)),
                              256, shuffle=True)
    numpy_loader = gdata.DataLoader(gdata.ArrayDataset(features, labels), 256, shuffle=True)
    pipeline = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(n).batch(256)

    def timed(batches):
        def run():
            start = time.perf_counter()
            for X, y in batches:
                pass
            return time.perf_counter() - start
        return run

    timed(loader)(), timed(pipeline)()  # warm up: traces, kernel caches
    t = timing.one_shot({"keras_defer": timed(loader), "tf": timed(pipeline),
                         "numpy_members": timed(numpy_loader)}, reps)
    values = {"keras_defer": t["keras_defer"] * 1e3, "tf": t["tf"] * 1e3}
    if sides and os.path.exists(MXNET_PYTHON):  # sides is {} under --no-mxnet
        import json

        proc = subprocess.run([MXNET_PYTHON, "-c", _MXNET_EPOCH, json.dumps([n, reps])],
                              capture_output=True, text=True, timeout=600)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
        if proc.returncode == 0 and lines:
            values["mxnet"] = json.loads(lines[-1])["epoch"] * 1e3
    return row("dataloader_epoch", "DataLoader epoch over an in-memory ArrayDataset "
               "(%dx784 float32 NDArrays + labels, batch 256, shuffle)" % n, "ms/epoch",
               values, ("keras_defer", "tf"), "<=", 1.11,
               "tf: tf.data from_tensor_slices().shuffle(n).batch(256); over numpy "
               "members instead of NDArrays: %.1f ms" % (t["numpy_members"] * 1e3))


# -- MXNet side ------------------------------------------------------------------------
def _run_side(python, script, opts):
    """Medians from a side environment's own process: ``None`` when the environment
    is absent, ``{"error": ...}`` when it failed."""
    if not os.path.exists(python):
        return None
    import json

    proc = subprocess.run([python, os.path.join(HERE, script), json.dumps(opts)],
                          capture_output=True, text=True, timeout=600)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": proc.stderr[-500:]}
    return json.loads(lines[-1])


def run_sides(cfg):
    """``{"mxnet": ..., "torch": ...}``: each side's medians (see ``_run_side``),
    measured just before keras_defer's, on the same machine."""
    opts = {"reps": cfg["reps"], "depths": [cfg["depth"] // 4, cfg["depth"]],
            "eager_calls": cfg["calls"], "params_depth": cfg["params_depth"],
            "training_calls": max(cfg["calls"] // 10, 2)}
    return {"mxnet": _run_side(MXNET_PYTHON, "mxnet_side.py", opts),
            "torch": _run_side(TORCH_PYTHON, "torch_side.py", opts)}


def _get(sides, side, key):
    measured = (sides or {}).get(side)
    return None if not measured or key not in measured else measured[key]


def _us(sides, side, key):
    v = _get(sides, side, key)
    return None if v is None else v * 1e6


def _ms(sides, side, key):
    v = _get(sides, side, key)
    return None if v is None else v * 1e3


FIGURES = [eager_forward, ndarray_forward, ndarray_ops, hybridized_forward, autograd_step,
           training_step, first_call,
           deep_first_call, depth_scaling, large_mlp, lenet_fit, collect_and_initialize,
           peak_memory, dataloader_epoch]
