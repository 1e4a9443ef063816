"""MXNet's RecordIO files (``mxnet.recordio``), for reading: what
``gluon.data.RecordFileDataset`` needs, in pure Python.

The format (dmlc-core's): each record is a little-endian ``uint32`` magic
``0xced7230a``, a ``uint32`` whose top 3 bits are a continuation flag and low 29 bits
the length, the bytes, then padding to 4 bytes. A record whose bytes hold the magic
number is written in parts (flags 1 = first, 2 = middle, 3 = last) split at each
occurrence, which reading joins back. An ``.idx`` file lists ``key<TAB>offset`` lines.
``pack``/``unpack`` are MXNet's image-record header (``IRHeader``).
"""

import numbers
import os
import struct
from collections import namedtuple

import numpy as np

from keras_defer.errors import MXNetError

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack"]

_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", _MAGIC)
_LENGTH_MASK = (1 << 29) - 1


class MXRecordIO:
    """Sequential reading of a RecordIO file (``flag='r'``; writing is not supported)."""

    def __init__(self, uri, flag):
        if flag != "r":
            raise NotImplementedError(
                "keras_defer reads RecordIO files only (flag='r'), got flag=%r" % (flag,))
        self.uri = uri
        self.flag = flag
        self.writable = False
        self.is_open = False
        self._file = None
        self.open()

    def open(self):
        self._file = open(self.uri, "rb")
        self._pid = os.getpid()
        self.is_open = True

    def _check_pid(self):
        """A forked DataLoader worker shares the parent's file offset: reopen (MXNet too)."""
        if self._pid != os.getpid():
            self._file = open(self.uri, "rb")
            self._pid = os.getpid()

    def close(self):
        """Closes the record file."""
        if self.is_open:
            self._file.close()
            self.is_open = False

    def __del__(self):
        self.close()

    def reset(self):
        """Back to the first record."""
        self._file.seek(0)

    def read(self):
        """The next record's bytes, or None at the end of the file."""
        self._check_pid()
        parts = []
        while True:
            head = self._file.read(8)
            if len(head) < 8:
                if parts or head:
                    raise MXNetError("Invalid RecordIO File: %s ends inside a record" % self.uri)
                return None
            magic, lrec = struct.unpack("<II", head)
            if magic != _MAGIC:
                raise MXNetError("Invalid RecordIO File: %s has no record magic at byte %d"
                                 % (self.uri, self._file.tell() - 8))
            cflag, length = lrec >> 29, lrec & _LENGTH_MASK
            data = self._file.read(length)
            self._file.read((4 - length % 4) % 4)
            if cflag == 0:
                return data
            parts.append(data)
            if cflag == 3:
                return _MAGIC_BYTES.join(parts)


class MXIndexedRecordIO(MXRecordIO):
    """Random access through an ``.idx`` file: ``keys`` in file order, ``read_idx(key)``."""

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = idx_path
        self.idx = {}
        self.keys = []
        self.key_type = key_type
        super().__init__(uri, flag)

    def open(self):
        super().open()
        self.idx = {}
        self.keys = []
        with open(self.idx_path, "r") as fidx:
            for line in fidx:
                line = line.strip().split("\t")
                if line == [""]:
                    continue
                key = self.key_type(line[0])
                self.idx[key] = int(line[1])
                self.keys.append(key)

    def seek(self, idx):
        """Move to the record of key ``idx``."""
        self._check_pid()
        self._file.seek(self.idx[idx])

    def read_idx(self, idx):
        """The record of key ``idx``."""
        self.seek(idx)
        return self.read()


IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
"""The header of an image record: ``flag`` (how many float32 labels follow, when
``label`` is an array), ``label``, ``id``, ``id2``."""

_IR_FORMAT = "IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)


def pack(header, s):
    """``header`` (an IRHeader; ``label`` a number or an array) and bytes ``s`` as one
    record's bytes."""
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + s
    return struct.pack(_IR_FORMAT, *header) + s


def unpack(s):
    """A record's bytes as ``(IRHeader, payload)``; several labels as a float32 array."""
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag))
        s = s[header.flag * 4:]
    return header, s
