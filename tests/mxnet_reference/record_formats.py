"""Record MXNet 1.9.1's NDArray files (``nd.save``, ``save_parameters``,
``collect_params().save``, ``export``), for tests/test_mxnet_format.py.

Run in the MXNet side environment, from the repository root:
    /root/.cache/mxnet-1.9.1/bin/python tests/mxnet_reference/record_formats.py

Writes tests/mxnet_reference/data/formats/: the small files exactly as MXNet wrote them
(every dtype; a list, a dict, a single array, empty ones, a 0-d and a zero-size array,
np-shape (V3) arrays, sparse arrays; one net's parameters in all three naming styles and
as float16), the V1 and pre-V1 layouts MXNet still reads (made here by hand, then read by
MXNet), and formats.json: what MXNet loads from each (names, dtypes, shapes, values, or
its error), and whether MXNet accepts each file with keras_defer's trailer appended.
"""

import json
import os
import struct
import zlib

import numpy as np

import mxnet as mx
from mxnet import gluon, nd

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "formats")
DTYPES = ["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"]
TRAILER_MAGIC = b"\xfekdCRC\x01\x00"  # keras_defer.mxnet_format.TRAILER_MAGIC


def with_trailer(body):
    """``body`` plus keras_defer's trailer, as keras_defer's writer appends it."""
    return body + struct.pack("<8sQI", TRAILER_MAGIC, len(body), zlib.crc32(body))


def describe(loaded):
    def one(a):
        return {"dtype": np.dtype(a.dtype).name, "shape": list(a.shape),
                "values": a.asnumpy().astype("float64").ravel().tolist()}
    if isinstance(loaded, dict):
        return {"kind": "dict", "names": list(loaded), "arrays": [one(a) for a in loaded.values()]}
    return {"kind": "list", "arrays": [one(a) for a in loaded]}


def load_or_error(path):
    try:
        return describe(nd.load(path))
    except mx.MXNetError as exc:
        return {"error": str(exc).strip().splitlines()[-1][:300]}


def sample(dtype, shape=(2, 3)):
    values = np.arange(int(np.prod(shape))).reshape(shape) - 2
    return nd.array(values.astype(dtype), dtype=dtype)


def make_net(prefix=None):
    net = gluon.nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(gluon.nn.Dense(4, in_units=3, activation="relu"))
        net.add(gluon.nn.BatchNorm(in_channels=4))
        net.add(gluon.nn.Dense(2, in_units=4))
    return net


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.unlink(os.path.join(OUT, name))
    record = {"files": {}, "mxnet": mx.__version__}

    def path(name):
        return os.path.join(OUT, name)

    def saved(name, data):
        nd.save(path(name), data)
        record["files"][name] = load_or_error(path(name))

    saved("dtypes.params", {dt: sample(dt) for dt in DTYPES})
    saved("list.params", [sample("float32", (2,)), sample("int64", (1, 2, 2))])
    saved("single.params", sample("float64", (3,)))
    saved("empty_list.params", [])
    saved("empty_dict.params", {})
    saved("zero_size.params", [nd.array(np.zeros((2, 0), "float32")), sample("float32", (1,))])
    saved("scalar.params", [nd.array(np.float32(3)), sample("float32", (1,))])
    with mx.util.np_shape(True), mx.util.np_array(True):
        mx.npx.save(path("np_shape.params"), {"s": mx.np.array(2.5), "v": mx.np.array([1, 2])})
        record["files"]["np_shape.params"] = describe_np(mx.npx.load(path("np_shape.params")))
    record["files"]["np_shape.params"]["legacy_load"] = load_or_error(path("np_shape.params"))
    saved("row_sparse.params", {"w": nd.sparse.row_sparse_array(
        (np.ones((1, 2), "float32"), [1]), shape=(3, 2))})
    saved("csr.params", [nd.sparse.csr_matrix(
        (np.array([1.0, 2.0], "float32"), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))])

    # the layouts before V2, which MXNet 1.9.1 still reads
    head = struct.pack("<QQQ", 0x112, 0, 1)
    v1 = struct.pack("<Iiqq", 0xF993FAC8, 2, 1, 2) + struct.pack("<iii", 1, 0, 0) \
        + struct.pack("<2f", 1.5, 2.5)
    legacy = struct.pack("<III", 2, 2, 1) + struct.pack("<iii", 1, 0, 1) \
        + struct.pack("<2d", -1.0, 4.0)
    for name, body in (("v1.params", head + v1), ("legacy.params", head + legacy)):
        with open(path(name), "wb") as out:
            out.write(body + struct.pack("<Q", 1) + struct.pack("<Q", 1) + b"a")
        record["files"][name] = load_or_error(path(name))

    # one net, three naming styles, and as float16
    mx.random.seed(0)
    net = make_net(prefix="net_")
    net.initialize(mx.init.Uniform(0.5))
    x = nd.array(np.linspace(-1, 1, 6).reshape(2, 3).astype("float32"))
    with mx.autograd.record():  # moves BatchNorm's running statistics off their init
        net(x)
    net.hybridize()
    y = net(x)
    net.save_parameters(path("net_structural.params"))
    net.collect_params().save(path("net_prefixed.params"))
    net.collect_params().save(path("net_stripped.params"), strip_prefix="net_")
    net.export(path("net"), epoch=0)
    for name in ("net_structural.params", "net_prefixed.params", "net_stripped.params",
                 "net-0000.params"):
        record["files"][name] = load_or_error(path(name))
    record["net"] = {"x": x.asnumpy().tolist(), "y": y.asnumpy().tolist()}
    half = make_net(prefix="half_")
    half.initialize(mx.init.Uniform(0.5))
    half.cast("float16")
    # (MXNet's CPU build has no float16 FullyConnected: only the parameters are recorded)
    half.save_parameters(path("half_structural.params"))
    record["files"]["half_structural.params"] = load_or_error(path("half_structural.params"))

    # does MXNet read a file with keras_defer's trailer? (it should stop after the names)
    accepts = {}
    for name in ("dtypes.params", "net_structural.params", "net-0000.params"):
        with open(path(name), "rb") as handle:
            body = handle.read()
        trailed = path("trailer_" + name)
        with open(trailed, "wb") as out:
            out.write(with_trailer(body))
        accepts[name] = {
            "nd.load": describe(nd.load(trailed)) == describe(nd.load(path(name))),
            "nd.load_frombuffer": describe(nd.load_frombuffer(with_trailer(body)))
            == describe(nd.load(path(name))),
        }
        if name == "net_structural.params":
            other = make_net(prefix="net_")
            other.load_parameters(trailed)
            accepts[name]["Block.load_parameters"] = bool(
                np.allclose(other(x).asnumpy(), y.asnumpy(), rtol=1e-6, atol=1e-7))
        if name == "net-0000.params":
            block = gluon.SymbolBlock.imports(path("net-symbol.json"), ["data"], trailed)
            accepts[name]["SymbolBlock.imports"] = bool(
                np.allclose(block(x).asnumpy(), y.asnumpy(), rtol=1e-6, atol=1e-7))
        os.unlink(trailed)
    record["trailer_accepted"] = accepts
    with open(os.path.join(OUT, "formats.json"), "w") as out:
        json.dump(record, out, indent=1, sort_keys=True)
    print(json.dumps(accepts, indent=1))


def describe_np(loaded):
    return {"kind": "dict", "names": list(loaded), "arrays": [
        {"dtype": np.dtype(a.dtype).name, "shape": list(a.shape),
         "values": a.asnumpy().astype("float64").ravel().tolist()} for a in loaded.values()]}


if __name__ == "__main__":
    main()
