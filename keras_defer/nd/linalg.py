"""``dot``, ``batch_dot`` and ``norm`` with MXNet 1.x's shapes.

``dot`` of N-D arrays contracts the last axis of ``lhs`` with the first of ``rhs``
(output ``lhs.shape[:-1] + rhs.shape[1:]``); ``transpose_a``/``transpose_b`` reverse
all axes of an operand first; the dot of two vectors has shape ``(1,)``. ``norm`` is
the L2 (or L1) norm over all elements or over ``axis``, a scalar again being ``(1,)``.
"""

import keras

from keras_defer import backend
from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.math import operands
from keras_defer.nd.ndarray import apply, deliver
from keras_defer.nd.reduce import reduce_axes

ops = keras.ops

__all__ = ["dot", "batch_dot", "norm"]


def _shape_text(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


def _reversed_axes(t):
    return ops.transpose(t, tuple(reversed(range(len(t.shape)))))


def _dot_t(lhs, rhs, transpose_a, transpose_b):
    lhs, rhs = operands(lhs, rhs)
    a_shape, b_shape = lhs.shape, rhs.shape
    if (len(a_shape) == 2 and len(b_shape) == 2 and not transpose_a and not transpose_b
            and a_shape[1] == b_shape[0]):
        return backend.matmul(lhs, rhs)  # the common case, with no more shape work
    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    a = _reversed_axes(lhs) if transpose_a else lhs
    b = _reversed_axes(rhs) if transpose_b else rhs
    if tuple(a.shape)[-1] != tuple(b.shape)[0]:
        raise MXNetError(
            "Check failed: L[!Ta].Size() == R[Tb].Size() (%d vs. %d) : dot shape error: "
            "%s X %s" % (tuple(a.shape)[-1], tuple(b.shape)[0], _shape_text(a_shape),
                         _shape_text(b_shape)))
    if len(a.shape) == 2 and len(b.shape) == 2:
        return backend.matmul(a, b)
    result = ops.tensordot(a, b, axes=1)
    return _backend.to_vector(result) if len(result.shape) == 0 else result


def dot(lhs=None, rhs=None, transpose_a=False, transpose_b=False, forward_stype=None,
        out=None, name=None, **kwargs):
    """The dot product of two arrays (matrix product for 2-D ones)."""
    return deliver(apply(_dot_t, lhs, rhs, transpose_a=bool(transpose_a),
                         transpose_b=bool(transpose_b)), out)


def _batch_dot_t(lhs, rhs, transpose_a, transpose_b):
    lhs, rhs = operands(lhs, rhs)
    a = ops.swapaxes(lhs, -1, -2) if transpose_a else lhs
    b = ops.swapaxes(rhs, -1, -2) if transpose_b else rhs
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    if len(a_shape) < 3 or a_shape[:-2] != b_shape[:-2] or a_shape[-1] != b_shape[-2]:
        raise MXNetError("batch_dot shape error: lhs %s rhs %s (transpose_a=%s, "
                         "transpose_b=%s)" % (_shape_text(lhs.shape), _shape_text(rhs.shape),
                                              transpose_a, transpose_b))
    return ops.matmul(a, b)


def batch_dot(lhs=None, rhs=None, transpose_a=False, transpose_b=False, forward_stype=None,
              out=None, name=None, **kwargs):
    """Matrix products of matching batches: ``(B, n, k) x (B, k, m) -> (B, n, m)``."""
    return deliver(apply(_batch_dot_t, lhs, rhs, transpose_a=bool(transpose_a),
                         transpose_b=bool(transpose_b)), out)


#: Up to this many reduced elements, the L2 norm runs MXNet's own sequential algorithm
#: (bit-identical results: ``nd.arange(12).norm()`` prints 22.494442 as in MXNet, not
#: the correctly rounded 22.494444); above it, the same scaling, vectorized.
SEQUENTIAL_NORM_MAX = 16


def _l2(x, axes, keepdims):
    """MXNet's ``nrm2`` reducer: ``scale * sqrt(sum((x / scale)²))``, scale = max |x|.

    The scaling keeps large values from overflowing; MXNet accumulates element by
    element, rescaling whenever a larger magnitude comes, and so do we for short
    reductions.
    """
    static, shape = tuple(x.shape), _backend.dims(x)  # tensors for a traced batch's dims
    kept = [a for a in range(len(shape)) if a not in axes]
    # a reduction over an unknown dim (a traced batch) has no static count: vectorized
    count = None if any(static[a] is None for a in axes) else _backend.prod(
        static[a] for a in axes)
    out_shape = tuple(1 if a in axes else d for a, d in enumerate(shape)) if keepdims \
        else tuple(shape[a] for a in kept)
    a = ops.abs(_backend.reshape(ops.transpose(x, kept + list(axes)),
                            tuple(shape[k] for k in kept) + (-1 if count is None else count,)))
    if count is None or count > SEQUENTIAL_NORM_MAX:
        scale = ops.max(a, axis=-1)
        safe = ops.where(scale > 0, scale, ops.ones_like(scale))
        ssq = ops.sum(ops.square(a / ops.expand_dims(safe, -1)), axis=-1)
        return _backend.reshape(scale * _backend.exact_sqrt(ssq), out_shape)
    zero = ops.zeros_like(a[..., 0])
    one = ops.ones_like(zero)
    scale, ssq = zero, zero
    for i in range(count):
        ai = a[..., i]
        nonzero = ai != 0
        grows = ops.logical_and(nonzero, scale < ai)
        ratio = scale / ops.where(nonzero, ai, one)
        shrunk = ai / ops.where(scale > 0, scale, one)
        ssq = ops.where(grows, one + ssq * ratio * ratio,
                        ops.where(nonzero, ssq + shrunk * shrunk, ssq))
        scale = ops.where(grows, ai, scale)
    return _backend.reshape(scale * _backend.exact_sqrt(ssq), out_shape)


def _norm_t(t, ord, axis, keepdims, out_dtype):
    if ord not in (1, 2):
        raise MXNetError("norm: ord must be 1 or 2, got %r" % (ord,))
    name = _backend.tensor_dtype(t)
    x = _backend.cast(t, "float32") if _backend.is_integer(t) else t
    axes = reduce_axes(axis, tuple(t.shape))
    if axes is None:
        axes = tuple(range(len(t.shape)))
    if ord == 2:
        result = _l2(x, axes, keepdims)
    else:
        result = ops.sum(ops.abs(x), axis=axes, keepdims=keepdims)
    if len(result.shape) == 0:
        result = _backend.to_vector(result)
    target = _backend.dtype_name(out_dtype) or name
    return result if _backend.tensor_dtype(result) == target else _backend.cast(result, target)


def norm(data=None, ord=2, axis=None, out_dtype=None, keepdims=False, out=None, name=None,
         **kwargs):
    """The L2 (``ord=2``) or L1 norm of all elements, or along ``axis``."""
    return deliver(apply(_norm_t, data, ord=ord, axis=axis, keepdims=bool(keepdims),
                         out_dtype=out_dtype), out)
