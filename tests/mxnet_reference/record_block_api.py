"""Record the block API scenarios (block_api_scenarios.py) under MXNet 1.9.1.

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_block_api.py

Writes tests/mxnet_reference/data/block_api_reference.json, which
tests/test_block_api.py reads without MXNet.
"""

import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import gluon, init, nd  # noqa: E402

import block_api_scenarios  # noqa: E402


def reset_names():
    mx.name.NameManager._current.value = mx.name.NameManager()


fw = types.SimpleNamespace(mx=mx, nd=nd, nn=gluon.nn, rnn=gluon.rnn, init=init)
results = {}
for name, fn in sorted(block_api_scenarios.SCENARIOS.items()):
    reset_names()
    results[name] = block_api_scenarios.run(fw, fn)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                   "block_api_reference.json")
with open(out, "w") as handle:
    json.dump({"mxnet": mx.__version__, "numpy": np.__version__, "results": results},
              handle, indent=1, sort_keys=True)
print("wrote", out, len(results), "scenarios")
