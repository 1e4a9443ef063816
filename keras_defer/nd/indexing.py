"""MXNet 1.x indexing: ``x[key]`` and ``x[key] = value``.

Reading (``get_item``):

* basic keys (ints, slices, ``None``, ``...``) whose selection is contiguous in
  row-major memory give a *view*, as MXNet does (``x[0]``, ``x[1:3]``, ``x[1, 2:4]``):
  writing to the view writes to ``x``, and later writes to ``x`` show through; other
  basic keys (``x[:, 1]``, ``x[::2]``) give a copy;
* a result with no axes left has shape ``(1,)``: ``x[1]`` of a vector and ``x[1, 2]``
  of a matrix are ``(1,)`` arrays, never 0-d;
* ``x[:]`` is ``x`` itself;
* keys holding arrays (NDArrays, numpy arrays, lists) index as numpy's advanced
  indexing does, and always copy.

Writing (``set_item``) accepts the same keys and a scalar, an NDArray, a numpy array
or a list, broadcast to the selection and cast to ``x``'s dtype. Every write computes
the array's new tensor and stores it with ``x._data = ...``, so views and
variable-backed arrays pass it on to what they share.
"""

import keras
import numpy as np

from keras_defer.nd import _backend
from keras_defer.nd.ndarray import NDArray, _View, apply
from keras_defer.nd.shape import strided_slice

ops = keras.ops

__all__ = ["get_item", "set_item"]

_FULL = slice(None)
_NUMERIC = (int, float, bool, np.generic)


def _is_int(k):
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _is_array_key(k):
    return isinstance(k, (NDArray, np.ndarray, list, tuple, range)) or _backend.is_tensor(k)


# ------------------------------------------------------------------ key parsing


def _expand(key, ndim):
    """MXNet's ``indexing_key_expand_implicit_axes``: ``...`` and missing axes -> ``:``."""
    if not isinstance(key, tuple):
        key = (key,)
    ell = None
    num_none = 0
    entries = []
    for i, k in enumerate(key):
        if k is Ellipsis:
            if ell is not None:
                raise IndexError("Cannot use more than one ellipsis (`...`) for indexing")
            ell = len(entries)
            continue
        if isinstance(k, (bool, np.bool_)) or (
                isinstance(k, (NDArray, np.ndarray)) and k.dtype == np.bool_):
            raise ValueError(
                "Cannot perform boolean indexing in legacy mode. Please activate numpy "
                "semantics by calling `npx.set_np()` in the global scope before calling "
                "this function.")
        if k is None:
            num_none += 1
        elif isinstance(k, NDArray) and k.ndim == 0:
            k = int(k.asnumpy())
        entries.append(k)
    if ell is None:
        ell = len(entries)
    fill = ndim + num_none - len(entries)
    return tuple(entries[:ell]) + (_FULL,) * max(fill, 0) + tuple(entries[ell:])


def _is_advanced(key):
    advanced = False
    for k in key:
        if _is_array_key(k):
            advanced = True
        elif not (isinstance(k, slice) or _is_int(k) or k is None):
            raise ValueError(
                "NDArray does not support slicing with key {} of type {}.".format(k, type(k)))
    return advanced


def _check_count(key_nd, ndim):
    if len(key_nd) > ndim:
        raise IndexError("too many indices ({}) for array with {} dimensions"
                         .format(len(key_nd), ndim))


def _check_bounds(key_nd, shape):
    for axis, k in enumerate(key_nd):
        if _is_int(k) and not -shape[axis] <= k < shape[axis]:
            raise IndexError("index {} is out of bounds for axis {} with size {}"
                             .format(k, axis, shape[axis]))


def _int_slice(k):
    """The one-element slice at integer ``k`` (``-1`` -> ``slice(-1, None)``)."""
    k = int(k)
    return slice(k, k + 1 if k != -1 else None)


def _as_slice(k, n):
    """An int or slice as ``(start, count, step)`` on an axis of length ``n``."""
    if _is_int(k):
        k = int(k)
        start = k + n if k < 0 else k
        return start, 1, 1
    start, stop, step = k.indices(n)
    return start, len(range(start, stop, step)), step


def _contiguous(parts, shape):
    """MXNet's rule: right to left, once an axis is a proper subset, the rest hold <= 1."""
    total = _backend.prod(count for _, count, _ in parts)
    if total in (0, 1):
        return True
    subset = False
    for (start, count, step), n in zip(reversed(parts), reversed(shape)):
        if count == 0:
            return True
        if count > 1 and step != 1:
            return False
        if subset:
            if count > 1:
                return False
        elif count < n:
            subset = True
    return True


def _final_shape(key, parts):
    """The result's shape: integer axes dropped, ``None`` axes inserted, never ``()``."""
    out = []
    part = iter(parts)
    for k in key:
        if k is None:
            out.append(1)
            continue
        _, count, _ = next(part)
        if not _is_int(k):
            out.append(count)
    return tuple(out) or (1,)


# ---------------------------------------------------------------------- reading


def get_item(arr, key):
    if (key.__class__ is slice and key.start is None and key.stop is None
            and key.step in (None, 1)):  # MXNet: x[:] and x[::1] are x itself
        return arr
    if isinstance(key, tuple) and len(key) == 0:
        return arr
    shape = arr.shape
    if None in shape:  # a traced batch (hybridize on TensorFlow)
        return _get_unknown(arr, key)
    if _is_int(key):
        key = int(key)
        if not -shape[0] <= key < shape[0]:
            raise IndexError("index {} is out of bounds for axis 0 with size {}"
                             .format(key, shape[0]))
        return _at(arr, key % shape[0], shape)
    if isinstance(key, tuple) and len(key) == len(shape) and all(_is_int(k) for k in key):
        out = arr  # MXNet: x[i, j] is x[i][j] (so is its IndexError's axis)
        for k in key:
            out = out[k]
        return out
    if key.__class__ is slice and key.step == 0:
        raise ValueError("slice step cannot be zero")
    key = _expand(key, len(shape))
    if _is_advanced(key):
        return _advanced_get(arr, key, shape)
    key_nd = [k for k in key if k is not None]
    _check_count(key_nd, len(shape))
    _check_bounds(key_nd, shape)
    parts = [_as_slice(k, n) for k, n in zip(key_nd, shape)]
    final = _final_shape(key, parts)
    if _contiguous(parts, shape):
        return _box_view(arr, parts, final)
    slices = tuple(k if isinstance(k, slice) else _int_slice(k) for k in key_nd)
    return apply(_strided_copy, arr, slices=slices, shape=final)


def _get_unknown(arr, key):
    """``get_item`` of an array with dims unknown until run time (a hybridized
    block's traced batch): a copy, not a view (writing to a selection inside a
    ``hybrid_forward`` is not supported there); bounds on the unknown dims are the
    backend's to check when the graph runs. Array keys need the dims: ``take`` and
    ``pick`` work on a traced batch."""
    shape = arr.shape
    if key.__class__ is slice and key.step == 0:
        raise ValueError("slice step cannot be zero")
    key = _expand(key, len(shape))
    if _is_advanced(key):
        raise IndexError(
            "indexing with an array key needs every dim known, and this array's shape "
            "%s has dims unknown until run time (a hybridized block's batch); use "
            "nd.take or nd.pick instead" % (shape,))
    key_nd = [k for k in key if k is not None]
    _check_count(key_nd, len(shape))
    _check_bounds([k if shape[i] is not None else _FULL for i, k in enumerate(key_nd)],
                  shape)
    return apply(_unknown_read, arr, key=tuple(
        int(k) if _is_int(k) else k for k in key))


def _unknown_read(t, key):
    out = t[key]  # ints drop their axis, None inserts one, as numpy's basic indexing
    return _backend.to_vector(out) if len(out.shape) == 0 else out


def _strided_copy(t, slices, shape):
    return _backend.reshape(strided_slice(t, slices), shape)


def _at(arr, index, shape):
    """``x[i]``: a view of row ``i`` (shape ``(1,)`` for a vector)."""
    if len(shape) == 1:
        def read(t):
            return t[index:index + 1]

        def write(base, t):
            return ops.slice_update(base, (index,), t)

        return _View(arr, read, write, (1,))

    def read(t):
        return t[index]

    def write(base, t):
        return ops.slice_update(base, (index,) + (0,) * (len(shape) - 1),
                                ops.expand_dims(t, 0))

    return _View(arr, read, write, shape[1:])


def _box_view(arr, parts, final):
    """A view of the box ``parts`` (start, count, step per axis) reshaped to ``final``."""
    starts = tuple(start if count else 0 for start, count, _ in parts)
    box = tuple(count for _, count, _ in parts)
    slices = tuple(slice(s, s + c) for s, c in zip(starts, box))

    def read(t):
        return _backend.reshape(t[slices], final)

    def write(base, t):
        if not _backend.prod(box):
            return base
        return ops.slice_update(base, starts, _backend.reshape(t, box))

    return _View(arr, read, write, final)


def _numpy_key(key):
    """The key with array entries as numpy integer arrays (for numpy's index grid)."""
    out = []
    for k in key:
        if isinstance(k, NDArray):
            k = _backend.to_numpy(k._data).astype(np.int64)
        elif _backend.is_tensor(k):
            k = _backend.to_numpy(k).astype(np.int64)
        elif isinstance(k, (np.ndarray, list, tuple)):
            k = np.asarray(k).astype(np.int64)
        elif isinstance(k, range):
            k = np.arange(k.start, k.stop, k.step)
        out.append(k)
    return tuple(out)


def _flat_positions(shape, key):
    """Flat positions numpy's indexing of an array of ``shape`` by ``key`` selects."""
    return np.arange(_backend.prod(shape), dtype=np.int64).reshape(shape)[key]


def _advanced_get(arr, key, shape):
    key_nd = [k for k in key if k is not None]
    _check_count(key_nd, len(shape))
    if len(key) == len(shape) and _is_array_key(key[0]) and all(
            isinstance(k, slice) and k == _FULL for k in key[1:]):
        # x[idx]: a gather along axis 0, the indices staying on the device.
        return apply(_take_rows, arr, key[0])
    positions = _flat_positions(shape, _numpy_key(key))
    return apply(_gather_flat, arr, positions=positions)


def _take_rows(t, idx):
    if not _backend.is_tensor(idx):
        idx = ops.convert_to_tensor(np.asarray(idx).astype(np.int32))
    elif _backend.tensor_dtype(idx) != "int32":
        idx = _backend.cast(idx, "int32")
    idx = ops.where(idx < 0, idx + t.shape[0], idx)
    return ops.take(t, idx, axis=0)


def _gather_flat(t, positions):
    """The elements of ``t`` at the flat ``positions`` (numpy), shaped as they are."""
    flat = _backend.reshape(t, (-1,))
    gathered = ops.take(flat, ops.convert_to_tensor(positions.reshape(-1).astype(np.int32)))
    return _backend.reshape(gathered, positions.shape or (1,))


# ---------------------------------------------------------------------- writing


def _broadcast_error(have, want):
    return ValueError(
        "operands could not be broadcast together with remapped shapes"
        "[original->remapped]: {} and requested shape {}".format(have, want))


def _value_tensor(arr, value, target, squeeze_axes=()):
    """``value`` as a tensor of ``arr``'s dtype broadcast to ``target`` (MXNet's rules)."""
    dtype = _backend.tensor_dtype(arr._data)
    if isinstance(value, _NUMERIC):
        return ops.full(target, np.array(value).astype(dtype), dtype=dtype)
    if isinstance(value, NDArray) or _backend.is_tensor(value):
        t = value._data if isinstance(value, NDArray) else value
        if _backend.tensor_dtype(t) != dtype:
            t = _backend.cast(t, dtype)
    else:
        try:
            t = ops.convert_to_tensor(np.asarray(value, dtype=dtype))
        except (TypeError, ValueError):
            raise TypeError(
                "{} does not support assignment with non-array-like object {} of type {}"
                .format(NDArray, value, type(value))) from None
    shape = tuple(t.shape)
    if squeeze_axes and len(shape) > len(target):
        keep = [i for i in range(len(shape)) if i not in squeeze_axes]
        shape = tuple(shape[i] for i in keep)
        t = _backend.reshape(t, shape)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
        t = _backend.reshape(t, shape)
    if shape != target:
        padded = (1,) * (len(target) - len(shape)) + shape
        if len(shape) > len(target) or any(h != w and h != 1 for h, w in zip(padded, target)):
            raise _broadcast_error(tuple(value.shape) if hasattr(value, "shape") else shape,
                                   target)
        t = ops.broadcast_to(_backend.reshape(t, padded), target)
    return t


def set_item(arr, key, value):
    shape = arr.shape
    if (key.__class__ is slice and key.start is None and key.stop is None
            and key.step in (None, 1)):  # MXNet: x[:] and x[::1] are x itself
        if value is arr:
            return
        arr._data = _value_tensor(arr, value, shape)
        return
    if not shape:
        if not (isinstance(key, slice) or key == ()):
            raise IndexError("scalar tensor can only accept `()` and `:` as index")
        arr._data = _backend.reshape(_value_tensor(arr, value, (1,)), ())
        return
    if _backend.prod(shape) == 0:
        return
    key = _expand(key, len(shape))
    if _is_advanced(key):
        _advanced_set(arr, key, value, shape)
        return
    key_nd = [k for k in key if k is not None]
    _check_count(key_nd, len(shape))
    _check_bounds(key_nd, shape)
    parts = [_as_slice(k, n) for k, n in zip(key_nd, shape)]
    box = tuple(count for _, count, _ in parts)
    int_axes = [i for i, k in enumerate(key_nd) if _is_int(k)]
    target = tuple(c for i, c in enumerate(box) if i not in int_axes) or (1,)
    none_axes = _none_positions(key)
    if box == shape and all(step > 0 for _, _, step in parts):
        arr._data = _backend.reshape(_value_tensor(arr, value, target, none_axes), shape)
        return
    if not _backend.prod(box):
        return
    update = _backend.reshape(_value_tensor(arr, value, target, none_axes), box)
    if all(step == 1 or count <= 1 for _, count, step in parts):
        starts = tuple(start for start, _, _ in parts)
        arr._data = ops.slice_update(arr._data, starts, update)
        return
    slices = tuple(k if isinstance(k, slice) else _int_slice(k) for k in key_nd)
    _scatter(arr, _flat_positions(shape, slices), update)


def _none_positions(key):
    """Where MXNet squeezes a value for ``None`` entries of a basic key."""
    positions = []
    kept = 0
    for k in key:
        if k is None:
            positions.append(kept)
        elif not _is_int(k):
            kept += 1
    return tuple(positions)


def _advanced_set(arr, key, value, shape):
    key_nd = [k for k in key if k is not None]
    _check_count(key_nd, len(shape))
    positions = _flat_positions(shape, _numpy_key(key_nd))
    target = positions.shape or (1,)
    _scatter(arr, positions, _value_tensor(arr, value, target))


def _scatter(arr, positions, update):
    """Write ``update`` at the flat ``positions`` of ``arr``."""
    shape = arr.shape
    flat = _backend.reshape(arr._data, (-1,))
    indices = ops.convert_to_tensor(positions.reshape(-1, 1).astype(np.int32))
    flat = ops.scatter_update(flat, indices, _backend.reshape(update, (-1,)))
    arr._data = _backend.reshape(flat, shape)
