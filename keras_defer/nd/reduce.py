"""Reductions: ``sum``, ``mean``, ``max``, ``min``, ``prod``, ``nansum``, ``nanprod``,
``argmax``, ``argmin``, ``argmax_channel``, ``moments``.

MXNet 1.x's shapes and dtypes: a reduction to a scalar has shape ``(1,)``, not ``()``;
``axis=()`` or ``None`` reduces everything; ``exclude=True`` reduces every axis *but*
the given ones; the result keeps the input's dtype (an int32 mean truncates, and
``argmax`` returns its indices as float32 for float32 input).
"""

import keras

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import apply, deliver

ops = keras.ops

__all__ = [
    "sum", "mean", "max", "min", "prod", "nansum", "nanprod", "argmax", "argmin",
    "argmax_channel", "moments", "cumsum", "reduce_axes",
]


def reduce_axes(axis, shape, exclude=False):
    """The sorted axes a reduction runs over (None: all of them), checked as MXNet does."""
    ndim = len(shape)
    if axis is None or axis == ():
        return None  # everything, with or without ``exclude``
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise MXNetError(
                "Check failed: axes[axes.ndim()-1] < ishape.ndim() (%d vs. %d) : Reduction "
                "axis %d Exceeds input dimensions [%s]"
                % (a, ndim, a, ",".join(str(d) for d in shape)))
        normalized.append(a % ndim)
    normalized = tuple(sorted(set(normalized)))
    if exclude:
        return tuple(a for a in range(ndim) if a not in normalized)
    return normalized


def _finish(result, dtype_name):
    if len(result.shape) == 0:
        result = _backend.to_vector(result)
    if _backend.tensor_dtype(result) != dtype_name:
        result = _backend.cast(result, dtype_name)
    return result


def _reduce_t(t, fn, axis, keepdims, exclude):
    shape = tuple(t.shape)
    axes = reduce_axes(axis, shape, exclude)
    name = _backend.tensor_dtype(t)
    if axes is None and keepdims:
        axes = tuple(range(len(shape)))  # explicit: keepdims is lost with None on torch
    if axes == ():
        return t
    return _finish(fn(t, axis=axes, keepdims=keepdims), name)


def _mean(t, axis, keepdims):
    if not _backend.is_integer(t):
        return ops.mean(t, axis=axis, keepdims=keepdims)
    total = ops.sum(t, axis=axis, keepdims=keepdims)
    shape = _backend.dims(t)  # scalar tensors for a traced batch's dims
    count = _backend.prod(shape[a] for a in (axis if axis is not None else range(len(shape))))
    if _backend.is_tensor(count):
        count = _backend.cast(count, _backend.tensor_dtype(t))
    return _backend.trunc_div(_backend.cast(total, _backend.tensor_dtype(t)), count)


def _nansum(t, axis, keepdims):
    if not _backend.is_integer(t):
        t = ops.where(ops.isnan(t), ops.zeros_like(t), t)
    return ops.sum(t, axis=axis, keepdims=keepdims)


def _nanprod(t, axis, keepdims):
    if not _backend.is_integer(t):
        t = ops.where(ops.isnan(t), ops.ones_like(t), t)
    return ops.prod(t, axis=axis, keepdims=keepdims)


def _reduction(fn, op_name):
    def op(data=None, axis=None, keepdims=False, exclude=False, out=None, name=None, **kwargs):
        result = apply(_reduce_t, data, fn=fn, axis=axis, keepdims=bool(keepdims),
                       exclude=bool(exclude))
        return deliver(result, out)

    op.__name__ = op.__qualname__ = op_name
    return op


sum = _reduction(ops.sum, "sum")  # noqa: A001  (MXNet's names)
mean = _reduction(_mean, "mean")
max = _reduction(ops.max, "max")  # noqa: A001
min = _reduction(ops.min, "min")  # noqa: A001
prod = _reduction(ops.prod, "prod")
nansum = _reduction(_nansum, "nansum")
nanprod = _reduction(_nanprod, "nanprod")


def _arg_t(t, fn, axis, keepdims):
    name = _backend.tensor_dtype(t)
    shape = tuple(t.shape)
    if axis is None:
        result = fn(_backend.reshape(t, (-1,)), axis=0)
        result = _backend.reshape(result, (1,) * len(shape) if keepdims else (1,))
        return _backend.cast(result, name)
    (axis,) = reduce_axes(axis, shape)
    return _finish(fn(t, axis=axis, keepdims=keepdims), name)


def argmax(data=None, axis=None, keepdims=False, out=None, name=None, **kwargs):
    """Index of the maximum along ``axis`` (first one on ties), in the input's dtype."""
    return deliver(apply(_arg_t, data, fn=ops.argmax, axis=axis, keepdims=bool(keepdims)), out)


def argmin(data=None, axis=None, keepdims=False, out=None, name=None, **kwargs):
    """Index of the minimum along ``axis`` (first one on ties), in the input's dtype."""
    return deliver(apply(_arg_t, data, fn=ops.argmin, axis=axis, keepdims=bool(keepdims)), out)


def argmax_channel(data=None, out=None, name=None, **kwargs):
    """``argmax`` along the last axis."""
    return argmax(data, axis=-1, out=out)


def _moments_t(t, axes, keepdims):
    axes = reduce_axes(axes, tuple(t.shape))
    mean_ = ops.mean(t, axis=axes, keepdims=True)
    var = ops.mean(ops.square(t - mean_), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean_ = ops.squeeze(mean_, axis=axes) if axes is not None else _backend.reshape(mean_, ())
    return [_finish(mean_, _backend.tensor_dtype(t)), _finish(var, _backend.tensor_dtype(t))]


def moments(data=None, axes=None, keepdims=False, out=None, name=None, **kwargs):
    """``[mean, variance]`` over ``axes``."""
    return apply(_moments_t, data, axes=axes, keepdims=bool(keepdims))


def _cumsum_t(t, axis, dtype):
    if axis is None:
        t, axis = _backend.reshape(t, (-1,)), 0
    result = ops.cumsum(t, axis=axis)
    return _backend.cast(result, dtype or _backend.tensor_dtype(t))


def cumsum(a=None, axis=None, dtype=None, out=None, name=None, **kwargs):
    """Running sums along ``axis`` (None: of the flattened array)."""
    return deliver(apply(_cumsum_t, a, axis=axis, dtype=_backend.dtype_name(dtype)), out)
