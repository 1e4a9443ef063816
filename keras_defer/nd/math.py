"""Elementwise ops: arithmetic, comparisons, unary math, activations, ``where``, ``clip``.

MXNet 1.x's rules, which differ from numpy's:

* no type promotion: both arrays must have the same dtype (else ``MXNetError``),
  and a Python scalar is first cast to the array's dtype (``int32 + 1.5`` adds 1);
* integer division truncates toward zero, ``%`` takes the divisor's sign;
* comparisons give 0/1 in the inputs' dtype, not booleans;
* float functions of integer arrays compute in float32 and cast back (``exp`` of
  int32 3 is 20);
* ``nd.add(2, 3)`` of two Python numbers is the Python number 5.

Arithmetic runs the backend tensors' own operators (the cheapest call each backend
has); everything else is ``keras.ops``.
"""

import builtins
import operator

import keras
import numpy as np

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import apply, deliver

ops = keras.ops

_NUMERIC = (int, float, bool, np.generic)
_FLOAT32 = "float32"

# -------------------------------------------------------------- operand handling


def _tensor(x, like=None):
    """A backend tensor for an operand that is not a scalar (numpy arrays, lists)."""
    if _backend.is_tensor(x):
        return x
    dtype = _backend.tensor_dtype(like) if like is not None else _FLOAT32
    try:
        return ops.convert_to_tensor(np.asarray(x, dtype=dtype))
    except (TypeError, ValueError):
        raise TypeError("type %s not supported" % str(type(x))) from None


def _scalar(value, like):
    """A Python scalar cast to ``like``'s dtype, as MXNet does before the op."""
    if _backend.is_integer(like):
        return int(value)
    return float(value)


def _dtype_error(a, b):
    return MXNetError(
        "Check failed: assign(&dattr, vec.at(i)): Incompatible attr in node at 1-th "
        "input: expected %s, got %s" % (_backend.tensor_dtype(a), _backend.tensor_dtype(b)))


def operands(a, b):
    """Two operands ready for a backend op: tensors of one dtype, or tensor and scalar."""
    if isinstance(a, _NUMERIC):
        b = _tensor(b)
        return _scalar(a, b), b
    a = _tensor(a)
    if isinstance(b, _NUMERIC):
        return a, _scalar(b, a)
    b = _tensor(b, like=a)
    if a.dtype != b.dtype:
        raise _dtype_error(a, b)
    return a, b


def _shape_text(x):
    return "[%s]" % ",".join(str(d) for d in getattr(x, "shape", ()))


def _broadcastable(a, b):
    sa, sb = tuple(getattr(a, "shape", ())), tuple(getattr(b, "shape", ()))
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(sa), reversed(sb)))


def _failure(exc, a, b):
    """The error to raise for a failed binary op: MXNet's for unbroadcastable shapes."""
    if _broadcastable(a, b):
        return exc
    return MXNetError(
        "Check failed: l == 1 || r == 1: operands could not be broadcast together "
        "with shapes %s %s" % (_shape_text(a), _shape_text(b)))


def _run(op, a, b):
    try:
        return op(a, b)
    except Exception as exc:
        raise _failure(exc, a, b) from exc


#: Tensor classes seen as operands (EagerTensor, jax's ArrayImpl, torch.Tensor): two
#: of them with one dtype skip ``operands``. Learned as they come, so that importing
#: this module creates no tensor (on TensorFlow, that would set up the GPU).
_FAST_TYPES = set()


def _native(op):
    """``fn(a, b)`` for a backend operator, with MXNet's operand rules."""

    def fn(a, b):
        if type(a) not in _FAST_TYPES or type(b) not in _FAST_TYPES or (
                a.dtype is not b.dtype and a.dtype != b.dtype):
            a, b = operands(a, b)
            if _backend.is_tensor(a) and _backend.is_tensor(b):
                _FAST_TYPES.update((type(a), type(b)))
        try:
            return op(a, b)
        except Exception as exc:
            raise _failure(exc, a, b) from exc

    return fn


def _is_int_operand(a, b):
    t = a if not isinstance(a, _NUMERIC) else b
    return _backend.is_integer(t)


def _divide_any(a, b):
    a, b = operands(a, b)
    if _is_int_operand(a, b):
        return _run(_backend.trunc_div, a, b)
    return _run(operator.truediv, a, b)


def divide_t(a, b):
    if type(a) in _FAST_TYPES and type(b) in _FAST_TYPES and (
            a.dtype is b.dtype or a.dtype == b.dtype) and not _backend.is_integer(a):
        return _run(operator.truediv, a, b)
    return _divide_any(a, b)


def power_t(a, b):
    a, b = operands(a, b)
    return _run(operator.pow, a, b)


def modulo_t(a, b):
    a, b = operands(a, b)
    return _run(operator.mod, a, b)


# Tensor functions of the arithmetic operators (NDArray's dunders apply them directly).
add_t = _native(operator.add)
subtract_t = _native(operator.sub)
multiply_t = _native(operator.mul)


def _comparison(op):
    def fn(a, b):
        a, b = operands(a, b)
        like = b if isinstance(a, _NUMERIC) else a
        return _backend.cast(_run(op, a, b), _backend.tensor_dtype(like))

    return fn


def _logical(op):
    def fn(a, b):
        a, b = operands(a, b)
        like = b if isinstance(a, _NUMERIC) else a
        result = op(ops.not_equal(a, 0), ops.not_equal(b, 0))
        return _backend.cast(result, _backend.tensor_dtype(like))

    return fn


def _maximum_t(a, b):
    a, b = operands(a, b)
    return _run(ops.maximum, a, b)


def _minimum_t(a, b):
    a, b = operands(a, b)
    return _run(ops.minimum, a, b)


def _hypot_t(a, b):
    a, b = operands(a, b)
    return _run(lambda x, y: ops.sqrt(x * x + y * y), a, b)


def _binary(fn, python_op, op_name):
    """A public binary op: two Python numbers give a number, anything else an NDArray."""

    def op(lhs, rhs, out=None, name=None, **kwargs):
        if isinstance(lhs, _NUMERIC) and isinstance(rhs, _NUMERIC):
            return python_op(lhs, rhs)
        result = apply(fn, lhs, rhs)
        return result if out is None else deliver(result, out)

    op.__name__ = op.__qualname__ = op_name
    return op


def _cmp_number(op):
    return lambda a, b: 1 if op(a, b) else 0


add = _binary(add_t, operator.add, "add")
subtract = _binary(subtract_t, operator.sub, "subtract")
multiply = _binary(multiply_t, operator.mul, "multiply")
divide = _binary(divide_t, operator.truediv, "divide")
modulo = _binary(modulo_t, operator.mod, "modulo")
power = _binary(power_t, operator.pow, "power")
maximum = _binary(_maximum_t, builtins.max, "maximum")
minimum = _binary(_minimum_t, builtins.min, "minimum")
hypot = _binary(_hypot_t, lambda a, b: (a * a + b * b) ** 0.5, "hypot")
equal = _binary(_comparison(ops.equal), _cmp_number(operator.eq), "equal")
not_equal = _binary(_comparison(ops.not_equal), _cmp_number(operator.ne), "not_equal")
greater = _binary(_comparison(ops.greater), _cmp_number(operator.gt), "greater")
greater_equal = _binary(_comparison(ops.greater_equal), _cmp_number(operator.ge),
                        "greater_equal")
lesser = _binary(_comparison(ops.less), _cmp_number(operator.lt), "lesser")
lesser_equal = _binary(_comparison(ops.less_equal), _cmp_number(operator.le), "lesser_equal")
logical_and = _binary(_logical(ops.logical_and), _cmp_number(lambda a, b: a and b),
                      "logical_and")
logical_or = _binary(_logical(ops.logical_or), _cmp_number(lambda a, b: a or b), "logical_or")
logical_xor = _binary(_logical(ops.logical_xor), _cmp_number(lambda a, b: bool(a) != bool(b)),
                      "logical_xor")
true_divide = divide

# The broadcast_* operators: the same computation, NDArray operands expected.
broadcast_add = broadcast_plus = add
broadcast_sub = broadcast_minus = subtract
broadcast_mul = multiply
broadcast_div = divide
broadcast_mod = modulo
broadcast_power = power
broadcast_maximum = maximum
broadcast_minimum = minimum
broadcast_hypot = hypot
broadcast_equal = equal
broadcast_not_equal = not_equal
broadcast_greater = greater
broadcast_greater_equal = greater_equal
broadcast_lesser = lesser
broadcast_lesser_equal = lesser_equal
broadcast_logical_and = logical_and
broadcast_logical_or = logical_or
broadcast_logical_xor = logical_xor


def _elemwise(fn):
    """``elemwise_*``: like the broadcast op, but the shapes must be equal."""

    def op(lhs=None, rhs=None, out=None, name=None, **kwargs):
        if lhs.shape != rhs.shape:
            raise MXNetError(
                "Check failed: assign(&dattr, vec.at(i)): Incompatible attr in node at "
                "1-th input: expected %s, got %s"
                % (_shape_text(lhs), _shape_text(rhs)))
        return deliver(apply(fn, lhs, rhs), out)

    return op


elemwise_add = _elemwise(add_t)
elemwise_sub = _elemwise(subtract_t)
elemwise_mul = _elemwise(multiply_t)
elemwise_div = _elemwise(divide_t)


def _add_n_t(*tensors):
    first = _tensor(tensors[0])
    total = first
    for t in tensors[1:]:
        t = _tensor(t, like=first)
        if t.dtype != first.dtype:
            raise _dtype_error(first, t)
        if tuple(t.shape) != tuple(first.shape):
            raise MXNetError("add_n: all inputs must have the same shape, got %s and %s"
                             % (_shape_text(first), _shape_text(t)))
        total = total + t
    return total


def add_n(*args, out=None, name=None, **kwargs):
    """The sum of all arguments (same shapes), ``ElementWiseSum``."""
    return deliver(apply(_add_n_t, *args), out)


ElementWiseSum = add_n

# ----------------------------------------------------------------- unary ops


def _in_float(fn):
    """``fn`` for float arrays; integer arrays go through float32 and back."""

    def run(t):
        if _backend.is_integer(t):
            name = _backend.tensor_dtype(t)
            return _backend.cast(fn(_backend.cast(t, _FLOAT32)), name)
        return fn(t)

    return run


def _unary(fn, float_only=True):
    """A public unary op ``name(data, out=None, name=None)``."""
    tensor_fn = _in_float(fn) if float_only else fn

    def op(data=None, out=None, name=None, **kwargs):
        result = apply(tensor_fn, data)
        return result if out is None else deliver(result, out)

    return op


def _rint(t):
    low, high = ops.floor(t), ops.ceil(t)
    return ops.where(t - low <= high - t, low, high)


def _round(t):
    return ops.sign(t) * ops.floor(ops.abs(t) + 0.5)


def _relu(t):
    return ops.maximum(t, ops.zeros_like(t)) if _backend.is_integer(t) else ops.relu(t)


def _gamma(t):
    magnitude = ops.exp(_backend.lgamma(t))
    negative_odd = ops.logical_and(t < 0, ops.mod(ops.floor(t), 2.0) != 0)
    return ops.where(negative_odd, -magnitude, magnitude)


negative = _unary(operator.neg, float_only=False)
abs = _unary(ops.abs, float_only=False)  # noqa: A001  (MXNet's name)
sign = _unary(ops.sign, float_only=False)
square = _unary(ops.square, float_only=False)
relu = _unary(_relu, float_only=False)
sqrt = _unary(ops.sqrt)
rsqrt = _unary(ops.rsqrt)
cbrt = _unary(ops.cbrt)
rcbrt = _unary(lambda t: 1.0 / ops.cbrt(t))
exp = _unary(ops.exp)
expm1 = _unary(ops.expm1)
log = _unary(ops.log)
log10 = _unary(ops.log10)
log2 = _unary(ops.log2)
log1p = _unary(ops.log1p)
reciprocal = _unary(lambda t: 1.0 / t)
sigmoid = _unary(ops.sigmoid)
tanh = _unary(ops.tanh)
softsign = _unary(ops.softsign)
sin = _unary(ops.sin)
cos = _unary(ops.cos)
tan = _unary(ops.tan)
arcsin = _unary(ops.arcsin)
arccos = _unary(ops.arccos)
arctan = _unary(ops.arctan)
sinh = _unary(ops.sinh)
cosh = _unary(ops.cosh)
arcsinh = _unary(ops.arcsinh)
arccosh = _unary(ops.arccosh)
arctanh = _unary(ops.arctanh)
degrees = _unary(ops.rad2deg)
radians = _unary(ops.deg2rad)
floor = _unary(ops.floor)
ceil = _unary(ops.ceil)
round = _unary(_round)  # noqa: A001  (MXNet's name)
rint = _unary(_rint)
trunc = _unary(ops.trunc)
fix = trunc
erf = _unary(ops.erf)
erfinv = _unary(ops.erfinv)
gamma = _unary(_gamma)
gammaln = _unary(_backend.lgamma)


def _logical_not_t(t):
    return _backend.cast(ops.equal(t, 0), _backend.tensor_dtype(t))


logical_not = _unary(_logical_not_t, float_only=False)


def _identity_t(t):
    return _backend.copy(t)


identity = _copy = _unary(_identity_t, float_only=False)
stop_gradient = BlockGrad = _unary(_backend.stop_gradient, float_only=False)


def cast(data=None, dtype=None, out=None, name=None, **kwargs):
    return deliver(apply(_backend.cast, data, name=_backend.dtype_name(dtype)), out)


Cast = cast

# ----------------------------------------------------------- activations


def _softmax_t(t, axis, temperature, dtype, log, negate):
    if negate:
        t = -t
    if temperature is not None and temperature != 1.0:
        t = t / temperature
    if dtype is not None:
        t = _backend.cast(t, dtype)
    return ops.log_softmax(t, axis=axis) if log else ops.softmax(t, axis=axis)


def _softmax_op(log, negate):
    def op(data=None, axis=-1, temperature=None, dtype=None, out=None, name=None, **kwargs):
        result = apply(_in_float(lambda t: _softmax_t(
            t, axis, temperature, _backend.dtype_name(dtype), log, negate)), data)
        return deliver(result, out)

    return op


softmax = _softmax_op(log=False, negate=False)
log_softmax = _softmax_op(log=True, negate=False)
softmin = _softmax_op(log=False, negate=True)


def _activation_t(t, act_type):
    if act_type == "relu":
        return _relu(t)
    if act_type == "sigmoid":
        return ops.sigmoid(t)
    if act_type == "tanh":
        return ops.tanh(t)
    if act_type == "softrelu":
        return ops.softplus(t)
    if act_type == "softsign":
        return ops.softsign(t)
    raise MXNetError("Invalid Input: '%s', valid values are: {'relu', 'sigmoid', "
                     "'softrelu', 'softsign', 'tanh'}" % act_type)


def Activation(data=None, act_type=None, out=None, name=None, **kwargs):
    return deliver(apply(_activation_t, data, act_type=act_type), out)


def _leaky_t(t, act_type, slope):
    if act_type == "leaky":
        return ops.where(t > 0, t, t * slope)
    if act_type == "elu":
        return ops.where(t > 0, t, slope * (ops.exp(t) - 1.0))
    if act_type == "selu":
        return ops.selu(t)
    if act_type == "gelu":
        return ops.gelu(t, approximate=False)
    raise MXNetError("LeakyReLU: act_type %r is not supported" % act_type)


def _prelu_t(t, gamma):
    """MXNet's 'prelu': ``gamma`` of one value, or one per channel (axis 1)."""
    gamma = ops.cast(gamma, t.dtype)
    if int(gamma.shape[0]) > 1:
        gamma = ops.reshape(gamma, (1, -1) + (1,) * (len(t.shape) - 2))
    return ops.where(t > 0, t, t * gamma)


def LeakyReLU(data=None, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125,
              upper_bound=0.334, out=None, name=None, **kwargs):
    if act_type == "prelu":  # gluon.nn.PReLU's hybrid_forward: F.LeakyReLU(x, gamma=alpha)
        if gamma is None:
            raise MXNetError("LeakyReLU: act_type 'prelu' needs gamma (the slopes, an "
                             "NDArray of shape (1,) or (channels,))")
        return deliver(apply(_prelu_t, data, gamma), out)
    return deliver(apply(_leaky_t, data, act_type=act_type, slope=slope), out)


def _smooth_l1_t(t, sigma):
    s2 = sigma * sigma
    a = ops.abs(t)
    return ops.where(a < 1.0 / s2, 0.5 * s2 * t * t, a - 0.5 / s2)


def smooth_l1(data=None, scalar=1.0, out=None, name=None, **kwargs):
    return deliver(apply(_smooth_l1_t, data, sigma=float(scalar)), out)


def _softmax_ce_t(t, label):
    logp = ops.log_softmax(t, axis=-1)
    picked = ops.take_along_axis(logp, ops.expand_dims(ops.cast(label, "int32"), -1), axis=-1)
    return _backend.to_vector(-ops.sum(picked))


def softmax_cross_entropy(data=None, label=None, out=None, name=None, **kwargs):
    return deliver(apply(_softmax_ce_t, data, label), out)


# ------------------------------------------------------------ clip and where


def _clip_t(t, a_min, a_max):
    if a_min is None or a_max is None:
        raise MXNetError("Invalid Parameter format for a_min/a_max: expect float but value='None'")
    if _backend.is_integer(t):
        a_min, a_max = int(a_min), int(a_max)
    return ops.clip(t, a_min, a_max)


def clip(data=None, a_min=None, a_max=None, out=None, name=None, **kwargs):
    """Values limited to ``[a_min, a_max]`` (both required, as in MXNet)."""
    return deliver(apply(_clip_t, data, a_min=a_min, a_max=a_max), out)


def _where_t(condition, x, y):
    x, y = operands(x, y)
    cond = ops.not_equal(condition, 0)
    cshape, xshape = tuple(cond.shape), tuple(x.shape)
    if cshape != xshape:
        if len(cshape) == 1 and cshape[0] == xshape[0]:
            cond = _backend.reshape(cond, _backend.dims(cond) + (1,) * (len(xshape) - 1))
        else:
            raise MXNetError("where: condition shape %s does not match x shape %s"
                             % (cshape, xshape))
    return ops.where(cond, x, y)


def where(condition=None, x=None, y=None, out=None, name=None, **kwargs):
    """``x`` where ``condition`` is non-zero, else ``y`` (a 1-D condition selects rows)."""
    return deliver(apply(_where_t, condition, x, y), out)
