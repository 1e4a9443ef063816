"""The whole ``mxnet.nd`` namespace on NDArrays: every function returns NDArrays.

``from keras_defer.nd import api as nd`` gives MXNet 1.9.1's ``nd`` (``nd.array``,
``nd.dot``, ``nd.random.uniform``, ``nd.NDArray``, ...). Each name comes from the
module of its family; this module only gathers them.
"""

from keras_defer.nd import _backend
from keras_defer.nd import random
from keras_defer.nd.ctc import CTCLoss, ctc_loss
from keras_defer.nd.io import load, load_frombuffer, save
from keras_defer.nd.creation import (
    arange, array, empty, eye, full, linspace, ones, ones_like, zeros, zeros_like,
)
from keras_defer.nd.linalg import batch_dot, dot, norm
from keras_defer.nd.math import (
    Activation, BlockGrad, Cast, ElementWiseSum, LeakyReLU, abs, add, add_n, arccos,
    arccosh, arcsin, arcsinh, arctan, arctanh, broadcast_add, broadcast_div,
    broadcast_equal, broadcast_greater, broadcast_greater_equal, broadcast_hypot,
    broadcast_lesser, broadcast_lesser_equal, broadcast_logical_and, broadcast_logical_or,
    broadcast_logical_xor, broadcast_maximum, broadcast_minimum, broadcast_minus,
    broadcast_mod, broadcast_mul, broadcast_not_equal, broadcast_plus, broadcast_power,
    broadcast_sub, cast, cbrt, ceil, clip, cos, cosh, degrees, divide, elemwise_add,
    elemwise_div, elemwise_mul, elemwise_sub, equal, erf, erfinv, exp, expm1, fix, floor,
    gamma, gammaln, greater, greater_equal, hypot, identity, lesser, lesser_equal, log,
    log10, log1p, log2, log_softmax, logical_and, logical_not, logical_or, logical_xor,
    maximum, minimum, modulo, multiply, negative, not_equal, power, radians, rcbrt,
    reciprocal, relu, rint, round, rsqrt, sigmoid, sign, sin, sinh, smooth_l1, softmax,
    softmax_cross_entropy, softmin, softsign, sqrt, square, stop_gradient, subtract, tan,
    tanh, true_divide, trunc, where,
)
from keras_defer.nd.ndarray import NDArray
from keras_defer.nd.reduce import (
    argmax, argmax_channel, argmin, cumsum, max, mean, min, moments, nanprod, nansum, prod,
    sum,
)
from keras_defer.nd.shape import (
    Concat, Flatten, Pad, Reshape, SliceChannel, SwapAxis, broadcast_axes, broadcast_axis,
    broadcast_like, broadcast_to, concat, crop, diag, expand_dims, flatten, flip, one_hot,
    pad, pick, repeat, reshape, reshape_like, reverse, shape_array, size_array, slice,
    slice_axis, slice_like, split, split_v2, squeeze, stack, swapaxes, take, tile,
    transpose,
)
from keras_defer.nd.sort import argsort, sort, topk
from keras_defer.nd.variable import VariableNDArray


def waitall():
    """Wait until every queued computation has finished."""
    _backend.synchronize()


__all__ = sorted(name for name in dir() if not name.startswith("_"))
