"""Record the block cases (block_cases.py) under MXNet Gluon 1.9.1, the ground truth.

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_blocks.py

Writes tests/mxnet_reference/data/blocks.json (reprs, names, shapes) and
blocks.npz (inputs, parameter values, outputs) that the tests read without MXNet.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import autograd, nd  # noqa: E402
from mxnet.gluon import nn, rnn  # noqa: E402

import block_cases  # noqa: E402


class _NN:
    """MXNet's nn namespace plus the recurrent layers (gluon.rnn in MXNet)."""

    def __getattr__(self, name):
        return getattr(nn, name) if hasattr(nn, name) else getattr(rnn, name)


def reset_names():
    mx.name.NameManager._current.value = mx.name.NameManager()


def param_table(net):
    return [[name, list(p.shape)] for name, p in net.collect_params().items()]


def flat_outputs(out):
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in flat_outputs(item)]
    return [out.asnumpy()]


def record(name, case, arrays):
    reset_names()
    net = case["build"](_NN())
    entry = {"repr_before": repr(net), "params_before": param_table(net),
             "param_dict_before": str(net.collect_params())}
    net.initialize()
    x = nd.array(block_cases.make_input(case))
    args = [x]
    if case["call"] == "states":
        batch = x.shape[net._layout.find("N")]
        shapes = [info["shape"] for info in net.state_info(batch)]
        entry["state_shapes"] = [list(s) for s in shapes]
        states = block_cases.make_states(case, shapes)
        for i, s in enumerate(states):
            arrays["%s/state%d" % (name, i)] = s
        args.append([nd.array(s) for s in states])
    try:
        net(*args)
        mx.nd.waitall()  # MXNet raises asynchronously: catch it in this case
    except mx.base.MXNetError:
        if case["numerics"]:
            raise
    entry["repr_after"] = repr(net)
    entry["params_after"] = param_table(net)
    entry["param_dict_after"] = str(net.collect_params())
    if not case["numerics"]:
        return entry
    for i, (pname, param) in enumerate(net.collect_params().items()):
        value = block_cases.make_param_value(pname, param.shape, block_cases.SEED + 100 + i)
        param.set_data(nd.array(value))
        arrays["%s/param/%s" % (name, pname)] = value
    if case["train"]:
        # MXNet's CPU BatchNorm moves its running statistics in the backward pass;
        # one training step (forward + backward) is what ``fit`` does per batch.
        x.attach_grad()  # so that a net without trainable parameters still records
        with autograd.record():
            out = net(*args)
            loss = sum(o.sum() for o in (out if isinstance(out, (list, tuple)) else [out]))
        loss.backward()
    else:
        out = net(*args)
    mx.nd.waitall()
    outs = flat_outputs(out)
    entry["n_outputs"] = len(outs)
    for i, a in enumerate(outs):
        arrays["%s/out%d" % (name, i)] = a
    for pname, param in net.collect_params().items():
        arrays["%s/after/%s" % (name, pname)] = param.data().asnumpy()
    arrays["%s/input" % name] = x.asnumpy()
    return entry


def main():
    entries, arrays = {}, {}
    for name, case in sorted(block_cases.CASES.items()):
        try:
            entries[name] = record(name, case, arrays)
        except Exception as exc:  # keep going: a case MXNet cannot run is reported
            entries[name] = {"error": "%s: %s" % (type(exc).__name__, str(exc)[:300])}
            print("case %s failed: %s" % (name, entries[name]["error"]))
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    with open(os.path.join(here, "blocks.json"), "w") as handle:
        json.dump({"mxnet": mx.__version__, "cases": entries}, handle, indent=1,
                  sort_keys=True)
    np.savez_compressed(os.path.join(here, "blocks.npz"), **arrays)
    print("recorded %d cases" % len(entries))


if __name__ == "__main__":
    main()
