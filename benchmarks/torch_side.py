"""The PyTorch side of the benchmark: lazy modules (``nn.LazyLinear``), PyTorch's form
of deferred initialization, run in PyTorch's own environment.

``python torch_side.py '{"reps": 5, "depths": [100, 400], ...}'`` prints one JSON
object of median seconds. Kept free of keras_defer and TensorFlow imports: it runs
under the side environment's Python (``KERAS_DEFER_TORCH_PYTHON``, or
``.venv-torch/bin/python`` in the repository).
"""

import json
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
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
