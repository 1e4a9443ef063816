"""Record ``mx.metric``, ``gluon.utils`` and the activation / contrib blocks under
MXNet 1.9.1, the ground truth.

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_metric_utils_layers.py

Writes tests/mxnet_reference/data/metric_utils.json (metric scenarios of
metric_scenarios.py, gluon.utils cases of utils_cases.py; downloads come from a local
server, local_http.py) and layers_extra.json / layers_extra.npz (cases of
layers_extra_cases.py: reprs, names, outputs, gradients, hybridized outputs).
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import autograd, nd  # noqa: E402
from mxnet.gluon import nn, utils  # noqa: E402
from mxnet.gluon.contrib import nn as contrib_nn  # noqa: E402

import layers_extra_cases  # noqa: E402
from local_http import local_server  # noqa: E402
import metric_scenarios  # noqa: E402
import utils_cases  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def reset_names():
    mx.name.NameManager._current.value = mx.name.NameManager()


def error(exc):
    return [type(exc).__name__, str(exc)]


# -- metrics --------------------------------------------------------------------------
def record_metrics():
    to_array = lambda a: nd.array(a, dtype=a.dtype)  # noqa: E731
    return {name: metric_scenarios.run(mx, scenario, to_array)
            for name, scenario in sorted(metric_scenarios.SCENARIOS.items())}


# -- gluon.utils ----------------------------------------------------------------------
def arrays_of(slices):
    return [{"shape": list(s.shape), "values": s.asnumpy().tolist()} for s in slices]


def record_split():
    out = {}
    for key, (data, num_slice, axis, even) in utils_cases.SPLITS.items():
        try:
            out[key] = arrays_of(utils.split_data(nd.array(data), num_slice, axis, even))
        except Exception as exc:  # noqa: BLE001
            out[key] = {"error": error(exc)}
    data = np.arange(21, dtype="float32").reshape(7, 3)
    # along axis 0 the slices are views of the data
    x = nd.array(data)
    parts = utils.split_data(x, 2, even_split=False)
    parts[1][:] = -1
    out["axis0_slices_are_views"] = x.asnumpy().tolist()
    x = nd.array(np.arange(24, dtype="float32").reshape(4, 6))
    parts = utils.split_data(x, 2, batch_axis=1)
    parts[0][:] = -1
    out["axis1_slices_are_copies"] = x.asnumpy().tolist()
    return out


def record_split_and_load():
    out = {}
    x = nd.array(np.arange(12, dtype="float32").reshape(6, 2))
    one = utils.split_and_load(x, [mx.cpu(0)])
    out["one_context_is_the_array"] = [len(one), one[0] is x]
    two = utils.split_and_load(x, [mx.cpu(0), mx.cpu(1)])
    out["two_contexts"] = arrays_of(two)
    out["two_contexts_ctx"] = [str(s.context) for s in two]
    three = utils.split_and_load(np.arange(10, dtype="float64").reshape(5, 2),
                                 [mx.cpu(0), mx.cpu(0), mx.cpu(0)], even_split=False)
    out["numpy_input"] = arrays_of(three)
    out["numpy_input_dtype"] = [str(np.dtype(s.dtype)) for s in three]
    out["list_input"] = arrays_of(utils.split_and_load([[1, 2], [3, 4]], [mx.cpu(), mx.cpu()]))
    try:
        utils.split_and_load(x, [mx.cpu()] * 4)
    except Exception as exc:  # noqa: BLE001
        out["uneven_refused"] = error(exc)
    return out


def record_clip():
    out = {}
    for key, max_norm in (("clipped", 1.0), ("not_clipped", 100.0)):
        arrays = [nd.array(np.arange(6, dtype="float32").reshape(2, 3) - 2),
                  nd.array([0.5, -1.5, 2.5, 3.0])]
        norm = utils.clip_global_norm(arrays, max_norm)
        out[key] = {"norm": float(norm), "type": type(norm).__name__,
                    "arrays": [a.asnumpy().tolist() for a in arrays]}
    arrays = [nd.array([[3.0, 4.0]])]
    norm = utils.clip_global_norm(arrays, 2.0, check_isfinite=False)
    out["no_check"] = {"type": type(norm).__name__, "shape": list(norm.shape),
                       "norm": norm.asnumpy().tolist(),
                       "arrays": [a.asnumpy().tolist() for a in arrays]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays = [nd.array([1.0, float("inf")]), nd.array([2.0])]
        norm = utils.clip_global_norm(arrays, 1.0)
    out["infinite"] = {"norm": repr(float(norm)),
                       "warnings": [[w.category.__name__, str(w.message)] for w in caught]}
    try:
        utils.clip_global_norm([], 1.0)
    except Exception as exc:  # noqa: BLE001
        out["empty"] = [type(exc).__name__]
    return out


def record_shape_is_known():
    out = []
    for shape in (None, (), (0,), (2, 0), (2, 3), (1,), (-1, 2)):
        try:
            out.append([repr(shape), utils.shape_is_known(shape)])
        except Exception as exc:  # noqa: BLE001
            out.append([repr(shape), error(exc)])
    return out


def record_download():
    out = {}
    content, digest = utils_cases.CONTENT, utils_cases.DIGEST
    with tempfile.TemporaryDirectory() as served, tempfile.TemporaryDirectory() as target:
        with open(os.path.join(served, "file.bin"), "wb") as handle:
            handle.write(content)
        out["check_sha1"] = [utils.check_sha1(os.path.join(served, "file.bin"), digest),
                             utils.check_sha1(os.path.join(served, "file.bin"), "0" * 40)]
        with local_server(served) as base:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                path = utils.download(base + "/file.bin", path=target, sha1_hash=digest)
            out["ok"] = {"relative_path": os.path.relpath(path, target),
                         "printed": printed.getvalue().replace(base, "URL").replace(target, "DIR"),
                         "files": sorted(os.listdir(target))}
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                utils.download(base + "/file.bin", path=target, sha1_hash=digest)
            out["kept"] = printed.getvalue()
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    utils.download(base + "/file.bin", path=os.path.join(target, "bad.bin"),
                                   sha1_hash="0" * 40, retries=2)
            except Exception as exc:  # noqa: BLE001
                out["hash_mismatch"] = {
                    "error": [type(exc).__name__, str(exc).replace(target, "DIR")],
                    "printed": printed.getvalue().replace(base, "URL").replace(target, "DIR"),
                    "files": sorted(os.listdir(target))}
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    utils.download(base + "/missing.bin", path=target, retries=1)
            except Exception as exc:  # noqa: BLE001
                out["not_found"] = {"error": [type(exc).__name__, str(exc).replace(base, "URL")],
                                    "printed": printed.getvalue().replace(base, "URL")
                                    .replace(target, "DIR")}
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                utils.download("http://127.0.0.1:9/refused.bin", path=target, retries=2)
        except Exception as exc:  # noqa: BLE001
            out["refused"] = {"error": type(exc).__name__,
                              "printed": printed.getvalue().replace(target, "DIR")}
    for key, kwargs in (("no_file_name", {"url": "http://127.0.0.1:9/dir/"}),
                        ("negative_retries", {"url": "http://127.0.0.1:9/a.bin",
                                              "path": "/nonexistent/a.bin", "retries": -1})):
        try:
            utils.download(**kwargs)
        except Exception as exc:  # noqa: BLE001
            out[key] = error(exc)
    return out


def record_utils():
    return {"split_data": record_split(), "split_and_load": record_split_and_load(),
            "clip_global_norm": record_clip(), "shape_is_known": record_shape_is_known(),
            "download": record_download()}


# -- layers ---------------------------------------------------------------------------
def param_table(net):
    return [[name, list(p.shape)] for name, p in net.collect_params().items()]


def summary_text(build, shape):
    """``net.summary(x)`` of a fresh net (it runs the first pass), as printed."""
    reset_names()
    net = build(nn, contrib_nn, mx.init)
    net.initialize()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        net.summary(nd.array(layers_extra_cases.grid_input(shape)))
    return printed.getvalue()


def record_layer(name, build, shape, arrays):
    summary = summary_text(build, shape)
    reset_names()
    net = build(nn, contrib_nn, mx.init)
    entry = {"summary": summary, "repr_before": repr(net), "params_before": param_table(net),
             "param_dict_before": str(net.collect_params()), "name": net.name,
             "prefix": net.prefix}
    net.initialize()
    x_value = layers_extra_cases.grid_input(shape)
    x = nd.array(x_value)
    first = net(x)
    arrays[name + "/out_init"] = first.asnumpy()
    entry["repr_after"] = repr(net)
    entry["params_after"] = param_table(net)
    entry["param_dict_after"] = str(net.collect_params())
    for i, (pname, param) in enumerate(net.collect_params().items()):
        if pname.endswith("alpha"):
            arrays["%s/init/%s" % (name, pname)] = param.data().asnumpy()
            continue  # the initializer's value stays
        value = layers_extra_cases.param_value(param.shape, 100 + i)
        param.set_data(nd.array(value))
        arrays["%s/param/%s" % (name, pname)] = value
    out = net(x)
    arrays[name + "/out"] = out.asnumpy()
    out_head = layers_extra_cases.head(out.shape)
    x.attach_grad()
    with autograd.record():
        y = net(x)
        loss = (y * nd.array(out_head)).sum()
    loss.backward()
    arrays[name + "/grad/input"] = x.grad.asnumpy()
    for pname, param in net.collect_params().items():
        arrays["%s/grad/%s" % (name, pname)] = param.grad().asnumpy()
    net.hybridize()
    arrays[name + "/out_hybrid"] = net(nd.array(x_value)).asnumpy()
    entry["output_shape"] = list(out.shape)
    return entry


def record_layers():
    entries, arrays = {}, {}
    for name, (build, shape) in sorted(layers_extra_cases.CASES.items()):
        entries[name] = record_layer(name, build, shape, arrays)
    reset_names()
    errors = {}
    for key, make in (("leakyrelu_negative", lambda: nn.LeakyReLU(-0.1)),):
        try:
            make()
        except Exception as exc:  # noqa: BLE001
            errors[key] = error(exc)
    entries["_errors"] = errors
    return entries, arrays


def main():
    metric_utils = {"mxnet": mx.__version__, "metrics": record_metrics(),
                    "utils": record_utils()}
    with open(os.path.join(DATA, "metric_utils.json"), "w") as handle:
        json.dump(metric_utils, handle, indent=1, sort_keys=True)
    entries, arrays = record_layers()
    with open(os.path.join(DATA, "layers_extra.json"), "w") as handle:
        json.dump({"mxnet": mx.__version__, "cases": entries}, handle, indent=1,
                  sort_keys=True)
    np.savez_compressed(os.path.join(DATA, "layers_extra.npz"), **arrays)
    print("recorded %d metric scenarios, %d layer cases"
          % (len(metric_utils["metrics"]), len(entries) - 1))


if __name__ == "__main__":
    main()
