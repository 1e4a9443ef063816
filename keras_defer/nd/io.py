"""``nd.save`` / ``nd.load`` / ``nd.load_frombuffer``: MXNet 1.9.1's, in its file format.

A file written here loads in MXNet (``mx.nd.load``) and a file MXNet wrote loads here;
the bytes are MXNet's (``keras_defer.mxnet_format``) plus a checksum trailer MXNet
ignores. As in MXNet, a file with names loads as a dict, one without as a list (so an
empty dict comes back as an empty list), and arrays load on ``cpu(0)``.
"""

import os

import numpy as np

from keras_defer import mxnet_format
from keras_defer.context import cpu
from keras_defer.nd.creation import _from_numpy
from keras_defer.nd.ndarray import NDArray

__all__ = ["save", "load", "load_frombuffer"]


def _filename(fname, what):
    # MXNet takes a str only; a path object is accepted too (docs/divergences.md).
    if isinstance(fname, os.PathLike):
        fname = os.fspath(fname)
    if not isinstance(fname, str):
        raise TypeError("fname required to be a string" if what == "load" else
                        "fname required to be a string, got %r" % (fname,))
    return fname


def save(fname, data):
    """Saves a list of arrays or a dict of str->array to file, in MXNet's format.

    ``data``: an NDArray, a list of NDArrays, or a dict of str to NDArray. The write is
    atomic: a temporary file beside ``fname`` replaces it once complete."""
    fname = _filename(fname, "save")
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        if any(not isinstance(k, str) for k in data.keys()) or \
                any(not isinstance(v, NDArray) for v in data.values()):
            raise TypeError("save only accept dict str->NDArray or list of NDArray")
        names, arrays = list(data.keys()), list(data.values())
    elif isinstance(data, list):
        if any(not isinstance(v, NDArray) for v in data):
            raise TypeError("save only accept dict str->NDArray or list of NDArray")
        names, arrays = None, data
    else:
        raise ValueError("data needs to either be a NDArray, dict of str, NDArray pairs "
                         "or a list of NDarrays.")
    mxnet_format.write(fname, [a.asnumpy() for a in arrays], names)


def _ndarrays(arrays, names):
    ctx = cpu()
    values = [_from_numpy(np.asarray(a), ctx) for a in arrays]
    if not names:
        return values
    return dict(zip(names, values))  # a repeated name: the last wins, as in MXNet


def load(fname):
    """Loads an array list or dict from a file MXNet or ``nd.save`` wrote (or a
    ``.npz`` file ``save_parameters`` wrote, as a dict).

    Returns a list of NDArrays, or a dict of str to NDArray when the file has names.
    A damaged, truncated or sparse file raises ``ParameterFileError`` (an MXNetError)."""
    fname = _filename(fname, "load")
    with mxnet_format.open_regular(fname) as handle:  # a pipe or device: refused
        head = handle.read(4)
    if head.startswith(b"PK"):  # save_parameters' checked .npz: verified, never unpickled
        from keras_defer import serialization

        named = serialization._read(fname)
        return _ndarrays(list(named.values()), list(named))
    arrays, names = mxnet_format.read(fname)
    return _ndarrays(arrays, names)


def load_frombuffer(buf):
    """Loads an array dictionary or list from a buffer (the bytes of such a file)."""
    if isinstance(buf, str):
        buf = buf.encode("latin-1")  # Python 2's str: bytes
    if not isinstance(buf, bytes):
        raise TypeError("buf required to be a string or bytes")
    arrays, names = mxnet_format.from_bytes(buf)
    return _ndarrays(arrays, names)
