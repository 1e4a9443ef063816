"""The reference model of MXNet 1.x's NDArray (numpy only, no framework).

An array of the model is a C-contiguous numpy array (`Array.data`); where MXNet shares
memory (`x[i]`, `x[a:b]`, a contiguous basic selection, `x.reshape(...)`) the model's
array is a numpy *view* of the other's buffer, so writes show through exactly where
MXNet's do, and a copy (a non-contiguous selection, `astype`, `copy`, every op's
result) owns its buffer.  What the model knows of MXNet 1.x and numpy does not:

* arrays have at least one axis: a selection or a reduction with no axis left has
  shape (1,) (`x[1]` of a vector, `x[i, j]`, `x.sum()`);
* `nd.array(...)` is float32 whatever the source's dtype, unless `dtype=` says;
* no type promotion: an op's result has its array operand's dtype; a Python scalar is
  cast to it first; comparisons give 0/1 in that dtype, not booleans;
* reshape takes the codes 0, -1, -2, -3, -4 (`reshape_target`, MXNet's
  InferReshapeShape);
* `x[:]` is `x` itself; which basic selections are views is `basic_index`'s rule
  (MXNet's `_basic_indexing_slice_is_contiguous`).

Declared divergences (model.DIVERGENCES) change what they name: 'numpy_operands' (a
numpy array operand is taken as `nd.array(operand, dtype=x.dtype)` instead of raising
TypeError), 'jax_32bit' (float64/int64 are stored as float32/int32: JAX without x64).
Errors are abstract kinds as in the parameter model ('type_error', 'shape_error').
"""

import numpy as np

from conformance.model import DIVERGENCES, ModelError

FLOATS = ("float32", "float64")
INTEGERS = ("int32", "int64", "uint8")
DTYPES = FLOATS + INTEGERS
DEFAULT_DTYPE = "float32"   # MXNet's mx_real_t

REDUCTIONS = ("sum", "mean", "max", "min", "prod")
COMPARISONS = {"==": np.equal, "!=": np.not_equal, ">": np.greater, ">=": np.greater_equal,
               "<": np.less, "<=": np.less_equal}
# what `scalar OP x` is, written as `x OP' scalar` (MXNet's reflected comparisons)
REFLECTED = {"==": "==", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}
ARITHMETIC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide}


class Array:
    """One NDArray: `data` is its C-contiguous numpy buffer (or a view of another's)."""

    __slots__ = ("data",)

    def __init__(self, data):
        assert data.flags.c_contiguous and data.ndim >= 1, data.shape
        self.data = data

    @property
    def shape(self):
        return tuple(int(d) for d in self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype.name

    @property
    def size(self):
        return int(self.data.size)

    def values(self):
        return self.data.copy()

    def shares_memory(self, other):
        return np.shares_memory(self.data, other.data)

    def __repr__(self):
        return "Array(%r, %s)" % (self.data.tolist(), self.dtype)


# -- shapes --------------------------------------------------------------------------------
def reshape_target(shape, codes, reverse=False):
    """The shape `x.reshape(codes)` gives (MXNet 1.9.1 src/operator/tensor/matrix_op-inl.h
    InferReshapeShape); raises ModelError('shape_error') where MXNet's checks fail."""
    dshape, params = list(shape), list(codes)
    if reverse:
        dshape.reverse()
        params.reverse()
    out, src, infer, i = [], 0, -1, 0
    while i < len(params):
        code = params[i]
        if code == 0:
            _need(src < len(dshape), "0 copies a missing input dimension")
            out.append(dshape[src])
            src += 1
        elif code == -1:
            _need(infer < 0, "one and only one dim can be inferred")
            infer = i   # the code's index, not the output's: see below
            out.append(1)
            src += 1
        elif code == -2:
            out.extend(dshape[src:])
            src = len(dshape)
        elif code == -3:
            _need(src < len(dshape) - 1, "-3 needs two input dimensions")
            out.append(dshape[src] * dshape[src + 1])
            src += 2
        elif code == -4:
            _need(i + 2 < len(params), "-4 needs two more codes")
            _need(src < len(dshape), "-4 splits a missing input dimension")
            d0, d1, d2 = dshape[src], params[i + 1], params[i + 2]
            src += 1
            i += 2
            _need(d1 != -1 or d2 != -1, "split dims cannot both be -1")
            if d1 == -1:
                d1 = d0 // d2
            if d2 == -1:
                d2 = d0 // d1
            _need(d1 * d2 == d0, "split dims %d, %d do not match %d" % (d1, d2, d0))
            out.extend([d1, d2])
        else:
            _need(code > 0, "unknown reshape code %d" % code)
            out.append(code)
            src += 1
        i += 1
    size = int(np.prod(shape))
    if infer >= 0:
        # MXNet writes the inferred side at the -1's index among the codes, which is
        # the output's index only when no -4 comes before it: after a -4 it overwrites
        # a later side and the size check fails (observed in MXNet 1.9.1:
        # (1, 3, 2).reshape((-4, 1, 1, -1, 0)) raises, as (1, 1, 1, 3) is no 6-array)
        _need(infer < len(out), "the inferred side's index is past the output")
        out[infer] = size // int(np.prod(out))
    _need(int(np.prod(out)) == size, "target shape size is different to source")
    if reverse:
        out.reverse()
    return tuple(out)


def _need(ok, message):
    if not ok:
        raise ModelError("shape_error", message)


def _parts(key, shape):
    """The key as (start, count, step) per axis (missing trailing axes: whole)."""
    key = key if isinstance(key, tuple) else (key,)
    parts = []
    for axis, n in enumerate(shape):
        k = key[axis] if axis < len(key) else slice(None)
        if isinstance(k, int):
            start = k + n if k < 0 else k
            parts.append((start, 1, 1))
        else:
            start, stop, step = k.indices(n)
            parts.append((start, len(range(start, stop, step)), step))
    return parts


def basic_index(shape, key):
    """What MXNet 1.9.1's `x[key]` is for a basic key (ints, slices, tuples of them):
    ('self', shape) for `x[:]`, else ('view' or 'copy', result shape).

    ndarray.py NDArray.__getitem__: an int is `_at` (a view, shape[1:] or (1,)); a slice
    of step 1 is `_slice` (a view), `x[:]` is x; other keys go through
    `_get_nd_basic_indexing`: integer axes dropped, (1,) when none is left, a view when
    `_basic_indexing_slice_is_contiguous` (right to left, once an axis is a proper
    subset the axes before it hold at most one element; steps other than 1 only on
    axes of at most one element), else a copy (op.slice)."""
    if isinstance(key, slice) and key.step in (None, 1) and key.start is None \
            and key.stop is None:
        return "self", tuple(shape)
    parts = _parts(key, shape)
    keys = key if isinstance(key, tuple) else (key,)
    final = tuple(c for axis, (_, c, _) in enumerate(parts)
                  if not (axis < len(keys) and isinstance(keys[axis], int))) or (1,)
    return ("view" if _contiguous(parts, shape) else "copy"), final


def _contiguous(parts, shape):
    if int(np.prod([c for _, c, _ in parts])) in (0, 1):
        return True
    subset = False
    for (_, count, step), n in zip(reversed(parts), reversed(shape)):
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


def _numpy_key(key, shape):
    """The key with each int as a one-element slice (numpy keeps every axis)."""
    return tuple(slice(s, s + c * st if s + c * st >= 0 else None, st) if c else slice(0, 0)
                 for s, c, st in _parts(key, shape))


def broadcast_shape(a, b):
    try:
        return tuple(int(d) for d in np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        return None


def reduced_shape(shape, axis, keepdims):
    """MXNet's reductions: the reduced axes dropped (kept as 1 with keepdims), (1,) when
    none is left (src/operator/tensor/broadcast_reduce_op.h ReduceAxesShapeImpl)."""
    axes = range(len(shape)) if axis is None else \
        [a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))]
    out = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keepdims else \
        tuple(d for i, d in enumerate(shape) if i not in axes)
    return out or (1,)


# -- the model -----------------------------------------------------------------------------
class ArrayModel:
    """MXNet 1.9.1's nd namespace and NDArray methods on model arrays."""

    def __init__(self, divergences=(), device="cpu(0)"):
        unknown = set(divergences) - set(DIVERGENCES)
        if unknown:
            raise ValueError("unknown divergences: %s" % sorted(unknown))
        self.divergences = frozenset(divergences)
        self.device = device

    def dtype(self, name):
        """The dtype an array asked to be `name` has."""
        name = name or DEFAULT_DTYPE
        if "jax_32bit" in self.divergences:
            return {"float64": "float32", "int64": "int32"}.get(name, name)
        return name

    # creation (ndarray/utils.py array, ndarray.py zeros/ones/full: mx_real_t by default)
    def array(self, values, dtype=None):
        return Array(np.array(values).astype(self.dtype(dtype)).reshape(np.shape(values)))

    def full(self, shape, value, dtype=None):
        return Array(np.full(shape, value, dtype=self.dtype(dtype)))

    def facts(self, a):
        """shape, ndim, size, dtype name, context."""
        return a.shape, len(a.shape), a.size, a.dtype, self.device

    def repr(self, a, values=None):
        """ndarray.py NDArray.__repr__: '\\n' + str(asnumpy()) + '\\n<NDArray AxB @ctx>'."""
        values = a.data if values is None else values
        return "\n%s\n<NDArray %s @%s>" % (str(values), "x".join("%d" % d for d in a.shape),
                                           self.device)

    # indexing
    def getitem(self, a, key):
        kind, final = basic_index(a.shape, key)
        if kind == "self":
            return a
        picked = a.data[_numpy_key(key, a.shape)]
        if kind == "view":
            # contiguous in a contiguous buffer: one flat run, so this reshape is a view
            out = picked.reshape(final)
            assert np.shares_memory(out, a.data)
            return Array(out)
        return Array(np.ascontiguousarray(picked).reshape(final))

    def setitem(self, a, key, value):
        """`x[key] = value`: a scalar, a model Array or a numpy array, broadcast to the
        selection (integer axes dropped) and cast to x's dtype."""
        target = a.data[_numpy_key(key, a.shape)]
        _, final = basic_index(a.shape, key)
        source = value.data if isinstance(value, Array) else value
        source = np.asarray(source).astype(a.data.dtype)
        if broadcast_shape(source.shape, final) != tuple(final):
            raise ModelError("shape_error", "cannot broadcast %s to %s" % (source.shape, final))
        target[...] = np.broadcast_to(source, final).reshape(target.shape)

    def augmented(self, a, op, other):
        """`x OP= other` (a scalar or a model Array broadcasting to x): in place."""
        result = self._binary(a, op, other, reflected=False)
        if result.shape != a.shape:
            raise ModelError("shape_error", "%s does not broadcast to %s"
                             % (result.shape, a.shape))
        a.data[...] = result.data

    def reshape(self, a, codes, reverse=False):
        shape = reshape_target(a.shape, codes, reverse)
        out = a.data.reshape(shape)
        assert np.shares_memory(out, a.data)
        return Array(out)

    # ops
    def reduce(self, a, op, axis=None, keepdims=False):
        fn = getattr(np, op)
        axes = axis if axis is None or isinstance(axis, tuple) else (axis,)
        out = fn(a.data, axis=axes, keepdims=keepdims)
        return Array(np.asarray(out).astype(a.data.dtype).reshape(
            reduced_shape(a.shape, axis, keepdims)))

    def compare(self, a, op, other, reflected=False):
        if reflected:
            op = REFLECTED[op]
        rhs = other.data if isinstance(other, Array) else self._scalar(other, a)
        return Array(np.ascontiguousarray(COMPARISONS[op](a.data, rhs).astype(a.data.dtype)))

    def arith(self, a, op, other, reflected=False):
        return self._binary(a, op, other, reflected)

    def _binary(self, a, op, other, reflected):
        if isinstance(other, np.ndarray):
            if "numpy_operands" not in self.divergences:
                raise ModelError("type_error", "type %s not supported" % type(other))
            other = Array(np.ascontiguousarray(other.astype(a.data.dtype)))
        rhs = other.data if isinstance(other, Array) else self._scalar(other, a)
        if isinstance(other, Array) and other.dtype != a.dtype:
            raise ModelError("dtype_error", "%s and %s" % (a.dtype, other.dtype))
        lhs, rhs = (rhs, a.data) if reflected else (a.data, rhs)
        with np.errstate(all="ignore"):
            out = ARITHMETIC[op](lhs, rhs)
        return Array(np.ascontiguousarray(np.asarray(out).astype(a.data.dtype)))

    @staticmethod
    def _scalar(value, a):
        """MXNet passes a scalar as float and the operator casts it to x's dtype."""
        return np.asarray(value).astype(a.data.dtype)

    def astype(self, a, dtype):
        with np.errstate(all="ignore"):
            return Array(a.data.astype(self.dtype(dtype)))

    def copy(self, a):
        return Array(a.data.copy())
