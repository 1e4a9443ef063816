"""Shape ops: ``reshape`` (with MXNet's special codes), ``transpose``, ``expand_dims``,
``flatten``, ``concat``/``stack``/``split``, ``slice``/``slice_axis``, ``take``, ``pick``,
``one_hot``, ``tile``, ``repeat``, ``flip``, ``broadcast_*``, ``diag``, ``pad``.

Defaults are MXNet 1.9.1's, which are not numpy's: ``concat`` joins along ``dim=1``,
``split`` along ``axis=1``, ``flatten`` keeps the first axis and merges the rest,
``take`` and ``pick`` clip out-of-range indices instead of raising, ``squeeze`` of an
all-ones shape leaves ``(1,)``.
"""

import builtins

import keras
import numpy as np

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import apply, deliver

ops = keras.ops
_py_slice = builtins.slice

__all__ = [
    "reshape", "reshape_target", "reshape_like", "transpose", "swapaxes", "expand_dims",
    "squeeze", "flatten", "concat", "stack", "split", "split_v2", "slice", "slice_axis",
    "slice_like", "take", "pick", "one_hot", "tile", "repeat", "flip", "broadcast_to",
    "broadcast_axis", "broadcast_axes", "broadcast_like", "diag", "pad", "shape_array",
    "size_array", "strided_slice",
]


def _shape_text(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


# ---------------------------------------------------------------------- reshape


def infer_reshape(dshape, codes, reverse=False):
    """MXNet's ``InferReshapeShape``: the target shape that ``codes`` describe.

    ``0`` copies an input dim, ``-1`` infers one dim, ``-2`` copies all remaining input
    dims, ``-3`` merges two input dims, ``-4 a b`` splits one input dim into ``a, b``
    (one of them may be -1). ``reverse`` applies the codes from the right.
    """
    dshape = list(dshape)
    codes = [int(c) for c in codes]
    for c in codes:
        if c < -4:
            raise MXNetError(
                "Check failed: dim_size >= -1 (%d vs. -1) : shape dim size must be >= -1, "
                "while received %d" % (c, c))
    if reverse:
        dshape.reverse()
        codes.reverse()
    out = []
    src = 0
    inferred = -1
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            if src >= len(dshape):
                raise MXNetError("Check failed: src_idx < dshape_len (%d vs. %d) : "
                                 % (src, len(dshape)))
            out.append(dshape[src])
            src += 1
        elif code == -1:
            if inferred >= 0:
                raise MXNetError("Check failed: inf_idx < 0 (0 vs. 0) : One and only one "
                                 "dim can be inferred")
            # MXNet remembers the position of the code, not of the output dim: after a
            # -2, -3 or -4 the inferred size lands elsewhere (or nowhere), and the size
            # check that follows rejects the shape. Ported code relies on the errors.
            inferred = i
            out.append(1)
            src += 1
        elif code == -2:
            out.extend(dshape[src:])
            src = len(dshape)
        elif code == -3:
            if src >= len(dshape) - 1:
                raise MXNetError("Check failed: src_idx < dshape_len-1 (%d vs. %d) : "
                                 % (src, len(dshape) - 1))
            out.append(dshape[src] * dshape[src + 1])
            src += 2
        elif code == -4:
            if i + 2 >= len(codes) or src >= len(dshape):
                raise MXNetError("Check failed: i + 2 < params_len : reshape code -4 needs "
                                 "two dims after it and an input dim to split")
            d0 = dshape[src]
            src += 1
            d1, d2 = codes[i + 1], codes[i + 2]
            i += 2
            if d1 == -1 and d2 == -1:
                raise MXNetError("Split dims cannot both be -1.")
            if d1 == -1:
                d1 = d0 // d2
            if d2 == -1:
                d2 = d0 // d1
            if d1 * d2 != d0:
                raise MXNetError("Split dims %d, %d do not divide original dim %d"
                                 % (d1, d2, d0))
            out.extend([d1, d2])
        else:
            out.append(code)
            src += 1
        i += 1
    if 0 <= inferred < len(out):
        known = _backend.prod(out)
        out[inferred] = _backend.prod(dshape) // known if known else 0
    if reverse:
        out.reverse()
    return tuple(out)


def reshape_target(dshape, codes, reverse=False, method=False):
    """The checked target shape of a reshape (``method``: NDArray.reshape's errors)."""
    if isinstance(codes, (int, np.integer)):
        codes = (codes,)
    target = infer_reshape(dshape, codes, reverse)
    size, new_size = _backend.prod(dshape), _backend.prod(target)
    if new_size > size:
        raise MXNetError(
            "NDArray.Reshape: Check failed: shape_.Size() >= shape.Size() (%d vs. %d) : "
            "target shape size is larger than the current shape" % (size, new_size))
    if new_size < size:
        if method:
            raise ValueError("Cannot reshape array of size {} into shape {}".format(size, codes))
        raise MXNetError("Check failed: oshape.Size() == dshape.Size(): Target shape size "
                         "is different to source. Target: %s Source: %s"
                         % (_shape_text(target), _shape_text(dshape)))
    return target


def unknown_target(static, dynamic, codes, reverse=False):
    """``infer_reshape`` for an input whose dims are partly unknown until run time.

    ``static`` is the input's static shape (None: unknown, a traced batch),
    ``dynamic`` the same dims with a scalar tensor for each unknown one
    (``_backend.dims``). A code may be None too: another traced array's unknown dim
    (``x.reshape(y.shape)``, MXNet's own ``_reshape_like`` in its losses). The only
    None code, with no -1 beside it, is inferred (-1); otherwise a None code stands
    for the input's unknown dim at that place (``x.reshape((x.shape[0], -1))``).
    Returns ``(target, shape)``: the target for the backend's reshape (ints, scalar
    tensors, at most one -1) and the static result shape (None where unknown). A -1
    whose size the unknown dims cancel out of (``(0, -1)`` of ``(None, 2, 2)``) is
    resolved here, so later ops (a Dense) see it. Sizes are checked by the backend
    when the graph runs."""
    codes = [c if c is None else int(c) for c in codes]
    unknown = [i for i, c in enumerate(codes) if c is None]
    if len(unknown) == 1 and -1 not in codes:
        codes[unknown[0]] = -1
    static, dynamic = list(static), list(dynamic)
    if reverse:
        static.reverse()
        dynamic.reverse()
        codes.reverse()
    # each output dim: its static size (None: unknown), its run-time size, and what it
    # is a product of: (known factor, the unknown input dims), or None when opaque
    out_s, out_d, out_f = [], [], []

    def copy(j):
        out_s.append(static[j])
        out_d.append(dynamic[j])
        out_f.append((1, frozenset([j])) if static[j] is None else (static[j], frozenset()))

    def known(d):
        out_s.append(d)
        out_d.append(d)
        out_f.append((d, frozenset()))

    src, inferred, i = 0, -1, 0
    while i < len(codes):
        code = codes[i]
        if code is None:
            if src >= len(static) or static[src] is not None:
                raise MXNetError(
                    "reshape: the target shape %s has more than one dim unknown until "
                    "run time (None), and the input's dim %d is not one: pass 0 (copy "
                    "the input's dim) or -1 (infer it) for such dims"
                    % (_shape_text(codes), src))
            code = 0
        if code < -4:
            raise MXNetError(
                "Check failed: dim_size >= -1 (%d vs. -1) : shape dim size must be >= -1, "
                "while received %d" % (code, code))
        if code == 0:
            if src >= len(static):
                raise MXNetError("Check failed: src_idx < dshape_len (%d vs. %d) : "
                                 % (src, len(static)))
            copy(src)
            src += 1
        elif code == -1:
            if inferred >= 0:
                raise MXNetError("Check failed: inf_idx < 0 (0 vs. 0) : One and only one "
                                 "dim can be inferred")
            inferred = i  # MXNet's quirk: the code's position (infer_reshape)
            known(1)
            src += 1
        elif code == -2:
            for j in range(src, len(static)):
                copy(j)
            src = len(static)
        elif code == -3:
            if src >= len(static) - 1:
                raise MXNetError("Check failed: src_idx < dshape_len-1 (%d vs. %d) : "
                                 % (src, len(static) - 1))
            copy(src)
            copy(src + 1)
            (ka, ua), (kb, ub) = out_f.pop(), out_f.pop()
            b, a = out_s.pop(), out_s.pop()
            db, da = out_d.pop(), out_d.pop()
            out_s.append(None if a is None or b is None else a * b)
            out_d.append(da * db)
            out_f.append((ka * kb, ua | ub))
            src += 2
        elif code == -4:
            if i + 2 >= len(codes) or src >= len(static) or None in codes[i + 1:i + 3]:
                raise MXNetError("Check failed: i + 2 < params_len : reshape code -4 needs "
                                 "two dims after it and an input dim to split")
            d0s, d0d = static[src], dynamic[src]
            src += 1
            d1, d2 = codes[i + 1], codes[i + 2]
            i += 2
            if d1 == -1 and d2 == -1:
                raise MXNetError("Split dims cannot both be -1.")
            for this, other in ((d1, d2), (d2, d1)):
                if this != -1:
                    known(this)
                elif d0s is not None:
                    known(d0s // other)
                else:  # a part of an unknown dim
                    out_s.append(None)
                    out_d.append(d0d // other)
                    out_f.append(None)
        else:
            known(code)
            src += 1
        i += 1
    if 0 <= inferred < len(out_d):
        out_s[inferred] = _inferred_size(static, out_f[:inferred] + out_f[inferred + 1:])
        out_d[inferred] = -1 if out_s[inferred] is None else out_s[inferred]
    if reverse:
        out_s.reverse()
        out_d.reverse()
    return out_d, tuple(out_s)


def _inferred_size(static, others):
    """The size of a reshape's -1 (``unknown_target``), or None where it depends on
    an input dim unknown until run time."""
    if any(f is None for f in others):
        return None
    unknown = [u for _, u in others]
    used = frozenset().union(*unknown)
    if sum(len(u) for u in unknown) != len(used) or used != frozenset(
            j for j, d in enumerate(static) if d is None):
        return None
    known_in = _backend.prod(d for d in static if d is not None)
    known_out = _backend.prod(k for k, _ in others)
    return known_in // known_out if known_out else 0


def needs_unknown_target(static, codes):
    """Whether a reshape has dims unknown until run time (``unknown_target``)."""
    if isinstance(codes, (int, np.integer)):
        return None in static
    return None in static or any(c is None for c in codes)


def _reshape_t(t, shape, reverse):
    static = tuple(t.shape)
    if needs_unknown_target(static, shape):
        return _backend.reshape(t, unknown_target(static, _backend.dims(t), shape, reverse)[0])
    return _backend.reshape(t, reshape_target(static, shape, reverse))


def reshape(data=None, shape=None, reverse=False, out=None, name=None, **kwargs):
    """A reshaped copy (``NDArray.reshape`` returns a view instead)."""
    return deliver(apply(_reshape_t, data, shape=tuple(shape) if not isinstance(shape, int)
                         else (shape,), reverse=bool(reverse)), out)


Reshape = reshape


def _reshape_like_t(lhs, rhs):
    if None in tuple(lhs.shape) or None in tuple(rhs.shape):  # a traced batch
        return _backend.reshape(lhs, _backend.dims(rhs))
    if _backend.prod(lhs.shape) != _backend.prod(rhs.shape):
        raise MXNetError("reshape_like: sizes of %s and %s differ"
                         % (_shape_text(lhs.shape), _shape_text(rhs.shape)))
    return _backend.reshape(lhs, tuple(rhs.shape))


def reshape_like(lhs=None, rhs=None, out=None, name=None, **kwargs):
    return deliver(apply(_reshape_like_t, lhs, rhs), out)


# -------------------------------------------------------------- axes and layout


def _axis(axis, ndim, extra=0):
    """``axis`` in ``[-ndim - extra, ndim + extra)``, made non-negative."""
    if not -(ndim + extra) <= axis < ndim + extra:
        raise MXNetError("axis %d is out of range for an array with %d dimensions"
                         % (axis, ndim))
    return axis % (ndim + extra)


def _transpose_t(t, axes):
    if not axes:
        axes = tuple(reversed(range(len(t.shape))))
    return ops.transpose(t, axes)


def transpose(data=None, axes=None, out=None, name=None, **kwargs):
    if axes is not None and not isinstance(axes, (tuple, list)):
        raise TypeError("object of type '%s' has no len()" % type(axes).__name__)
    return deliver(apply(_transpose_t, data, axes=tuple(axes) if axes else None), out)


def _swapaxes_t(t, dim1, dim2):
    return ops.swapaxes(t, dim1, dim2)


def swapaxes(data=None, dim1=0, dim2=0, out=None, name=None, **kwargs):
    return deliver(apply(_swapaxes_t, data, dim1=dim1, dim2=dim2), out)


SwapAxis = swapaxes


def _expand_dims_t(t, axis):
    return ops.expand_dims(t, _axis(axis, len(t.shape), extra=1))


def expand_dims(data=None, axis=None, out=None, name=None, **kwargs):
    return deliver(apply(_expand_dims_t, data, axis=int(axis)), out)


def _squeeze_t(t, axis):
    shape = tuple(t.shape)
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = tuple(_axis(a, len(shape)) for a in ((axis,) if isinstance(axis, int) else axis))
        for a in axes:
            if shape[a] is not None and shape[a] != 1:
                raise MXNetError("Check failed: dshape[axes[i]] == 1 (%d vs. 1) : cannot "
                                 "select an axis to squeeze out which has size=%d not "
                                 "equal to one" % (shape[a], shape[a]))
    dims = _backend.dims(t)  # a traced batch's dim is kept: its size is not known
    new_shape = tuple(d for i, d in enumerate(dims) if i not in axes) or (1,)
    return _backend.reshape(t, new_shape)


def squeeze(data=None, axis=None, out=None, name=None, **kwargs):
    return deliver(apply(_squeeze_t, data, axis=axis), out)


def _flatten_t(t):
    shape = tuple(t.shape)
    if not shape:
        return _backend.reshape(t, (1, 1))
    if None in shape:  # a traced batch
        rest = _backend.prod(shape[1:]) if None not in shape[1:] else -1
        return _backend.reshape(t, (_backend.dims(t)[0], rest))
    return _backend.reshape(t, (shape[0], _backend.prod(shape[1:])))


def flatten(data=None, out=None, name=None, **kwargs):
    """2-D: the first axis kept, the others merged (a 1-D ``(n,)`` becomes ``(n, 1)``)."""
    return deliver(apply(_flatten_t, data), out)


Flatten = flatten


def _flip_t(t, axis):
    return ops.flip(t, axis=axis)


def flip(data=None, axis=None, out=None, name=None, **kwargs):
    return deliver(apply(_flip_t, data, axis=axis), out)


reverse = flip


# ------------------------------------------------------------ join and split


def _arrays(data):
    if len(data) == 1 and isinstance(data[0], (list, tuple)):
        return tuple(data[0])
    return data


def _check_same_dtype(tensors):
    first = tensors[0]
    for t in tensors[1:]:
        if t.dtype != first.dtype:
            raise MXNetError(
                "Check failed: assign(&dattr, vec.at(i)): Incompatible attr in node at "
                "1-th input: expected %s, got %s"
                % (_backend.tensor_dtype(first), _backend.tensor_dtype(t)))


def _as_tensors(tensors):
    first = next((t for t in tensors if _backend.is_tensor(t)), None)
    dtype = _backend.tensor_dtype(first) if first is not None else "float32"
    return [t if _backend.is_tensor(t) else ops.convert_to_tensor(np.asarray(t, dtype=dtype))
            for t in tensors]


def _concat_t(*tensors, dim):
    tensors = _as_tensors(tensors)
    _check_same_dtype(tensors)
    shape = tuple(tensors[0].shape)
    dim = _axis(dim, len(shape))
    for t in tensors[1:]:
        other = tuple(t.shape)
        if len(other) != len(shape) or any(
                a != b for i, (a, b) in enumerate(zip(shape, other)) if i != dim):
            expected = list(shape)
            expected[dim] = -1
            raise MXNetError(
                "Check failed: shape_assign(&(*in_shape)[i], dshape): Incompatible input "
                "shape: expected %s, got %s" % (_shape_text(expected), _shape_text(other)))
    if len(tensors) == 1:
        return _backend.copy(tensors[0])
    return ops.concatenate(tensors, axis=dim)


def concat(*data, dim=1, out=None, name=None, **kwargs):
    """Join arrays along ``dim`` (default 1, MXNet's)."""
    return deliver(apply(_concat_t, *_arrays(data), dim=dim), out)


Concat = concat


def _stack_t(*tensors, axis):
    tensors = _as_tensors(tensors)
    _check_same_dtype(tensors)
    shape = tuple(tensors[0].shape)
    for t in tensors[1:]:
        if tuple(t.shape) != shape:
            raise MXNetError("Check failed: shape_assign(&dshape, in_shape[i]): Incompatible "
                             "input shape: expected %s, got %s"
                             % (_shape_text(shape), _shape_text(t.shape)))
    return ops.stack(tensors, axis=_axis(axis, len(shape), extra=1))


def stack(*data, axis=0, out=None, name=None, **kwargs):
    """Join arrays of one shape along a new ``axis``."""
    return deliver(apply(_stack_t, *_arrays(data), axis=axis), out)


def _split_t(t, num_outputs, axis, squeeze_axis):
    shape = tuple(t.shape)
    axis = _axis(axis, len(shape))
    if num_outputs < 1 or (shape[axis] is not None and shape[axis] % num_outputs):
        raise MXNetError(
            "Check failed: dshape[real_axis] %% param_.num_outputs == 0U (%d vs. 0) : You "
            "are trying to split the %d-th axis of input tensor with shape %s into "
            "num_outputs=%d evenly sized chunks, but this is not possible because %d is "
            "not a multiple of %d." % (shape[axis] % max(num_outputs, 1), axis,
                                       _shape_text(shape), num_outputs, shape[axis],
                                       num_outputs))
    parts = ops.split(t, num_outputs, axis=axis)
    if squeeze_axis:
        if shape[axis] is not None and shape[axis] != num_outputs:
            raise MXNetError("squeeze_axis needs the split axis to have num_outputs elements")
        parts = [ops.squeeze(p, axis=axis) for p in parts]
    return list(parts)


def split(data=None, num_outputs=None, axis=1, squeeze_axis=False, out=None, name=None,
          **kwargs):
    """``num_outputs`` equal parts along ``axis`` (default 1): a list, or one array."""
    parts = apply(_split_t, data, num_outputs=int(num_outputs), axis=axis,
                  squeeze_axis=bool(squeeze_axis))
    return parts[0] if len(parts) == 1 else parts


SliceChannel = split


def _split_v2_t(t, indices_or_sections, axis, squeeze_axis):
    axis = _axis(axis, len(t.shape))
    if isinstance(indices_or_sections, int):
        parts = ops.split(t, indices_or_sections, axis=axis)
    else:
        parts = ops.split(t, list(indices_or_sections), axis=axis)
    if squeeze_axis:
        parts = [ops.squeeze(p, axis=axis) for p in parts]
    return list(parts)


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """numpy-style split: a number of sections or the indices to cut at."""
    parts = apply(_split_v2_t, ary, indices_or_sections=indices_or_sections, axis=axis,
                  squeeze_axis=bool(squeeze_axis))
    return parts[0] if len(parts) == 1 else parts


# ----------------------------------------------------------------- slicing


def strided_slice(t, slices):
    """``t[slices]`` for Python slices, negative steps included on every backend."""
    return _backend.strided_slice(t, tuple(slices))


def _slice_t(t, begin, end, step):
    shape = tuple(t.shape)
    if len(begin) != len(end) or (step and len(step) != len(begin)):
        raise MXNetError("slice: begin, end and step must have the same length")
    if len(begin) > len(shape):
        raise MXNetError("slice: begin has more entries (%d) than the array has axes (%d)"
                         % (len(begin), len(shape)))
    slices = []
    for i in range(len(begin)):
        st = step[i] if step else None
        if st == 0:
            raise MXNetError("slice: step cannot be 0")
        slices.append(_py_slice(begin[i], end[i], st))
    return strided_slice(t, slices)


def slice(data=None, begin=None, end=None, step=None, out=None, name=None, **kwargs):  # noqa: A001
    """``data[begin[0]:end[0]:step[0], ...]``; ``None`` entries take the defaults."""
    return deliver(apply(_slice_t, data, begin=tuple(begin), end=tuple(end),
                         step=tuple(step) if step else ()), out)


crop = slice


def _slice_axis_t(t, axis, begin, end):
    ndim = len(t.shape)
    axis = _axis(axis, ndim)
    key = [_py_slice(None)] * ndim
    key[axis] = _py_slice(begin, end)
    return t[tuple(key)]


def slice_axis(data=None, axis=None, begin=None, end=None, out=None, name=None, **kwargs):
    """``data`` from ``begin`` to ``end`` (None: the end) along ``axis``."""
    return deliver(apply(_slice_axis_t, data, axis=axis, begin=begin, end=end), out)


def _slice_like_t(t, like, axes):
    shape, target = tuple(t.shape), _backend.dims(like)
    axes = range(len(shape)) if not axes else [_axis(a, len(shape)) for a in axes]
    key = [_py_slice(None)] * len(shape)
    for a in axes:
        if a < len(target):
            key[a] = _py_slice(0, target[a])
    return t[tuple(key)]


def slice_like(data=None, shape_like=None, axes=(), out=None, name=None, **kwargs):
    return deliver(apply(_slice_like_t, data, shape_like, axes=tuple(axes)), out)


# ------------------------------------------------------------- gather ops


def _index_tensor(indices, n, mode):
    """Integer indices into an axis of length ``n``, clipped or wrapped as MXNet does."""
    idx = indices if _backend.is_tensor(indices) else ops.convert_to_tensor(np.asarray(indices))
    if not _backend.is_integer(idx):
        idx = _backend.cast(ops.floor(idx) if mode == "wrap" else idx, "int32")
    elif _backend.tensor_dtype(idx) != "int32":
        idx = _backend.cast(idx, "int32")
    if mode == "wrap":
        return ops.mod(idx, n)
    return ops.clip(idx, 0, n - 1)


def _take_t(t, indices, axis, mode):
    shape = _backend.dims(t)
    axis = _axis(axis, len(shape))
    idx = _index_tensor(indices, shape[axis], mode)
    return ops.take(t, idx, axis=axis)


def take(a=None, indices=None, axis=0, mode="clip", out=None, name=None, **kwargs):
    """Slices of ``a`` along ``axis`` at ``indices`` (out-of-range: clipped, or wrapped)."""
    return deliver(apply(_take_t, a, indices, axis=axis, mode=mode), out)


def _pick_t(t, index, axis, keepdims, mode):
    shape = _backend.dims(t)  # scalar tensors for a traced batch's dims
    axis = _axis(axis, len(shape))
    idx = _index_tensor(index, shape[axis], mode)
    idx = _backend.reshape(idx, shape[:axis] + (1,) + shape[axis + 1:])
    # a one-hot mask and a sum, not take_along_axis: TensorFlow's take_along_axis is
    # dozens of ops with a slow gradient (a loss's pick dominated a training step).
    # `where`, not a product, so an inf or nan elsewhere in the row stays out.
    positions = ops.arange(shape[axis], dtype=_backend.tensor_dtype(idx))
    positions = _backend.reshape(positions, (1,) * axis + (shape[axis],)
                                 + (1,) * (len(shape) - axis - 1))
    hit = ops.equal(idx, positions)
    picked = ops.sum(ops.where(hit, t, ops.zeros((), dtype=t.dtype)), axis=axis, keepdims=True)
    if keepdims:
        return picked
    return _backend.reshape(picked, shape[:axis] + shape[axis + 1:] or (1,))


def pick(data=None, index=None, axis=-1, keepdims=False, mode="clip", out=None, name=None,
         **kwargs):
    """``data[i, index[i]]`` along ``axis``: one element per position of ``index``."""
    return deliver(apply(_pick_t, data, index, axis=axis, keepdims=bool(keepdims), mode=mode),
                   out)


def _one_hot_t(indices, depth, on_value, off_value, dtype):
    idx = indices if _backend.is_tensor(indices) else ops.convert_to_tensor(np.asarray(indices))
    if not _backend.is_integer(idx):
        idx = _backend.cast(idx, "int32")
    hit = ops.equal(ops.expand_dims(idx, -1), ops.arange(depth, dtype=_backend.tensor_dtype(idx)))
    on = ops.full((), on_value, dtype=dtype)
    off = ops.full((), off_value, dtype=dtype)
    return ops.where(hit, on, off)


def one_hot(indices=None, depth=None, on_value=1.0, off_value=0.0, dtype="float32", out=None,
            name=None, **kwargs):
    """``indices`` as one-hot rows of length ``depth`` (out-of-range: all ``off_value``)."""
    return deliver(apply(_one_hot_t, indices, depth=int(depth), on_value=on_value,
                         off_value=off_value, dtype=_backend.dtype_name(dtype)), out)


# ---------------------------------------------------------- repeat and tile


def _tile_t(t, reps):
    return ops.tile(t, reps)


def tile(data=None, reps=None, out=None, name=None, **kwargs):
    return deliver(apply(_tile_t, data, reps=tuple(reps)), out)


def _repeat_t(t, repeats, axis):
    if axis is None:
        t = _backend.reshape(t, (-1,))
        axis = 0
    return ops.repeat(t, repeats, axis=axis)


def repeat(data=None, repeats=None, axis=None, out=None, name=None, **kwargs):
    """Each element ``repeats`` times along ``axis`` (None: of the flattened array)."""
    return deliver(apply(_repeat_t, data, repeats=int(repeats), axis=axis), out)


# ---------------------------------------------------------------- broadcast


def _broadcast_error(shape, target):
    return ValueError(
        "operands could not be broadcast together with remapped shapes"
        "[original->remapped]: {} and requested shape {}".format(shape, target))


def _broadcast_to_t(t, shape, strict):
    current = tuple(t.shape)
    if None in current or any(d is None or _backend.is_tensor(d) for d in shape):
        return _broadcast_unknown(t, shape)
    target = tuple(current[i] if d == 0 and i < len(current) else d
                   for i, d in enumerate(shape))
    if len(target) < len(current):
        raise _broadcast_error(current, target) if strict else MXNetError(
            "broadcast_to: cannot broadcast %s to %s" % (current, target))
    padded = (1,) * (len(target) - len(current)) + current
    for have, want in zip(padded, target):
        if have != want and have != 1:
            if strict:
                raise _broadcast_error(current, target)
            raise MXNetError("Check failed: src_shape[i] == 1 (%d vs. 1) : Input shape %s and "
                             "target shape %s are not broadcastable"
                             % (have, _shape_text(current), _shape_text(target)))
    if padded != current:
        t = _backend.reshape(t, padded)
    return ops.broadcast_to(t, target)


def _broadcast_unknown(t, shape):
    """``_broadcast_to_t`` with dims unknown until run time (a traced batch): 0, or a
    None where the input's dim is unknown too, keeps the input's dim; the backend
    checks the rest when the graph runs."""
    current, dims = tuple(t.shape), _backend.dims(t)
    extra = len(shape) - len(current)
    if extra < 0:
        raise MXNetError("broadcast_to: cannot broadcast %s to %s" % (current, tuple(shape)))
    target = []
    for i, d in enumerate(shape):
        j = i - extra
        if _backend.is_tensor(d):  # another array's dim (broadcast_like)
            target.append(d)
        elif (d is None or d == 0) and j >= 0:
            if d is None and current[j] is not None:
                raise MXNetError(
                    "broadcast_to: the target shape %s has a dim unknown until run time "
                    "(None) where the input %s has a known one; use broadcast_like(x, y) "
                    "to take the dims of another array" % (tuple(shape), current))
            target.append(dims[j])
        elif d is None:
            raise MXNetError("broadcast_to: the target shape %s has a dim unknown until "
                             "run time (None); use broadcast_like" % (tuple(shape),))
        else:
            target.append(d)
    if extra:
        t = _backend.reshape(t, (1,) * extra + dims)
    return ops.broadcast_to(t, tuple(target))


def broadcast_to(data=None, shape=None, out=None, name=None, **kwargs):
    """``data`` repeated along its size-1 axes to ``shape`` (0 keeps that axis)."""
    return deliver(apply(_broadcast_to_t, data, shape=tuple(shape), strict=False), out)


def broadcast_to_method(data, shape):
    """``NDArray.broadcast_to``: errors are ValueErrors, as MXNet's method raises."""
    return apply(_broadcast_to_t, data, shape=tuple(shape), strict=True)


def _broadcast_axis_t(t, axis, size):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    sizes = (size,) if isinstance(size, int) else tuple(size)
    target, static = list(_backend.dims(t)), tuple(t.shape)
    for a, s in zip(axes, sizes):
        a = _axis(a, len(target))
        if static[a] is not None and static[a] != 1:
            raise MXNetError("broadcast_axis: axis %d has size %d, not 1" % (a, target[a]))
        target[a] = s
    return ops.broadcast_to(t, tuple(target))


def broadcast_axis(data=None, axis=(), size=(), out=None, name=None, **kwargs):
    """``data`` repeated ``size`` times along each size-1 ``axis``."""
    return deliver(apply(_broadcast_axis_t, data, axis=axis, size=size), out)


broadcast_axes = broadcast_axis


def _broadcast_like_t(lhs, rhs, lhs_axes, rhs_axes):
    rhs_shape = _backend.dims(rhs)  # scalar tensors for a traced batch's dims
    if lhs_axes is None:
        return _broadcast_to_t(lhs, rhs_shape, strict=False)
    target = list(_backend.dims(lhs))
    for la, ra in zip(lhs_axes, rhs_axes):
        target[la] = rhs_shape[ra]
    return _broadcast_to_t(lhs, tuple(target), strict=False)


def broadcast_like(lhs=None, rhs=None, lhs_axes=None, rhs_axes=None, out=None, name=None,
                   **kwargs):
    return deliver(apply(_broadcast_like_t, lhs, rhs, lhs_axes=lhs_axes, rhs_axes=rhs_axes), out)


# ------------------------------------------------------------------- misc


def _diag_t(t, k, axis1, axis2):
    if len(t.shape) == 1:
        return ops.diag(t, k=k)
    return ops.diagonal(t, offset=k, axis1=axis1, axis2=axis2)


def diag(data=None, k=0, axis1=0, axis2=1, out=None, name=None, **kwargs):
    """The ``k``-th diagonal of a matrix, or the matrix with a vector on it."""
    return deliver(apply(_diag_t, data, k=k, axis1=axis1, axis2=axis2), out)


def _pad_t(t, mode, pad_width, constant_value):
    pairs = [(pad_width[2 * i], pad_width[2 * i + 1]) for i in range(len(pad_width) // 2)]
    if mode == "constant":
        return ops.pad(t, pairs, mode="constant", constant_values=constant_value)
    return ops.pad(t, pairs, mode={"edge": "edge", "reflect": "reflect"}[mode])


def pad(data=None, mode="constant", pad_width=(), constant_value=0.0, out=None, name=None,
        **kwargs):
    """Pad with ``pad_width = (before_0, after_0, before_1, after_1, ...)``."""
    return deliver(apply(_pad_t, data, mode=mode, pad_width=tuple(pad_width),
                         constant_value=constant_value), out)


Pad = pad


def _shape_array_t(t):
    if None in tuple(t.shape):  # a traced batch
        return ops.stack([ops.cast(d, "int64") for d in _backend.dims(t)])
    return ops.convert_to_tensor(np.array(tuple(t.shape), dtype="int64"))


def shape_array(data=None, out=None, name=None, **kwargs):
    return deliver(apply(_shape_array_t, data), out)


def _size_array_t(t):
    if None in tuple(t.shape):  # a traced batch
        return ops.reshape(ops.cast(ops.size(t), "int64"), (1,))
    return ops.convert_to_tensor(np.array([_backend.prod(t.shape)], dtype="int64"))


def size_array(data=None, out=None, name=None, **kwargs):
    return deliver(apply(_size_array_t, data), out)

