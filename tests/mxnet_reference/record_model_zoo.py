"""Record MXNet 1.9.1's model zoo (the ground truth of tests/test_model_zoo.py).

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_model_zoo.py [names]

For every net of ``model_zoo_cases.NETS`` (random weights are not stored: both sides
compute them with ``model_zoo_cases.parameter_value``):

* ``data/model_zoo_structure.json.gz``: per net its prefix, and per parameter, in
  ``_collect_params_with_prefix()`` order, the structural name (``features.0.weight``,
  what ``save_parameters`` writes), the prefixed name (``resnetv10_conv0_weight``, what
  ``collect_params().save`` writes) and the shape; the order of ``collect_params()``;
  the output shape; under ``_api`` the names ``vision`` offers and ``get_model``'s
  refusal of an unknown name.
* ``data/model_zoo_outputs.npz``: per net, digests (``model_zoo_cases.digest``) of the
  outputs on ``make_input(name)`` in inference (``<name>/inference``), of one
  training-mode forward and its backward (``<name>/training``; not for nets with
  Dropout) and of the inference forward after it (``<name>/after_training``), (mean,
  rms) of every running statistic after the training step (``<name>/running``), and how
  far MXNet's training-mode output moves for a 1e-6 relative change of the input
  (``<name>/training_sensitivity``: the tests' tolerance after a training-mode forward
  where the net amplifies float32 rounding beyond 1e-4).

Each net is built first thing in a fresh process (``mx.name`` counters at 0), as a test
builds it after ``naming.reset_counters()``.
"""

import gzip
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model_zoo_cases as cases  # noqa: E402

STRUCTURE = os.path.join(HERE, "data", "model_zoo_structure.json.gz")
OUTPUTS = os.path.join(HERE, "data", "model_zoo_outputs.npz")


def record_one(name):
    """One net, in this (fresh) process: (structure dict, {key: array})."""
    import mxnet as mx
    from mxnet import autograd
    from mxnet.gluon.model_zoo import vision

    net = vision.get_model(name)
    structural = net._collect_params_with_prefix()
    x = mx.nd.array(cases.make_input(name))
    net.initialize()
    net(x)  # shapes
    params = []
    for index, (key, param) in enumerate(structural.items()):
        param.set_data(mx.nd.array(cases.parameter_value(index, key, param.shape)))
        params.append([key, param.name, list(param.shape)])
    arrays = {}
    inference = net(x).asnumpy()
    arrays[name + "/inference"] = cases.digest(inference)
    # how far MXNet's own training-mode output moves when the input moves by 1e-6
    # (relative; a few float32 roundings): deep ResNets normalizing with the statistics
    # of a batch of two amplify it ~400x (resnet152_v1), so two float32 implementations
    # cannot agree to 1e-4 there. No backward: the running statistics stay.
    sensitivity = 0.0
    if name not in cases.DROPOUT_NETS:
        with autograd.train_mode():
            base = net(x).asnumpy().astype(np.float64)
            moved = net(mx.nd.array(cases.make_input(name) * np.float32(1 + 1e-6)))
        sensitivity = np.abs(moved.asnumpy() - base).max() / np.abs(base).max()
    arrays[name + "/training_sensitivity"] = np.array([sensitivity])
    # MXNet's CPU BatchNorm moves its running statistics in the backward pass
    # (docs/divergences.md row 9; keras_defer in the training-mode forward), so only
    # where a backward runs: not for ResNet V2's first BatchNorm (scale=False,
    # center=False) on an input needing no gradient. With x.attach_grad() every
    # BatchNorm's backward runs, and the statistics move as in keras_defer.
    x.attach_grad()
    with autograd.record():
        out = net(x)
    out.backward()
    training = out.asnumpy()
    if name not in cases.DROPOUT_NETS:
        arrays[name + "/training"] = cases.digest(training)
    arrays[name + "/after_training"] = cases.digest(net(x).asnumpy())
    running = [cases.stats_digest(param.data().asnumpy())
               for key, param in structural.items()
               if key.endswith(("running_mean", "running_var"))]
    arrays[name + "/running"] = np.array(running).reshape(-1, 2)
    structure = {
        "prefix": net.prefix,
        "params": params,
        "collect_params_order": list(net.collect_params().keys()),
        "output_shape": list(inference.shape),
        "inference_scale": float(np.abs(inference).max()),
    }
    return structure, arrays


def record_api():
    """The names ``vision`` offers and ``get_model``'s refusal of an unknown name."""
    import mxnet as mx
    from mxnet import autograd
    from mxnet.gluon.model_zoo import vision

    try:
        vision.get_model("resnet19_v1")
    except ValueError as error:
        refusal = str(error)
    # the quirk above, pinned: a BatchNorm without gamma and beta on an input needing no
    # gradient keeps its running statistics through record() + backward()
    bn = mx.gluon.nn.BatchNorm(scale=False, center=False)
    net = mx.gluon.nn.HybridSequential()
    net.add(bn, mx.gluon.nn.Conv2D(1, 1))
    net.initialize()
    with autograd.record():
        out = net(mx.nd.arange(8).reshape((1, 2, 2, 2)))
    out.backward()
    return {"vision_names": sorted(n for n in dir(vision) if not n.startswith("_")),
            "unknown_model_error": refusal,
            "bare_batchnorm_running_mean_after_backward":
                bn.running_mean.data().asnumpy().tolist()}


def main(names):
    structures, arrays = {}, {}
    if os.path.exists(STRUCTURE) and names != cases.NETS:
        with gzip.open(STRUCTURE, "rt") as f:
            structures = json.load(f)
        arrays = dict(np.load(OUTPUTS))
    for name in names:
        # a fresh process per net: MXNet's name counters start at 0 for each
        out = subprocess.run([sys.executable, __file__, "--one", name], check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        structures[name] = result["structure"]
        for key in [k for k in arrays if k.startswith(name + "/")]:
            del arrays[key]
        for key, value in result["arrays"].items():
            arrays[key] = np.array(value, dtype=np.float64)
        print(name, "scale %.3g" % result["structure"]["inference_scale"], flush=True)
    structures["_api"] = record_api()
    with gzip.GzipFile(STRUCTURE, "wb", mtime=0) as f:
        f.write(json.dumps(structures, sort_keys=True).encode())
    np.savez_compressed(OUTPUTS, **arrays)
    print("wrote", STRUCTURE, os.path.getsize(STRUCTURE), OUTPUTS, os.path.getsize(OUTPUTS))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        structure, arrays = record_one(sys.argv[2])
        print(json.dumps({"structure": structure,
                          "arrays": {k: v.tolist() for k, v in arrays.items()}}))
    else:
        main(sys.argv[1:] or cases.NETS)
