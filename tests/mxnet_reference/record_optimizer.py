"""Record the optimizer cases (``optimizer_cases.py``) and lr_scheduler sequences from
MXNet 1.9.1 (the ground truth).

Run in the MXNet side environment, from the repository root:
    /root/.cache/mxnet-1.9.1/bin/python tests/mxnet_reference/record_optimizer.py
Writes ``data/optimizer.npz`` (weights and states per case and step) and
``data/optimizer.json`` (layouts, lr sequences of the schedulers, errors).
"""

import io
import json
import logging
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

import optimizer_cases  # noqa: E402
import scheduler_cases  # noqa: E402

warnings.simplefilter("ignore")
arrays, layouts, final = {}, {}, {}
for name, case in sorted(optimizer_cases.CASES.items()):
    try:
        steps, layout, opt = optimizer_cases.run(mx, case)
    except Exception as e:  # noqa: BLE001  (MXNet's own failure is what is recorded)
        final[name] = {"error": [type(e).__name__, str(e)]}
        continue
    layouts[name] = layout
    final[name] = {"num_update": opt.num_update, "learning_rate": opt.learning_rate}
    arrays[name] = np.stack([optimizer_cases.concat(weights, states)
                             for weights, states in steps])

# errors and texts
errors = {}
try:
    mx.optimizer.create("nope")
except ValueError as e:
    errors["unknown"] = ["ValueError", str(e)]
opt = mx.optimizer.SGD(lr_scheduler=mx.lr_scheduler.FactorScheduler(2))
try:
    opt.set_learning_rate(0.5)
except UserWarning as e:
    errors["set_lr_with_scheduler"] = ["UserWarning", str(e)]

# schedulers: lr sequences, logs, errors
logger = logging.getLogger()
logger.setLevel(logging.INFO)
sched = {}
for name, (cls, kwargs, nums) in sorted(scheduler_cases.CASES.items()):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s|%(message)s"))
    logger.addHandler(handler)
    try:
        s = getattr(mx.lr_scheduler, cls)(**kwargs)
        lrs = [s(n) for n in nums]
        sched[name] = {"lrs": lrs, "log": stream.getvalue().splitlines()}
    except Exception as e:  # noqa: BLE001  (the error is what is recorded)
        sched[name] = {"error": [type(e).__name__, str(e)]}
    logger.removeHandler(handler)

data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
np.savez_compressed(os.path.join(data, "optimizer.npz"), **arrays)
with open(os.path.join(data, "optimizer.json"), "w") as handle:
    json.dump({"mxnet": mx.__version__, "layouts": layouts, "final": final,
               "errors": errors, "schedulers": sched}, handle, indent=1, sort_keys=True)
print("wrote", len(arrays), "arrays,", len(sched), "scheduler cases")
