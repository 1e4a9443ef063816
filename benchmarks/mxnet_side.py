"""The MXNet Gluon 1.9.1 side of the benchmark, run in MXNet's own environment.

``python mxnet_side.py '{"reps": 5, "depth": 400, ...}'`` prints one JSON object of
median seconds. Kept free of keras_defer imports: it runs under MXNet's Python.
"""

import json
import sys
import time

from side_options import median as _median
from side_options import options


def main(argv):
    reps, depths, eager_n, params_depth = options(argv)

    import mxnet as mx
    from mxnet import gluon, init, nd

    nn = gluon.nn
    x = nd.random.uniform(shape=(2, 20))

    def chapter():
        net = nn.Sequential()
        net.add(nn.Dense(256, activation="relu"))
        net.add(nn.Dense(10))
        return net

    def deep(depth):
        net = nn.Sequential()
        for _ in range(depth):
            net.add(nn.Dense(20, activation="relu"))
        return net

    def first_call(make):
        net = make()
        start = time.perf_counter()
        net.initialize(init.Uniform())
        net(x).wait_to_read()
        return time.perf_counter() - start

    first_call(chapter)  # warm MXNet's operator caches
    out = {"mxnet_version": mx.__version__}
    out["first_call_chapter"] = _median(lambda: first_call(chapter), reps)
    for depth in depths:
        out["first_call_depth_%d" % depth] = _median(
            lambda: first_call(lambda: deep(depth)), max(3, reps // 2)
        )

    def wide():  # the net of the collect_params()/initialize() rows: Dense(8) x depth
        net = nn.Sequential()
        for _ in range(params_depth):
            net.add(nn.Dense(8))
        return net

    def timed(method):
        net = wide()
        start = time.perf_counter()
        getattr(net, method)()
        mx.nd.waitall()  # MXNet's engine is asynchronous: count the work, not the queueing
        return time.perf_counter() - start

    out["collect_params_depth_%d" % params_depth] = _median(
        lambda: timed("collect_params"), reps)
    out["initialize_depth_%d" % params_depth] = _median(lambda: timed("initialize"), reps)

    net = chapter()
    net.initialize()
    net(x).wait_to_read()

    def eager():
        start = time.perf_counter()
        for _ in range(eager_n):
            y = net(x)
        y.wait_to_read()
        return (time.perf_counter() - start) / eager_n

    out["chapter_forward"] = _median(eager, reps)

    def record_backward():
        start = time.perf_counter()
        for _ in range(eager_n):
            with mx.autograd.record():
                y = net(x)
            y.backward()
        mx.nd.waitall()
        return (time.perf_counter() - start) / eager_n

    out["chapter_record_backward"] = _median(record_backward, reps)
    out["chapter_training_step"] = training_step(mx, nn, reps, eager_n)
    net.hybridize()
    net(x).wait_to_read()
    out["chapter_forward_hybridized"] = _median(eager, reps)
    print(json.dumps(out))


def training_step(mx, nn, reps, calls):
    """One d2l training step of the chapter MLP (784 -> 256 -> 10, batch 256): record,
    forward, SoftmaxCrossEntropyLoss, backward, ``trainer.step(256)`` (SGD)."""
    import numpy as np

    from mxnet import autograd, gluon, nd

    rng = np.random.RandomState(0)
    x = nd.array(rng.uniform(size=(256, 784)).astype(np.float32))
    y = nd.array(rng.randint(0, 10, 256).astype(np.float32))
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu"))
    net.add(nn.Dense(10))
    net.initialize()
    net(x).wait_to_read()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    softmax_ce = gluon.loss.SoftmaxCrossEntropyLoss()
    calls = max(calls // 10, 5)

    def steps():
        start = time.perf_counter()
        for _ in range(calls):
            with autograd.record():
                loss = softmax_ce(net(x), y)
            loss.backward()
            trainer.step(256)
        mx.nd.waitall()
        return (time.perf_counter() - start) / calls

    steps()  # warm up
    return _median(steps, reps)


if __name__ == "__main__":
    main(sys.argv)
