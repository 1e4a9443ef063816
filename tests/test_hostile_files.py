"""Hostile files and crashed saves (issue 15, rows 1-7), tested as the attack was made:
saves killed by SIGKILL in a child process, files crafted by the test (a zip bomb,
nested JSON, absurd shapes, a named pipe), hypothesis where the inputs vary.

Each load of a hostile file must raise ``ParameterFileError`` (an ``MXNetError``) with
memory bounded by what the file holds, never hang, and change nothing; a crashed save
must leave the old file complete and its temporary file must go at the next save."""

import contextlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile
import zlib

import keras
import numpy as np
import pytest
from hypothesis import given, strategies as st

from keras_defer import init, mxnet_format, nd, serialization
from keras_defer.gluon import Trainer, nn
from keras_defer.mxnet_format import ParameterFileError
from keras_defer.serialization import ParameterMismatchError
from tests.robustness_helpers import FAST, assert_same_state, state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_posix = pytest.mark.skipif(os.name != "posix", reason="SIGKILL, mkfifo: POSIX only")


def built_net(value, prefix="net_"):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(nn.Dense(4, in_units=3), nn.Dense(2, in_units=4))
    net.initialize()
    net(nd.ones((1, 3)))
    for param in net.collect_params().values():
        param.set_data(nd.full(param.shape, value))
    return net


def values(net):
    return {n: p.data().asnumpy() for n, p in net.collect_params().items()}


def assert_all(net, value):
    for name, array in values(net).items():
        np.testing.assert_array_equal(array, np.full(array.shape, value, "float32"),
                                      err_msg=name)


def temps_in(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


# -- rows 1 and 2: saves killed mid-write ---------------------------------------------
_STALLING_CHILD = textwrap.dedent("""
    import contextlib, os, sys, threading, time
    sys.path.insert(0, sys.argv[2])
    from keras_defer import keras_saving, mxnet_format
    from tests.test_hostile_files import built_net

    folder = sys.argv[1]
    target = lambda name: os.path.join(folder, name)
    old = built_net(1.0)
    old.save_parameters(target("p.npz"))
    old.save_parameters(target("p.params"))
    old.save(target("m.keras"))
    new = built_net(2.0)

    def stall(name):
        open(target("stalled-" + name), "w").close()
        time.sleep(600)  # until the parent's SIGKILL

    class Stalling:  # writes some bytes to the temporary file, then hangs
        def __init__(self, handle, name):
            self._handle, self._name, self._written = handle, name, 0
        def write(self, data):
            count = self._handle.write(data)
            self._written += len(data)
            if self._written > 200:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                stall(self._name)
            return count
        def __getattr__(self, attr):
            return getattr(self._handle, attr)

    real_atomic_file = mxnet_format.atomic_file
    @contextlib.contextmanager
    def stalling_atomic_file(filename, suffix=""):
        with real_atomic_file(filename, suffix) as handle:
            yield Stalling(handle, os.path.basename(filename))
    mxnet_format.atomic_file = stalling_atomic_file

    real_save_own = keras_saving.save_own_variables
    def stalling_save_own(block, store):  # inside Keras's zip writing
        real_save_own(block, store)
        stall("m.keras")
    keras_saving.save_own_variables = stalling_save_own

    for name in ("p.npz", "p.params"):
        threading.Thread(target=new.save_parameters, args=(target(name),),
                         daemon=True).start()
    new.save(target("m.keras"))
""")

_LOOPING_CHILD = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[2])
    from tests.test_hostile_files import built_net

    path = os.path.join(sys.argv[1], "m.keras")
    nets = [built_net(1.0), built_net(2.0)]
    nets[0].save(path)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        nets[i % 2].save(path)
""")


def _child(script, folder):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-c", script, str(folder), ROOT], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, child, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        if child.poll() is not None:
            raise AssertionError("the child died: %s" % child.stderr.read().decode()[-3000:])
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("the child did not reach the point to kill")
        time.sleep(0.05)


def _load_keras_values(path):
    model = keras.saving.load_model(path)
    return values(model)


@needs_posix
def test_saves_killed_mid_write_keep_the_old_files_and_the_next_save_removes_the_litter(
        tmp_path):
    """SIGKILL while the ``.npz``, the MXNet ``.params`` and the ``.keras`` save are each
    part-way through writing (the child stalls them there): every target still holds
    the old complete file (plain Keras left 0 or 1,284 bytes), the crashed writer's
    temporary files are there, and the next save of each target removes them, but never
    a live writer's, another host's, or a user's file with a similar name."""
    child = _child(_STALLING_CHILD, tmp_path)
    names = ("p.npz", "p.params", "m.keras")
    _wait_for(lambda: all((tmp_path / ("stalled-" + n)).exists() for n in names), child)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    litter = temps_in(tmp_path)
    assert len(litter) == 3, litter
    assert all("-%d-" % child.pid in n for n in litter), litter
    assert all(os.path.getsize(tmp_path / n) > 0 for n in litter)  # partial data

    for name in ("p.npz", "p.params"):  # the old files, complete
        net = built_net(0.0)
        net.load_parameters(str(tmp_path / name))
        assert_all(net, 1.0)
    for array in _load_keras_values(str(tmp_path / "m.keras")).values():
        assert (array == 1.0).all()

    # files that must survive the cleanup
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = [
            os.path.basename(mxnet_format.temp_name(str(tmp_path / "p.npz"))),  # this pid
            ".p.npz.tmp-%s-%d-%s" % (mxnet_format._HOST_TAG, live.pid, "ab" * 6),
            ".p.npz.tmp-%s-%d-%s" % ("0" * 8 if mxnet_format._HOST_TAG != "0" * 8
                                     else "1" * 8, child.pid, "cd" * 6),  # other host
            ".p.npz.tmp-notes", ".p.params.tmp-%d-%s" % (child.pid, "ef" * 6),
            ".m.keras.tmp-%s-%d-%s" % (mxnet_format._HOST_TAG, child.pid, "12" * 6),
        ]
        for name in keep:
            (tmp_path / name).write_bytes(b"not yours")
        new = built_net(2.0)
        new.save_parameters(str(tmp_path / "p.npz"))
        new.save_parameters(str(tmp_path / "p.params"))
        new.save(str(tmp_path / "m.keras"))
    finally:
        live.kill()
        live.wait()
    assert temps_in(tmp_path) == sorted(keep)
    for name in ("p.npz", "p.params"):
        net = built_net(0.0)
        net.load_parameters(str(tmp_path / name))
        assert_all(net, 2.0)
    for array in _load_keras_values(str(tmp_path / "m.keras")).values():
        assert (array == 2.0).all()


@needs_posix
def test_a_keras_save_loop_killed_at_random_times_leaves_a_complete_model(tmp_path):
    """The attack's own shape: a child saving ``.keras`` in a loop, killed at a random
    moment (twice): the file always loads, holding one of the two models whole."""
    rng = np.random.default_rng(15)
    for _ in range(2):
        child = _child(_LOOPING_CHILD, tmp_path)
        assert child.stdout.readline().strip() == b"ready", child.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        found = {float(np.unique(a)[0]) for a in
                 _load_keras_values(str(tmp_path / "m.keras")).values()}
        assert found in ({1.0}, {2.0}), found
    built_net(3.0).save(str(tmp_path / "m.keras"))
    assert temps_in(tmp_path) == []  # whatever the kills left was removed


def test_keras_save_keeps_keras_behaviour(tmp_path, monkeypatch):
    """``overwrite=False`` asks Keras's question (and keeps the file on "no"); ``.h5``
    and unzipped saves still take Keras's own path."""
    path = str(tmp_path / "m.keras")
    built_net(1.0).save(path)
    before = open(path, "rb").read()
    from keras.src.utils import io_utils

    monkeypatch.setattr(io_utils, "ask_to_proceed_with_overwrite", lambda p: False)
    built_net(2.0).save(path, overwrite=False)
    assert open(path, "rb").read() == before
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        built_net(1.0).save(str(tmp_path / "m.what"))
    assert temps_in(tmp_path) == []


# -- row 3: a zip bomb -------------------------------------------------------------------
def _zip(members):
    """A zip archive of ``(name, method, raw, compressed, crc)`` members, built by hand
    so a member can claim any size."""
    out, central = io.BytesIO(), []
    for name, method, size, data, crc in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc,
                              len(data), size, len(encoded), 0) + encoded)
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method,
                                   0, 0, crc, len(data), size, len(encoded), 0, 0, 0, 0,
                                   0, offset) + encoded)
    start = out.tell()
    for record in central:
        out.write(record)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    return out.getvalue()


def _npy_header(shape, descr="<f4"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


def _stored(name, payload):
    return (name, zipfile.ZIP_STORED, len(payload), payload, zlib.crc32(payload))


def _bomb_member(name, gib=2):
    """A deflated ``.npy`` of ``gib`` GiB of float32 zeros, about 2 MB compressed: its
    header honest about both sizes and the CRC (the bomb a 2 MB download can be)."""
    chunk = bytes(1 << 20)
    count = gib << 10
    header = _npy_header((count * (1 << 20) // 4,))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(header + chunk) + deflate.flush(zlib.Z_SYNC_FLUSH)
    again = deflate.compress(chunk) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert deflate.compress(chunk) + deflate.flush(zlib.Z_SYNC_FLUSH) == again  # repeats
    data = first + again * (count - 1) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(header)
    big = bytes(64 << 20)
    for _ in range(count // 64):
        crc = zlib.crc32(big, crc)
    return (name, zipfile.ZIP_DEFLATED, len(header) + count * (1 << 20), data, crc)


def _header_member(names, text=None):
    text = text if text is not None else json.dumps(
        {"format": serialization.FORMAT, "version": 1, "names": sorted(names),
         "sha256": "0" * 64})
    raw = np.frombuffer(text.encode(), np.uint8)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, raw)
    return _stored(serialization.HEADER + ".npy", buffer.getvalue())


def _bounded(call, limit_bytes):
    """Run ``call`` (which must raise ParameterFileError); return its error, having
    checked the peak of Python/numpy allocations stayed under ``limit_bytes``."""
    tracemalloc.start()
    try:
        with pytest.raises(ParameterFileError) as caught:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit_bytes, "peak %d bytes" % peak
    return caught.value


def test_a_zip_bomb_is_refused_from_its_header_before_inflating(tmp_path):
    """A 2 MB file whose one entry inflates to 2 GiB (parameters and trainer states):
    refused from the declared sizes; peak memory stays near the file's size."""
    bomb = _bomb_member("0.weight.npy")
    path = tmp_path / "bomb.npz"
    path.write_bytes(_zip([_header_member(["0.weight"]), bomb]))
    assert path.stat().st_size < 3 << 20
    net = built_net(1.0)
    before = state(net)
    start = time.monotonic()
    error = _bounded(lambda: net.load_parameters(str(path)), 16 << 20)
    assert "0.weight" in str(error) and "ratio" in str(error)
    assert time.monotonic() - start < 5
    assert_same_state(before, state(net))
    _bounded(lambda: nd.load(str(path)), 16 << 20)

    states = tmp_path / "bomb.states"
    states.write_bytes(_zip([("a0.npy",) + bomb[1:],
                             _stored("__header__.npy", _npy_header((2,), "|u1") + b"{}")]))
    trainer = Trainer(net.collect_params(), "sgd")
    error = _bounded(lambda: trainer.load_states(str(states)), 16 << 20)
    assert "a0" in str(error)


def test_compressed_archives_of_ordinary_weights_still_load(tmp_path):
    """The ratio bound refuses bombs, not ``np.savez_compressed`` of real weights."""
    net = built_net(1.0)
    rng = np.random.default_rng(0)
    for p in net.collect_params().values():
        p.set_data(nd.array(rng.standard_normal(p.shape).astype("float32")))
    path = str(tmp_path / "w.npz")
    net.save_parameters(path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez_compressed(path, **arrays)
    other = built_net(0.0)
    other.load_parameters(path)
    for name, value in values(net).items():
        np.testing.assert_array_equal(values(other)[name], value)


# -- row 4: deeply nested JSON --------------------------------------------------------
@FAST
@given(depth=st.integers(17, 200_000), kind=st.sampled_from(["list", "object", "mixed"]))
def test_deeply_nested_json_headers_raise_parameter_file_error(tmp_path, depth, kind):
    opening = {"list": "[", "object": '{"a":', "mixed": '[{"b":'}[kind]
    closing = {"list": "]", "object": "}", "mixed": "}]"}[kind]
    text = opening * depth + "1" + closing * depth
    net = built_net(1.0)
    before = state(net)
    path = tmp_path / "nested.npz"
    weight = io.BytesIO()
    np.lib.format.write_array(weight, np.ones((4, 3), "float32"))
    path.write_bytes(_zip([_header_member(["0.weight"], text),
                           _stored("0.weight.npy", weight.getvalue())]))
    with pytest.raises(ParameterFileError, match="nests"):
        net.load_parameters(str(path), allow_missing=True)
    with pytest.raises(ParameterFileError, match="nests"):
        nd.load(str(path))
    assert_same_state(before, state(net))

    states = tmp_path / "nested.states"  # the trainer allows 64 levels
    deeper = opening * (depth + 64) + "1" + closing * (depth + 64)
    raw = io.BytesIO()
    np.lib.format.write_array(raw, np.frombuffer(deeper.encode(), np.uint8))
    states.write_bytes(_zip([_stored("__header__.npy", raw.getvalue())]))
    trainer = Trainer(net.collect_params(), "sgd")
    with pytest.raises(ParameterFileError, match="nests"):
        trainer.load_states(str(states))


def test_a_nested_note_in_a_keras_file_raises_parameter_file_error():
    from keras_defer import keras_saving

    with pytest.raises(ParameterFileError, match="nests"):
        keras_saving._parse_note(b"[" * 100_000 + b"]" * 100_000)


# -- row 5: absurd declared shapes ------------------------------------------------------
huge_shapes = st.one_of(
    st.just((10 ** 12,)),
    st.lists(st.integers(1, 10 ** 6), min_size=1, max_size=4).filter(
        lambda s: int(np.prod(s, dtype=object)) * 4 > 1 << 30).map(tuple))


@FAST
@given(shape=huge_shapes, descr=st.sampled_from(["<f4", "<f8", "|u1"]))
def test_an_entry_declaring_a_huge_shape_is_refused_by_name_before_allocating(
        tmp_path, shape, descr):
    net = built_net(1.0)
    before = state(net)
    path = tmp_path / "huge.npz"
    path.write_bytes(_zip([_header_member(["0.weight"]),
                           _stored("0.weight.npy", _npy_header(shape, descr) + bytes(64))]))
    error = _bounded(lambda: net.load_parameters(str(path)), 8 << 20)
    assert "'0.weight'" in str(error) and str(tuple(shape)) in str(error)
    assert_same_state(before, state(net))

    mx_path = tmp_path / "huge.params"  # MXNet's format: the same refusal
    body = mxnet_format.to_bytes([np.zeros(2, "float32")], ["0.weight"], checksum=False)
    dims = struct.pack("<i%dq" % len(shape), len(shape), *shape)
    body = body.replace(struct.pack("<iq", 1, 2), dims, 1)
    mx_path.write_bytes(body)
    _bounded(lambda: net.load_parameters(str(mx_path)), 8 << 20)
    assert_same_state(before, state(net))


# -- row 6: what is not a regular file ---------------------------------------------------
def _loaders(path, net):
    trainer = Trainer(net.collect_params(), "sgd")
    return {
        "load_parameters": lambda: net.load_parameters(path),
        "nd.load": lambda: nd.load(path),
        "ParameterDict.load": lambda: net.collect_params().load(path),
        "Trainer.load_states": lambda: trainer.load_states(path),
    }


def _with_watchdog(call, seconds, unblock):
    """Run ``call`` in a thread; a hang past ``seconds`` fails (and is unblocked)."""
    outcome = {}

    def run():
        try:
            call()
            outcome["result"] = "returned"
        except BaseException as exc:  # noqa: BLE001 (reported below)
            outcome["result"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        unblock()
        thread.join(5)
        raise AssertionError("the load hung on a non-regular file")
    return outcome["result"]


@needs_posix
@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_named_pipe_directory_or_device_is_refused_without_hanging(tmp_path, kind):
    path = str(tmp_path / "thing")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    else:
        path = "/dev/zero"  # endless: reading it would exhaust memory
    net = built_net(1.0)
    before = state(net)

    def unblock():
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    for what, call in _loaders(path, net).items():
        result = _with_watchdog(call, 10, unblock)
        assert isinstance(result, ParameterFileError), (what, result)
        assert "not a regular file" in str(result), (what, result)
    assert_same_state(before, state(net))


# -- row 7: an incomplete saved shape into a deferred net --------------------------------
@pytest.mark.parametrize("suffix", [".npz", ".params"])
def test_a_zero_dim_where_the_deferred_shape_is_unknown_is_refused(tmp_path, suffix):
    """MXNet 1.9.1 refuses it as well: ``Dense(8).load_parameters`` of a file holding a
    (8, 0) weight raises ``MXNetError: Operator _copyto inferring shapes failed`` (run
    with MXNet's python on a file written by ``mxnet_format.write``, 2026-11-30). Before
    the fix keras_defer "loaded" it and the next forward failed inside the backend."""
    path = str(tmp_path / ("w" + suffix))
    arrays = {"weight": np.zeros((8, 0), "float32"), "bias": np.zeros(8, "float32")}
    serialization._write_atomic(path, arrays)
    net = nn.Dense(8)
    net.initialize()
    before = state(net)
    with pytest.raises(ParameterMismatchError, match=r"incomplete.*\(8, 0\)"):
        net.load_parameters(path)
    assert_same_state(before, state(net))
    net(nd.ones((2, 3)))  # still a working deferred net
    assert net.weight.shape == (8, 3)


def test_symbol_files_refuse_deep_nesting_and_pipes_without_hanging(tmp_path):
    """The symbol JSON readers (``sym.load``, ``SymbolBlock.imports``) as the parameter
    readers: a nesting bomb is an MXNetError, not a RecursionError; a named pipe is
    refused without blocking."""
    from keras_defer import gluon
    from keras_defer import symbol as sym
    from keras_defer.errors import MXNetError

    deep = tmp_path / "deep-symbol.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    for load in (lambda f: sym.load(f), lambda f: gluon.SymbolBlock.imports(f, ["data"])):
        with pytest.raises(MXNetError, match="nests deeper"):
            load(str(deep))
    fifo = tmp_path / "pipe-symbol.json"
    os.mkfifo(fifo)
    for load in (lambda f: sym.load(f), lambda f: gluon.SymbolBlock.imports(f, ["data"])):
        with pytest.raises(MXNetError, match="not a regular file"):
            load(str(fifo))
