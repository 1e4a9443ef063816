"""save_parameters / load_parameters: Gluon's names and behaviour (checked on MXNet
1.9.1), file formats that never unpickle (MXNet's own for ``.params``, keras_defer's
checked archive for ``.npz``), atomic saves and all-or-nothing loads.

MXNet 1.9.1, for the record: ``save_parameters`` names are ``0.weight``, ``0.bias``,
...; saving a deferred net raises DeferredInitializationError, an uninitialized one
RuntimeError; loading into a fresh net (with or without ``initialize()``) fixes the
shapes and values without a forward pass, and a later ``initialize()`` warns
"Parameter 'dense6_weight' is already initialized, ignoring. Set force_reinit=True to
re-initialize." once per parameter; missing names raise AssertionError, shape and
dtype mismatches AssertionError ("shape incompatible expected (4, 7) vs saved (4,
5)"); ``cast_dtype=True`` converts.
"""

import io
import json
import os
import pickle
import warnings
import zipfile

import keras
import numpy as np
import pytest
from hypothesis import given, strategies as st

from keras_defer import DeferredInitializationError, init, nd
from keras_defer import mxnet_format, serialization
from keras_defer.gluon import nn
from keras_defer.serialization import ParameterFileError, ParameterMismatchError
from tests.robustness_helpers import FAST, Recorder, assert_same_state, mlp, state

X = np.linspace(-1, 1, 10, dtype="float32").reshape(2, 5)


def _two_layers(act="relu"):
    net = nn.Sequential()
    net.add(nn.Dense(4, activation=act), nn.Dense(3))
    return net


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained-looking net, its file and its output on X."""
    net = _two_layers()
    net.initialize()
    out = np.asarray(net(nd.array(X)))
    path = str(tmp_path_factory.mktemp("params") / "net.params")
    net.save_parameters(path)
    return net, path, out


@pytest.fixture(scope="module")
def saved_npz(saved, tmp_path_factory):
    """The same net in keras_defer's .npz format."""
    net, _, out = saved
    path = str(tmp_path_factory.mktemp("params") / "net.npz")
    net.save_parameters(path)
    return net, path, out


def _names(path):
    """The names in a parameter file of either format, in file order."""
    if str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            return list(archive.files)
    return mxnet_format.read(path)[1]


def _values(net):
    return {n: p.data().asnumpy() for n, p in net.collect_params().items()}


# -- names and format -------------------------------------------------------------------
def test_structural_names_as_gluon_and_readable_without_pickle(saved, saved_npz):
    _, path, _ = saved
    assert _names(path) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # Gluon's order
    _, path, _ = saved_npz
    with np.load(path, allow_pickle=False) as archive:
        names = sorted(archive.files)
    assert names == ["0.bias", "0.weight", "1.bias", "1.weight", "__keras_defer__"]


def test_params_files_are_mxnets_format_and_npz_files_load_too(saved, saved_npz):
    net, path, out = saved
    with open(path, "rb") as handle:
        assert handle.read(8) == (0x112).to_bytes(8, "little")
    arrays, names = mxnet_format.read(path)
    for name, value in zip(names, arrays):
        np.testing.assert_array_equal(value, _values(net)[net._collect_params_with_prefix()[
            name].name])
    fresh = _two_layers()
    fresh.load_parameters(saved_npz[1])
    np.testing.assert_allclose(np.asarray(fresh(nd.array(X))), out, rtol=1e-6)


def test_round_trip_and_load_into_a_fresh_deferred_net_without_forward(saved):
    net, path, out = saved
    fresh = _two_layers()  # neither initialized nor run
    fresh.load_parameters(path)
    assert [p.shape for p in fresh.collect_params().values()] == [(4, 5), (4,), (3, 4), (3,)]
    for (_, a), (_, b) in zip(_values(net).items(), _values(fresh).items()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(fresh(nd.array(X))), out, rtol=1e-6)


def test_initialize_after_load_warns_like_gluon_and_force_reinit_redraws(saved):
    net, path, _ = saved
    fresh = _two_layers()
    fresh.load_parameters(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh.initialize()
    names = [p.name for p in fresh.collect_params().values()]
    assert [str(w.message) for w in caught] == [
        "Parameter '%s' is already initialized, ignoring. Set force_reinit=True to "
        "re-initialize." % n for n in names]
    variable = fresh[0].weight.variable
    fresh.initialize(force_reinit=True)
    assert fresh[0].weight.variable is variable  # same variable, new numbers
    assert not np.allclose(np.asarray(variable), np.asarray(net[0].weight.data()))


def test_load_into_an_initialized_deferred_net_skips_its_initializers(saved):
    _, path, out = saved
    recorder = Recorder()
    fresh = _two_layers()
    fresh.initialize(recorder)
    fresh.load_parameters(path)
    assert all(p.pending is None for p in fresh.collect_params().values())
    np.testing.assert_allclose(np.asarray(fresh(nd.array(X))), out, rtol=1e-6)
    assert recorder.calls == []


def test_load_keeps_the_variables_an_optimizer_holds(saved):
    _, path, _ = saved
    fresh = _two_layers()
    fresh.initialize()
    fresh(nd.array(X))
    before = [p.variable for p in fresh.collect_params().values()]
    fresh.load_parameters(path)
    assert all(a is p.variable for a, p in zip(before, fresh.collect_params().values()))


def test_childless_block_uses_gluons_legacy_layout(tmp_path):
    dense = nn.Dense(3, in_units=2)
    dense.initialize()
    path = str(tmp_path / "d.params")
    dense.save_parameters(path)
    other = nn.Dense(3)  # another prefix: the names are restored with its own
    other.load_parameters(path)
    np.testing.assert_array_equal(other.weight.data().asnumpy(), dense.weight.data().asnumpy())


@pytest.mark.parametrize("suffix", [".params", ".npz"])
def test_parameter_dict_save_and_load_with_prefixes(tmp_path, suffix):
    net = mlp((3, 2), prefix="model_")
    net.initialize()
    net(nd.ones((1, 4)))
    path = str(tmp_path / ("pd" + suffix))
    net.collect_params().save(path, strip_prefix="model_")
    names = _names(path)
    assert "dense0_weight" in names
    assert ("__keras_defer__" in names) == (suffix == ".npz")
    other = mlp((3, 2), prefix="copy_")
    other.collect_params().load(path, restore_prefix="copy_")
    np.testing.assert_array_equal(other[1].bias.data().asnumpy(), net[1].bias.data().asnumpy())
    with pytest.raises(ValueError, match="restore_prefix"):
        other.collect_params().load(path, restore_prefix="nope_")


@pytest.mark.parametrize("suffix", [".params", ".npz"])
def test_shared_parameters_deduplicate_keeps_gluons_last_name(tmp_path, suffix):
    net = nn.Sequential()
    first = nn.Dense(4, in_units=4)
    net.add(first, nn.Dense(4, in_units=4, params=first.params))
    net.initialize()
    path = str(tmp_path / ("shared" + suffix))
    net.save_parameters(path, deduplicate=True)
    assert sorted(_names(path)) == (["1.bias", "1.weight"] if suffix == ".params" else
                                    ["1.bias", "1.weight", "__keras_defer__"])
    other = nn.Sequential()
    first2 = nn.Dense(4)
    other.add(first2, nn.Dense(4, params=first2.params))
    other.load_parameters(path)  # '0.weight' is missing but its parameter is loaded
    np.testing.assert_array_equal(first2.weight.data().asnumpy(), first.weight.data().asnumpy())


# -- what does not fit --------------------------------------------------------------------
def test_missing_and_extra_names_with_gluons_switches(saved):
    _, path, _ = saved
    bigger = mlp((4, 3, 2))
    snap = state(bigger)
    with pytest.raises(AssertionError, match=r"'2.weight', '2.bias' are missing .*"
                       r"allow_missing=True"):
        bigger.load_parameters(path)
    assert_same_state(snap, state(bigger))
    bigger.load_parameters(path, allow_missing=True)
    assert bigger[2].weight.variable is None and bigger[0].weight.shape == (4, 5)

    smaller = mlp((4,))
    snap = state(smaller)
    with pytest.raises(ParameterMismatchError, match="ignore_extra=True"):
        smaller.load_parameters(path)
    assert_same_state(snap, state(smaller))
    smaller.load_parameters(path, ignore_extra=True)
    assert smaller[0].weight.shape == (4, 5)


def test_shape_and_dtype_mismatch_change_nothing(saved):
    _, path, _ = saved
    net = mlp((4, 3), in_units={0: 7})
    net.initialize()
    snap = state(net)
    with pytest.raises(AssertionError, match=r"shape incompatible, expected \(4, 7\) vs "
                       r"saved \(4, 5\)"):
        net.load_parameters(path)
    assert_same_state(snap, state(net))

    half = _two_layers()
    half.cast("float16")
    snap = state(half)
    with pytest.raises(ParameterMismatchError, match="cast_dtype=True"):
        half.load_parameters(path)
    assert_same_state(snap, state(half))
    half.load_parameters(path, cast_dtype=True)
    assert half[0].weight.data().dtype == np.float16  # as MXNet's
    saved_dtype = _two_layers()
    saved_dtype.cast("float16")
    saved_dtype.load_parameters(path, cast_dtype=True, dtype_source="saved")
    assert saved_dtype[0].weight.data().dtype == np.float32


def test_bad_arguments(saved):
    _, path, _ = saved
    net = _two_layers()
    with pytest.raises(TypeError, match="allow_missing"):
        net.load_parameters(path, allow_missing="yes")
    with pytest.raises(ValueError, match="dtype_source"):
        net.load_parameters(path, dtype_source="file")
    with pytest.raises(TypeError, match="filename"):
        net.load_parameters(3)
    with pytest.raises(FileNotFoundError):
        net.load_parameters(path + ".nope")


# -- files that are not ours ---------------------------------------------------------------
class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickle_and_foreign_files_are_refused_and_never_executed(tmp_path):
    net = _two_layers()
    snap = state(net)
    marker = str(tmp_path / "pickle_ran")   # made only if a load ran the pickle
    cases = {
        "pickle.params": pickle.dumps({"0.weight": _Boom(marker)}),
        "mxnet.params": (0x112).to_bytes(8, "little") + b"\0" * 8 + b"\1" + b"\0" * 7,
        "text.params": b"hello, world",
        "empty.params": b"",
    }
    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    cases["array.npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, **{"0.weight": np.ones((4, 5), "float32")})
    cases["plain.npz"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, **{"0.weight": np.array([_Boom(marker)], dtype=object)})  # pickled inside
    cases["object.npz"] = buf.getvalue()
    reasons = {"pickle.params": "pickle", "mxnet.params": "truncated",
               "text.params": "nor a zip", "empty.params": "nor a zip",
               "array.npy": "single .npy",
               "plain.npz": "without the header", "object.npz": "object"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ParameterFileError, match=reasons[name]):
            net.load_parameters(str(path))
    assert not os.path.exists(marker)
    assert_same_state(snap, state(net))


# -- saving what is not there -------------------------------------------------------------
def test_saving_deferred_or_uninitialized_names_them_and_writes_nothing(tmp_path):
    path = tmp_path / "x.params"
    net = mlp((4, 3), in_units={1: 4})
    net.initialize()
    with pytest.raises(DeferredInitializationError) as info:
        net.save_parameters(str(path))
    message = str(info.value)
    assert "'0.weight'" in message and net[0].weight.name in message and "(4, 0)" in message
    assert "'1.weight'" not in message and "first forward pass" in message
    with pytest.raises(RuntimeError, match="not initialized: call initialize"):
        mlp((2,)).save_parameters(str(path))
    assert os.listdir(tmp_path) == []


def test_bfloat16_is_refused_at_save_time(tmp_path):
    dense = nn.Dense(3, in_units=2, dtype="bfloat16")
    dense.initialize()
    with pytest.raises(TypeError, match=r"'weight' \(bfloat16\).*cast\('float32'\)"):
        dense.save_parameters(str(tmp_path / "bf.params"))
    assert os.listdir(tmp_path) == []


# -- atomic save -------------------------------------------------------------------------
def _crashing_pieces(after):
    real = mxnet_format._pieces

    def pieces(arrays, names):
        for count, piece in enumerate(real(arrays, names)):
            if count >= after:
                yield piece[:3]
                raise KeyboardInterrupt("simulated crash mid-save")
            yield piece
    return pieces


def _crashing_write_array(after):
    real = np.lib.format.write_array
    count = [0]

    def write_array(fp, array, *args, **kwargs):
        count[0] += 1
        if count[0] > after:
            fp.write(b"\x93NUMPY partial")  # half an entry on disk, then the crash
            raise KeyboardInterrupt("simulated crash mid-save")
        return real(fp, array, *args, **kwargs)
    return write_array


@pytest.mark.parametrize("suffix", [".params", ".npz"])
@pytest.mark.parametrize("after", [0, 1, 3])
def test_crash_mid_save_keeps_the_old_file_and_leaves_no_temporary(after, suffix, tmp_path,
                                                                    monkeypatch, saved):
    net, _, _ = saved
    path = tmp_path / ("net" + suffix)
    net.save_parameters(str(path))
    old = path.read_bytes()
    other = _two_layers()
    other.initialize()
    other(nd.array(X))
    if suffix == ".npz":
        monkeypatch.setattr(np.lib.format, "write_array", _crashing_write_array(after))
    else:
        monkeypatch.setattr(mxnet_format, "_pieces", _crashing_pieces(after))
    with pytest.raises(KeyboardInterrupt):
        other.save_parameters(str(path))
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == [path.name]
    fresh_path = tmp_path / ("new" + suffix)
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        other.save_parameters(str(fresh_path))
    assert os.listdir(tmp_path) == [path.name]


def test_a_write_that_fails_half_way_through_a_load_is_undone(saved, monkeypatch):
    _, path, _ = saved
    net = _two_layers()
    net.initialize()
    net(nd.array(X))
    fresh = _two_layers()  # deferred: loading creates variables
    snaps = state(net), state(fresh)
    target = net[1].weight.variable
    real_assign = type(target).assign
    calls = [0]

    def assign(self, value):
        calls[0] += 1
        if calls[0] == 3:
            raise MemoryError("simulated failure writing the third parameter")
        return real_assign(self, value)

    monkeypatch.setattr(type(target), "assign", assign)
    with pytest.raises(MemoryError):
        net.load_parameters(path)
    calls[0] = -100  # let the undo itself write
    assert_same_state(snaps[0], state(net))

    real_store = type(fresh[0].weight)._store
    count = [0]

    def store(self, value, ctx):
        count[0] += 1
        if count[0] == 3:
            raise MemoryError("simulated failure creating the third variable")
        return real_store(self, value, ctx)

    monkeypatch.setattr(type(fresh[0].weight), "_store", store)
    with pytest.raises(MemoryError):
        fresh.load_parameters(path)
    assert_same_state(snaps[1], state(fresh))
    assert fresh.trainable_weights == []


# -- property-based: damaged files ----------------------------------------------------------
@FAST
@given(data=st.data(), npz=st.booleans())
def test_damaged_files_raise_and_change_nothing_or_load_exactly(saved, saved_npz,
                                                                tmp_path_factory, data, npz):
    net_saved, path, _ = saved_npz if npz else saved
    raw = open(path, "rb").read()
    kind = data.draw(st.sampled_from(["truncate", "flip", "splice"]), label="kind")
    if kind == "truncate":
        cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
        damaged = raw[:cut]
    elif kind == "flip":
        positions = data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1,
                                       max_size=4, unique=True), label="positions")
        damaged = bytearray(raw)
        for pos in positions:
            damaged[pos] ^= data.draw(st.integers(1, 255), label="mask")
        damaged = bytes(damaged)
    else:
        at = data.draw(st.integers(0, len(raw)), label="at")
        junk = data.draw(st.binary(min_size=1, max_size=64), label="junk")
        damaged = raw[:at] + junk + raw[at:]
    target = tmp_path_factory.mktemp("damaged") / "x.params"
    target.write_bytes(damaged)
    net = _LOADED_NETS.setdefault("net", _initialized_two_layers())
    snap = state(net)
    try:
        net.load_parameters(str(target))
    except ParameterFileError:
        assert_same_state(snap, state(net))
    else:  # only bytes nothing reads (zip comments, timestamps) may change
        # (MXNet's format: only a cut exactly before the trailer, which leaves MXNet's own
        # complete file, loads; see tests/test_mxnet_format.py)
        assert npz or len(damaged) == len(raw) - 20, "a damaged .params file was accepted"
        for (_, a), (_, b) in zip(_values(net_saved).items(), _values(net).items()):
            np.testing.assert_array_equal(a, b)
        net.initialize(force_reinit=True)


_LOADED_NETS = {}


def _initialized_two_layers():
    net = _two_layers()
    net.initialize()
    net(nd.array(X))
    return net


def _write_ours(path, arrays):
    """A sound file (header and checksum right) with arbitrary contents."""
    serialization._write_atomic(str(path), arrays)


@FAST
@given(data=st.data())
def test_sound_files_with_wrong_names_shapes_or_dtypes_change_nothing(saved, tmp_path_factory,
                                                                      data):
    net_saved, _, _ = saved
    arrays = {n: np.array(v) for n, v in zip(["0.weight", "0.bias", "1.weight", "1.bias"],
                                              _values(net_saved).values())}
    name = data.draw(st.sampled_from(sorted(arrays)), label="name")
    kind = data.draw(st.sampled_from(["rename", "drop", "add", "shape", "dtype"]), label="kind")
    if kind == "rename":
        arrays[data.draw(st.sampled_from(["2.weight", "0.weigth", "0", "a.b.c"]))] = \
            arrays.pop(name)
        error = ParameterMismatchError
    elif kind == "drop":
        del arrays[name]
        error = ParameterMismatchError
    elif kind == "add":
        arrays["9.weight"] = np.zeros((1, 1), "float32")
        error = ParameterMismatchError
    elif kind == "shape":
        shape = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)
                          .filter(lambda s: s != arrays[name].shape), label="shape")
        arrays[name] = np.zeros(shape, "float32")
        error = ParameterMismatchError
    else:
        dtype = data.draw(st.sampled_from(["float16", "float64", "int32", "uint8", "bool"]))
        arrays[name] = arrays[name].astype(dtype)
        error = ParameterMismatchError
    suffix = data.draw(st.sampled_from([".params", ".npz"]), label="suffix")
    path = tmp_path_factory.mktemp("wrong") / ("x" + suffix)
    _write_ours(path, arrays)
    for net in (_LOADED_NETS.setdefault("net", _initialized_two_layers()),
                _LOADED_NETS.setdefault("deferred", _two_layers())):
        snap = state(net)
        with pytest.raises(error):
            net.load_parameters(str(path))
        assert_same_state(snap, state(net))


def test_header_tampering_is_detected(saved_npz, tmp_path):
    net_saved, path, _ = saved_npz
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays["__keras_defer__"].tobytes())
    bad_version = dict(meta, version=99)
    arrays_v = dict(arrays, __keras_defer__=np.frombuffer(json.dumps(bad_version).encode(),
                                                           np.uint8))
    np.savez(tmp_path / "v.npz", **arrays_v)
    with pytest.raises(ParameterFileError, match="version 99"):
        _two_layers().load_parameters(str(tmp_path / "v.npz"))
    arrays_t = dict(arrays)
    arrays_t["0.bias"] = arrays_t["0.bias"] + 1  # values changed, checksum kept
    np.savez(tmp_path / "t.npz", **arrays_t)
    with pytest.raises(ParameterFileError, match="checksum"):
        _two_layers().load_parameters(str(tmp_path / "t.npz"))
    with zipfile.ZipFile(tmp_path / "t.npz") as archive:
        assert "__keras_defer__.npy" in archive.namelist()


def test_concurrent_load_and_forward_never_mix_files(tmp_path):
    import threading

    net = mlp((16, 16, 16, 4), in_units={0: 8})
    files, outs = [], []
    probe = nd.array(np.ones((2, 8), "float32"))
    net.initialize()
    net(probe)
    for c in (0.01, 0.02):
        net.initialize(init.Constant(c), force_reinit=True)
        path = str(tmp_path / ("%s.params" % c))
        net.save_parameters(path)
        files.append(path)
        outs.append(np.asarray(net(probe)))
    errors, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            got = np.asarray(net(probe))
            if not any(np.allclose(got, o) for o in outs):
                errors.append(got)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(30):
        net.load_parameters(files[i % 2])
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert keras.ops.all(keras.ops.isfinite(net(probe)))
