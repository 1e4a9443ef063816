"""``KERAS_BACKEND=jax python -m benchmarks.backends [--quick] [--json]``: the speed
rows measured on the active Keras backend, each against native Keras on the same
backend, side by side in one process (interleaved, order rotated, medians:
``benchmarks.timing``).

Unlike ``python -m benchmarks`` (TensorFlow only: it compares with hand-written TF
ops and MXNet), this one runs under any backend, so issue 14's rows can be stated
per backend:

* ``eager_forward_mlp30`` / ``eager_forward_chapter`` / ``eager_forward_cnn``: a
  built net's eager forward, keras_defer / native Keras, target <= 0.5;
* ``first_call``: initialize + first call of a fresh chapter MLP, <= 0.5;
* ``fit_step``: ``model.fit`` of the chapter MLP, samples/s, keras_defer / Keras >= 0.95;
* ``sequential_hybridize``: ``nn.Sequential.hybridize()`` (children compiled, as in
  Gluon) against the same net not hybridized, <= 1.05 ("never slower": on JAX and
  PyTorch both nets take the very same path, so the ratio is 1 within timing noise).

``--quick`` shrinks every size for a smoke run (its numbers mean nothing).
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import timing  # noqa: E402

FULL = dict(calls=100, reps=9, first_reps=15, fit_samples=4096, fit_reps=9, depth=30)
QUICK = dict(calls=12, reps=2, first_reps=2, fit_samples=256, fit_reps=1, depth=4)


def _row(rid, figure, unit, values, op, bound, note=""):
    ratio = values["keras_defer"] / values["keras"]
    return {"id": rid, "figure": figure, "unit": unit, "values": values, "ratio": ratio,
            "ratio_of": "keras_defer / keras", "target": "%s %s" % (op, bound),
            "met": ratio <= bound if op == "<=" else ratio >= bound, "note": note}


def _tensor(shape, seed=0):
    return keras.ops.convert_to_tensor(
        np.random.RandomState(seed).uniform(size=shape).astype("float32"))


def _kd_mlp(widths, container="Sequential"):
    from keras_defer.gluon import nn

    net = getattr(nn, container)()
    for i, units in enumerate(widths):
        net.add(nn.Dense(units, activation=None if i == len(widths) - 1 else "relu"))
    return net


def _keras_mlp(widths):
    return keras.Sequential([
        keras.layers.Dense(units, activation=None if i == len(widths) - 1 else "relu")
        for i, units in enumerate(widths)])


def _kd_cnn():
    from keras_defer.gluon import nn

    net = nn.Sequential()
    net.add(nn.Conv2D(8, 3, padding=1, activation="relu", layout="NHWC"),
            nn.MaxPool2D(2, layout="NHWC"),
            nn.Conv2D(16, 3, padding=1, activation="relu", layout="NHWC"),
            nn.MaxPool2D(2, layout="NHWC"), nn.Flatten(),
            nn.Dense(64, activation="relu"), nn.Dense(10))
    return net


def _keras_cnn():
    return keras.Sequential([
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])


def _sync(out):
    """Wait for an asynchronous backend (JAX dispatches before it computes; so does
    PyTorch on a GPU)."""
    if hasattr(out, "block_until_ready"):
        out.block_until_ready()
    elif getattr(out, "is_cuda", False):
        import torch

        torch.cuda.synchronize()
    return out


def _forward_row(rid, figure, kd_net, keras_net, x, cfg):
    kd_net.initialize()
    kd_net(x)
    keras_net(x)
    t = timing.per_call({"keras_defer": lambda: _sync(kd_net(x)),
                         "keras": lambda: _sync(keras_net(x))}, cfg["calls"], cfg["reps"])
    return _row(rid, figure, "us/call", {k: v * 1e6 for k, v in t.items()}, "<=", 0.5)


def _cnn_row(cfg):
    return dict(_forward_row("eager_forward_cnn", "small CNN (2x16x16x1, 2 conv + 2 pool + "
                             "2 dense, NHWC), built, eager forward", _kd_cnn(), _keras_cnn(),
                             _tensor((2, 16, 16, 1)), cfg),
                note="TensorFlow and PyTorch run the whole net as one plan (convolutions, "
                     "pooling, Flatten and Dense as the ops Keras's path ends in); JAX "
                     "compiles the whole net")


def eager_forward(cfg):
    depth = cfg["depth"]
    widths = (64,) * (depth - 1) + (10,)
    return [
        _forward_row("eager_forward_mlp%d" % depth, "%d-layer MLP (2x20 -> 64 ... -> 10), "
                     "built, eager forward" % depth,
                     _kd_mlp(widths), _keras_mlp(widths), _tensor((2, 20)), cfg),
        _forward_row("eager_forward_chapter", "chapter MLP (2x20 -> 256 -> 10), built, "
                     "eager forward", _kd_mlp((256, 10)), _keras_mlp((256, 10)),
                     _tensor((2, 20)), cfg),
        _cnn_row(cfg),
    ]


def eager_forward_cnn(cfg):
    """The small CNN's row of ``eager_forward`` alone (``--only eager_forward_cnn``)."""
    return [_cnn_row(cfg)]


def first_call(cfg):
    x = _tensor((2, 20))

    def kd():
        net = _kd_mlp((256, 10))
        start = time.perf_counter()
        net.initialize()
        _sync(net(x))
        return time.perf_counter() - start

    def native():
        net = _keras_mlp((256, 10))
        start = time.perf_counter()
        _sync(net(x))
        return time.perf_counter() - start

    kd(), native()
    t = timing.one_shot({"keras_defer": kd, "keras": native}, cfg["first_reps"])
    return _row("first_call", "first call of a fresh chapter MLP (initialize + shape "
                "inference + init + forward)", "ms", {k: v * 1e3 for k, v in t.items()},
                "<=", 0.5)


def fit_step(cfg):
    n = cfg["fit_samples"]
    rng = np.random.RandomState(0)
    x = rng.uniform(size=(n, 784)).astype("float32")
    y = rng.randint(0, 10, n).astype("int32")
    kd = _kd_mlp((256, 10))
    kd.initialize()
    kd(x[:2])
    native = _keras_mlp((256, 10))
    native(x[:2])
    models = {"keras_defer": kd, "keras": native}
    for model in models.values():
        model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        model.fit(x, y, batch_size=256, epochs=1, verbose=0)  # trace

    def fit(model):
        return lambda: model.fit(x, y, batch_size=256, epochs=1, verbose=0)

    t = timing.per_call({name: fit(m) for name, m in models.items()}, 1, cfg["fit_reps"])
    return _row("fit_step", "chapter MLP (784 -> 256 -> 10), model.fit, batch 256",
                "samples/s", {k: n / v for k, v in t.items()}, ">=", 0.95)


def sequential_hybridize(cfg):
    """``nn.Sequential().hybridize()`` against the same net not hybridized: the
    "keras" column here is keras_defer itself, not hybridized."""
    x = _tensor((2, 20))
    plain = _kd_mlp((256, 10))
    hybrid = _kd_mlp((256, 10))
    for net in (plain, hybrid):
        net.initialize()
        net(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Gluon's "consider HybridSequential"
        hybrid.hybridize()
    _sync(hybrid(x))
    t = timing.per_call({"keras_defer": lambda: _sync(hybrid(x)),
                         "keras": lambda: _sync(plain(x))}, cfg["calls"], cfg["reps"])
    return _row("sequential_hybridize", "chapter MLP, nn.Sequential.hybridize() vs the "
                "same net not hybridized", "us/call", {k: v * 1e6 for k, v in t.items()},
                "<=", 1.05, "the native Keras column is keras_defer without hybridize(); "
                "on JAX and PyTorch both take the same path (ratio 1 within noise)")


FIGURES = [eager_forward, first_call, fit_step, sequential_hybridize]
EXTRA_FIGURES = [eager_forward_cnn]  # parts of FIGURES, for --only


def _fmt(value):
    return "%.0f" % value if abs(value) >= 100 else "%.2f" % value


def table(rows, backend):
    lines = ["| backend | figure | unit | keras_defer | native Keras | ratio | target | met |",
             "|" + " --- |" * 8]
    for r in rows:
        v = r["values"]
        lines.append("| %s | %s | %s | %s | %s | %.2f | %s | %s |" % (
            backend, r["figure"], r["unit"], _fmt(v["keras_defer"]), _fmt(v["keras"]),
            r["ratio"], r["target"], "yes" if r["met"] else "**no**"))
    notes = ["- %s: %s" % (r["id"], r["note"]) for r in rows if r.get("note")]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--only", nargs="*", help="figure function names to run")
    parser.add_argument("--threads", type=int, help="PyTorch's intra-op threads "
                        "(torch.set_num_threads): on a busy shared machine, with more than "
                        "one, each small kernel can wait milliseconds for a descheduled "
                        "thread, which swamps every other cost")
    args = parser.parse_args(argv)
    if args.threads and keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(args.threads)
    cfg = QUICK if args.quick else FULL
    start = time.time()
    rows = []
    for fig in FIGURES + EXTRA_FIGURES:
        if (fig in FIGURES and not args.only) or (args.only and fig.__name__ in args.only):
            result = fig(cfg)
            rows.extend(result if isinstance(result, list) else [result])
    backend = keras.backend.backend()
    report = {"backend": backend, "quick": args.quick, "keras": keras.__version__,
              "threads": args.threads,
              "cores": os.cpu_count(), "python": platform.python_version(),
              "load_average": os.getloadavg(), "seconds": round(time.time() - start, 1),
              "rows": rows}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("backend %s, Keras %s, %d cores, load average %.2f %.2f %.2f" % (
            backend, keras.__version__, os.cpu_count(), *report["load_average"]))
        print(table(rows, backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
