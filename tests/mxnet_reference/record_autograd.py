"""Record the autograd scenarios' results from MXNet 1.9.1 (the ground truth).

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_autograd.py
"""

import gc
import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import autograd, gluon, init, nd  # noqa: E402

import autograd_scenarios  # noqa: E402
import ndarray_scenarios  # noqa: E402

mx.random.seed(0)
fw = types.SimpleNamespace(nd=nd, autograd=autograd, init=init, nn=gluon.nn,
                           Parameter=gluon.Parameter, values=lambda x: x.asnumpy(),
                           data=lambda p: p.data())
results = {}
for name, (mode, fn) in sorted(autograd_scenarios.SCENARIOS.items()):
    gc.collect()
    results[name] = ndarray_scenarios.run(fw, fn)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "autograd_reference.json")
with open(out, "w") as handle:
    json.dump({"mxnet": mx.__version__, "numpy": np.__version__,
               "modes": {name: mode for name, (mode, _) in autograd_scenarios.SCENARIOS.items()},
               "results": results},
              handle, indent=1, sort_keys=True)
print("wrote", out, len(results), "scenarios")
