"""``mxnet.nd.NDArray``: MXNet 1.x's array, holding one tensor of the active Keras backend.

An NDArray is a mutable box around an immutable tensor: ``_data`` holds a TensorFlow,
JAX or PyTorch tensor, and every in-place operation (``x[:] = v``, ``x += 1``,
``nd.elemwise_add(a, b, out=x)``) computes a new tensor and stores it back, so
``id(x)`` never changes, as in MXNet. Three hooks keep that box small and extensible:

* **Reads and writes of the tensor** go through the attribute ``_data`` and nothing
  else. A subclass may turn ``_data`` into a property: ``_View`` (below) reads and
  writes a region of another NDArray (MXNet's ``x[0]``, ``x[1:3]``, ``x.reshape(...)``
  and ``x.detach()`` share memory with ``x``), and
  ``keras_defer.nd.variable.VariableNDArray`` reads and writes a ``keras.Variable``
  (what ``Parameter.data()`` returns).
* **Every op that makes new NDArrays from inputs** calls ``apply(fn, *inputs,
  **params)``: ``fn`` is a pure function of the inputs' tensors (NDArrays unwrapped,
  other inputs passed as they are) and of static ``params``. Autograd plugs in with
  ``set_apply_hook``, without touching any op. A view's reads are the one other place
  a tensor is derived from another: ``_View._read(base_tensor)``, also pure.
* **Gradients** live in the ``_grad``/``_grad_req`` slots; ``attach_grad``,
  ``backward`` and ``grad`` delegate to ``keras_defer.autograd`` (the recording
  module, not written here).

The wrapper is thin on purpose (slots, no validation beyond what MXNet checks, no
host round trips): an op through NDArray costs a function call and an object more
than the same op on raw tensors.
"""

import threading
import warnings

import numpy as np

from keras_defer.context import Context
from keras_defer.errors import MXNetError
from keras_defer.nd import _backend

__all__ = [
    "NDArray", "apply", "wrap", "unwrap", "wrap_all", "unwrap_all", "deliver", "set_apply_hook",
]

_NUMERIC = (int, float, bool, np.generic)

_new = object.__new__

#: Set by the autograd module: ``hook(fn, inputs, params) -> NDArray(s)`` replaces
#: ``apply``'s default evaluation (``wrap(fn(*unwrap(inputs), **params))``).
_apply_hook = None


def set_apply_hook(hook):
    """Install (or with ``None`` remove) the function every op's evaluation goes through.

    Returns the previous hook so a caller can restore it. The hook receives the op's
    pure tensor function, the original inputs (NDArrays, tensors, scalars, numpy
    arrays) and the static keyword parameters, and must return what ``apply`` would:
    an NDArray, or a tuple/list of them for multi-output ops.
    """
    global _apply_hook
    previous, _apply_hook = _apply_hook, hook
    return previous


class _Caller(threading.local):
    """Who called the blocks now running, per thread: None (no block runs), ``NDARRAY``
    (MXNet's world: a block called with NDArrays) or ``KERAS`` (a block called with
    backend tensors: Keras's ``fit``, the functional API, a user's GradientTape), set by
    ``keras_defer.block`` at the outermost call."""

    outermost = None


NDARRAY, KERAS = "ndarray", "keras"
caller = _Caller()


def apply(fn, /, *inputs, **params):
    """Run one op: ``fn(*tensors, **params)`` on the inputs' tensors, outputs wrapped.

    The hook (autograd's MXNet semantics) is skipped inside a forward that Keras
    called: there the backend records as Keras expects (``fit`` on PyTorch)."""
    if _apply_hook is not None and caller.outermost != KERAS:
        return _apply_hook(fn, inputs, params)
    result = fn(*[x._data if isinstance(x, NDArray) else x for x in inputs], **params)
    if isinstance(result, (tuple, list)):
        return type(result)(wrap(r) for r in result)
    out = _new(NDArray)  # wrap(result), inlined: this is every op's path
    out._data = result
    out._grad = None
    out._grad_req = "null"
    return out


def unwrap(x):
    """The backend tensor inside an NDArray; anything else is returned as it is."""
    return x._data if isinstance(x, NDArray) else x


def deliver(result, out):
    """MXNet's ``out=``: store ``result`` into the NDArray ``out`` (same shape), return ``out``."""
    if out is None:
        return result
    out._replace(_backend.cast(result._data, _backend.tensor_dtype(out._data)))
    return out


def wrap(tensor):
    """A new NDArray holding ``tensor`` (no copy, no checks)."""
    out = _new(NDArray)
    out._data = tensor
    out._grad = None
    out._grad_req = "null"
    return out


def wrap_all(value):
    """``value`` with every backend tensor in it wrapped, in tuples and lists too
    (what a block called with NDArrays returns, what a user's ``forward`` receives)."""
    if isinstance(value, (tuple, list)):
        return _rebuild(value, [wrap_all(v) for v in value])
    if _backend.is_tensor(value):
        return wrap(value)
    return value


def unwrap_all(value):
    """``value`` with every NDArray in it replaced by its tensor, in tuples and lists
    too (what Keras gets from a user's ``forward``)."""
    if isinstance(value, NDArray):
        return value._data
    if isinstance(value, (tuple, list)):
        return _rebuild(value, [unwrap_all(v) for v in value])
    return value


def _rebuild(sequence, items):
    if type(sequence) in (tuple, list):
        return type(sequence)(items)
    if hasattr(sequence, "_fields"):  # a namedtuple
        return type(sequence)(*items)
    return type(sequence)(items)


class NDArray:
    """An n-dimensional array with MXNet 1.9.1's API, on the active Keras backend.

    ``NDArray(tensor)`` wraps a backend tensor without copying; use ``nd.array`` to
    build one from Python lists or numpy arrays (float32 unless told otherwise).
    """

    # _recorded: set (True) on what an op made inside autograd.record() (autograd's hook)
    __slots__ = ("_data", "_grad", "_grad_req", "_recorded", "__weakref__")
    # MXNet's path (``mxnet.ndarray.ndarray.NDArray``, printed by ``type(x)``);
    # ``keras_defer.nd`` registers ``keras_defer.ndarray`` as its alias.
    __module__ = "keras_defer.ndarray.ndarray"
    # numpy leaves binary operators to us (``np_array + x`` -> ``x.__radd__``).
    __array_ufunc__ = None
    _repr_name = "NDArray"

    def __init__(self, data):
        if isinstance(data, NDArray):
            data = data._data
        elif not _backend.is_tensor(data):
            data = _creation.array(data)._data
        self._data = data
        self._grad = None
        self._grad_req = "null"

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self):
        return tuple(self._data.shape)

    @property
    def ndim(self):
        return len(self._data.shape)

    @property
    def size(self):
        return _backend.prod(self._data.shape)

    @property
    def dtype(self):
        """The numpy scalar type, e.g. ``numpy.float32`` (a type, as MXNet gives)."""
        return _backend.numpy_type(self._data)

    @property
    def context(self):
        """The device holding the data: ``cpu(0)``, ``gpu(0)``."""
        return Context.from_device_string(_backend.device_string(self._data))

    ctx = context

    @property
    def stype(self):
        return "default"

    @property
    def writable(self):
        return True

    @property
    def T(self):
        return _shape_ops.transpose(self)

    # ------------------------------------------------------------------- printing
    def __repr__(self):
        shape_info = "x".join("%d" % d for d in self.shape)
        return "\n%s\n<%s %s @%s>" % (
            str(self.asnumpy()), self._repr_name, shape_info, self.context)

    # ---------------------------------------------------------------- conversions
    def asnumpy(self):
        """A numpy copy of the data (writable; changing it leaves the array alone)."""
        return _backend.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        out = _backend.to_numpy(self._data)
        return out if dtype is None else out.astype(dtype, copy=False)

    def asscalar(self):
        """The single element as a numpy scalar (MXNet: ``asnumpy()[0]`` for shape (1,))."""
        if self.size != 1:
            raise ValueError("The current array is not a scalar")
        if self.ndim == 1:
            return self.asnumpy()[0]
        return self.asnumpy()[()]

    def astype(self, dtype, copy=True):
        name = _backend.dtype_name(dtype)
        if not copy and name == _backend.tensor_dtype(self._data):
            return self
        return apply(_backend.cast, self, name=name)

    def copy(self):
        return apply(_copy_tensor, self)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray of the same shape) or onto a Context."""
        if isinstance(other, NDArray):
            if other is self:
                warnings.warn("You are attempting to copy an array to itself", RuntimeWarning)
                return False
            other._replace(_backend.cast(self._data, _backend.tensor_dtype(other._data)))
            return other
        if isinstance(other, Context):
            from keras_defer import multi_device  # the context, where the device won't say

            return multi_device.note_placement(apply(_to_context, self, ctx=other), other)
        raise TypeError("copyto does not support type " + str(type(other)))

    def as_in_context(self, context):
        if self.context == context:
            return self
        return self.copyto(context)

    def as_nd_ndarray(self):
        return self

    def detach(self):
        """An array sharing this one's data, cut from the autograd graph."""
        return _View(self, _backend.stop_gradient, _detached_write, self.shape)

    def wait_to_read(self):
        _backend.wait_to_read(self._data)

    def _replace(self, tensor):
        """Store ``tensor`` (already of this array's dtype) as the whole new value."""
        if tuple(tensor.shape) != self.shape:
            raise MXNetError(
                "Shape inconsistent: cannot write an array of shape %s into an array of "
                "shape %s" % (tuple(tensor.shape), self.shape))
        self._data = tensor

    # ------------------------------------------------------------------- autograd
    @property
    def grad(self):
        return self._grad

    def attach_grad(self, grad_req="write", stype=None):
        """Allocate a gradient buffer (done by ``keras_defer.autograd``)."""
        from keras_defer import autograd

        return autograd.attach_grad(self, grad_req=grad_req, stype=stype)

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        """Back-propagate from this array (done by ``keras_defer.autograd``)."""
        from keras_defer import autograd

        return autograd.backward(
            [self], None if out_grad is None else [out_grad],
            retain_graph=retain_graph, train_mode=train_mode)

    # ------------------------------------------------------------ python protocol
    def __bool__(self):
        size = self.size
        if size == 0:
            return False
        if size == 1:
            return bool(self.asscalar())
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __hash__(self):
        return id(self) // 16

    def __getitem__(self, key):
        return _indexing.get_item(self, key)

    def __setitem__(self, key, value):
        _indexing.set_item(self, key, value)

    def __reduce__(self):
        return (_creation._from_numpy, (self.asnumpy(),))

    # ----------------------------------------------------------------- arithmetic
    # The operators call ``apply`` on math's tensor functions directly (one call less
    # than ``nd.add``: the operator's left or right operand is an NDArray).
    def __add__(self, other):
        return apply(_math.add_t, self, other)

    def __radd__(self, other):
        return apply(_math.add_t, other, self)

    def __sub__(self, other):
        return apply(_math.subtract_t, self, other)

    def __rsub__(self, other):
        return apply(_math.subtract_t, other, self)

    def __mul__(self, other):
        return apply(_math.multiply_t, self, other)

    def __rmul__(self, other):
        return apply(_math.multiply_t, other, self)

    def __truediv__(self, other):
        return apply(_math.divide_t, self, other)

    def __rtruediv__(self, other):
        return apply(_math.divide_t, other, self)

    def __mod__(self, other):
        return apply(_math.modulo_t, self, other)

    def __rmod__(self, other):
        return apply(_math.modulo_t, other, self)

    def __pow__(self, other):
        return apply(_math.power_t, self, other)

    def __rpow__(self, other):
        return apply(_math.power_t, other, self)

    def __neg__(self):
        return _math.negative(self)

    def __abs__(self):
        return _math.abs(self)

    def __eq__(self, other):
        return _math.equal(self, _comparable(other))

    def __ne__(self, other):
        return _math.not_equal(self, _comparable(other))

    def __gt__(self, other):
        return _math.greater(self, _comparable(other))

    def __ge__(self, other):
        return _math.greater_equal(self, _comparable(other))

    def __lt__(self, other):
        return _math.lesser(self, _comparable(other))

    def __le__(self, other):
        return _math.lesser_equal(self, _comparable(other))

    def _inplace(self, op, other):
        if not isinstance(other, _NUMERIC) and not isinstance(other, NDArray) \
                and not _backend.is_tensor(other) and not isinstance(other, np.ndarray):
            raise TypeError("type %s not supported" % str(type(other)))
        self._replace(op(self, other)._data)
        return self

    def __iadd__(self, other):
        return self._inplace(_math.add, other)

    def __isub__(self, other):
        return self._inplace(_math.subtract, other)

    def __imul__(self, other):
        return self._inplace(_math.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(_math.divide, other)

    def __imod__(self, other):
        return self._inplace(_math.modulo, other)

    # ------------------------------------------------------ shape and copy methods
    def reshape(self, *shape, **kwargs):
        """A view with a new shape; MXNet's codes 0, -1, -2, -3, -4 and ``reverse``."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        elif not shape:
            shape = kwargs.get("shape")
            assert shape, "Shape must be provided."
        unknown = [k for k in kwargs if k not in ("shape", "reverse")]
        if unknown:
            raise TypeError(
                "Got unknown keywords in reshape: {}. Accepted keyword arguments are "
                "'shape' and 'reverse'.".format(", ".join(unknown)))
        if _shape_ops.needs_unknown_target(self.shape, shape):  # a traced batch
            target, new_shape = _shape_ops.unknown_target(
                self.shape, _backend.dims(self._data), shape, kwargs.get("reverse", False))
            return _View(self, lambda t: _reshape_tensor(t, target),
                         lambda base, t: _reshape_tensor(t, _backend.dims(base)), new_shape)
        new_shape = _shape_ops.reshape_target(self.shape, shape, kwargs.get("reverse", False),
                                              method=True)
        old_shape = self.shape
        if new_shape == old_shape:
            return _View(self, _identity, _whole_write, old_shape)
        return _View(self, lambda t: _reshape_tensor(t, new_shape),
                     lambda base, t: _reshape_tensor(t, old_shape), new_shape)

    def reshape_like(self, *args, **kwargs):
        return _shape_ops.reshape_like(self, *args, **kwargs)

    def zeros_like(self, *args, **kwargs):
        return _creation.zeros_like(self, *args, **kwargs)

    def ones_like(self, *args, **kwargs):
        return _creation.ones_like(self, *args, **kwargs)

    def broadcast_to(self, shape):
        return _shape_ops.broadcast_to_method(self, shape)

    def broadcast_like(self, other):
        return _shape_ops.broadcast_like(self, other)

    def broadcast_axes(self, *args, **kwargs):
        return _shape_ops.broadcast_axis(self, *args, **kwargs)

    def transpose(self, *args, **kwargs):
        return _shape_ops.transpose(self, *args, **kwargs)

    def swapaxes(self, *args, **kwargs):
        return _shape_ops.swapaxes(self, *args, **kwargs)

    def expand_dims(self, *args, **kwargs):
        return _shape_ops.expand_dims(self, *args, **kwargs)

    def squeeze(self, *args, **kwargs):
        return _shape_ops.squeeze(self, *args, **kwargs)

    def flatten(self, *args, **kwargs):
        return _shape_ops.flatten(self, *args, **kwargs)

    def flip(self, *args, **kwargs):
        return _shape_ops.flip(self, *args, **kwargs)

    def tile(self, *args, **kwargs):
        return _shape_ops.tile(self, *args, **kwargs)

    def repeat(self, *args, **kwargs):
        return _shape_ops.repeat(self, *args, **kwargs)

    def split(self, *args, **kwargs):
        return _shape_ops.split(self, *args, **kwargs)

    def split_v2(self, *args, **kwargs):
        return _shape_ops.split_v2(self, *args, **kwargs)

    def slice(self, *args, **kwargs):
        return _shape_ops.slice(self, *args, **kwargs)

    def slice_axis(self, *args, **kwargs):
        return _shape_ops.slice_axis(self, *args, **kwargs)

    def slice_like(self, *args, **kwargs):
        return _shape_ops.slice_like(self, *args, **kwargs)

    def take(self, *args, **kwargs):
        return _shape_ops.take(self, *args, **kwargs)

    def pick(self, *args, **kwargs):
        return _shape_ops.pick(self, *args, **kwargs)

    def one_hot(self, *args, **kwargs):
        return _shape_ops.one_hot(self, *args, **kwargs)

    def diag(self, *args, **kwargs):
        return _shape_ops.diag(self, *args, **kwargs)

    def pad(self, *args, **kwargs):
        return _shape_ops.pad(self, *args, **kwargs)

    def shape_array(self):
        return _shape_ops.shape_array(self)

    def size_array(self):
        return _shape_ops.size_array(self)

    # ------------------------------------------------------------------ reductions
    def sum(self, *args, **kwargs):
        return _reduce.sum(self, *args, **kwargs)

    def nansum(self, *args, **kwargs):
        return _reduce.nansum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return _reduce.mean(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return _reduce.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return _reduce.min(self, *args, **kwargs)

    def prod(self, *args, **kwargs):
        return _reduce.prod(self, *args, **kwargs)

    def nanprod(self, *args, **kwargs):
        return _reduce.nanprod(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return _reduce.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return _reduce.argmin(self, *args, **kwargs)

    def argmax_channel(self, *args, **kwargs):
        return _reduce.argmax_channel(self, *args, **kwargs)

    def norm(self, *args, **kwargs):
        return _linalg.norm(self, *args, **kwargs)

    # ------------------------------------------------------------- sort and search
    def topk(self, *args, **kwargs):
        return _sort.topk(self, *args, **kwargs)

    def sort(self, *args, **kwargs):
        return _sort.sort(self, *args, **kwargs)

    def argsort(self, *args, **kwargs):
        return _sort.argsort(self, *args, **kwargs)

    # ------------------------------------------------------------ elementwise math
    def clip(self, *args, **kwargs):
        return _math.clip(self, *args, **kwargs)

    def softmax(self, *args, **kwargs):
        return _math.softmax(self, *args, **kwargs)

    def log_softmax(self, *args, **kwargs):
        return _math.log_softmax(self, *args, **kwargs)

    def softmin(self, *args, **kwargs):
        return _math.softmin(self, *args, **kwargs)


#: Elementwise methods that are exactly ``nd.<name>(self)``; bound at the end of the
#: module, once ``keras_defer.nd.math`` is loaded.
UNARY_METHODS = (
    "abs", "sign", "square", "sqrt", "rsqrt", "cbrt", "rcbrt", "exp", "expm1", "log",
    "log10", "log2", "log1p", "reciprocal", "relu", "sigmoid", "tanh", "sin", "cos",
    "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "degrees", "radians", "floor", "ceil", "round", "rint", "trunc", "fix",
)


def _comparable(other):
    """MXNet compares only with NDArrays and numbers (``x == None`` raises TypeError)."""
    if isinstance(other, (NDArray, _NUMERIC, np.ndarray)) or _backend.is_tensor(other):
        return other
    raise TypeError("type %s not supported" % str(type(other)))


# ---------------------------------------------------------------------- views
class _View(NDArray):
    """An NDArray whose data is a function of another NDArray's (MXNet's shared memory).

    ``read(base_tensor)`` gives this array's tensor; ``write(base_tensor, tensor)``
    gives the base's new tensor after this array is set to ``tensor``. Reading
    re-derives from the base each time, so later writes to the base show through.
    """

    __slots__ = ("_base", "_read", "_write", "_shape")

    def __init__(self, base, read, write, shape):
        self._base = base
        self._read = read
        self._write = write
        self._shape = shape  # fixed: writes never change an array's shape
        self._grad = None
        self._grad_req = "null"

    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def size(self):
        return _backend.prod(self._shape)

    @property
    def _data(self):
        return self._read(self._base._data)

    @_data.setter
    def _data(self, tensor):
        base = self._base
        base._data = self._write(base._data, tensor)


def _identity(t):
    return t


def _whole_write(base, t):
    return t


def _detached_write(base, t):
    return t


def _reshape_tensor(t, shape):
    return _backend.reshape(t, shape)


def _copy_tensor(t):
    return _backend.copy(t)


def _to_context(t, ctx):
    return _backend.to_device(t, ctx)


# The op families call back into this module (apply, wrap, NDArray); they are
# imported last so that the class exists when they load.
from keras_defer.nd import creation as _creation  # noqa: E402
from keras_defer.nd import indexing as _indexing  # noqa: E402
from keras_defer.nd import linalg as _linalg  # noqa: E402
from keras_defer.nd import math as _math  # noqa: E402
from keras_defer.nd import reduce as _reduce  # noqa: E402
from keras_defer.nd import shape as _shape_ops  # noqa: E402
from keras_defer.nd import sort as _sort  # noqa: E402

for _name in UNARY_METHODS:
    setattr(NDArray, _name, getattr(_math, _name))
del _name

# ``keras.ops`` and the backend's functions take NDArrays as their tensors (a layer's
# ``forward`` reached through ``super().forward(x)`` from a user's forward gets them).
_backend.adopt_array_type(NDArray, unwrap)
