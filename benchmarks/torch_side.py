"""The PyTorch side of the benchmark: lazy modules (``nn.LazyLinear``), PyTorch's form
of deferred initialization, run in PyTorch's own environment.

``python torch_side.py '{"reps": 5, "depths": [100, 400], ...}'`` prints one JSON
object of median seconds. Free of TensorFlow imports: it runs under the side
environment's Python (``KERAS_DEFER_TORCH_PYTHON``, or ``.venv-torch/bin/python`` in
the repository). keras_defer is imported only by ``training_step`` (asked for with
``"training_calls"``), on Keras's PyTorch backend, to time it beside the hand loop.
"""

import json
import os
import sys
import time

from side_options import median as _median
from side_options import options


def main(argv):
    reps, depths, eager_n, _ = options(argv)

    import torch
    from torch import nn

    torch.set_grad_enabled(True)
    x = torch.rand(2, 20)

    def chapter():
        return nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))

    def deep(depth):
        layers = []
        for _ in range(depth):
            layers += [nn.LazyLinear(20), nn.ReLU()]
        return nn.Sequential(*layers)

    def first_call(make):
        net = make()
        start = time.perf_counter()
        net(x)  # infers in_features, initializes (Kaiming uniform), runs
        return time.perf_counter() - start

    first_call(chapter)  # warm PyTorch's dispatcher
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads()}
    out["first_call_chapter"] = _median(lambda: first_call(chapter), reps)
    for depth in depths:
        out["first_call_depth_%d" % depth] = _median(
            lambda: first_call(lambda: deep(depth)), max(3, reps // 2))

    net = chapter()
    net(x)

    def eager():
        start = time.perf_counter()
        for _ in range(eager_n):
            net(x)
        return (time.perf_counter() - start) / eager_n

    out["chapter_forward"] = _median(eager, reps)
    training_calls = json.loads(argv[1]).get("training_calls") if len(argv) > 1 else None
    if training_calls:
        out.update(training_step(int(training_calls), reps))
    print(json.dumps(out))


def training_step(calls, reps):
    """One d2l training step of the chapter MLP (784 -> 256 -> 10, batch 256, SGD):
    a hand-written PyTorch loop (``zero_grad``, forward, ``CrossEntropyLoss``,
    ``backward``, ``SGD.step``) and keras_defer's Gluon step on Keras's PyTorch
    backend, timed alternately in this one process."""
    import numpy as np
    import torch
    from torch import nn

    from timing import per_call

    rng = np.random.RandomState(0)
    x_np = rng.uniform(size=(256, 784)).astype(np.float32)
    y_np = rng.randint(0, 10, 256)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    cross_entropy = nn.CrossEntropyLoss()

    def hand():
        sgd.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        sgd.step()

    os.environ["KERAS_BACKEND"] = "torch"
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from keras_defer import autograd, gluon, nd

    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(256, activation="relu"))
    net.add(gluon.nn.Dense(10))
    net.initialize()
    data, label = nd.array(x_np), nd.array(y_np.astype(np.float32))
    net(data)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    softmax_ce = gluon.loss.SoftmaxCrossEntropyLoss()

    def keras_defer_step():
        with autograd.record():
            loss = softmax_ce(net(data), label)
        loss.backward()
        trainer.step(256)

    t = per_call({"keras_defer": keras_defer_step, "torch": hand}, calls, reps)
    return {"chapter_training_step": t["torch"],
            "keras_defer_chapter_training_step": t["keras_defer"]}


if __name__ == "__main__":
    main(sys.argv)
