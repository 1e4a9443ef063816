"""The file_format group's reference parser and writer (file_format_model) against bytes
MXNet 1.9.1 wrote (recorded below with `mx.nd.save`, 2026-11-30), so the model the
clauses judge by is MXNet's format, not our reading of it."""

import struct
import zlib

import numpy as np
import pytest

from conformance import file_format_model as F

# mx.nd.save(f, [nd.array([[1, 2], [3, 4]]), nd.array([7], dtype='int8')])
MX_LIST = bytes.fromhex(
    "120100000000000000000000000000000200000000000000c9fa93f9000000000200000002000000000000"
    "0002000000000000000100000000000000000000000000803f000000400000404000008040c9fa93f90000"
    "0000010000000100000000000000010000000000000005000000070000000000000000")
# mx.nd.save(f, {'b': nd.ones((2,)), 'a': nd.ones((1, 1, 1))})
MX_DICT = bytes.fromhex(
    "120100000000000000000000000000000200000000000000c9fa93f9000000000100000002000000000000"
    "000100000000000000000000000000803f0000803fc9fa93f9000000000300000001000000000000000100"
    "00000000000001000000000000000100000000000000000000000000803f02000000000000000100000000"
    "00000062010000000000000061")
# mx.nd.save(f, {}) (loads as [])
MX_EMPTY = bytes.fromhex("1201000000000000000000000000000000000000000000000000000000000000")
# mx.nd.save(f, {'\u00e9': nd.ones((1,))})
MX_UTF8 = bytes.fromhex(
    "120100000000000000000000000000000100000000000000c9fa93f900000000010000000100000000000000"
    "0100000000000000000000000000803f01000000000000000200000000000000c3a9")
# mx.nd.save(f, [nd.sparse.zeros('csr', (2, 3))])
MX_CSR = bytes.fromhex(
    "120100000000000000000000000000000100000000000000c9fa93f902000000010000000000000000000000"
    "020000000200000000000000030000000000000001000000000000000000000006000000010000000300000000"
    "0000000600000001000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000")


@pytest.mark.parametrize("data, raw", [
    ([np.array([[1, 2], [3, 4]], np.float32), np.array([7], np.int8)], MX_LIST),
    ({"b": np.ones((2,), np.float32), "a": np.ones((1, 1, 1), np.float32)}, MX_DICT),
    ({}, MX_EMPTY),
    ({"\u00e9": np.ones((1,), np.float32)}, MX_UTF8),
])
def test_the_writer_writes_mxnets_bytes_and_the_parser_reads_them(data, raw):
    want = F.saved_by(data)
    assert F.write(want) == raw
    got = F.parse(raw)
    assert got.names == want.names and got.loaded_kind() == want.loaded_kind()
    assert [a.version for a in got.arrays] == [2] * len(want.arrays)
    assert all(F.same_values(g.values, w.values) for g, w in zip(got.arrays, want.arrays))
    assert all(a.ctx == F.CPU for a in got.arrays)


def test_an_empty_dict_loads_as_an_empty_list():
    assert F.parse(MX_EMPTY).loaded_kind() == "list"


@pytest.mark.parametrize("version", [0, 1, 2])
def test_every_layout_round_trips(version):
    lf = F.ListFile([F.SavedArray(np.arange(6, dtype=np.int64).reshape(2, 3), version),
                     F.SavedArray(np.array([np.nan, -0.0, np.inf], np.float16), version)],
                    ["a", "b"])
    got = F.parse(F.write(lf))
    assert [a.version for a in got.arrays] == [version] * 2
    assert all(F.same_values(g.values, w.values) for g, w in zip(got.arrays, lf.arrays))


def test_refused_every_cut_a_sparse_array_v3_a_hostile_count_and_trailing_bytes():
    for cut in range(len(MX_LIST)):   # MXNet 1.9.1 refuses every one (MXNetError)
        with pytest.raises(F.FormatError):
            F.parse(MX_LIST[:cut])
    with pytest.raises(F.FormatError, match="sparse"):
        F.parse(MX_CSR)
    with pytest.raises(F.FormatError, match="V3"):
        F.parse(MX_LIST[:24] + struct.pack("<I", F.V3_MAGIC) + MX_LIST[28:])
    with pytest.raises(F.FormatError, match="count"):
        F.parse(struct.pack("<QQQ", 0x112, 0, 2 ** 60))
    with pytest.raises(F.FormatError, match="after the names"):
        F.parse(MX_LIST + b"\0")   # MXNet ignores them; the model says what a writer wrote


def test_keras_defers_trailer_is_checked():
    body = MX_DICT
    good = body + F.TRAILER.pack(F.TRAILER_MAGIC, len(body), zlib.crc32(body))
    assert F.parse(good, trailer=True).names == ["b", "a"]
    bad = body + F.TRAILER.pack(F.TRAILER_MAGIC, len(body), zlib.crc32(body) ^ 1)
    with pytest.raises(F.FormatError, match="CRC"):
        F.parse(bad, trailer=True)
    with pytest.raises(F.FormatError, match="trailer"):
        F.parse(body, trailer=True)
