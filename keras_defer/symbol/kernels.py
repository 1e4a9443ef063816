"""MXNet's operators, one function each, computing with ``keras.ops``.

An exported MXNet graph (``model-symbol.json``) names each node's operator and gives
its arguments as strings (``"(3, 3)"``, ``"True"``, ``"64"``, ``"None"``); a kernel's
``parse`` turns them into Python values with MXNet 1.9.1's defaults once, when the
graph is read (so a bad attribute fails at import, not at the first forward), and its
``run(call, *inputs)`` computes the node's outputs.

Layouts. TensorFlow's CPU has no channels-first convolution or pooling kernels, so a
kernel of ``layout=SPATIAL`` (convolution, pooling) takes its data channels-last and
returns channels-last; kernels of ``layout=CHANNEL_AXIS`` (BatchNorm, Concat) take
either form and move their axis; ``ELEMENTWISE`` kernels compute on whatever form
comes; every other kernel (``LOGICAL``) sees MXNet's own layout. The interpreter
transposes a tensor only where the form changes, so a ResNet pays one transpose at its
input and one before its classifier instead of two per convolution.
"""

import ast
import math

import keras
import numpy as np
from keras import ops

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd import shape as _shape_ops

__all__ = ["KERNELS", "Kernel", "LOGICAL", "ELEMENTWISE", "CHANNEL_AXIS", "SPATIAL",
           "ZerosSpec", "supported_operators"]

LOGICAL, ELEMENTWISE, CHANNEL_AXIS, SPATIAL = "logical", "elementwise", "channel_axis", "spatial"

_DTYPES = {"0": "float32", "1": "float64", "2": "float16", "3": "uint8", "4": "int32",
           "5": "int8", "6": "int64", "7": "bool", "12": "bfloat16"}


class Kernel:
    """One operator: how to read its attributes, how to compute it, which of its
    inputs are parameters (and their shapes from the data's), which are auxiliary
    states (updated, never differentiated: BatchNorm's moving statistics)."""

    def __init__(self, name, run, parse, layout, param_shapes, aux, num_outputs):
        self.name = name
        self.run = run
        self.parse = parse
        self.layout = layout
        self.param_shapes = param_shapes
        self.aux = aux
        self.num_outputs = num_outputs


KERNELS = {}


def supported_operators():
    return sorted(KERNELS)


def _register(*names, parse=None, layout=LOGICAL, param_shapes=None, aux=(), num_outputs=1):
    def wrap(fn):
        for name in names:
            KERNELS[name] = Kernel(name, fn, parse or (lambda a: {}), layout, param_shapes,
                                   aux, num_outputs)
        return fn
    return wrap


# -- MXNet's attribute strings ------------------------------------------------------------
class _Attrs:
    """Reads one node's string attributes with MXNet's defaults; names the node and the
    attribute when a string is not what the operator takes."""

    def __init__(self, op, attrs):
        self.op = op
        self.raw = attrs

    def _fail(self, key, what):
        raise MXNetError("Invalid Parameter format for %s expect %s but value='%s' "
                         "(operator %s)" % (key, what, self.raw[key], self.op))

    def _literal(self, key):
        text = self.raw[key].strip()
        if text in ("None", ""):
            return None
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            if text in ("true", "false"):
                return text == "true"
            return text

    def str(self, key, default=None):
        value = self.raw.get(key)
        return default if value is None or value == "None" else value

    def bool(self, key, default):
        if key not in self.raw:
            return default
        text = self.raw[key].strip()
        if text in ("True", "true", "1"):
            return True
        if text in ("False", "false", "0"):
            return False
        self._fail(key, "boolean")

    def int(self, key, default=None):
        if key not in self.raw:
            return default
        value = self._literal(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            self._fail(key, "int")
        return int(value)

    def float(self, key, default=None):
        if key not in self.raw:
            return default
        value = self._literal(key)
        if value is None:
            return None
        if isinstance(value, str):
            if value.lower() in ("inf", "+inf", "-inf", "nan"):
                return float(value)
            self._fail(key, "float")
        return float(value)

    def ints(self, key, default=None, size=None):
        """A shape-like tuple; a single int becomes a tuple (``size`` copies)."""
        if key not in self.raw:
            return default
        value = self._literal(key)
        if value is None:
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = (int(value),) * (size or 1)
        if not isinstance(value, (tuple, list)) or not all(
                v is None or isinstance(v, int) for v in value):
            self._fail(key, "a tuple of ints")
        return tuple(value)

    def dtype(self, key, default="float32"):
        value = self.str(key)
        if value is None:
            return default
        return _DTYPES.get(value, value)


def _channels_last_axis(axis, rank):
    """Where MXNet's axis ``axis`` sits in the channels-last form of a rank-``rank``
    tensor (axis 1 moved to the end)."""
    axis = axis % rank
    if axis == 0:
        return 0
    if axis == 1:
        return rank - 1
    return axis - 1


# -- convolution --------------------------------------------------------------------------
def _parse_conv(a, transpose=False):
    kernel = a.ints("kernel")
    if not kernel:
        raise MXNetError("Required parameter kernel of Shape(tuple) is not presented "
                         "(operator %s)" % a.op)
    n = len(kernel)
    layout = a.str("layout") or {1: "NCW", 2: "NCHW", 3: "NCDHW"}[n]
    if layout not in ("NCW", "NCHW", "NCDHW"):
        raise MXNetError("%s: layout %s is not supported here (only the channels-first "
                         "layouts NCW, NCHW, NCDHW)" % (a.op, layout))
    if a.int("num_filter") is None:
        raise MXNetError("Required parameter num_filter of int is not presented "
                         "(operator %s)" % a.op)
    out = {
        "kernel": kernel, "stride": a.ints("stride", (1,) * n, n) or (1,) * n,
        "dilate": a.ints("dilate", (1,) * n, n) or (1,) * n,
        "pad": a.ints("pad", (0,) * n, n) or (0,) * n,
        "num_filter": a.int("num_filter"), "num_group": a.int("num_group", 1),
        "no_bias": a.bool("no_bias", transpose),  # Deconvolution: no bias by default
        "layout": layout,
    }
    if transpose:
        out["adj"] = a.ints("adj", (0,) * n, n) or (0,) * n
        target = a.ints("target_shape", ())
        if target and any(target):
            raise MXNetError("Deconvolution: target_shape is not supported here; give "
                             "pad and adj instead")
    return out


def _conv_param_shapes(p, shapes):
    channels = shapes[0][1]
    out = {1: (p["num_filter"], channels // p["num_group"]) + p["kernel"]}
    if not p["no_bias"]:
        out[2] = (p["num_filter"],)
    return out


def _deconv_param_shapes(p, shapes):
    channels = shapes[0][1]
    out = {1: (channels, p["num_filter"] // p["num_group"]) + p["kernel"]}
    if not p["no_bias"]:
        out[2] = (p["num_filter"],)
    return out


def _pad_spatial(x, before, after, value=0.0):
    if not any(before) and not any(after):
        return x
    widths = [(0, 0)] + [(int(b), int(a)) for b, a in zip(before, after)] + [(0, 0)]
    return ops.pad(x, widths, constant_values=value)


def _conv_valid(x, kernel, p):
    strides, dilation, pad = p["stride"], p["dilate"], p["pad"]
    if any(pad) and all(s == 1 and (d * (k - 1)) % 2 == 0 and q == d * (k - 1) // 2
                        for k, s, q, d in zip(p["kernel"], strides, pad, dilation)):
        return ops.conv(x, kernel, strides=1, padding="same", data_format="channels_last",
                        dilation_rate=dilation)
    x = _pad_spatial(x, pad, pad)
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        # TensorFlow refuses strides and dilation together: convolve densely, subsample
        y = ops.conv(x, kernel, strides=1, padding="valid", data_format="channels_last",
                     dilation_rate=dilation)
        return y[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    return ops.conv(x, kernel, strides=strides, padding="valid",
                    data_format="channels_last", dilation_rate=dilation)


def _depthwise(x, weight, p):
    """A convolution with one filter per input channel (MobileNet's): Keras's
    depthwise convolution, which TensorFlow runs natively."""
    n = len(p["kernel"])
    if n != 2 or any(d > 1 for d in p["dilate"]) and any(s > 1 for s in p["stride"]):
        return None
    kernel = ops.transpose(weight, (2, 3, 0, 1))  # (C, 1, kh, kw) -> (kh, kw, C, 1)
    pad = p["pad"]
    x = _pad_spatial(x, pad, pad)
    return ops.depthwise_conv(x, kernel, strides=p["stride"], padding="valid",
                              data_format="channels_last", dilation_rate=p["dilate"])


@_register("Convolution", "Convolution_v1", parse=_parse_conv, layout=SPATIAL,
           param_shapes=_conv_param_shapes)
def convolution(call, x, weight, bias=None):
    p = call.attrs
    n = len(p["kernel"])
    groups = p["num_group"]
    if call.fold is not None:
        weight, bias = _fold_batch_norm(weight, bias, *call.fold)
    y = None
    if groups > 1 and groups == p["num_filter"] and weight.shape[1] == 1:
        y = _depthwise(x, weight, p)
    if y is None:
        kernel = ops.transpose(weight, tuple(range(2, 2 + n)) + (1, 0))
        if groups == 1:
            y = _conv_valid(x, kernel, p)
        else:  # TensorFlow's CPU has no grouped convolution: one per group
            xs = ops.split(x, groups, axis=-1)
            ks = ops.split(kernel, groups, axis=-1)
            y = ops.concatenate([_conv_valid(a, k, p) for a, k in zip(xs, ks)], axis=-1)
    if bias is not None:
        y = ops.add(y, bias)
    return y


def _fold_batch_norm(weight, bias, bn_attrs, gamma, beta, mean, var):
    """A convolution followed by an inference-mode BatchNorm is one convolution: the
    weights scaled per output channel, the shift added as its bias. One pass over the
    weights replaces two over the activations, and TensorFlow fuses the bias (and a
    ReLU after it) into the convolution."""
    dtype = weight.dtype
    scale = ops.rsqrt(ops.cast(var, dtype) + bn_attrs["eps"])
    if not bn_attrs["fix_gamma"]:
        scale = scale * ops.cast(gamma, dtype)
    shift = ops.cast(beta, dtype) - ops.cast(mean, dtype) * scale
    weight = weight * ops.reshape(scale, (-1,) + (1,) * (len(weight.shape) - 1))
    bias = shift if bias is None else bias * scale + shift
    return weight, bias


def _dilate_kernel(kernel, dilation):
    for axis, d in enumerate(dilation):
        if d == 1:
            continue
        size = kernel.shape[axis]
        zeros_shape = list(kernel.shape)
        zeros_shape[axis] = d - 1
        zeros = ops.zeros(zeros_shape, kernel.dtype)
        pieces = []
        for i, piece in enumerate(ops.split(kernel, size, axis=axis)):
            pieces.append(piece)
            if i < size - 1:
                pieces.append(zeros)
        kernel = ops.concatenate(pieces, axis=axis)
    return kernel


@_register("Deconvolution", parse=lambda a: _parse_conv(a, transpose=True), layout=SPATIAL,
           param_shapes=_deconv_param_shapes)
def deconvolution(call, x, weight, bias=None):
    p = call.attrs
    n = len(p["kernel"])
    kernel = ops.transpose(weight, tuple(range(2, 2 + n)) + (1, 0))  # (*k, out/g, in)
    if any(d > 1 for d in p["dilate"]):
        kernel = _dilate_kernel(kernel, p["dilate"])

    def one(a, k):
        y = ops.conv_transpose(a, k, strides=p["stride"], padding="valid",
                               output_padding=p["adj"], data_format="channels_last")
        if any(p["pad"]):
            y = y[(slice(None),) + tuple(slice(q, -q if q else None) for q in p["pad"])]
        return y

    groups = p["num_group"]
    if groups == 1:
        y = one(x, kernel)
    else:
        xs = ops.split(x, groups, axis=-1)
        ks = ops.split(kernel, groups, axis=-1)
        y = ops.concatenate([one(a, k) for a, k in zip(xs, ks)], axis=-1)
    if bias is not None:
        y = ops.add(y, bias)
    return y


# -- dense --------------------------------------------------------------------------------
def _parse_fc(a):
    if a.int("num_hidden") is None:
        raise MXNetError("Required parameter num_hidden of int is not presented "
                         "(operator FullyConnected)")
    return {"num_hidden": a.int("num_hidden"), "no_bias": a.bool("no_bias", False),
            "flatten": a.bool("flatten", True)}


def _fc_param_shapes(p, shapes):
    shape = shapes[0]
    units = int(np.prod(shape[1:])) if p["flatten"] else shape[-1]
    out = {1: (p["num_hidden"], units)}
    if not p["no_bias"]:
        out[2] = (p["num_hidden"],)
    return out


@_register("FullyConnected", parse=_parse_fc, param_shapes=_fc_param_shapes)
def fully_connected(call, x, weight, bias=None):
    if call.attrs["flatten"] and len(x.shape) != 2:
        x = _flatten(x)
    y = ops.matmul(x, ops.transpose(weight))
    if bias is not None:
        y = ops.add(y, bias)
    return y


def _flatten(x):
    dims = _backend.dims(x)
    rest = int(np.prod(x.shape[1:])) if None not in tuple(x.shape[1:]) else -1
    return _backend.reshape(x, (dims[0], rest))


@_register("Flatten", "flatten")
def flatten(call, x):
    return _flatten(x)


# -- normalization ------------------------------------------------------------------------
def _parse_bn(a):
    return {"eps": a.float("eps", 1e-3), "momentum": a.float("momentum", 0.9),
            "fix_gamma": a.bool("fix_gamma", True),
            "use_global_stats": a.bool("use_global_stats", False),
            "axis": a.int("axis", 1), "output_mean_var": a.bool("output_mean_var", False)}


def _bn_param_shapes(p, shapes):
    channels = shapes[0][p["axis"] % len(shapes[0])]
    return {i: (channels,) for i in (1, 2, 3, 4)}


@_register("BatchNorm", "BatchNorm_v1", "_contrib_SyncBatchNorm", parse=_parse_bn,
           layout=CHANNEL_AXIS, param_shapes=_bn_param_shapes, aux=(3, 4), num_outputs=3)
def batch_norm(call, x, gamma, beta, moving_mean, moving_var):
    """MXNet's BatchNorm: in training (``autograd.record()``, ``fit``) the batch's
    statistics normalize and move the moving ones in place,
    ``moving = moving * momentum + batch * (1 - momentum)`` (the biased variance);
    otherwise, or with ``use_global_stats``, the moving statistics normalize.
    ``fix_gamma`` (MXNet's default) treats gamma as 1."""
    p = call.attrs
    rank = len(x.shape)
    axis = p["axis"] % rank
    if call.channels_last:
        axis = _channels_last_axis(axis, rank)
    reduce_axes = tuple(i for i in range(rank) if i != axis)
    shape = [1] * rank
    shape[axis] = -1
    if call.training and not p["use_global_stats"]:
        mean, var = ops.moments(x, axes=reduce_axes)
        m = p["momentum"]
        mean_var, var_var = call.variables[3], call.variables[4]
        if mean_var is not None:
            mean_var.assign(mean_var * m + ops.cast(_backend.stop_gradient(mean),
                                                    mean_var.dtype) * (1 - m))
        if var_var is not None:
            var_var.assign(var_var * m + ops.cast(_backend.stop_gradient(var),
                                                  var_var.dtype) * (1 - m))
    else:
        mean, var = moving_mean, moving_var
    mean = ops.cast(mean, x.dtype)
    scale = ops.rsqrt(ops.cast(var, x.dtype) + p["eps"])
    if p["fix_gamma"]:
        # gamma counts as 1 and its gradient is 0 (written, as MXNet writes it, so a
        # Trainer does not see a stale gradient); training writes 1 into it
        scale = scale * (ops.cast(gamma, x.dtype) * 0.0 + 1.0)
        gamma_var = call.variables[1]
        if call.training and gamma_var is not None:
            gamma_var.assign(ops.ones_like(gamma_var.value))
    else:
        scale = scale * ops.cast(gamma, x.dtype)
    shift = ops.cast(beta, x.dtype) - mean * scale
    y = x * ops.reshape(scale, shape) + ops.reshape(shift, shape)
    return [y, mean, var]


def _parse_lrn(a):
    if a.int("nsize") is None:
        raise MXNetError("Required parameter nsize of int is not presented (operator LRN)")
    return {"alpha": a.float("alpha", 1e-4), "beta": a.float("beta", 0.75),
            "knorm": a.float("knorm", 2.0), "nsize": a.int("nsize")}


@_register("LRN", parse=_parse_lrn, num_outputs=2)
def lrn(call, x):
    """Local response normalization across channels (axis 1), MXNet's formula:
    ``x / (knorm + alpha / nsize * sum(x^2 over nsize channels)) ** beta``."""
    p = call.attrs
    n = p["nsize"]
    half = n // 2
    sq = ops.square(x)
    rank = len(x.shape)
    widths = [(0, 0), (half, n - 1 - half)] + [(0, 0)] * (rank - 2)
    padded = ops.pad(sq, widths)
    channels = x.shape[1]
    total = sum(padded[:, i:i + channels] for i in range(n))
    norm = p["knorm"] + p["alpha"] / n * total
    return [x / ops.power(norm, p["beta"]), norm]


# -- activations --------------------------------------------------------------------------
_ACTIVATIONS = {
    "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    "softrelu": ops.softplus, "softsign": ops.softsign,
}


def _parse_activation(a):
    act = a.str("act_type")
    if act not in _ACTIVATIONS:
        raise MXNetError("Invalid Input: '%s', valid values are: {'relu', 'sigmoid', "
                         "'softrelu', 'softsign', 'tanh'} (operator Activation)" % act)
    return {"act_type": act}


@_register("Activation", parse=_parse_activation, layout=ELEMENTWISE)
def activation(call, x):
    return _ACTIVATIONS[call.attrs["act_type"]](x)


def _parse_leaky(a):
    act = a.str("act_type", "leaky")
    if act not in ("leaky", "prelu", "elu", "selu", "gelu", "rrelu"):
        raise MXNetError("LeakyReLU: act_type %r is not one of leaky, prelu, elu, selu, "
                         "gelu, rrelu" % act)
    return {"act_type": act, "slope": a.float("slope", 0.25),
            "lower_bound": a.float("lower_bound", 0.125),
            "upper_bound": a.float("upper_bound", 0.334)}


def _leaky_param_shapes(p, shapes):
    if p["act_type"] != "prelu":
        return {}
    shape = shapes[0]
    return {1: (shape[1] if len(shape) > 1 else 1,)}


@_register("LeakyReLU", parse=_parse_leaky, param_shapes=_leaky_param_shapes)
def leaky_relu(call, x, gamma=None):
    p = call.attrs
    act = p["act_type"]
    if act == "prelu":
        g = ops.cast(gamma, x.dtype)
        if int(g.shape[0]) > 1 or len(x.shape) > 1:
            g = ops.reshape(g, (1, -1) + (1,) * (len(x.shape) - 2))
        return ops.where(x > 0, x, x * g)
    if act == "leaky":
        return ops.where(x > 0, x, x * p["slope"])
    if act == "rrelu":  # inference: the mean slope (training draws one per element)
        if call.training:
            slope = keras.random.uniform(ops.shape(x), p["lower_bound"], p["upper_bound"],
                                         dtype=x.dtype, seed=call.seed)
            return ops.where(x > 0, x, x * slope)
        return ops.where(x > 0, x, x * ((p["lower_bound"] + p["upper_bound"]) / 2))
    if act == "elu":
        return ops.where(x > 0, x, p["slope"] * (ops.exp(ops.minimum(x, 0.0)) - 1.0))
    if act == "selu":
        return ops.selu(x)
    return ops.gelu(x, approximate=False)


def _unary(*names, fn):
    _register(*names, layout=ELEMENTWISE)(lambda call, x: fn(x))


_unary("relu", fn=ops.relu)
_unary("sigmoid", fn=ops.sigmoid)
_unary("tanh", fn=ops.tanh)
_unary("softsign", fn=ops.softsign)
_unary("exp", fn=ops.exp)
_unary("log", fn=ops.log)
_unary("sqrt", fn=ops.sqrt)
_unary("rsqrt", fn=ops.rsqrt)
_unary("square", fn=ops.square)
_unary("abs", fn=ops.abs)
_unary("negative", fn=ops.negative)
_unary("reciprocal", fn=lambda x: 1.0 / x)
_unary("erf", fn=ops.erf)
_unary("sin", fn=ops.sin)
_unary("cos", fn=ops.cos)
_unary("floor", fn=ops.floor)
_unary("ceil", fn=ops.ceil)
_unary("_copy", "identity", "_identity_with_attr_like_rhs", fn=lambda x: x)
_unary("BlockGrad", "stop_gradient", fn=_backend.stop_gradient)
_unary("zeros_like", fn=ops.zeros_like)
_unary("ones_like", fn=ops.ones_like)


@_register("Cast", "cast", "amp_cast", parse=lambda a: {"dtype": a.dtype("dtype")},
           layout=ELEMENTWISE)
def cast(call, x):
    return ops.cast(x, call.attrs["dtype"])


@_register("clip", parse=lambda a: {"a_min": a.float("a_min"), "a_max": a.float("a_max")},
           layout=ELEMENTWISE)
def clip(call, x):
    p = call.attrs
    return ops.clip(x, p["a_min"], p["a_max"])


def _parse_dropout(a):
    mode = a.str("mode", "training")
    return {"p": a.float("p", 0.5), "mode": mode, "axes": a.ints("axes", ()) or ()}


@_register("Dropout", parse=_parse_dropout, layout=ELEMENTWISE, num_outputs=2)
def dropout(call, x):
    """Identity in inference; in training (or ``mode='always'``) zero each element with
    probability ``p`` and scale the rest by ``1/(1-p)`` (a fresh mask per call)."""
    p = call.attrs
    if p["p"] == 0 or not (call.training or p["mode"] == "always"):
        return [x, ops.ones_like(x)]
    noise_shape = None
    if p["axes"]:
        axes = p["axes"]
        if call.channels_last:
            axes = tuple(_channels_last_axis(a, len(x.shape)) for a in axes)
        noise_shape = tuple(1 if i in axes else d for i, d in enumerate(ops.shape(x)))
    y = keras.random.dropout(x, p["p"], noise_shape=noise_shape, seed=call.seed)
    return [y, ops.ones_like(x)]


# -- arithmetic ---------------------------------------------------------------------------
def _binary(*names, fn):
    _register(*names, layout=ELEMENTWISE)(lambda call, a, b: fn(a, b))


_binary("elemwise_add", "_Plus", "_plus", "_add", "broadcast_add", "broadcast_plus",
        "_grad_add", fn=ops.add)
_binary("elemwise_sub", "_Minus", "_minus", "_sub", "broadcast_sub", "broadcast_minus",
        fn=ops.subtract)
_binary("elemwise_mul", "_Mul", "_mul", "broadcast_mul", fn=ops.multiply)
_binary("elemwise_div", "_Div", "_div", "broadcast_div", fn=ops.divide)
_binary("_Maximum", "_maximum", "broadcast_maximum", fn=ops.maximum)
_binary("_Minimum", "_minimum", "broadcast_minimum", fn=ops.minimum)
_binary("_Power", "_power", "broadcast_power", fn=ops.power)
_binary("_Hypot", "_hypot", "broadcast_hypot", fn=lambda a, b: ops.sqrt(a * a + b * b))


def _scalar(*names, fn):
    _register(*names, parse=lambda a: {"scalar": a.float("scalar", 1.0)},
              layout=ELEMENTWISE)(lambda call, x: fn(x, call.attrs["scalar"]))


_scalar("_plus_scalar", "_PlusScalar", fn=lambda x, s: x + s)
_scalar("_minus_scalar", "_MinusScalar", fn=lambda x, s: x - s)
_scalar("_rminus_scalar", "_RMinusScalar", fn=lambda x, s: s - x)
_scalar("_mul_scalar", "_MulScalar", fn=lambda x, s: x * s)
_scalar("_div_scalar", "_DivScalar", fn=lambda x, s: x / s)
_scalar("_rdiv_scalar", "_RDivScalar", fn=lambda x, s: s / x)
_scalar("_power_scalar", "_PowerScalar", fn=lambda x, s: ops.power(x, s))
_scalar("_rpower_scalar", "_RPowerScalar", fn=lambda x, s: ops.power(s, x))
_scalar("_maximum_scalar", "_MaximumScalar", fn=lambda x, s: ops.maximum(x, s))
_scalar("_minimum_scalar", "_MinimumScalar", fn=lambda x, s: ops.minimum(x, s))


@_register("add_n", "ElementWiseSum", "_sum", layout=ELEMENTWISE)
def add_n(call, *xs):
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


# -- joining and splitting ----------------------------------------------------------------
@_register("Concat", "concat", "_rnn_param_concat",
           parse=lambda a: {"dim": a.int("dim", 1)}, layout=CHANNEL_AXIS)
def concat(call, *xs):
    axis = call.attrs["dim"]
    if call.channels_last:
        axis = _channels_last_axis(axis, len(xs[0].shape))
    return ops.concatenate(list(xs), axis=axis)


def _parse_split(a):
    if a.int("num_outputs") is None:
        raise MXNetError("Required parameter num_outputs of int is not presented "
                         "(operator %s)" % a.op)
    return {"num_outputs": a.int("num_outputs"), "axis": a.int("axis", 1),
            "squeeze_axis": a.bool("squeeze_axis", False)}


@_register("SliceChannel", "split", parse=_parse_split, num_outputs=lambda p: p["num_outputs"])
def slice_channel(call, x):
    p = call.attrs
    return _shape_ops._split_t(x, p["num_outputs"], p["axis"], p["squeeze_axis"])


# -- shapes -------------------------------------------------------------------------------
@_register("Reshape", "reshape",
           parse=lambda a: {"shape": a.ints("shape", ()), "reverse": a.bool("reverse", False),
                            "target_shape": a.ints("target_shape", ())})
def reshape(call, x):
    p = call.attrs
    shape = p["shape"] or p["target_shape"]
    return _shape_ops._reshape_t(x, shape, p["reverse"])


@_register("transpose", parse=lambda a: {"axes": a.ints("axes", ())})
def transpose(call, x):
    axes = call.attrs["axes"] or tuple(reversed(range(len(x.shape))))
    return ops.transpose(x, axes)


@_register("SwapAxis", "swapaxes",
           parse=lambda a: {"dim1": a.int("dim1", 0), "dim2": a.int("dim2", 0)})
def swap_axis(call, x):
    return ops.swapaxes(x, call.attrs["dim1"], call.attrs["dim2"])


@_register("expand_dims", parse=lambda a: {"axis": a.int("axis")})
def expand_dims(call, x):
    return ops.expand_dims(x, call.attrs["axis"])


@_register("squeeze", parse=lambda a: {"axis": a.ints("axis", None)})
def squeeze(call, x):
    return _shape_ops._squeeze_t(x, call.attrs["axis"])


@_register("slice", "crop",
           parse=lambda a: {"begin": a.ints("begin", ()), "end": a.ints("end", ()),
                            "step": a.ints("step", ())})
def slice_(call, x):
    p = call.attrs
    return _shape_ops._slice_t(x, p["begin"], p["end"], p["step"])


@_register("slice_axis", parse=lambda a: {"axis": a.int("axis"), "begin": a.int("begin", 0),
                                          "end": a.int("end", None)})
def slice_axis(call, x):
    p = call.attrs
    return _shape_ops._slice_axis_t(x, p["axis"], p["begin"], p["end"])


@_register("take", parse=lambda a: {"axis": a.int("axis", 0), "mode": a.str("mode", "clip")})
def take(call, x, indices):
    return _shape_ops._take_t(x, indices, call.attrs["axis"], call.attrs["mode"])


def _parse_embedding(a):
    return {"input_dim": a.int("input_dim"), "output_dim": a.int("output_dim"),
            "dtype": a.dtype("dtype")}


@_register("Embedding", parse=_parse_embedding,
           param_shapes=lambda p, s: {1: (p["input_dim"], p["output_dim"])})
def embedding(call, indices, weight):
    idx = ops.cast(ops.clip(indices, 0, call.attrs["input_dim"] - 1), "int32")
    return ops.take(weight, idx, axis=0)


# -- softmax ------------------------------------------------------------------------------
def _parse_softmax(a):
    return {"axis": a.int("axis", -1), "temperature": a.float("temperature", None),
            "dtype": a.dtype("dtype", None)}


def _softmax(call, x, log):
    p = call.attrs
    if p["temperature"] is not None and p["temperature"] != 1.0:
        x = x / p["temperature"]
    if p["dtype"] is not None:
        x = ops.cast(x, p["dtype"])
    return (ops.log_softmax if log else ops.softmax)(x, axis=p["axis"])


@_register("softmax", parse=_parse_softmax)
def softmax(call, x, length=None):
    return _softmax(call, x, log=False)


@_register("log_softmax", parse=_parse_softmax)
def log_softmax(call, x, length=None):
    return _softmax(call, x, log=True)


@_register("SoftmaxActivation", parse=lambda a: {"mode": a.str("mode", "instance")})
def softmax_activation(call, x):
    if call.attrs["mode"] == "channel":
        return ops.softmax(x, axis=1)
    flat = _flatten(x)
    return _backend.reshape(ops.softmax(flat, axis=-1), _backend.dims(x))


@_register("SoftmaxOutput", "Softmax",
           parse=lambda a: {"multi_output": a.bool("multi_output", False),
                            "preserve_shape": a.bool("preserve_shape", False)})
def softmax_output(call, x, label=None):
    """Its forward is a softmax (the label only shapes the gradient in MXNet's
    training, which this interpreter does not emulate)."""
    p = call.attrs
    if p["multi_output"]:
        return ops.softmax(x, axis=1)
    if p["preserve_shape"]:
        return ops.softmax(x, axis=-1)
    return _backend.reshape(ops.softmax(_flatten(x), axis=-1), _backend.dims(x))


# -- reductions and products --------------------------------------------------------------
def _parse_reduce(a):
    return {"axis": a.ints("axis", None), "keepdims": a.bool("keepdims", False),
            "exclude": a.bool("exclude", False)}


def _reduction(name, fn):
    @_register(name, parse=_parse_reduce)
    def run(call, x):
        p = call.attrs
        rank = len(x.shape)
        axis = p["axis"]
        if axis is None or axis == ():
            axes = tuple(range(rank)) if not p["exclude"] else ()
        else:
            axes = tuple(a % rank for a in axis)
            if p["exclude"]:
                axes = tuple(i for i in range(rank) if i not in axes)
        y = fn(x, axis=axes, keepdims=p["keepdims"])
        if not p["keepdims"] and len(axes) == rank:
            y = ops.reshape(y, (1,))  # MXNet's full reduction is a (1,) array
        return y
    return run


_reduction("mean", ops.mean)
_reduction("sum", ops.sum)
_reduction("max", ops.max)
_reduction("min", ops.min)
_reduction("prod", ops.prod)


@_register("dot", "batch_dot", parse=lambda a: {"transpose_a": a.bool("transpose_a", False),
                                                "transpose_b": a.bool("transpose_b", False)})
def dot(call, a, b):
    p = call.attrs
    if call.op == "batch_dot":
        if p["transpose_a"]:
            a = ops.swapaxes(a, -1, -2)
        if p["transpose_b"]:
            b = ops.swapaxes(b, -1, -2)
        return ops.matmul(a, b)
    if p["transpose_a"]:
        a = ops.transpose(a)
    if p["transpose_b"]:
        b = ops.transpose(b)
    if len(a.shape) <= 2 and len(b.shape) <= 2:
        return ops.matmul(a, b)
    return ops.tensordot(a, b, axes=1)


# -- creation -----------------------------------------------------------------------------
class ZerosSpec:
    """A ``_zeros`` node whose shape holds a 0 ("infer me"), as Gluon's recurrent layers
    export their default begin states: the RNN kernel that reads it knows the batch."""

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype


def _parse_fill(a):
    return {"shape": a.ints("shape", ()), "dtype": a.dtype("dtype"),
            "value": a.float("value", 0.0)}


def _fill(call, value):
    p = call.attrs
    if 0 in p["shape"]:
        if value != 0:
            raise MXNetError("%s: a shape with unknown (0) dims is supported for zeros only"
                             % call.op)
        return ZerosSpec(p["shape"], p["dtype"])
    return ops.full(p["shape"], value, dtype=p["dtype"])


_register("_zeros", "zeros", parse=_parse_fill)(lambda call: _fill(call, 0.0))
_register("_ones", "ones", parse=_parse_fill)(lambda call: _fill(call, 1.0))
_register("_full", "full", parse=_parse_fill)(lambda call: _fill(call, call.attrs["value"]))


# -- pooling ------------------------------------------------------------------------------
def _parse_pool(a):
    global_pool = a.bool("global_pool", False)
    kernel = a.ints("kernel", ())
    if not kernel and not global_pool:
        raise MXNetError("Pooling: kernel is required unless global_pool=True")
    ranks = {"NCW": 1, "NCHW": 2, "NCDHW": 3, "NWC": 1, "NHWC": 2, "NDHWC": 3}
    n = len(kernel) if kernel else ranks.get(a.str("layout"), 2)
    layout = a.str("layout") or {1: "NCW", 2: "NCHW", 3: "NCDHW"}[n]
    if layout not in ranks:
        raise MXNetError("Pooling: layout %s is not supported here (only NCW, NCHW, NCDHW, "
                         "NWC, NHWC, NDHWC)" % layout)
    pool_type = a.str("pool_type", "max")
    if pool_type not in ("max", "avg", "sum"):
        raise MXNetError("Pooling: pool_type %r is not supported here (max, avg, sum)"
                         % pool_type)
    convention = a.str("pooling_convention", "valid")
    if convention not in ("valid", "full"):
        raise MXNetError("Pooling: pooling_convention %r is not supported here (valid, full)"
                         % convention)
    # channels_last_layout: MXNet's own layout is the kernel's (the interpreter moves nothing)
    return {"kernel": kernel, "pool_type": pool_type, "global_pool": global_pool,
            "channels_last_layout": layout[-1] == "C",
            "full": convention == "full", "stride": a.ints("stride", (1,) * n, n) or (1,) * n,
            "pad": a.ints("pad", (0,) * n, n) or (0,) * n,
            "count_include_pad": a.bool("count_include_pad", True)}


def _pool_out(size, k, s, p, full):
    if full:
        return int(math.ceil((size + 2 * p - k) / s)) + 1
    return (size + 2 * p - k) // s + 1


def _window_counts(sizes, kernel, stride, before, after, pad, include_pad):
    """How many cells each window averages over, as MXNet counts: the padding counts
    when ``count_include_pad``, the 'full' convention's overrun never does."""
    counted = np.zeros([b + n + a for b, n, a in zip(before, sizes, after)], "float32")
    counted[tuple(slice(0, b + n + p) if include_pad else slice(b, b + n)
                  for b, n, p in zip(before, sizes, pad))] = 1.0
    out_shape = [(n - k) // s + 1 for n, k, s in zip(counted.shape, kernel, stride)]
    out = np.zeros(out_shape, "float32")
    for index in np.ndindex(*out_shape):
        out[index] = counted[tuple(slice(i * s, i * s + k)
                                   for i, k, s in zip(index, kernel, stride))].sum()
    return out


@_register("Pooling", "Pooling_v1", parse=_parse_pool, layout=SPATIAL)
def pooling(call, x):
    p = call.attrs
    spatial = tuple(range(1, len(x.shape) - 1))
    if p["global_pool"]:
        if p["pool_type"] == "max":
            return ops.max(x, axis=spatial, keepdims=True)
        if p["pool_type"] == "sum":
            return ops.sum(x, axis=spatial, keepdims=True)
        return ops.mean(x, axis=spatial, keepdims=True)
    kernel, stride, pad = p["kernel"], p["stride"], p["pad"]
    sizes = [int(d) for d in x.shape[1:-1]]
    outs = [_pool_out(n, k, s, q, p["full"]) for n, k, s, q in zip(sizes, kernel, stride, pad)]
    after = [max((o - 1) * s + k - n - q, q)
             for o, n, k, s, q in zip(outs, sizes, kernel, stride, pad)]
    if p["pool_type"] == "max":
        xp = _pad_spatial(x, pad, after, value=-np.inf)
        return ops.max_pool(xp, kernel, stride, "valid", data_format="channels_last")
    xp = _pad_spatial(x, pad, after)
    y = ops.average_pool(xp, kernel, stride, "valid", data_format="channels_last")
    counts = _window_counts(sizes, kernel, stride, pad, after, pad, p["count_include_pad"])
    window = float(np.prod(kernel))
    if p["pool_type"] == "sum":
        return y * window
    if np.all(counts == window):
        return y
    dtype = keras.backend.standardize_dtype(x.dtype)
    correction = (window / np.maximum(counts, 1.0)).astype(dtype)
    return ops.multiply(y, ops.convert_to_tensor(correction[None, ..., None]))


# -- recurrent ----------------------------------------------------------------------------
_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


def _parse_rnn(a):
    mode = a.str("mode")
    if mode not in _GATES:
        raise MXNetError("RNN: mode %r is not one of rnn_relu, rnn_tanh, lstm, gru" % mode)
    if a.int("projection_size") is not None:
        raise MXNetError("RNN: projection_size is not supported here")
    if a.bool("use_sequence_length", False):
        raise MXNetError("RNN: use_sequence_length is not supported here")
    return {"mode": mode, "state_size": a.int("state_size"),
            "num_layers": a.int("num_layers", 1),
            "bidirectional": a.bool("bidirectional", False), "p": a.float("p", 0.0),
            "state_outputs": a.bool("state_outputs", False)}


def _rnn_sizes(p, features):
    """(name, shape) of each piece of the packed parameter vector, in MXNet's order:
    every weight (layer, direction, i2h then h2h), then every bias the same way."""
    g, h, dirs = _GATES[p["mode"]], p["state_size"], 2 if p["bidirectional"] else 1
    weights, biases = [], []
    for layer in range(p["num_layers"]):
        width = features if layer == 0 else h * dirs
        for d in range(dirs):
            weights.append(((layer, d, "i2h"), (g * h, width)))
            weights.append(((layer, d, "h2h"), (g * h, h)))
            biases.append(((layer, d, "i2h"), (g * h,)))
            biases.append(((layer, d, "h2h"), (g * h,)))
    return weights, biases


def _rnn_param_shapes(p, shapes):
    weights, biases = _rnn_sizes(p, shapes[0][2])
    return {1: (sum(int(np.prod(s)) for _, s in weights + biases),)}


def _rnn_cell(mode, i2h, h2h, state):
    if mode == "lstm":
        i, f, g, o = ops.split(i2h + h2h, 4, axis=-1)
        c = ops.sigmoid(f) * state[1] + ops.sigmoid(i) * ops.tanh(g)
        return (ops.sigmoid(o) * ops.tanh(c), c)
    if mode == "gru":
        i_r, i_z, i_n = ops.split(i2h, 3, axis=-1)
        h_r, h_z, h_n = ops.split(h2h, 3, axis=-1)
        r = ops.sigmoid(i_r + h_r)
        z = ops.sigmoid(i_z + h_z)
        n = ops.tanh(i_n + r * h_n)
        return ((1 - z) * n + z * state[0],)
    act = ops.relu if mode == "rnn_relu" else ops.tanh
    return (act(i2h + h2h),)


@_register("RNN", parse=_parse_rnn, param_shapes=_rnn_param_shapes,
           num_outputs=lambda p: (1 + (2 if p["mode"] == "lstm" else 1)
                                  if p["state_outputs"] else 1))
def rnn(call, x, params, *states):
    """MXNet's fused recurrent operator over a 'TNC' sequence: the packed parameter
    vector is cut into each layer's and direction's i2h/h2h weights and biases; the
    time loop is ``keras.ops.scan``."""
    p = call.attrs
    mode, h = p["mode"], p["state_size"]
    dirs = 2 if p["bidirectional"] else 1
    n_states = 2 if mode == "lstm" else 1
    states = list(states[:n_states])
    batch = ops.shape(x)[1]
    for i, s in enumerate(states):
        if isinstance(s, ZerosSpec):
            states[i] = ops.zeros((p["num_layers"] * dirs, batch, h), dtype=x.dtype)
    weights, biases = _rnn_sizes(p, int(x.shape[2]))
    pieces, offset = {}, 0
    for kind, table in (("weight", weights), ("bias", biases)):
        for key, shape in table:
            size = int(np.prod(shape))
            pieces[key + (kind,)] = ops.reshape(params[offset:offset + size], shape)
            offset += size
    finals = [[] for _ in range(n_states)]
    seq = x
    for layer in range(p["num_layers"]):
        if layer and p["p"] and call.training:
            seq = keras.random.dropout(seq, p["p"], seed=call.seed)
        outs = []
        for d in range(dirs):
            index = layer * dirs + d
            w_i = ops.transpose(pieces[(layer, d, "i2h", "weight")])
            w_h = ops.transpose(pieces[(layer, d, "h2h", "weight")])
            b_i = pieces[(layer, d, "i2h", "bias")]
            b_h = pieces[(layer, d, "h2h", "bias")]
            inputs = seq if d == 0 else ops.flip(seq, axis=0)
            i2h_all = ops.matmul(inputs, w_i) + b_i

            def step(carry, i2h, w_h=w_h, b_h=b_h):
                new = _rnn_cell(mode, i2h, ops.matmul(carry[0], w_h) + b_h, carry)
                return new, new

            state, ys = ops.scan(step, tuple(s[index] for s in states), i2h_all)
            ys = ys[0]
            outs.append(ys if d == 0 else ops.flip(ys, axis=0))
            for k, s in enumerate(state):
                finals[k].append(s)
        seq = ops.concatenate(outs, axis=-1) if dirs > 1 else outs[0]
    if not p["state_outputs"]:
        return seq
    return [seq] + [ops.stack(f, axis=0) for f in finals]


# -- more operators: the rest of what Gluon's layers and d2l's chapters export -------------
import importlib  # noqa: E402

# the modules (``keras_defer.nd.sort`` is also the name of nd's sort function)
_linalg = importlib.import_module("keras_defer.nd.linalg")
_math = importlib.import_module("keras_defer.nd.math")
_reduce = importlib.import_module("keras_defer.nd.reduce")
_sort = importlib.import_module("keras_defer.nd.sort")

for _name, _fn in (("log10", ops.log10), ("log2", ops.log2), ("log1p", ops.log1p),
                   ("expm1", ops.expm1), ("cbrt", ops.cbrt), ("rcbrt", lambda t: 1.0 / ops.cbrt(t)),
                   ("tan", ops.tan), ("arcsin", ops.arcsin), ("arccos", ops.arccos),
                   ("arctan", ops.arctan), ("sinh", ops.sinh), ("cosh", ops.cosh),
                   ("arcsinh", ops.arcsinh), ("arccosh", ops.arccosh),
                   ("arctanh", ops.arctanh), ("degrees", ops.rad2deg),
                   ("radians", ops.deg2rad), ("sign", ops.sign), ("round", _math._round),
                   ("rint", _math._rint), ("trunc", ops.trunc), ("fix", ops.trunc),
                   ("gamma", _math._gamma), ("gammaln", _backend.lgamma),
                   ("erfinv", ops.erfinv), ("logical_not", _math._logical_not_t),
                   ("log_sigmoid", ops.log_sigmoid),
                   ("mish", lambda t: t * ops.tanh(ops.softplus(t))),
                   ("make_loss", lambda t: t), ("MakeLoss", lambda t: t),
                   ("LinearRegressionOutput", lambda t, label=None: t),
                   ("MAERegressionOutput", lambda t, label=None: t),
                   ("LogisticRegressionOutput", lambda t, label=None: ops.sigmoid(t))):
    _register(_name, layout=ELEMENTWISE)(lambda call, *xs, _fn=_fn: _fn(*xs))


@_register("hard_sigmoid", parse=lambda a: {"alpha": a.float("alpha", 0.2),
                                            "beta": a.float("beta", 0.5)},
           layout=ELEMENTWISE)
def hard_sigmoid(call, x):
    return ops.clip(x * call.attrs["alpha"] + call.attrs["beta"], 0.0, 1.0)


@_register("smooth_l1", parse=lambda a: {"scalar": a.float("scalar", 1.0)}, layout=ELEMENTWISE)
def smooth_l1(call, x):
    s2 = call.attrs["scalar"] ** 2
    a = ops.abs(x)
    return ops.where(a < 1.0 / s2, 0.5 * s2 * x * x, a - 0.5 / s2)


for _names, _op in ((("_equal", "broadcast_equal"), _math._comparison(ops.equal)),
                    (("_not_equal", "broadcast_not_equal"), _math._comparison(ops.not_equal)),
                    (("_greater", "broadcast_greater"), _math._comparison(ops.greater)),
                    (("_greater_equal", "broadcast_greater_equal"),
                     _math._comparison(ops.greater_equal)),
                    (("_lesser", "broadcast_lesser"), _math._comparison(ops.less)),
                    (("_lesser_equal", "broadcast_lesser_equal"),
                     _math._comparison(ops.less_equal)),
                    (("_logical_and", "broadcast_logical_and"), _math._logical(ops.logical_and)),
                    (("_logical_or", "broadcast_logical_or"), _math._logical(ops.logical_or)),
                    (("_logical_xor", "broadcast_logical_xor"), _math._logical(ops.logical_xor)),
                    (("_mod", "broadcast_mod"), _math.modulo_t)):
    _binary(*_names, fn=_op)

for _name, _op in (("_equal_scalar", _math._comparison(ops.equal)),
                   ("_not_equal_scalar", _math._comparison(ops.not_equal)),
                   ("_greater_scalar", _math._comparison(ops.greater)),
                   ("_greater_equal_scalar", _math._comparison(ops.greater_equal)),
                   ("_lesser_scalar", _math._comparison(ops.less)),
                   ("_lesser_equal_scalar", _math._comparison(ops.less_equal)),
                   ("_logical_and_scalar", _math._logical(ops.logical_and)),
                   ("_logical_or_scalar", _math._logical(ops.logical_or)),
                   ("_logical_xor_scalar", _math._logical(ops.logical_xor)),
                   ("_mod_scalar", _math.modulo_t),
                   ("_hypot_scalar", lambda a, b: ops.sqrt(a * a + b * b))):
    _scalar(_name, fn=_op)
_scalar("_rmod_scalar", fn=lambda x, s: _math.modulo_t(s, x))


@_register("where")
def where(call, condition, x, y):
    return _math._where_t(condition, x, y)


@_register("softmin", parse=_parse_softmax)
def softmin(call, x):
    return _softmax(call, -x, log=False)


@_register("stack", parse=lambda a: {"axis": a.int("axis", 0)})
def stack(call, *xs):
    return _shape_ops._stack_t(*xs, axis=call.attrs["axis"])


@_register("tile", parse=lambda a: {"reps": a.ints("reps", ())})
def tile(call, x):
    return _shape_ops._tile_t(x, call.attrs["reps"])


@_register("repeat", parse=lambda a: {"repeats": a.int("repeats"), "axis": a.int("axis", None)})
def repeat(call, x):
    return _shape_ops._repeat_t(x, call.attrs["repeats"], call.attrs["axis"])


@_register("reverse", "flip", parse=lambda a: {"axis": a.ints("axis", ())})
def reverse(call, x):
    return _shape_ops._flip_t(x, call.attrs["axis"])


@_register("broadcast_to", parse=lambda a: {"shape": a.ints("shape", ())})
def broadcast_to(call, x):
    return _shape_ops._broadcast_to_t(x, call.attrs["shape"], strict=True)


@_register("broadcast_axis", "broadcast_axes",
           parse=lambda a: {"axis": a.ints("axis", ()), "size": a.ints("size", ())})
def broadcast_axis(call, x):
    return _shape_ops._broadcast_axis_t(x, call.attrs["axis"], call.attrs["size"])


@_register("broadcast_like", parse=lambda a: {"lhs_axes": a.ints("lhs_axes", None),
                                              "rhs_axes": a.ints("rhs_axes", None)})
def broadcast_like(call, lhs, rhs):
    p = call.attrs
    return _shape_ops._broadcast_like_t(lhs, rhs, p["lhs_axes"], p["rhs_axes"])


_register("reshape_like")(lambda call, lhs, rhs: _shape_ops._reshape_like_t(lhs, rhs))


@_register("slice_like", parse=lambda a: {"axes": a.ints("axes", ())})
def slice_like(call, x, like):
    return _shape_ops._slice_like_t(x, like, call.attrs["axes"])


@_register("one_hot", parse=lambda a: {"depth": a.int("depth"),
                                       "on_value": a.float("on_value", 1.0),
                                       "off_value": a.float("off_value", 0.0),
                                       "dtype": a.dtype("dtype")})
def one_hot(call, indices):
    p = call.attrs
    return _shape_ops._one_hot_t(indices, p["depth"], p["on_value"], p["off_value"], p["dtype"])


@_register("pick", parse=lambda a: {"axis": a.int("axis", -1),
                                    "keepdims": a.bool("keepdims", False),
                                    "mode": a.str("mode", "clip")})
def pick(call, x, index):
    p = call.attrs
    return _shape_ops._pick_t(x, index, p["axis"], p["keepdims"], p["mode"])


@_register("batch_take")
def batch_take(call, x, indices):
    return _shape_ops._pick_t(x, indices, -1, False, "clip")


def _parse_arg(a):
    return {"axis": a.int("axis", None), "keepdims": a.bool("keepdims", False)}


_register("argmax", parse=_parse_arg)(lambda call, x: _reduce._arg_t(
    x, ops.argmax, call.attrs["axis"], call.attrs["keepdims"]))
_register("argmin", parse=_parse_arg)(lambda call, x: _reduce._arg_t(
    x, ops.argmin, call.attrs["axis"], call.attrs["keepdims"]))
_register("nansum", parse=_parse_reduce)(lambda call, x: _reduce._reduce_t(
    x, _reduce._nansum, call.attrs["axis"], call.attrs["keepdims"], call.attrs["exclude"]))
_register("nanprod", parse=_parse_reduce)(lambda call, x: _reduce._reduce_t(
    x, _reduce._nanprod, call.attrs["axis"], call.attrs["keepdims"], call.attrs["exclude"]))


@_register("norm", parse=lambda a: {"ord": a.int("ord", 2), "axis": a.ints("axis", None),
                                    "keepdims": a.bool("keepdims", False),
                                    "out_dtype": a.dtype("out_dtype", None)})
def norm(call, x):
    p = call.attrs
    return _linalg._norm_t(x, p["ord"], p["axis"], p["keepdims"], p["out_dtype"])


@_register("_linalg_gemm2", "linalg_gemm2",
           parse=lambda a: {"transpose_a": a.bool("transpose_a", False),
                            "transpose_b": a.bool("transpose_b", False),
                            "alpha": a.float("alpha", 1.0)})
def linalg_gemm2(call, a, b):
    p = call.attrs
    if p["transpose_a"]:
        a = ops.swapaxes(a, -1, -2)
    if p["transpose_b"]:
        b = ops.swapaxes(b, -1, -2)
    return ops.matmul(a, b) * p["alpha"]


@_register("diag", parse=lambda a: {"k": a.int("k", 0), "axis1": a.int("axis1", 0),
                                    "axis2": a.int("axis2", 1)})
def diag(call, x):
    p = call.attrs
    return _shape_ops._diag_t(x, p["k"], p["axis1"], p["axis2"])


_register("shape_array")(lambda call, x: _shape_ops._shape_array_t(x))
_register("size_array")(lambda call, x: _shape_ops._size_array_t(x))


def _parse_sort(a):
    return {"axis": a.int("axis", -1), "is_ascend": a.bool("is_ascend", None),
            "k": a.int("k", 1), "ret_typ": a.str("ret_typ", "indices"),
            "dtype": a.dtype("dtype")}


@_register("topk", parse=_parse_sort,
           num_outputs=lambda p: 2 if p["ret_typ"] == "both" else 1)
def topk(call, x):
    p = call.attrs
    asc = False if p["is_ascend"] is None else p["is_ascend"]
    return _sort._topk_t(x, p["axis"], p["k"], p["ret_typ"], asc, p["dtype"])


@_register("sort", parse=_parse_sort)
def sort(call, x):
    p = call.attrs
    return _sort._sort_t(x, p["axis"], True if p["is_ascend"] is None else p["is_ascend"])


@_register("argsort", parse=_parse_sort)
def argsort(call, x):
    p = call.attrs
    return _sort._argsort_t(x, p["axis"], True if p["is_ascend"] is None else p["is_ascend"],
                            p["dtype"])


def _parse_pad(a):
    mode = a.str("mode", "constant")
    if mode not in ("constant", "edge", "reflect"):
        raise MXNetError("Pad: mode %r is not one of constant, edge, reflect" % mode)
    return {"mode": mode, "pad_width": a.ints("pad_width", ()),
            "constant_value": a.float("constant_value", 0.0)}


def _pad_edge(x, widths):
    """Repeat each edge (TensorFlow's pad has no 'edge' mode)."""
    for axis in range(len(widths) // 2):
        before, after = widths[2 * axis], widths[2 * axis + 1]
        if not before and not after:
            continue
        n = x.shape[axis]
        first = ops.take(x, ops.zeros((before,), "int32"), axis=axis)
        last = ops.take(x, ops.full((after,), n - 1, "int32"), axis=axis)
        x = ops.concatenate([first, x, last], axis=axis)
    return x


@_register("Pad", "pad", parse=_parse_pad)
def pad(call, x):
    p = call.attrs
    if p["mode"] == "edge":
        return _pad_edge(x, p["pad_width"])
    return _shape_ops._pad_t(x, p["mode"], p["pad_width"], p["constant_value"])


def _parse_upsampling(a):
    if a.str("sample_type", "nearest") != "nearest":
        raise MXNetError("UpSampling: only sample_type='nearest' is supported here")
    if (a.int("num_args", 1) or 1) > 1:
        raise MXNetError("UpSampling: one input only (num_args=1) is supported here")
    return {"scale": a.int("scale", 1)}


@_register("UpSampling", parse=_parse_upsampling, layout=SPATIAL)
def upsampling(call, x):
    """Nearest-neighbour upsampling by ``scale`` along each spatial axis."""
    for axis in range(1, len(x.shape) - 1):
        x = ops.repeat(x, call.attrs["scale"], axis=axis)
    return x


def _parse_layer_norm(a):
    return {"axis": a.int("axis", -1), "eps": a.float("eps", 1e-5),
            "output_mean_var": a.bool("output_mean_var", False)}


@_register("LayerNorm", parse=_parse_layer_norm, num_outputs=3,
           param_shapes=lambda p, s: {1: (s[0][p["axis"]],), 2: (s[0][p["axis"]],)})
def layer_norm(call, x, gamma, beta):
    p = call.attrs
    rank = len(x.shape)
    axis = p["axis"] % rank
    shape = [1] * rank
    shape[axis] = -1
    mean, var = ops.moments(x, axes=(axis,), keepdims=True)
    std = ops.sqrt(var + p["eps"])
    y = (x - mean) / std * ops.reshape(gamma, shape) + ops.reshape(beta, shape)
    return [y, mean, std]


@_register("InstanceNorm", parse=lambda a: {"eps": a.float("eps", 1e-3)},
           param_shapes=lambda p, s: {1: (s[0][1],), 2: (s[0][1],)})
def instance_norm(call, x, gamma, beta):
    rank = len(x.shape)
    mean, var = ops.moments(x, axes=tuple(range(2, rank)), keepdims=True)
    shape = (1, -1) + (1,) * (rank - 2)
    y = (x - mean) * ops.rsqrt(var + call.attrs["eps"])
    return y * ops.reshape(gamma, shape) + ops.reshape(beta, shape)


@_register("GroupNorm", parse=lambda a: {"num_groups": a.int("num_groups", 1),
                                         "eps": a.float("eps", 1e-5)}, num_outputs=3,
           param_shapes=lambda p, s: {1: (p["num_groups"],), 2: (p["num_groups"],)})
def group_norm(call, x, gamma, beta):
    """MXNet 1.9.1's GroupNorm: statistics per (sample, group); gamma and beta hold
    one value per group."""
    g = call.attrs["num_groups"]
    shape = tuple(x.shape)
    dims = _backend.dims(x)
    grouped = _backend.reshape(x, (dims[0], g, -1))
    mean, var = ops.moments(grouped, axes=(2,), keepdims=True)
    std = ops.sqrt(var + call.attrs["eps"])
    y = (grouped - mean) / std
    y = y * ops.reshape(gamma, (1, g, 1)) + ops.reshape(beta, (1, g, 1))
    return [_backend.reshape(y, dims if None in shape else shape),
            ops.reshape(mean, (-1, g)), ops.reshape(std, (-1, g))]


def _parse_l2(a):
    mode = a.str("mode", "instance")
    if mode not in ("instance", "channel", "spatial"):
        raise MXNetError("L2Normalization: mode %r is not one of instance, channel, spatial"
                         % mode)
    return {"mode": mode, "eps": a.float("eps", 1e-10)}


@_register("L2Normalization", parse=_parse_l2, num_outputs=2)
def l2_normalization(call, x):
    p = call.attrs
    rank = len(x.shape)
    axes = {"instance": tuple(range(1, rank)), "channel": (1,),
            "spatial": tuple(range(2, rank))}[p["mode"]]
    norm_ = ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True) + p["eps"])
    return [x / norm_, norm_]


def _parse_sequence(a):
    return {"use_sequence_length": a.bool("use_sequence_length", False),
            "value": a.float("value", 0.0), "axis": a.int("axis", 0)}


def _length_mask(x, length, axis):
    """(T, N) (or (N, T) for axis 1) booleans: position < length of its sequence."""
    steps = ops.arange(ops.shape(x)[axis])
    length = ops.cast(length, "int32")
    if axis == 0:
        return ops.expand_dims(steps, 1) < ops.expand_dims(length, 0)
    return ops.expand_dims(steps, 0) < ops.expand_dims(length, 1)


@_register("SequenceMask", parse=_parse_sequence)
def sequence_mask(call, x, length=None):
    p = call.attrs
    if not p["use_sequence_length"] or length is None:
        return x
    mask = _length_mask(x, length, p["axis"])
    mask = ops.reshape(mask, tuple(ops.shape(mask)) + (1,) * (len(x.shape) - 2))
    return ops.where(mask, x, ops.cast(p["value"], x.dtype))


def _gather_time(x, index):
    """``x[index[t, n], n, ...]`` for a (T', N) integer ``index`` into axis 0 of ``x``."""
    rank = len(x.shape)
    index = ops.reshape(index, tuple(ops.shape(index)) + (1,) * (rank - 2))
    target = (ops.shape(index)[0],) + tuple(ops.shape(x)[1:])
    return ops.take_along_axis(x, ops.broadcast_to(index, target), axis=0)


@_register("SequenceLast", parse=_parse_sequence)
def sequence_last(call, x, length=None):
    p = call.attrs
    moved = x if p["axis"] == 0 else ops.swapaxes(x, 0, 1)  # (T, N, ...)
    if not p["use_sequence_length"] or length is None:
        return moved[-1]
    index = ops.expand_dims(ops.cast(length, "int32") - 1, 0)  # (1, N)
    return _gather_time(moved, index)[0]


@_register("SequenceReverse", parse=_parse_sequence)
def sequence_reverse(call, x, length=None):
    p = call.attrs
    if not p["use_sequence_length"] or length is None:
        return ops.flip(x, axis=0)
    length = ops.expand_dims(ops.cast(length, "int32"), 0)  # (1, N)
    t = ops.expand_dims(ops.arange(ops.shape(x)[0], dtype="int32"), 1)  # (T, 1)
    return _gather_time(x, ops.where(t < length, length - 1 - t, t + 0 * length))
