"""MXNet's binary NDArray list format (``.params``, ``mx.nd.save``), both ways, in NumPy.

What MXNet 1.9.1 writes (``NDArray::Save``; every integer little-endian)::

    uint64 0x112, uint64 0 (reserved), uint64 count
    count x array:
        uint32 magic (0xF993FAC9 = V2; 0xF993FACA = V3, written under np-shape semantics)
        int32 storage type (0 dense; 1 row_sparse, 2 csr carry more fields)
        int32 ndim, int64 dims[ndim]
        int32 dev_type, int32 dev_id (the context; cpu(0) = 1, 0)
        int32 dtype flag (0 float32 1 float64 2 float16 3 uint8 4 int32 5 int8 6 int64 7 bool)
        the data, C order
    uint64 name count (0: a list; else = count), then per name: uint64 length, UTF-8 bytes

Older files are read as MXNet reads them: V1 (0xF993FAC8: no storage type) and the
layout before V1 (the magic is the ndim, dims are uint32).

The writer produces MXNet's bytes exactly, then appends a keras_defer trailer (magic,
the body's length and its CRC-32), which MXNet ignores (it stops after the names; the
tests prove it with MXNet 1.9.1) and which lets the reader refuse any damaged byte of a
file keras_defer wrote. Files without the trailer (MXNet's own) are checked field by
field against the bytes that remain before anything is allocated, so a hostile header
cannot make the reader allocate more than the file holds. Nothing is ever executed.
"""

import contextlib
import hashlib
import os
import queue
import re
import secrets
import socket
import stat
import struct
import threading
import zlib

import numpy as np

from keras_defer.errors import MXNetError

__all__ = ["ParameterFileError", "LIST_MAGIC", "V1_MAGIC", "V2_MAGIC", "V3_MAGIC",
           "DTYPE_FLAGS", "write", "read", "to_bytes", "from_bytes", "is_mxnet_file",
           "atomic_file", "atomic_path", "temp_name", "clean_stale_temps", "open_regular"]

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA
#: MXNet's dtype flags (mshadow's type enum) for every dtype MXNet 1.9.1 saves and loads.
DTYPE_FLAGS = {0: np.dtype("<f4"), 1: np.dtype("<f8"), 2: np.dtype("<f2"), 3: np.dtype("u1"),
               4: np.dtype("<i4"), 5: np.dtype("i1"), 6: np.dtype("<i8"), 7: np.dtype("?")}
_FLAG_OF = {dtype.str: flag for flag, dtype in DTYPE_FLAGS.items()}
_STYPES = {0: "default", 1: "row_sparse", 2: "csr"}
_AUX_COUNT = {1: 1, 2: 2}  # row_sparse: indices; csr: indptr, indices
_DEV_TYPES = (1, 2, 3, 5)  # cpu, gpu, cpu_pinned, cpu_shared
_MAX_NDIM = 32  # what NumPy holds

#: keras_defer's trailer: magic, uint64 length of everything before it, uint32 CRC-32 of it.
TRAILER_MAGIC = b"\xfekdCRC\x01\x00"
_TRAILER = struct.Struct("<8sQI")
_THREADED_CRC_BYTES = 8 << 20  # above this, the CRC runs in a thread beside the reading


class ParameterFileError(MXNetError, ValueError):
    """A parameter or NDArray file that is damaged, truncated, or in no format we read."""


def is_mxnet_file(head):
    """Whether ``head`` (a file's first bytes) starts MXNet's NDArray list format."""
    return bytes(head[:8]) == LIST_MAGIC.to_bytes(8, "little")


# -- writing ---------------------------------------------------------------------------
def _flag(array, index, names):
    try:
        return _FLAG_OF[array.dtype.newbyteorder("<").str if array.dtype.byteorder == ">"
                        else array.dtype.str]
    except KeyError:
        what = "'%s'" % names[index] if names else "#%d" % index
        raise TypeError(
            "Cannot save array %s with dtype %s in MXNet's format, which holds %s. Cast it "
            "first (e.g. .astype('float32'))."
            % (what, array.dtype, ", ".join(d.name for d in DTYPE_FLAGS.values()))) from None


def _pieces(arrays, names):
    """MXNet's bytes for ``arrays``/``names``, as a sequence of buffers (no big copies)."""
    if names is not None and len(names) != len(arrays):
        raise ValueError("names: expected one name per array (%d), got %d"
                         % (len(arrays), len(names)))
    yield struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))
    for index, array in enumerate(arrays):
        array = np.asarray(array)
        flag = _flag(array, index, names)
        data = np.asarray(array, dtype=DTYPE_FLAGS[flag], order="C")  # keeps 0-d
        yield struct.pack("<IiI%dqiii" % data.ndim, V2_MAGIC, 0, data.ndim, *data.shape,
                          1, 0, flag)
        if data.size:
            yield memoryview(data.reshape(-1)).cast("B")
    encoded = [] if names is None else [_encode_name(n) for n in names]
    yield struct.pack("<Q", len(encoded))
    for name in encoded:
        yield struct.pack("<Q", len(name)) + name


def _check(arrays, names):
    if names is not None and len(names) != len(arrays):
        raise ValueError("names: expected one name per array (%d), got %d"
                         % (len(arrays), len(names)))
    for index, array in enumerate(arrays):
        _flag(np.asarray(array), index, names)
    for name in names or ():
        _encode_name(name)


def _encode_name(name):
    if not isinstance(name, str):
        raise TypeError("array names must be str, got %r" % (name,))
    return name.encode("utf-8")


def _write_pieces(handle, arrays, names, checksum):
    crc, length = 0, 0
    for piece in _pieces(arrays, names):
        handle.write(piece)
        if checksum:
            crc = zlib.crc32(piece, crc)
        length += len(piece)
    if checksum:
        handle.write(_TRAILER.pack(TRAILER_MAGIC, length, crc))


def to_bytes(arrays, names=None, checksum=True):
    """The file ``write`` would write, as bytes (``checksum=False``: MXNet's bytes alone)."""
    out = _BytesSink()
    _write_pieces(out, list(arrays), None if names is None else list(names), checksum)
    return out.getvalue()


class _BytesSink:
    def __init__(self):
        self._parts = []

    def write(self, piece):
        self._parts.append(bytes(piece))

    def getvalue(self):
        return b"".join(self._parts)


_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _temp_pattern(basename, suffix):
    """Our temporary files for ``basename``: ``.<basename>.tmp-<host>-<pid>-<12 hex><suffix>``."""
    return re.compile(r"\.%s\.tmp-([0-9a-f]{8})-([0-9]{1,10})-[0-9a-f]{12}%s\Z"
                      % (re.escape(basename), re.escape(suffix)))


def temp_name(filename, suffix=""):
    """A fresh temporary name beside ``filename`` naming this host and process, so a
    later save can tell a crashed writer's leftover from a live writer's file."""
    folder = os.path.dirname(os.path.abspath(filename))
    return os.path.join(folder, ".%s.tmp-%s-%d-%s%s" % (
        os.path.basename(filename), _HOST_TAG, os.getpid(), secrets.token_hex(6), suffix))


def _writer_is_dead(pid):
    if pid == os.getpid() or pid <= 0:
        return False  # this process (maybe another thread's save) is alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, another user's
        return False
    return False


def clean_stale_temps(filename, suffix=""):
    """Remove the temporary files a crashed save of ``filename`` left behind: only names
    of our exact pattern, written on this host by a process that no longer exists
    (never a live concurrent writer's, never another host's, never a user's file)."""
    folder = os.path.dirname(os.path.abspath(filename))
    basename = os.path.basename(filename)
    pattern = _temp_pattern(basename, suffix)
    prefix = ".%s.tmp-" % basename
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        match = pattern.match(entry.name)
        if (match is None or match.group(1) != _HOST_TAG
                or not _writer_is_dead(int(match.group(2)))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            pass  # another save cleaned it first, or no right to: harmless


@contextlib.contextmanager
def atomic_file(filename, suffix=""):
    """A binary handle on a temporary file beside ``filename`` that replaces it (fsynced)
    only if the block succeeds: a crash mid-save leaves the old file or none, and the
    crashed save's temporary file is removed by the next save of ``filename``."""
    folder = os.path.dirname(os.path.abspath(filename))
    clean_stale_temps(filename, suffix)
    tmp = temp_name(filename, suffix)
    # O_EXCL: never follow or clobber; 0o666 so the umask applies as for open().
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, filename)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


@contextlib.contextmanager
def atomic_path(filename, suffix=""):
    """``atomic_file`` for a writer that wants a name (Keras's ``model.save``): yields the
    path of an empty temporary file beside ``filename`` (ending in ``suffix``), which
    replaces ``filename`` (fsynced) only if the block succeeds."""
    folder = os.path.dirname(os.path.abspath(filename))
    clean_stale_temps(filename, suffix)
    tmp = temp_name(filename, suffix)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, filename)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _check_regular(label, mode):
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _KINDS if test(mode)), "not a regular file")
        raise ParameterFileError(
            "'%s' is %s, not a regular file: parameter and NDArray files are loaded from "
            "regular files only (reading a pipe or device could block forever or never "
            "end). Copy the data into a file and load that." % (label, kind))


def open_regular(filename, buffering=-1):
    """``open(filename, 'rb')`` for a regular file only: anything else (a named pipe, a
    directory, a device) is refused before it is read, and a pipe swapped in after the
    check is opened without blocking and refused too."""
    label = os.fspath(filename)
    _check_regular(label, os.stat(label).st_mode)  # FileNotFoundError etc. propagate
    fd = os.open(label, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_regular(label, os.fstat(fd).st_mode)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write(filename, arrays, names=None, checksum=True):
    """Write ``arrays`` (numpy arrays; ``names`` None for a list) atomically in MXNet's
    format plus keras_defer's trailer (``checksum=False``: MXNet's bytes alone)."""
    arrays = list(arrays)
    names = None if names is None else list(names)
    _check(arrays, names)  # every dtype and name checked before the file opens
    with atomic_file(os.fspath(filename)) as handle:
        _write_pieces(handle, arrays, names, checksum)


# -- reading ---------------------------------------------------------------------------
class _Checksum:
    """CRC-32 of a file's body while it is read: in a thread for big files, so that the
    hashing overlaps the reading (zlib releases the GIL)."""

    def __init__(self, threaded):
        self.value = 0
        self._queue = None
        if threaded:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="keras_defer-crc")
            self._thread.start()

    def _run(self):
        while True:
            piece = self._queue.get()
            if piece is None:
                return
            self.value = zlib.crc32(piece, self.value)

    def update(self, piece):
        if self._queue is not None:
            self._queue.put(piece)
        else:
            self.value = zlib.crc32(piece, self.value)

    def finish(self):
        if self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None
        return self.value


_STRUCTS = {}  # format -> struct.Struct, compiled once


class _Source:
    """Sequential reads from a file's bytes (a uint8 array), bounded by ``end`` (where
    the body ends); arrays come out as views of it where aligned."""

    def __init__(self, label, buffer, end):
        self.label, self.end, self.pos = label, end, 0
        self._buffer = buffer
        self._bytes = memoryview(buffer)

    def fail(self, what, expected, found, at=None):
        raise ParameterFileError(
            "'%s' is not a valid MXNet NDArray file (damaged or truncated): %s at byte %d: "
            "expected %s, found %s." % (self.label, what, self.pos if at is None else at,
                                        expected, found))

    def need(self, count, what):
        left = self.end - self.pos
        if count > left:
            self.fail(what, "%d more bytes" % count, "only %d left" % left)

    def take(self, fmt, what):
        layout = _STRUCTS.get(fmt) or _STRUCTS.setdefault(fmt, struct.Struct(fmt))
        if layout.size > self.end - self.pos:
            self.need(layout.size, what)
        values = layout.unpack_from(self._bytes, self.pos)
        self.pos += layout.size
        return values

    def array(self, shape, dtype, nbytes):
        """The next ``nbytes`` as an array (already checked to fit): a view of the
        file's buffer, or an aligned copy where the data is not aligned."""
        raw = self._buffer[self.pos:self.pos + nbytes]
        self.pos += nbytes
        if raw.ctypes.data % dtype.itemsize:
            raw = raw.copy()  # a fresh allocation is aligned
        return raw.view(dtype).reshape(shape)

    def skip(self, count, what):
        self.need(count, what)
        self.pos += count


_DIMS = ["<%dq" % n for n in range(_MAX_NDIM + 1)]


def _read_shape(src, what):
    at = src.pos
    (ndim,) = src.take("<i", what + ": ndim")
    if not 0 <= ndim <= _MAX_NDIM:
        if ndim == -1:
            src.fail(what, "a known shape", "an empty (None) NDArray, which keras_defer "
                     "cannot hold", at)
        src.fail(what + ": ndim", "0..%d" % _MAX_NDIM, ndim, at)
    at = src.pos
    dims = src.take(_DIMS[ndim], what + ": shape") if ndim else ()
    if any(d < 0 for d in dims):
        src.fail(what + ": shape", "dims >= 0", dims, at)
    return tuple(int(d) for d in dims)


def _read_context_and_dtype(src, what):
    at = src.pos
    dev_type, dev_id, flag = src.take("<iii", what + ": context and dtype")
    if dev_type not in _DEV_TYPES or dev_id < 0:
        src.fail(what + ": context", "a device type in %s and id >= 0" % (_DEV_TYPES,),
                 (dev_type, dev_id), at)
    if flag not in DTYPE_FLAGS:
        src.fail(what + ": dtype flag", "one of %s (%s)" % (
            sorted(DTYPE_FLAGS), ", ".join(d.name for d in DTYPE_FLAGS.values())),
            "%d (a dtype MXNet 1.9.1 cannot load, e.g. 12 = bfloat16)" % flag, at + 8)
    return DTYPE_FLAGS[flag]


def _read_data(src, shape, dtype, what):
    nbytes = dtype.itemsize
    for dim in shape:
        nbytes *= dim  # Python ints: no overflow
    if nbytes > src.end - src.pos:
        src.need(nbytes, what + ": data of shape %s, %s" % (shape, dtype.name))
    array = src.array(shape, dtype, nbytes)
    if dtype.kind == "b":  # any nonzero byte is true, as in MXNet
        raw = array.view(np.uint8)
        if raw.size and raw.max() > 1:
            array = raw != 0
    return array


def _read_sparse(src, stype, what):
    """Walk a sparse array's fields (checked as any others) and return its shape."""
    storage_shape = _read_shape(src, what + ": storage shape")
    shape = _read_shape(src, what)
    dtype = _read_context_and_dtype(src, what)
    aux = []
    for i in range(_AUX_COUNT[stype]):
        at = src.pos
        (flag,) = src.take("<i", what + ": aux dtype")
        if flag not in DTYPE_FLAGS:
            src.fail(what + ": aux dtype flag", "one of %s" % sorted(DTYPE_FLAGS), flag, at)
        aux.append((DTYPE_FLAGS[flag], _read_shape(src, what + ": aux shape")))
    for dt, sh in [(dtype, storage_shape)] + aux:
        src.skip(dt.itemsize * int(np.prod(sh, dtype=object)), what + ": sparse data")
    return shape


def _read_array(src, index):
    what = "array #%d" % index
    at = src.pos
    (magic,) = src.take("<I", what + ": magic")
    if magic in (V2_MAGIC, V3_MAGIC):
        at = src.pos
        (stype,) = src.take("<i", what + ": storage type")
        if stype not in _STYPES:
            src.fail(what + ": storage type", "0 (default), 1 (row_sparse) or 2 (csr)",
                     stype, at)
        if stype:
            return _STYPES[stype], _read_sparse(src, stype, what)
        shape = _read_shape(src, what)
    elif magic == V1_MAGIC:
        shape = _read_shape(src, what)
    elif 1 <= magic <= _MAX_NDIM:  # before V1: the magic is the ndim, dims are uint32
        src.need(4 * magic, what + ": shape")
        shape = tuple(src.take("<%dI" % magic, what + ": shape"))
    else:
        src.fail(what + ": magic", "0x%X (V2), 0x%X (V3), 0x%X (V1) or a legacy ndim 1..%d"
                 % (V2_MAGIC, V3_MAGIC, V1_MAGIC, _MAX_NDIM), "0x%X" % magic, at)
    dtype = _read_context_and_dtype(src, what)
    return None, _read_data(src, shape, dtype, what)


def _read_names(src, count):
    at = src.pos
    (n_names,) = src.take("<Q", "name count")
    if n_names not in (0, count):
        src.fail("name count", "0 or %d (one per array)" % count, n_names, at)
    names = []
    for i in range(n_names):
        at = src.pos
        (length,) = src.take("<Q", "name #%d: length" % i)
        src.need(length, "name #%d" % i)
        raw = src.take("<%ds" % length, "name #%d" % i)[0] if length else b""
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            src.fail("name #%d" % i, "UTF-8 text", repr(raw[:40]), at + 8)
    return names


def _parse(src):
    at = src.pos
    magic, reserved, count = src.take("<QQQ", "header")
    if magic != LIST_MAGIC:
        src.fail("header", "MXNet's list magic 0x112", "0x%X" % magic, at)
    if reserved != 0:
        src.fail("header: reserved field", 0, reserved, at + 8)
    min_array = 4 + 4 + 4 + 12  # magic, storage type, ndim, context + dtype
    if count * min_array > src.end - src.pos:
        src.fail("header: array count", "at most %d arrays in the %d bytes left"
                 % ((src.end - src.pos) // min_array, src.end - src.pos), count, at + 16)
    arrays, sparse = [], []
    for index in range(count):
        stype, value = _read_array(src, index)
        if stype is not None:
            sparse.append((index, stype, value))
            value = None
        arrays.append(value)
    names = _read_names(src, count)
    if sparse:
        raise ParameterFileError(
            "'%s' holds sparse arrays (%s), which keras_defer cannot load: it has dense "
            "arrays only. Convert them in MXNet with .tostype('default') and save again."
            % (src.label, ", ".join("'%s' (%s, shape %s)" % (
                names[i] if names else "#%d" % i, stype, shape) for i, stype, shape in sparse)))
    if src.pos != src.end:
        src.fail("end of the names", "the end of the file",
                 "%d more bytes" % (src.end - src.pos))
    return arrays, names


def _trailer(tail, size):
    """``(body_end, expected_crc)`` if ``tail`` is keras_defer's trailer, else ``None``."""
    if len(tail) != _TRAILER.size or not bytes(tail).startswith(TRAILER_MAGIC):
        return None
    _, length, crc = _TRAILER.unpack(bytes(tail))
    return length, crc  # a length that does not fit is refused by _body_end


def _body_end(label, size, trailer):
    end = size - _TRAILER.size if trailer else size
    if trailer and trailer[0] != end:
        raise ParameterFileError(
            "'%s' is damaged or truncated: keras_defer wrote %d bytes before its trailer, "
            "the file holds %d." % (label, trailer[0], end))
    return end


def _check_crc(label, trailer, crc):
    if trailer is not None and crc != trailer[1]:
        raise ParameterFileError(
            "'%s' is damaged: its contents do not match the checksum keras_defer wrote "
            "with it (CRC-32 0x%08X, found 0x%08X)." % (label, trailer[1], crc))


_CHUNK = 4 << 20


def _read_file(handle, size, body_end, check):
    """The file's bytes in one uint8 array, its body's CRC-32 computed beside the
    reading (``None`` unless ``check``)."""
    buffer = np.empty(size, dtype=np.uint8)  # the file's size: never more
    view = memoryview(buffer)
    checksum = _Checksum(size > _THREADED_CRC_BYTES) if check else None
    done = 0
    try:
        while done < size:
            count = handle.readinto(view[done:min(size, done + _CHUNK)])
            if not count:
                break
            if checksum is not None and done < body_end:
                checksum.update(view[done:min(done + count, body_end)])
            done += count
    finally:
        crc = checksum.finish() if checksum is not None else None
    return buffer[:done], crc


def read(filename):
    """``(arrays, names)`` from an MXNet NDArray file (names ``[]`` for a list)."""
    label = os.fspath(filename)
    with open_regular(label, buffering=0) as handle:  # FileNotFoundError etc. propagate
        size = os.fstat(handle.fileno()).st_size
        tail = os.pread(handle.fileno(), _TRAILER.size, size - _TRAILER.size) \
            if size >= _TRAILER.size else b""
        trailer = _trailer(tail, size)
        end = _body_end(label, size, trailer)
        buffer, crc = _read_file(handle, size, end, trailer is not None)
    if len(buffer) != size:
        raise ParameterFileError("'%s' changed while it was read: %d bytes, %d expected."
                                 % (label, len(buffer), size))
    _check_crc(label, trailer, crc)
    return _parse(_Source(label, buffer, end))


def from_bytes(buffer, label="<buffer>"):
    """``(arrays, names)`` from the bytes of an MXNet NDArray file (copied)."""
    data = np.frombuffer(memoryview(buffer).cast("B"), dtype=np.uint8).copy()
    size = data.size
    trailer = _trailer(data[-_TRAILER.size:], size) if size >= _TRAILER.size else None
    end = _body_end(label, size, trailer)
    if trailer is not None:
        _check_crc(label, trailer, zlib.crc32(memoryview(data)[:end]))
    return _parse(_Source(label, data, end))
