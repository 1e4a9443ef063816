"""Record every gluon.loss case (loss_cases.py) under MXNet 1.9.1, the ground truth.

Run in the MXNet side environment, from the repository root:
    /root/.cache/mxnet-1.9.1/bin/python tests/mxnet_reference/record_loss.py

Writes tests/mxnet_reference/data/loss.json (reprs, names, shapes, dtypes, errors) and
loss.npz (each case's inputs, its loss, the gradients of its differentiated inputs
after ``l.backward()``, and the hybridized loss) that test_loss.py reads without MXNet.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import autograd, gluon, nd  # noqa: E402

import loss_cases  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def reset_names():
    mx.name.NameManager._current.value = mx.name.NameManager()


def last_line(exc):
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def to_nd(array):
    return None if array is None else nd.array(array, dtype=array.dtype)


def differentiate(name, loss, case, arrays):
    """The loss under record(), then ``l.backward()``: stores the inputs' gradients."""
    inputs = [to_nd(a) for a in case["inputs"]]
    for i in case["grad"]:
        inputs[i].attach_grad()
    with autograd.record():
        out = loss(*inputs)
    if case["grad"]:
        out.backward()
        for i in case["grad"]:
            arrays["%s/grad%d" % (name, i)] = inputs[i].grad.asnumpy()
    return out


def record_case(name, case, arrays):
    reset_names()
    loss = getattr(gluon.loss, case["cls"])(**case["kwargs"])
    entry = {"cls": case["cls"], "kwargs": case["kwargs"], "grad": case["grad"],
             "repr": repr(loss), "name": loss.name,
             "inputs": [None if a is None else str(a.dtype) for a in case["inputs"]]}
    for i, a in enumerate(case["inputs"]):
        if a is not None:
            arrays["%s/in%d" % (name, i)] = a
    try:
        out = differentiate(name, loss, case, arrays)
    except mx.base.MXNetError as exc:
        # PoissonNLLLoss(compute_full=True) writes in place: refused under record()
        # (and by hybridize()); only its values outside record() exist
        entry["record_error"] = [type(exc).__name__, last_line(exc)]
        entry["grad"] = []
        out = loss(*[to_nd(a) for a in case["inputs"]])
    arrays["%s/out" % name] = out.asnumpy()
    entry["out_shape"] = list(out.shape)
    entry["out_dtype"] = np.dtype(out.dtype).name
    loss.hybridize()
    try:
        hybrid = loss(*[to_nd(a) for a in case["inputs"]])
    except Exception as exc:  # noqa: BLE001 (MXNet's own refusal is the record)
        entry["hybrid_error"] = [type(exc).__name__, last_line(exc)]
    else:
        arrays["%s/hybrid" % name] = hybrid.asnumpy()
    return entry


def build_net(case):
    net = gluon.nn.HybridSequential()
    fan_in = case["in_units"]
    for units, activation, flatten in case["layers"]:
        net.add(gluon.nn.Dense(units, activation=activation, flatten=flatten,
                               in_units=fan_in))
        fan_in = units
    net.initialize()
    for param, value in zip(net.collect_params().values(), case["params"]):
        param.set_data(nd.array(value))
    return net


def record_net(name, case, arrays):
    """One step of training's gradients: ``l = loss(net(X), y); l.backward()``."""
    reset_names()
    net = build_net(case)
    loss = getattr(gluon.loss, case["cls"])(**case["kwargs"])
    arrays["net/%s/x" % name] = case["x"]
    arrays["net/%s/label" % name] = case["label"]
    for i, value in enumerate(case["params"]):
        arrays["net/%s/param%d" % (name, i)] = value
    for i, value in enumerate(case["extra"]):
        arrays["net/%s/extra%d" % (name, i)] = value
    with autograd.record():
        l = loss(net(nd.array(case["x"])), nd.array(case["label"]),
                 *[nd.array(e) for e in case["extra"]])
    l.backward()
    for i, param in enumerate(net.collect_params().values()):
        arrays["net/%s/grad%d" % (name, i)] = param.grad().asnumpy()
    arrays["net/%s/loss" % name] = l.asnumpy()
    return {"layers": case["layers"], "in_units": case["in_units"], "cls": case["cls"],
            "kwargs": case["kwargs"], "n_params": len(case["params"]),
            "n_extra": len(case["extra"]), "label_dtype": str(case["label"].dtype),
            "mean": float(l.mean().asscalar())}


def record_nd_ctc(arrays):
    """``nd.CTCLoss`` itself, with its default blank_label='first' (0 is the blank and
    pads labels), with and without data lengths, and its gradient."""
    data = np.random.RandomState(3).randn(5, 2, 4).astype("float32")
    label = np.array([[1, 2, 0], [3, 3, 1]], dtype="float32")
    arrays["nd_ctc/data"], arrays["nd_ctc/label"] = data, label
    x = nd.array(data)
    x.attach_grad()
    with autograd.record():
        out = nd.CTCLoss(x, nd.array(label))
    out.backward()
    arrays["nd_ctc/out"], arrays["nd_ctc/grad"] = out.asnumpy(), x.grad.asnumpy()
    arrays["nd_ctc/out_lengths"] = nd.ctc_loss(
        nd.array(data), nd.array(label), nd.array([4, 5]), use_data_lengths=True).asnumpy()
    errors = {}
    for key, kwargs in (("blank_label", {"blank_label": "middle"}),
                        ("missing_lengths", {"use_data_lengths": True})):
        try:
            nd.CTCLoss(nd.array(data), nd.array(label), **kwargs).wait_to_read()
        except mx.base.MXNetError as exc:
            errors[key] = last_line(exc).replace("MXNetError: ", "", 1)
    return errors


def record_error(cls, kwargs, shapes):
    reset_names()
    loss = getattr(gluon.loss, cls)(**kwargs)
    try:
        out = loss(*[nd.ones(s) for s in shapes])
        out.wait_to_read()
    except Exception as exc:  # noqa: BLE001
        return [type(exc).__name__, last_line(exc)]
    return None


def record_constructor_error(cls, kwargs):
    reset_names()
    try:
        getattr(gluon.loss, cls)(**kwargs)
    except Exception as exc:  # noqa: BLE001
        return [type(exc).__name__, str(exc)]
    return None


def record_classes():
    """Each exported class built with its defaults: repr, name, prefix."""
    out = {}
    for name in gluon.loss.__all__:
        reset_names()
        cls = getattr(gluon.loss, name)
        loss = cls(None, 0) if name == "Loss" else cls()
        out[name] = {"repr": repr(loss), "name": loss.name, "prefix": loss.prefix,
                     "class": type(loss).__name__}
    return out


def main():
    arrays = {}
    cases = {name: record_case(name, case, arrays)
             for name, case in sorted(loss_cases.make_cases().items())}
    nets = {name: record_net(name, case, arrays)
            for name, case in sorted(loss_cases.make_net_cases().items())}
    nd_ctc_errors = record_nd_ctc(arrays)
    errors = {case_id: record_error(cls, kwargs, shapes)
              for case_id, cls, kwargs, shapes in loss_cases.ERROR_CASES}
    constructor_errors = {case_id: record_constructor_error(cls, kwargs)
                          for case_id, cls, kwargs in loss_cases.CONSTRUCTOR_ERRORS}
    result = {"mxnet": mx.__version__, "numpy": np.__version__, "all": gluon.loss.__all__,
              "classes": record_classes(), "cases": cases, "nets": nets, "errors": errors,
              "constructor_errors": constructor_errors,
              "nd_ctc_errors": nd_ctc_errors}
    with open(os.path.join(DATA, "loss.json"), "w") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    np.savez_compressed(os.path.join(DATA, "loss.npz"), **arrays)
    print("wrote loss.json, loss.npz:", len(cases), "cases,", len(arrays), "arrays")


if __name__ == "__main__":
    main()
