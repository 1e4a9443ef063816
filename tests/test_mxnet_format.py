"""MXNet's NDArray file format, both ways, without MXNet: files MXNet 1.9.1 wrote
(tests/mxnet_reference/record_formats.py) load here with MXNet's names, dtypes, shapes
and values; what keras_defer writes is MXNet's bytes exactly, plus a checksum trailer
that MXNet 1.9.1 was seen to ignore (``trailer_accepted`` in the record, and the live
test below when MXNet is here); damaged, truncated and hostile files are refused
without touching the net and without big allocations.
"""

import json
import os
import struct
import tracemalloc
import zlib

import keras
import numpy as np
import pytest

from keras_defer import gluon, mxnet_format, nd
from keras_defer.errors import MXNetError
from keras_defer.mxnet_format import ParameterFileError
from tests.mxnet_live import requires_mxnet, run_mxnet
from tests.robustness_helpers import assert_same_state, state

HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = os.path.join(HERE, "mxnet_reference", "data", "formats")
with open(os.path.join(FORMATS, "formats.json")) as _handle:
    RECORD = json.load(_handle)
FILES = RECORD["files"]
NET_X = np.array(RECORD["net"]["x"], "float32")
NET_Y = np.array(RECORD["net"]["y"], "float32")
DTYPES = ["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"]

# JAX computes in 32 bits unless jax_enable_x64 is set (keras_defer leaves it alone): an
# NDArray there holds float64/int64 values as float32/int32. The file layer
# (mxnet_format) keeps every dtype on every backend.
if keras.backend.backend() == "jax":
    import jax

    NO_64_BITS = not jax.config.jax_enable_x64
else:
    NO_64_BITS = False
_NARROW = {"float64": "float32", "int64": "int32"}


def _held(dtype_name):
    """The dtype an NDArray of ``dtype_name`` has on this backend."""
    return _NARROW.get(dtype_name, dtype_name) if NO_64_BITS else dtype_name


def _has_64_bits(description):
    return any(a["dtype"] in _NARROW for a in description.get("arrays", []))


def _path(name):
    return os.path.join(FORMATS, name)


def _raw(name):
    with open(_path(name), "rb") as handle:
        return handle.read()


def _make_net(prefix="net_", dtype=None):
    """The net record_formats.py builds in MXNet, with the same names."""
    net = gluon.nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(gluon.nn.Dense(4, in_units=3, activation="relu"))
        net.add(gluon.nn.BatchNorm(in_channels=4))
        net.add(gluon.nn.Dense(2, in_units=4))
    if dtype:
        net.cast(dtype)
    return net


def _check_like_mxnet(loaded, expected):
    if expected["kind"] == "dict":
        assert isinstance(loaded, dict) and list(loaded) == expected["names"]
        loaded = list(loaded.values())
    else:
        assert isinstance(loaded, list)
    assert len(loaded) == len(expected["arrays"])
    for got, want in zip(loaded, expected["arrays"]):
        assert isinstance(got, nd.NDArray)
        assert np.dtype(got.dtype).name == _held(want["dtype"])
        assert list(got.shape) == want["shape"]
        np.testing.assert_array_equal(got.asnumpy().astype("float64").ravel(), want["values"])


# -- files MXNet wrote -------------------------------------------------------------------
READABLE = sorted(n for n, v in FILES.items() if "error" not in v
                  and n not in ("row_sparse.params", "csr.params"))


@pytest.mark.parametrize("name", READABLE)
def test_nd_load_reads_what_mxnet_wrote_as_mxnet_loads_it(name):
    expected = dict(FILES[name])
    expected.pop("legacy_load", None)
    arrays, names = mxnet_format.read(_path(name))  # every dtype, on every backend
    assert [a.dtype.name for a in arrays] == [w["dtype"] for w in expected["arrays"]]
    assert names == expected.get("names", [])
    _check_like_mxnet(nd.load(_path(name)), expected)
    _check_like_mxnet(nd.load_frombuffer(_raw(name)), expected)


def test_every_dtype_mxnet_saves_loads_with_its_dtype():
    loaded = nd.load(_path("dtypes.params"))
    assert list(loaded) == DTYPES
    assert [np.dtype(a.dtype).name for a in loaded.values()] == [_held(d) for d in DTYPES]


def test_np_shape_v3_files_load_though_mxnets_legacy_nd_load_refuses_them():
    assert "np shape semantics" in FILES["np_shape.params"]["legacy_load"]["error"]
    loaded = nd.load(_path("np_shape.params"))
    assert loaded["s"].shape == () and float(loaded["s"].asnumpy()) == 2.5


def test_a_0d_array_mxnet_writes_loads_here_though_mxnet_misreads_it():
    assert "Unknown type enum" in FILES["scalar.params"]["error"]
    first, second = nd.load(_path("scalar.params"))
    assert first.shape == () and float(first.asnumpy()) == 3.0
    assert second.shape == (1,)


@pytest.mark.parametrize("name,what", [("row_sparse.params", "'w' (row_sparse, shape (3, 2))"),
                                       ("csr.params", "'#0' (csr, shape (2, 2))")])
def test_sparse_arrays_are_refused_naming_the_array(name, what):
    with pytest.raises(ParameterFileError, match="sparse") as info:
        nd.load(_path(name))
    assert what in str(info.value) and "tostype('default')" in str(info.value)


# -- keras_defer writes MXNet's bytes --------------------------------------------------
BYTE_IDENTICAL = [n for n in READABLE if n not in ("v1.params", "legacy.params",
                                                   "np_shape.params")] + ["scalar.params"]


@pytest.mark.parametrize("name", BYTE_IDENTICAL)
def test_writer_bytes_are_mxnets_bytes_plus_the_trailer(name, tmp_path):
    raw = _raw(name)
    arrays, names = mxnet_format.read(_path(name))
    assert mxnet_format.to_bytes(arrays, names or None, checksum=False) == raw
    ours = mxnet_format.to_bytes(arrays, names or None)
    assert ours[:len(raw)] == raw and len(ours) == len(raw) + 20
    if NO_64_BITS and _has_64_bits(FILES[name]):
        return  # NDArrays cannot hold these dtypes on this backend
    # and through nd.save, from the NDArrays nd.load gives
    loaded = nd.load(_path(name))
    if name == "single.params":
        loaded = loaded[0]
    nd.save(str(tmp_path / "x.params"), loaded)
    assert (tmp_path / "x.params").read_bytes() == ours


def test_trailer_was_accepted_by_mxnet_everywhere_it_reads_params():
    flags = [v for checks in RECORD["trailer_accepted"].values() for v in checks.values()]
    assert len(flags) == 8 and all(flags)
    assert {"Block.load_parameters", "SymbolBlock.imports"} <= {
        k for checks in RECORD["trailer_accepted"].values() for k in checks}


# -- the three naming styles -------------------------------------------------------------
def _loads_mxnets_outputs(net):
    np.testing.assert_allclose(net(nd.array(NET_X)).asnumpy(), NET_Y, rtol=1e-5, atol=1e-6)


def test_save_parameters_file_loads_by_structural_names():
    net = _make_net()
    net.load_parameters(_path("net_structural.params"))
    _loads_mxnets_outputs(net)


def test_collect_params_save_file_loads_by_full_names():
    net = _make_net()
    net.collect_params().load(_path("net_prefixed.params"))
    _loads_mxnets_outputs(net)
    other = _make_net(prefix="other_")
    other.collect_params().load(_path("net_prefixed.params"), restore_prefix="other_",
                                ignore_extra=True, allow_missing=True)
    assert other[0].weight.variable is None  # 'other_net_dense0_weight' is not there


def test_stripped_names_load_through_load_parameters_legacy_path():
    net = _make_net(prefix="copy_")  # Gluon restores the block's own prefix
    net.load_parameters(_path("net_stripped.params"))
    _loads_mxnets_outputs(net)


def test_export_names_arg_aux_are_dropped_as_mxnet_does():
    net = _make_net()
    net.collect_params().load(_path("net-0000.params"))
    _loads_mxnets_outputs(net)


def test_float16_net_file_loads_into_a_float16_net_and_casts_on_request():
    expected = FILES["half_structural.params"]["arrays"]
    half = _make_net(prefix="half_", dtype="float16")
    half.load_parameters(_path("half_structural.params"))
    got = [p.data().asnumpy() for p in half.collect_params().values()]
    # BatchNorm stays float32 under cast('float16'), in MXNet as here
    assert [g.dtype.name for g in got] == [w["dtype"] for w in expected]
    assert expected[0]["dtype"] == "float16"
    for g, want in zip(got, expected):
        np.testing.assert_array_equal(g.astype("float64").ravel(), want["values"])
    single = _make_net(prefix="half_")
    snap = state(single)
    with pytest.raises(AssertionError, match="cast_dtype=True"):
        single.load_parameters(_path("half_structural.params"))
    assert_same_state(snap, state(single))
    single.load_parameters(_path("half_structural.params"), cast_dtype=True)
    assert single[0].weight.data().dtype == np.float32


@pytest.mark.parametrize("source,save", [
    ("net_structural.params", lambda net, p: net.save_parameters(p)),
    ("net_prefixed.params", lambda net, p: net.collect_params().save(p)),
    ("net_stripped.params", lambda net, p: net.collect_params().save(p, strip_prefix="net_")),
])
def test_a_loaded_net_saves_the_very_bytes_mxnet_wrote(source, save, tmp_path):
    net = _make_net()
    net.load_parameters(_path("net_structural.params"))
    save(net, str(tmp_path / "out.params"))
    raw = _raw(source)
    ours = (tmp_path / "out.params").read_bytes()
    assert ours[:len(raw)] == raw and len(ours) == len(raw) + 20


def test_float16_net_saves_mxnets_bytes(tmp_path):
    half = _make_net(prefix="half_", dtype="float16")
    half.load_parameters(_path("half_structural.params"))
    half.save_parameters(str(tmp_path / "h.params"))
    raw = _raw("half_structural.params")
    assert (tmp_path / "h.params").read_bytes()[:-20] == raw


def test_a_list_file_is_refused_by_load_parameters_naming_why():
    net = _make_net()
    with pytest.raises(ParameterFileError, match="list of 2 arrays without names"):
        net.load_parameters(_path("list.params"))


# -- nd.save / nd.load as MXNet ----------------------------------------------------------
def test_nd_save_load_round_trips_every_dtype_shape_and_kind(tmp_path):
    path = str(tmp_path / "a.params")
    values = {dt: nd.array(np.arange(6).reshape(2, 3) % 2, dtype=dt) for dt in DTYPES}
    values["scalar"] = nd.array(np.float32(4.5))
    values["empty"] = nd.array(np.zeros((2, 0), "float32"))
    nd.save(path, values)
    loaded = nd.load(path)
    assert list(loaded) == list(values)
    for key, value in values.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key].asnumpy(), value.asnumpy())
        assert str(loaded[key].context) == "cpu(0)"
    nd.save(path, values["float64"])
    single = nd.load(path)
    assert isinstance(single, list) and len(single) == 1
    nd.save(path, [])
    assert nd.load(path) == []
    nd.save(path, {})
    assert nd.load(path) == []  # no names: a list, as MXNet


def test_nd_save_and_load_type_errors_as_mxnet(tmp_path):
    path = str(tmp_path / "a.params")
    x = nd.ones((2,))
    with pytest.raises(TypeError, match="save only accept dict str->NDArray or list of NDArray"):
        nd.save(path, {1: x})
    with pytest.raises(TypeError, match="save only accept"):
        nd.save(path, [x, np.ones(2)])
    with pytest.raises(ValueError, match="data needs to either be a NDArray"):
        nd.save(path, (x,))
    with pytest.raises(TypeError, match="fname required to be a string"):
        nd.load(3)
    with pytest.raises(TypeError, match="buf required to be a string or bytes"):
        nd.load_frombuffer(bytearray(b"x"))
    assert os.listdir(tmp_path) == []
    nd.save(tmp_path / "p.params", [x])  # a path object too (a divergence: MXNet wants str)
    assert nd.load(tmp_path / "p.params")[0].shape == (2,)


def test_nd_load_reads_save_parameters_npz_files_too(tmp_path):
    net = _make_net()
    net.load_parameters(_path("net_structural.params"))
    net.save_parameters(str(tmp_path / "n.npz"))
    loaded = nd.load(str(tmp_path / "n.npz"))
    assert sorted(loaded) == sorted(net._collect_params_with_prefix())
    np.testing.assert_array_equal(loaded["0.weight"].asnumpy(), net[0].weight.data().asnumpy())


def test_load_frombuffer_reads_the_same_as_load(tmp_path):
    path = str(tmp_path / "a.params")
    nd.save(path, {"w": nd.array([[1, 2]]), "b": nd.array([3], dtype="int32")})
    with open(path, "rb") as handle:
        buffered = nd.load_frombuffer(handle.read())
    assert list(buffered) == ["w", "b"] and buffered["b"].dtype == np.int32


# -- damaged, truncated, hostile -------------------------------------------------------
def _small_file(tmp_path):
    net = _make_net()
    net.load_parameters(_path("net_structural.params"))
    path = tmp_path / "small.params"
    net.save_parameters(str(path))
    return net, path.read_bytes()


def test_every_corrupted_byte_of_a_file_we_wrote_is_refused_and_the_net_unchanged(tmp_path):
    _, raw = _small_file(tmp_path)
    target = _make_net()
    target.initialize()
    target(nd.array(NET_X))
    snap = state(target)
    path = tmp_path / "bad.params"
    for offset in range(len(raw)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(raw)
            damaged[offset] ^= mask
            with pytest.raises(ParameterFileError):
                mxnet_format.from_bytes(bytes(damaged))
            if mask == 0x80:
                path.write_bytes(bytes(damaged))
                with pytest.raises(ParameterFileError):
                    target.load_parameters(str(path))
    assert_same_state(snap, state(target))


def test_truncation_at_every_offset_is_refused_with_and_without_trailer(tmp_path):
    _, ours = _small_file(tmp_path)
    body = len(ours) - 20
    for raw in (ours, _raw("net_structural.params"), _raw("dtypes.params")):
        for cut in range(len(raw)):
            if raw is ours and cut == body:
                continue
            with pytest.raises(ParameterFileError):
                mxnet_format.from_bytes(raw[:cut])
    # a cut exactly before the trailer leaves MXNet's own complete file: every array and
    # name is whole (checked field by field) and loads with the values that were saved
    whole, names = mxnet_format.from_bytes(ours)
    cut, cut_names = mxnet_format.from_bytes(ours[:body])
    assert cut_names == names and all(np.array_equal(a, b) for a, b in zip(whole, cut))
    path = tmp_path / "cut.params"
    path.write_bytes(ours[:100])
    with pytest.raises(ParameterFileError, match="'%s'" % path):
        nd.load(str(path))


def test_trailing_garbage_after_an_mxnet_file_is_refused():
    raw = _raw("list.params")
    with pytest.raises(ParameterFileError, match="3 more bytes"):
        mxnet_format.from_bytes(raw + b"abc")


def _header(count):
    return struct.pack("<QQQ", 0x112, 0, count)


def _dense(shape, flag=0, magic=mxnet_format.V2_MAGIC, stype=0, data=b""):
    return (struct.pack("<IiI", magic, stype, len(shape)) + struct.pack("<%dq" % len(shape),
            *shape) + struct.pack("<iii", 1, 0, flag) + data)


@pytest.mark.parametrize("body,match", [
    (_header(2 ** 62), "array count"),
    (_header(1) + _dense((2 ** 40, 2 ** 40)), "data of shape"),
    (_header(1) + _dense((2 ** 62,), flag=1), "data of shape"),
    (_header(1) + struct.pack("<IiI", mxnet_format.V2_MAGIC, 0, 2 ** 30) + b"\0" * 64,
     "ndim"),
    (_header(1) + _dense((1,), data=b"\0" * 4) + struct.pack("<QQ", 1, 2 ** 63), "name #0"),
    (_header(1) + _dense((2,), flag=12, data=b"\0" * 4), "bfloat16"),
    (_header(1) + _dense((2,), flag=8, data=b"\0" * 4), "dtype flag"),
    (_header(1) + _dense((2,), stype=7), "storage type"),
    (_header(1) + _dense((-1,)), "dims >= 0"),
    (_header(1) + _dense((1,), data=b"\0" * 4) + struct.pack("<Q", 3), "name count"),
    (struct.pack("<QQQ", 0x112, 5, 0) + struct.pack("<Q", 0), "reserved"),
    (_header(1) + struct.pack("<I", 0x12345678) + b"\0" * 64, "magic"),
], ids=["count", "shape", "shape64", "ndim", "name_length", "bfloat16", "int16", "stype",
        "negative_dim", "name_count", "reserved", "magic"])
def test_hostile_headers_are_refused_quickly_without_big_allocations(body, match):
    tracemalloc.start()
    try:
        with pytest.raises(ParameterFileError, match=match):
            mxnet_format.from_bytes(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_hostile_file_header_reads_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.params"
    path.write_bytes(_header(1) + _dense((1 << 20, 1 << 20)))
    tracemalloc.start()
    try:
        with pytest.raises(ParameterFileError, match="only 0 left"):
            nd.load(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_v1_and_pre_v1_layouts_read_as_mxnet_reads_them():
    assert nd.load(_path("v1.params"))["a"].shape == (1, 2)
    legacy = nd.load(_path("legacy.params"))["a"]
    assert legacy.shape == (2, 1) and np.dtype(legacy.dtype).name == _held("float64")


def test_errors_are_mxnet_errors_and_value_errors():
    assert issubclass(ParameterFileError, MXNetError) and issubclass(ParameterFileError,
                                                                     ValueError)


def test_a_trailer_with_a_wrong_checksum_is_refused():
    raw = _raw("list.params")
    forged = raw + struct.pack("<8sQI", mxnet_format.TRAILER_MAGIC, len(raw),
                               zlib.crc32(raw) ^ 1)
    with pytest.raises(ParameterFileError, match="checksum"):
        mxnet_format.from_bytes(forged)


def test_unsupported_dtypes_are_refused_at_save_time_naming_the_array(tmp_path):
    with pytest.raises(TypeError, match="'x' with dtype int16"):
        mxnet_format.write(str(tmp_path / "a.params"), [np.ones(2, "int16")], ["x"])
    assert os.listdir(tmp_path) == []


# -- MXNet itself loads what keras_defer wrote --------------------------------------------
_LIVE_SCRIPT = r"""
import json, numpy as np, mxnet as mx
from mxnet import gluon, nd
out = {}
d = nd.load("dtypes.params")
out["dtypes"] = {k: [np.dtype(v.dtype).name, v.asnumpy().astype("float64").ravel().tolist()]
                 for k, v in d.items()}
with open("dtypes.params", "rb") as f:
    out["frombuffer"] = sorted(nd.load_frombuffer(f.read()))
net = gluon.nn.HybridSequential(prefix="net_")
with net.name_scope():
    net.add(gluon.nn.Dense(4, in_units=3, activation="relu"))
    net.add(gluon.nn.BatchNorm(in_channels=4))
    net.add(gluon.nn.Dense(2, in_units=4))
x = nd.array(json.loads(open("x.json").read()))
net.load_parameters("net.params")
out["structural"] = net(x).asnumpy().tolist()
net.collect_params().load("prefixed.params")
out["prefixed"] = net(x).asnumpy().tolist()
block = gluon.SymbolBlock.imports("net-symbol.json", ["data"], "exported.params")
out["imports"] = block(x).asnumpy().tolist()
print(json.dumps(out))
"""


@requires_mxnet
def test_mxnet_loads_what_keras_defer_wrote(tmp_path):
    import shutil

    values = {dt: nd.array((np.arange(6).reshape(2, 3) - 2) % 5, dtype=dt) for dt in DTYPES}
    nd.save(str(tmp_path / "dtypes.params"), values)
    net = _make_net()
    net.load_parameters(_path("net_structural.params"))
    # scale the values so MXNet's outputs can only match if it read ours
    for param in net.collect_params().values():
        if not param.name.endswith("running_var"):
            param.set_data(param.data() * 0.5)
    expected = net(nd.array(NET_X)).asnumpy()
    net.save_parameters(str(tmp_path / "net.params"))
    net.collect_params().save(str(tmp_path / "prefixed.params"))
    exported = {("aux:" if "running" in p.name else "arg:") + p.name: p.data()
                for p in net.collect_params().values()}
    nd.save(str(tmp_path / "exported.params"), exported)
    shutil.copy(_path("net-symbol.json"), tmp_path / "net-symbol.json")
    (tmp_path / "x.json").write_text(json.dumps(NET_X.tolist()))
    got = json.loads(run_mxnet(_LIVE_SCRIPT, tmp_path, timeout=300).strip().splitlines()[-1])
    for dt in DTYPES:
        assert got["dtypes"][dt][0] == _held(dt)
        np.testing.assert_array_equal(got["dtypes"][dt][1],
                                      values[dt].asnumpy().astype("float64").ravel())
    assert got["frombuffer"] == sorted(DTYPES)
    for key in ("structural", "prefixed", "imports"):
        np.testing.assert_allclose(got[key], expected, rtol=1e-5, atol=1e-6)
