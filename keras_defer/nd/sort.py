"""``topk``, ``sort``, ``argsort`` with MXNet 1.x's defaults.

Indices come back as float32 unless ``dtype`` says otherwise; ``topk`` returns
indices by default (``ret_typ='value'``, ``'both'`` -> ``[values, indices]``,
``'mask'`` -> 0/1 in the data's dtype), largest first; ``axis=None`` works on the
flattened array; ``k < 1`` means the whole axis.
"""

import keras

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import apply, deliver

ops = keras.ops

__all__ = ["topk", "sort", "argsort"]


def _along_last(t, axis):
    """``t`` with ``axis`` moved last (``None``: flattened), and the axis used."""
    if axis is None:
        return _backend.reshape(t, (-1,)), None
    ndim = len(t.shape)
    if not -ndim <= axis < ndim:
        raise MXNetError("axis %d is out of range for an array with %d dimensions"
                         % (axis, ndim))
    axis %= ndim
    if axis != ndim - 1:
        t = ops.moveaxis(t, axis, -1)
    return t, axis


def _restore(t, axis, ndim):
    if axis is None or axis == ndim - 1:
        return t
    return ops.moveaxis(t, -1, axis)


def _topk_t(t, axis, k, ret_typ, is_ascend, dtype):
    ndim = len(t.shape)
    moved, used = _along_last(t, axis)
    n = moved.shape[-1]
    if k < 1 or k > n:
        k = n
    values, indices = ops.top_k(-moved if is_ascend else moved, k, sorted=True)
    if is_ascend:
        values = -values
    if ret_typ == "mask":
        hits = ops.sum(ops.one_hot(indices, n, dtype=_backend.tensor_dtype(t)), axis=-2)
        mask = _restore(hits, used, ndim)
        return _backend.reshape(mask, tuple(t.shape)) if axis is None else mask
    values = _restore(values, used, ndim)
    indices = _backend.cast(_restore(indices, used, ndim), dtype)
    if ret_typ == "value":
        return values
    if ret_typ == "indices":
        return indices
    if ret_typ == "both":
        return [values, indices]
    raise MXNetError("Invalid Input: '%s', valid values are: {'both', 'indices', 'mask', "
                     "'value'}" % ret_typ)


def topk(data=None, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32",
         out=None, name=None, **kwargs):
    """The ``k`` largest (``is_ascend``: smallest) entries along ``axis``."""
    result = apply(_topk_t, data, axis=axis, k=int(k), ret_typ=ret_typ,
                   is_ascend=bool(is_ascend), dtype=_backend.dtype_name(dtype))
    return result if isinstance(result, list) else deliver(result, out)


def _sort_t(t, axis, is_ascend):
    ndim = len(t.shape)
    moved, used = _along_last(t, axis)
    result = ops.sort(moved, axis=-1)
    if not is_ascend:
        result = ops.flip(result, axis=-1)
    return _restore(result, used, ndim)


def sort(data=None, axis=-1, is_ascend=True, out=None, name=None, **kwargs):
    return deliver(apply(_sort_t, data, axis=axis, is_ascend=bool(is_ascend)), out)


def _argsort_t(t, axis, is_ascend, dtype):
    ndim = len(t.shape)
    moved, used = _along_last(t, axis)
    result = ops.argsort(moved if is_ascend else -moved, axis=-1)
    return _backend.cast(_restore(result, used, ndim), dtype)


def argsort(data=None, axis=-1, is_ascend=True, dtype="float32", out=None, name=None,
            **kwargs):
    """Indices that sort ``data`` along ``axis``, as float32 unless ``dtype`` says."""
    return deliver(apply(_argsort_t, data, axis=axis, is_ascend=bool(is_ascend),
                         dtype=_backend.dtype_name(dtype)), out)
