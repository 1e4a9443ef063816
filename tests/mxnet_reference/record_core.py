"""Record the core scenarios' event logs from MXNet Gluon 1.9.1 (the ground truth).

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_core.py
"""

import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
from mxnet import init, nd  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

import core_scenarios  # noqa: E402


def reset_names():
    mx.name.NameManager._current.value = mx.name.NameManager()


fw = types.SimpleNamespace(
    init=init, nd=nd, nn=nn, reset_names=reset_names, to_numpy=lambda a: a.asnumpy()
)
logs = core_scenarios.run_all(fw)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "core_scenarios.json")
with open(out, "w") as handle:
    json.dump({"mxnet": mx.__version__, "logs": logs}, handle, indent=1, sort_keys=True)
print("wrote", out)
