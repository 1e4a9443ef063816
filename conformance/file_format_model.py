"""MXNet 1.9.1's NDArray list file (`nd.save`, `save_parameters`, `export`'s `.params`),
read and written with numpy only, so the kit can say what a file must hold.

The layout (MXNet 1.9.1 src/ndarray/ndarray.cc NDArray::Save/Load, src/c_api/c_api.cc
MXNDArraySave; observed byte for byte in MXNet 1.9.1), little-endian throughout:

    uint64 0x112 (kMXAPINDArrayListMagic), uint64 0 (reserved), uint64 count
    count arrays, each
        V2 (what MXNet 1.9.1 writes): uint32 0xF993FAC9, int32 storage type (0 dense),
            int32 ndim, int64 dims[ndim], int32 dev_type, int32 dev_id, int32 dtype flag,
            the data (C order)
        V1 (older MXNet): uint32 0xF993FAC8, then as V2 without the storage type
        V0 (oldest): uint32 ndim (no magic), uint32 dims[ndim], then as V1 from the context
    uint64 name count (0 for a list), each uint64 length + utf-8 bytes

`parse` refuses anything else (FormatError, with the offset), and never allocates more
than the bytes it was given; `write` is the reference writer.  keras_defer appends a
trailer MXNet ignores (divergence 'checksum_trailer'): `parse(data, trailer=True)`.
"""

import struct
import zlib
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

LIST_MAGIC = 0x112
V2_MAGIC = 0xF993FAC9
V1_MAGIC = 0xF993FAC8
V3_MAGIC = 0xF993FACA   # numpy-shape semantics: MXNet 1.9.1's nd.load refuses it
# mshadow's type flags: the dtypes MXNet 1.9.1's nd.array makes and nd.save writes
DTYPE_OF_FLAG = {0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32",
                 5: "int8", 6: "int64", 7: "bool"}
FLAG_OF_DTYPE = {v: k for k, v in DTYPE_OF_FLAG.items()}
DTYPES = tuple(FLAG_OF_DTYPE)
CPU = (1, 0)   # Context: dev_type 1 (cpu), dev_id 0
DEV_TYPES = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}


class FormatError(ValueError):
    """The bytes are not an NDArray list file (what and where)."""


@dataclass
class SavedArray:
    values: np.ndarray            # shape and dtype as stored
    version: int = 2              # 0, 1 or 2: the layout it was (or is to be) written in
    stype: int = 0                # 0 dense (1 row_sparse, 2 csr: refused by parse)
    ctx: Tuple[int, int] = CPU


@dataclass
class ListFile:
    arrays: List[SavedArray] = field(default_factory=list)
    names: List[str] = field(default_factory=list)

    def loaded_kind(self):
        """What nd.load returns: a dict when the file holds names, else a list (an empty
        dict is written without names: it loads as [])."""
        return "dict" if self.names else "list"


class _Reader:
    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError("truncated at byte %d: %s needs %d bytes, %d left"
                              % (self.pos, what, n, len(self.data) - self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt, what):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size, what))


def _array(r, index):
    start = r.pos
    (magic,) = r.unpack("<I", "array %d's magic" % index)
    if magic == V3_MAGIC:
        raise FormatError("array %d at byte %d: V3 (numpy-shape) magic" % (index, start))
    if magic in (V2_MAGIC, V1_MAGIC):
        version = 2 if magic == V2_MAGIC else 1
        stype = r.unpack("<i", "storage type")[0] if version == 2 else 0
        if stype != 0:
            raise FormatError("array %d: storage type %d (sparse)" % (index, stype))
        (ndim,) = r.unpack("<i", "ndim")
        if not 0 <= ndim <= 32:
            raise FormatError("array %d: ndim %d" % (index, ndim))
        shape = r.unpack("<%dq" % ndim, "dims")
    else:
        version, stype, ndim = 0, 0, magic
        if ndim > 32:
            raise FormatError("array %d at byte %d: magic 0x%x" % (index, start, magic))
        shape = r.unpack("<%dI" % ndim, "dims")
    if ndim == 0 or any(d <= 0 for d in shape):
        raise FormatError("array %d: shape %r (MXNet saves no empty array)" % (index, shape))
    ctx = r.unpack("<ii", "context")
    if ctx[0] not in DEV_TYPES:
        raise FormatError("array %d: device type %d" % (index, ctx[0]))
    (flag,) = r.unpack("<i", "dtype flag")
    if flag not in DTYPE_OF_FLAG:
        raise FormatError("array %d: dtype flag %d" % (index, flag))
    dtype = np.dtype(DTYPE_OF_FLAG[flag])
    size = int(np.prod(shape, dtype=np.int64))
    raw = r.take(size * dtype.itemsize, "array %d's data" % index)  # bounded by the input
    values = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    return SavedArray(values, version, stype, tuple(ctx))


# keras_defer's trailer (divergence 'checksum_trailer'): magic, uint64 length of the body
# before it, uint32 CRC-32 of the body; MXNet 1.9.1's reader stops after the names
TRAILER_MAGIC = b"\xfekdCRC\x01\x00"
TRAILER = struct.Struct("<8sQI")


def strip_trailer(data):
    """The body of `data` if it ends with a sound keras_defer trailer (FormatError if it
    has one that does not match the body)."""
    if len(data) < TRAILER.size or not bytes(data[-TRAILER.size:]).startswith(TRAILER_MAGIC):
        raise FormatError("no keras_defer trailer (its magic %r) in the last %d bytes"
                          % (TRAILER_MAGIC, TRAILER.size))
    body = data[:-TRAILER.size]
    _, length, crc = TRAILER.unpack(bytes(data[-TRAILER.size:]))
    if length != len(body) or crc != zlib.crc32(body):
        raise FormatError("the trailer says %d bytes, CRC-32 0x%08x; the body has %d, 0x%08x"
                          % (length, crc, len(body), zlib.crc32(body)))
    return body


def parse(data, trailer=False):
    """A ListFile from the bytes of an NDArray list file (FormatError if they are not one,
    or hold anything after the names: `trailer`, keras_defer's trailer and nothing else)."""
    if trailer:
        data = strip_trailer(data)
    r = _Reader(data)
    magic, reserved = r.unpack("<QQ", "header")
    if magic != LIST_MAGIC:
        raise FormatError("list magic 0x%x, not 0x112" % magic)
    if reserved != 0:
        raise FormatError("reserved field %d, not 0" % reserved)
    (count,) = r.unpack("<Q", "array count")
    if count > len(data):   # every array takes bytes: a hostile count allocates nothing
        raise FormatError("array count %d in a file of %d bytes" % (count, len(data)))
    out = ListFile()
    for i in range(count):
        out.arrays.append(_array(r, i))
    (n_names,) = r.unpack("<Q", "name count")
    if n_names not in (0, count):
        raise FormatError("%d names for %d arrays" % (n_names, count))
    for i in range(n_names):
        (length,) = r.unpack("<Q", "name %d's length" % i)
        try:
            out.names.append(bytes(r.take(length, "name %d" % i)).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise FormatError("name %d is not utf-8: %s" % (i, exc)) from None
    if r.pos != len(data):
        raise FormatError("%d bytes after the names" % (len(data) - r.pos))
    return out


def write(listfile):
    """The bytes of `listfile` (each array in its `version`'s layout)."""
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(listfile.arrays))]
    for a in listfile.arrays:
        values = np.ascontiguousarray(a.values)
        flag = FLAG_OF_DTYPE[values.dtype.name]
        if a.version == 2:
            parts.append(struct.pack("<Ii", V2_MAGIC, a.stype))
        elif a.version == 1:
            parts.append(struct.pack("<I", V1_MAGIC))
        if a.version == 0:
            parts.append(struct.pack("<I%dI" % values.ndim, values.ndim, *values.shape))
        else:
            parts.append(struct.pack("<i%dq" % values.ndim, values.ndim, *values.shape))
        parts.append(struct.pack("<iii", a.ctx[0], a.ctx[1], flag))
        parts.append(values.astype(values.dtype.newbyteorder("<")).tobytes())
    parts.append(struct.pack("<Q", len(listfile.names)))
    for name in listfile.names:
        raw = name.encode("utf-8")
        parts.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(parts)


def saved_by(data):
    """The ListFile nd.save(fname, data) writes: an array or a list without names, a
    dict with its keys in its order; every array V2, dense, on cpu(0).
    `data`: a numpy array, a list of them, or a dict name -> numpy array."""
    if isinstance(data, dict):
        return ListFile([SavedArray(np.asarray(v)) for v in data.values()], list(data))
    if isinstance(data, np.ndarray):
        data = [data]
    return ListFile([SavedArray(np.asarray(v)) for v in data], [])


def same_values(got, want):
    """Same shape, dtype and bits (NaN payloads aside: NaN where NaN)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    if want.dtype.kind == "f":
        nan = np.isnan(want)
        return bool(np.array_equal(np.isnan(got), nan) and np.array_equal(got[~nan], want[~nan]))
    return bool(np.array_equal(got, want))
