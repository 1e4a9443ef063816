"""Record the NDArray scenarios' results from MXNet 1.9.1 (the ground truth).

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_ndarray.py
"""

import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import nd  # noqa: E402

import ndarray_scenarios  # noqa: E402

mx.random.seed(0)
fw = types.SimpleNamespace(nd=nd, cpu=mx.cpu, np=np)
results = ndarray_scenarios.run_all(fw)
table = ndarray_scenarios.reshape_table(fw)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "ndarray_scenarios.json")
with open(out, "w") as handle:
    json.dump({"mxnet": mx.__version__, "numpy": np.__version__,
               "modes": {name: mode for name, (mode, _) in ndarray_scenarios.SCENARIOS.items()},
               "results": results, "reshape_table": table},
              handle, indent=1, sort_keys=True)
print("wrote", out, len(results), "scenarios,", len(table), "reshape cases")
