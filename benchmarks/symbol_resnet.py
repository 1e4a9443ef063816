"""ResNet-50 imported from an MXNet graph vs ``keras.applications.ResNet50``: inference
throughput, measured side by side in one run (the issue's bar: >= 0.95x).

    .venv/bin/python -m benchmarks.symbol_resnet [--batch 8] [--rounds 5] [--size 224]

The graph is MXNet's ``resnet50_v1`` as ``gluon.model_zoo`` exports it (the JSON is
built here, node for node: names, operators and attributes as MXNet writes them, so
no MXNet and no file is needed); parameters are random (a first forward infers their
shapes, as a fresh ``SymbolBlock`` does). Both models run the same way -- a Keras
model's ``predict_on_batch`` on the same batch (ours channels-first, as MXNet's
input; Keras's channels-last) -- and the timings alternate between the two, so a
busy machine slows both alike; the ratio reported is the median of the per-round
ratios. The interpreter computes convolutions and pooling channels-last (one
transpose at the input and one before the classifier) and, outside training, folds
each BatchNorm into the convolution before it; the weights stay in MXNet's layout
(their parameters are MXNet's), transposed per call.
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402


class _GraphWriter:
    """Append MXNet-style nodes; ``json()`` is what ``Symbol.tojson()`` writes."""

    def __init__(self):
        self.nodes = []

    def var(self, name):
        self.nodes.append({"op": "null", "name": name, "inputs": []})
        return len(self.nodes) - 1

    def op(self, op, name, inputs, **attrs):
        self.nodes.append({"op": op, "name": name,
                           "attrs": {k: str(v) for k, v in attrs.items()},
                           "inputs": [[i, 0, 0] for i in inputs]})
        return len(self.nodes) - 1

    def json(self, head):
        args = [i for i, n in enumerate(self.nodes) if n["op"] == "null"]
        return json.dumps({"nodes": self.nodes, "arg_nodes": args,
                           "node_row_ptr": list(range(len(self.nodes) + 1)),
                           "heads": [[head, 0, 0]],
                           "attrs": {"mxnet_version": ["int", 10901]}})


def resnet50_v1_json(classes=1000):
    """The JSON of MXNet's ``gluon.model_zoo.vision.resnet50_v1()`` export."""
    g = _GraphWriter()
    counters = {"conv": 0, "batchnorm": 0, "relu": 0, "pool": 0}
    prefix = "resnetv10_"

    def conv(x, scope, channels, kernel, stride, pad, bias=False):
        name = "%sconv%d" % (scope, counters[scope + "conv"])
        counters[scope + "conv"] += 1
        ins = [x, g.var(name + "_weight")] + ([g.var(name + "_bias")] if bias else [])
        return g.op("Convolution", name + "_fwd", ins, dilate="(1, 1)",
                    kernel="(%d, %d)" % (kernel, kernel), layout="NCHW",
                    no_bias=str(not bias),
                    num_filter=channels, num_group=1, pad="(%d, %d)" % (pad, pad),
                    stride="(%d, %d)" % (stride, stride))

    def bn(x, scope):
        name = "%sbatchnorm%d" % (scope, counters[scope + "batchnorm"])
        counters[scope + "batchnorm"] += 1
        ins = [x] + [g.var(name + s) for s in ("_gamma", "_beta", "_running_mean",
                                                "_running_var")]
        return g.op("BatchNorm", name + "_fwd", ins, axis=1, eps=1e-05, fix_gamma="False",
                    momentum=0.9, use_global_stats="False")

    def relu(x, scope):
        name = "%srelu%d" % (scope, counters[scope + "relu"])
        counters[scope + "relu"] += 1
        return g.op("Activation", name + "_fwd", [x], act_type="relu")

    x = g.var("data")
    top = prefix
    for key in ("conv", "batchnorm", "relu", "pool"):
        counters[top + key] = 0
    x = relu(bn(conv(x, top, 64, 7, 2, 3), top), top)
    x = g.op("Pooling", top + "pool0_fwd", [x], global_pool="False", kernel="(3, 3)",
             layout="NCHW", pad="(1, 1)", pool_type="max", pooling_convention="valid",
             stride="(2, 2)")
    counters[top + "pool"] = 1
    for stage, (layers, channels, stride) in enumerate(
            zip((3, 4, 6, 3), (256, 512, 1024, 2048), (1, 2, 2, 2)), start=1):
        scope = "%sstage%d_" % (prefix, stage)
        for key in ("conv", "batchnorm", "relu"):
            counters[scope + key] = 0
        for i in range(layers):
            s = stride if i == 0 else 1
            # BottleneckV1: the 1x1 convolutions have biases, the 3x3 and the
            # downsampling one none
            y = relu(bn(conv(x, scope, channels // 4, 1, s, 0, bias=True), scope), scope)
            y = relu(bn(conv(y, scope, channels // 4, 3, 1, 1), scope), scope)
            y = bn(conv(y, scope, channels, 1, 1, 0, bias=True), scope)
            if i == 0:
                x = bn(conv(x, scope, channels, 1, s, 0), scope)
            x = g.op("elemwise_add", "%s_plus%d" % (scope, i), [y, x])
            x = g.op("Activation", "%sactivation%d" % (scope, i), [x], act_type="relu")
    x = g.op("Pooling", top + "pool1_fwd", [x], global_pool="True", kernel="(1, 1)",
             layout="NCHW", pad="(0, 0)", pool_type="avg", pooling_convention="full",
             stride="(1, 1)")
    w, b = g.var(prefix + "dense0_weight"), g.var(prefix + "dense0_bias")
    x = g.op("FullyConnected", prefix + "dense0_fwd", [x, w, b], flatten="True",
             no_bias="False", num_hidden=classes)
    return g.json(x)


def imported_model(batch, size):
    from keras_defer import gluon, init, nd

    block = gluon.SymbolBlock(resnet50_v1_json(), ["data"])
    block.initialize(init.Xavier())
    block(nd.zeros((1, 3, size, size)))  # infers every parameter's shape
    model = keras.Sequential([keras.Input((3, size, size), batch_size=None), block])
    return model, block


def time_once(fn, x):
    start = time.perf_counter()
    fn(x)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args(argv)
    size, batch = args.size, args.batch

    ours, block = imported_model(batch, size)
    theirs = keras.applications.ResNet50(weights=None, input_shape=(size, size, 3))
    n_ours = sum(int(np.prod(p.shape)) for p in block.collect_params().values())
    n_theirs = theirs.count_params()
    rng = np.random.RandomState(0)
    x_first = rng.rand(batch, 3, size, size).astype("float32")
    x_last = np.ascontiguousarray(x_first.transpose(0, 2, 3, 1))

    for _ in range(2):  # trace and warm both
        ours.predict_on_batch(x_first)
        theirs.predict_on_batch(x_last)
    ratios, t_ours, t_theirs = [], [], []
    for i in range(args.rounds):
        # alternate which runs first, so drift in the machine's load hits both
        if i % 2:
            a = time_once(ours.predict_on_batch, x_first)
            b = time_once(theirs.predict_on_batch, x_last)
        else:
            b = time_once(theirs.predict_on_batch, x_last)
            a = time_once(ours.predict_on_batch, x_first)
        t_ours.append(a)
        t_theirs.append(b)
        ratios.append(b / a)  # throughput ratio: ours / Keras's
    print("backend: %s, batch %d, %dx%d, %d rounds" % (keras.backend.backend(), batch, size,
                                                       size, args.rounds))
    print("parameters: imported %d, keras.applications.ResNet50 %d (MXNet's 3x3 and "
          "downsampling convolutions have no bias, all of Keras's do)"
          % (n_ours, n_theirs))
    print("imported MXNet resnet50_v1: median %.3f s/batch (%.1f img/s)"
          % (statistics.median(t_ours), batch / statistics.median(t_ours)))
    print("keras.applications.ResNet50: median %.3f s/batch (%.1f img/s)"
          % (statistics.median(t_theirs), batch / statistics.median(t_theirs)))
    ratio = statistics.median(ratios)
    best = min(t_theirs) / min(t_ours)
    print("throughput ratio (imported / Keras): median of rounds %.3f (per round %s); "
          "of the best times %.3f; target >= 0.95: %s"
          % (ratio, " ".join("%.3f" % r for r in ratios), best,
             "met" if ratio >= 0.95 else "NOT met"))
    return ratio


if __name__ == "__main__":
    main(sys.argv[1:])
