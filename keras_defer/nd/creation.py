"""Array creation: ``nd.array``, ``zeros``, ``ones``, ``full``, ``empty``, ``arange``,
``linspace``, ``eye``, ``zeros_like``, ``ones_like``.

MXNet 1.x's dtype rules: float32 unless ``dtype`` says otherwise, whatever the source
(``nd.array(np.arange(3))`` is float32 too); an NDArray source keeps its dtype. Every
function takes ``ctx=`` (a ``Context``) and creates the array on that device.
"""

import keras
import numpy as np

from keras_defer import context
from keras_defer.context import Context
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import NDArray, apply, deliver, wrap

__all__ = [
    "array", "empty", "zeros", "ones", "full", "arange", "linspace", "eye",
    "zeros_like", "ones_like",
]

_FLOAT32 = "float32"


def device_scope(ctx):
    """``keras.device`` for ``ctx`` (a Context, or None: the context of an enclosing
    ``with ctx:``, else the default device); ``MXNetError`` for a GPU not there."""
    return context.device_scope(ctx)


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _from_numpy(values, ctx=None):
    """An NDArray holding a copy of the numpy array ``values`` (its dtype kept)."""
    with device_scope(ctx):
        return wrap(keras.ops.convert_to_tensor(values, dtype=values.dtype.name))


def array(source_array, ctx=None, dtype=None):
    """An NDArray copied from an NDArray, a backend tensor, a numpy array or a list."""
    if isinstance(source_array, NDArray) or _backend.is_tensor(source_array):
        tensor = source_array._data if isinstance(source_array, NDArray) else source_array
        name = _backend.dtype_name(dtype) or _backend.tensor_dtype(tensor)
        with device_scope(ctx):
            return wrap(_backend.copy(_backend.cast(tensor, name)))
    name = _backend.dtype_name(dtype) or _FLOAT32
    try:
        values = np.array(source_array, dtype=name)
    except (TypeError, ValueError):
        raise TypeError("source_array must be array like object") from None
    if values.dtype == object:
        raise TypeError("source_array must be array like object")
    return _from_numpy(values, ctx)


def empty(shape, ctx=None, dtype=None, stype=None):
    """An array of the given shape (zeros: the backends have no uninitialised memory)."""
    return zeros(shape, ctx=ctx, dtype=dtype)


def zeros(shape, ctx=None, dtype=None, stype=None, **kwargs):
    name = _backend.dtype_name(dtype) or _FLOAT32
    with device_scope(ctx):
        return wrap(keras.ops.zeros(_shape_tuple(shape), dtype=name))


def ones(shape, ctx=None, dtype=None, **kwargs):
    name = _backend.dtype_name(dtype) or _FLOAT32
    with device_scope(ctx):
        return wrap(keras.ops.ones(_shape_tuple(shape), dtype=name))


def full(shape, val, ctx=None, dtype=_FLOAT32, out=None):
    name = _backend.dtype_name(dtype) or _FLOAT32
    if out is not None:
        out[:] = val
        return out
    value = np.array(val).astype(name)  # 3.7 -> 3 for integer dtypes, as MXNet
    with device_scope(ctx):
        return wrap(keras.ops.full(_shape_tuple(shape), value, dtype=name))


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=_FLOAT32):
    """``start, start + step, ...`` below ``stop``, each repeated ``repeat`` times.

    Computed in the output dtype, as MXNet does (``arange(0, 1, 0.3)`` ends in
    0.90000004 in float32).
    """
    if stop is None:
        start, stop = 0, start
    name = _backend.dtype_name(dtype) or _FLOAT32
    count = max(int(np.ceil((stop - start) / step)), 0)
    kind = np.dtype(name).type
    values = kind(start) + kind(step) * np.arange(count, dtype=name)
    if repeat != 1:
        values = np.repeat(values, int(repeat))
    return _from_numpy(values.astype(name, copy=False), ctx)


def linspace(start, stop, num, endpoint=True, ctx=None, dtype=_FLOAT32):
    """``num`` evenly spaced values from ``start`` to ``stop`` (computed in double)."""
    name = _backend.dtype_name(dtype) or _FLOAT32
    intervals = (num - 1) if endpoint else num
    step = (stop - start) / intervals if intervals > 0 else 0.0
    values = start + np.arange(num, dtype=np.float64) * step
    return _from_numpy(values.astype(name), ctx)


def eye(N, M=0, k=0, ctx=None, dtype=None, **kwargs):
    """A 2-D array with ones on the ``k``-th diagonal (``M=0`` means ``M=N``)."""
    name = _backend.dtype_name(dtype) or _FLOAT32
    with device_scope(ctx):
        return wrap(keras.ops.eye(N, M or N, k=k, dtype=name))


def _zeros_like(t):
    return keras.ops.zeros_like(t)


def _ones_like(t):
    return keras.ops.ones_like(t)


def zeros_like(data=None, out=None, name=None, **kwargs):
    return deliver(apply(_zeros_like, data), out)


def ones_like(data=None, out=None, name=None, **kwargs):
    return deliver(apply(_ones_like, data), out)

