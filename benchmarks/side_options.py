"""What the side processes (``mxnet_side.py``, ``torch_side.py``) share: the options
the benchmark passes them and the median they report.

They run under other Pythons (MXNet's, PyTorch's environments), without keras_defer
or the ``benchmarks`` package, and import this file from their own folder.
"""

import json
import statistics


def options(argv):
    """``(reps, depths, eager_calls, params_depth)`` from the JSON in ``argv[1]``."""
    opts = json.loads(argv[1]) if len(argv) > 1 else {}
    return (int(opts.get("reps", 5)), opts.get("depths", [100, 400]),
            int(opts.get("eager_calls", 300)), int(opts.get("params_depth", 1000)))


def median(fn, reps):
    """The median of ``reps`` calls of ``fn()`` (each returns seconds)."""
    return statistics.median(fn() for _ in range(reps))
