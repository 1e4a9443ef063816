"""Record MXNet 1.9.1's symbol JSON for the graphs in symbol_cases.py, the ground truth.

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_symbol.py

Writes tests/mxnet_reference/data/symbol.json: for each symbol case its ``tojson()`` text
and list_* answers; for each export case the ``-symbol.json`` text ``export`` wrote (the
net hybridized, then called once: MXNet's usual order) and the names, shapes and dtypes
in its ``.params`` file. tests/test_symbol.py and tests/test_export.py compare ours with it.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mxnet as mx  # noqa: E402
from mxnet import nd  # noqa: E402

import symbol_cases  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "symbol.json")


def record_symbol(build):
    with mx.name.NameManager():
        return symbol_cases.describe(build(mx))


def record_export(name, build, folder):
    with mx.name.NameManager():
        net, shapes = build(mx)
        net.initialize()
        net.hybridize()
        net(*[nd.array(symbol_cases.export_input(name, s, i)) for i, s in enumerate(shapes)])
        path = os.path.join(folder, name)
        net.export(path)
    with open(path + "-symbol.json") as f:
        text = f.read()
    params = nd.load(path + "-0000.params")
    return {"json": text,
            "params": [[k, list(v.shape), str(v.dtype.__name__ if hasattr(v.dtype, "__name__")
                                                 else v.dtype)] for k, v in params.items()]}


def record_variants(folder):
    """The order of calls changes what MXNet records: a net run before hybridize()
    has its shapes complete in the graph; a net called with a symbol directly gives
    the same graph as export."""
    out = {}
    with mx.name.NameManager():
        net, shapes = symbol_cases.EXPORT_CASES["lenet"](mx)
        net.initialize()
        x = nd.array(symbol_cases.export_input("lenet", shapes[0], 0))
        net(x)
        net.hybridize()
        net(x)
        net.export(os.path.join(folder, "called_first"))
    with open(os.path.join(folder, "called_first-symbol.json")) as f:
        out["called_first"] = f.read()
    with mx.name.NameManager():
        net, shapes = symbol_cases.EXPORT_CASES["lenet_bn"](mx)
        net.initialize()
        net(nd.array(symbol_cases.export_input("lenet_bn", shapes[0], 0)))
        out["direct_call"] = symbol_cases.describe(net(mx.sym.var("data")))
    with mx.name.NameManager():
        net, shapes = symbol_cases.EXPORT_CASES["lenet"](mx)
        net.initialize()
        try:
            net.export(os.path.join(folder, "refused"))
        except RuntimeError as err:
            out["not_hybridized"] = str(err)
    return out


def main():
    out = {"symbols": {}, "exports": {}}
    for name, build in symbol_cases.SYMBOL_CASES.items():
        out["symbols"][name] = record_symbol(build)
    with tempfile.TemporaryDirectory() as folder:
        for name, build in symbol_cases.EXPORT_CASES.items():
            out["exports"][name] = record_export(name, build, folder)
        out["variants"] = record_variants(folder)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
