"""Gluon's normalization layers and ``Embedding``.

``BatchNorm``, ``LayerNorm`` and ``InstanceNorm`` hold per-channel parameters of
shape ``(in_channels,)``: ``(0,)`` until the first pass when ``in_channels`` is not
given. BatchNorm's running statistics are parameters with ``grad_req='null'``, so
they are non-trainable Keras variables that ``fit`` updates but never differentiates.
Training and inference follow Keras's ``training`` flag (``fit`` sets it; a plain
call is inference), which is Gluon's ``autograd.record()``/``train_mode``.

As in MXNet, ``scale=False``/``center=False`` freeze gamma/beta (no gradient);
LayerNorm and InstanceNorm still apply their values, BatchNorm treats gamma as 1
(MXNet's ``fix_gamma``).
"""

import keras
import numpy as np

from keras_defer.block import Block, HybridBlock
from keras_defer.shapes import check_fixed_dim
from keras_defer.errors import ShapeMismatchError
from keras_defer import validation as _c
from keras_defer.nn import layer_plans


def _moments(x, axes, keepdims=False):
    """Mean and biased variance over `axes`, the variance as mean((x - mean)**2), as
    MXNet's operators compute it: Keras's PyTorch `moments` takes E[x**2] - E[x]**2,
    which goes negative for a batch of equal large values (44.9 five times: -1e-4), and
    rsqrt(var + eps) then gives NaN where MXNet gives beta (found by the kit, VA-05)."""
    axes = tuple(axes)
    mean = keras.ops.mean(x, axis=axes, keepdims=True)
    var = keras.ops.mean(keras.ops.square(x - mean), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = keras.ops.squeeze(mean, axis=axes)
    return mean, var

__all__ = ["BatchNorm", "LayerNorm", "InstanceNorm", "Embedding"]


def _kwargs_repr(block, kwargs, in_channels):
    content = ", ".join("%s=%r" % (k, v) for k, v in kwargs.items())
    return "{name}({content}, in_channels={in_channels})".format(
        name=type(block).__name__, content=content, in_channels=in_channels)


def _check_norm_args(block, axis, epsilon, center, scale, in_channels, initializers):
    """The arguments every normalization layer shares, checked before a name is drawn.
    MXNet checks none of these at construction: a non-int axis or epsilon fails at the
    first pass, a negative epsilon gives NaNs, a negative in_channels a bad shape."""
    axis = _c.check_axis(block, "axis", axis)
    epsilon = _c.check_real(block, "epsilon", epsilon, 0, low_open=True)
    center = _c.check_bool(block, "center", center)
    scale = _c.check_bool(block, "scale", scale)
    in_channels = _c.check_int(block, "in_channels", in_channels, 0)
    for arg, value in initializers.items():
        _c.check_initializer(block, arg, value)
    return axis, epsilon, center, scale, in_channels


class _ChannelNorm(HybridBlock):
    """Per-channel parameters whose size is read from one axis of the input."""

    _param_names = ("gamma", "beta")

    def _norm_axis(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self._axis < rank:
            raise ShapeMismatchError("%s: axis %d is out of range for an input of shape %s"
                                     % (self.name, self._axis, tuple(input_shape)))
        return self._axis % rank

    def infer_shape(self, input_shape, *rest):
        channels = input_shape[self._norm_axis(input_shape)]
        if channels is None:
            raise ShapeMismatchError("%s: the size of axis %d of the input must be known, "
                                     "got shape %s" % (self.name, self._axis,
                                                       tuple(input_shape)))
        for name in self._param_names:
            param = getattr(self, name)
            check_fixed_dim(
                self, param, 0, int(channels),
                "Feed inputs with %d entries along axis %d, or create the layer with a "
                "matching in_channels." % (param.shape[0], self._axis))

    def _check_input_shape(self, input_shape):
        self.infer_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def _broadcast(self, value, rank, axis):
        shape = [1] * rank
        shape[axis] = -1
        return keras.ops.reshape(value, shape)

    def _check_forward_input(self, x):
        channels = x.shape[self._norm_axis(x.shape)]
        if channels is not None and channels != self.gamma.shape[0]:
            self.infer_shape(tuple(x.shape))  # raises a ShapeMismatchError naming all


class BatchNorm(_ChannelNorm):
    """Batch normalization over every axis but ``axis`` (the channels, 1 by default).

    In training, normalizes with the batch statistics and moves the running ones:
    ``running = momentum * running + (1 - momentum) * batch``; in inference (or with
    ``use_global_stats=True``) normalizes with the running statistics.
    """

    _param_names = ("gamma", "beta", "running_mean", "running_var")

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, beta_initializer="zeros", gamma_initializer="ones",
                 running_mean_initializer="zeros", running_variance_initializer="ones",
                 in_channels=0, **kwargs):
        axis, epsilon, center, scale, in_channels = _check_norm_args(
            "BatchNorm", axis, epsilon, center, scale, in_channels, {
                "beta_initializer": beta_initializer, "gamma_initializer": gamma_initializer,
                "running_mean_initializer": running_mean_initializer,
                "running_variance_initializer": running_variance_initializer})
        # running = momentum * running + (1 - momentum) * batch: 1 freezes the statistics
        momentum = _c.check_real("BatchNorm", "momentum", momentum, 0, 1)
        use_global_stats = _c.check_bool("BatchNorm", "use_global_stats", use_global_stats)
        super().__init__(**kwargs)
        self._axis = axis
        self._momentum = momentum
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self._use_global_stats = use_global_stats
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum,
                        "fix_gamma": not scale, "use_global_stats": use_global_stats}
        self.gamma = self.params.get(
            "gamma", grad_req="write" if scale else "null", shape=(in_channels,),
            init=gamma_initializer, allow_deferred_init=True, differentiable=scale)
        self.beta = self.params.get(
            "beta", grad_req="write" if center else "null", shape=(in_channels,),
            init=beta_initializer, allow_deferred_init=True, differentiable=center)
        self.running_mean = self.params.get(
            "running_mean", grad_req="null", shape=(in_channels,),
            init=running_mean_initializer, allow_deferred_init=True, differentiable=False)
        self.running_var = self.params.get(
            "running_var", grad_req="null", shape=(in_channels,),
            init=running_variance_initializer, allow_deferred_init=True,
            differentiable=False)

    def cast(self, dtype):
        if np.dtype(dtype).name == "float16":  # as Gluon: statistics stay float32
            dtype = "float32"
        super().cast(dtype)

    def call(self, x, training=None):
        # Block.call: a subclass's forward may take NDArrays
        return Block.call(self, x, training=training)

    def forward(self, x, training=None):
        self._check_forward_input(x)
        rank = len(x.shape)
        axis = self._norm_axis(x.shape)
        reduce_axes = tuple(i for i in range(rank) if i != axis)
        if training and not self._use_global_stats:
            mean, var = _moments(x, reduce_axes)
            m = self._momentum
            running_mean, running_var = self.running_mean.variable, self.running_var.variable
            running_mean.assign(m * running_mean + (1 - m) * keras.ops.cast(
                keras.ops.stop_gradient(mean), running_mean.dtype))
            running_var.assign(m * running_var + (1 - m) * keras.ops.cast(
                keras.ops.stop_gradient(var), running_var.dtype))
            if not self._scale:  # MXNet's fix_gamma writes 1 into gamma when training
                self.gamma.variable.assign(keras.ops.ones_like(self.gamma.variable.value))
        else:
            mean, var = self.running_mean.variable, self.running_var.variable
        scale = keras.ops.rsqrt(keras.ops.cast(var, x.dtype) + self._epsilon)
        if self._scale:
            scale = scale * keras.ops.cast(self.gamma.variable, x.dtype)
        # (x - mean) * scale + beta, as MXNet computes it: the fused x * scale + (beta -
        # mean * scale) loses the digits of x - mean when the variance is tiny (a batch of
        # one: scale = gamma / sqrt(eps), 316 gamma), found by the kit (VA-05)
        mean = self._broadcast(keras.ops.cast(mean, x.dtype), rank, axis)
        beta = keras.ops.cast(self.beta.variable, x.dtype)
        return (x - mean) * self._broadcast(scale, rank, axis) + self._broadcast(beta, rank, axis)

    _plan_step = layer_plans.batchnorm_step  # the eager fast path: inference only

    def __repr__(self):
        in_channels = self.gamma.shape[0]
        return _kwargs_repr(self, self._kwargs, in_channels if in_channels else None)


class LayerNorm(_ChannelNorm):
    """Normalize over ``axis`` (the last by default), then scale and shift per entry."""

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", in_channels=0,
                 **kwargs):
        axis, epsilon, center, scale, in_channels = _check_norm_args(
            "LayerNorm", axis, epsilon, center, scale, in_channels,
            {"beta_initializer": beta_initializer, "gamma_initializer": gamma_initializer})
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self.gamma = self.params.get(
            "gamma", grad_req="write" if scale else "null", shape=(in_channels,),
            init=gamma_initializer, allow_deferred_init=True)
        self.beta = self.params.get(
            "beta", grad_req="write" if center else "null", shape=(in_channels,),
            init=beta_initializer, allow_deferred_init=True)

    def forward(self, x):
        self._check_forward_input(x)
        rank = len(x.shape)
        axis = self._norm_axis(x.shape)
        mean, var = _moments(x, (axis,), keepdims=True)
        y = (x - mean) * keras.ops.rsqrt(var + self._epsilon)
        return (y * self._broadcast(self.gamma.variable, rank, axis)
                + self._broadcast(self.beta.variable, rank, axis))

    def __repr__(self):
        return _kwargs_repr(self, self._kwargs, self.gamma.shape[0])


class InstanceNorm(_ChannelNorm):
    """Normalize each example's channel over its spatial axes, then scale and shift
    per channel (``axis`` is the channel axis, 1 by default)."""

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False,
                 beta_initializer="zeros", gamma_initializer="ones", in_channels=0,
                 **kwargs):
        axis, epsilon, center, scale, in_channels = _check_norm_args(
            "InstanceNorm", axis, epsilon, center, scale, in_channels,
            {"beta_initializer": beta_initializer, "gamma_initializer": gamma_initializer})
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self.gamma = self.params.get(
            "gamma", grad_req="write" if scale else "null", shape=(in_channels,),
            init=gamma_initializer, allow_deferred_init=True)
        self.beta = self.params.get(
            "beta", grad_req="write" if center else "null", shape=(in_channels,),
            init=beta_initializer, allow_deferred_init=True)

    def forward(self, x):
        self._check_forward_input(x)
        rank = len(x.shape)
        axis = self._norm_axis(x.shape)
        spatial = tuple(i for i in range(1, rank) if i != axis)
        mean, var = _moments(x, spatial, keepdims=True)
        y = (x - mean) * keras.ops.rsqrt(var + self._epsilon)
        return (y * self._broadcast(self.gamma.variable, rank, axis)
                + self._broadcast(self.beta.variable, rank, axis))

    def __repr__(self):
        return _kwargs_repr(self, self._kwargs, self.gamma.shape[0])


class Embedding(HybridBlock):
    """Look up rows of a ``(input_dim, output_dim)`` weight by integer index (the
    shape is always known, so nothing is deferred)."""

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None,
                 sparse_grad=False, **kwargs):
        # MXNet accepts input_dim=0, output_dim=0 or 3.0 here and fails later.
        input_dim = _c.check_int("Embedding", "input_dim", input_dim, 1)
        output_dim = _c.check_int("Embedding", "output_dim", output_dim, 1)
        _c.check_dtype("Embedding", "dtype", dtype)
        _c.check_initializer("Embedding", "weight_initializer", weight_initializer)
        sparse_grad = _c.check_bool("Embedding", "sparse_grad", sparse_grad)
        super().__init__(**kwargs)
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        self.weight = self.params.get(
            "weight", shape=(input_dim, output_dim), init=weight_initializer, dtype=dtype,
            allow_deferred_init=True,
            grad_stype="row_sparse" if sparse_grad else "default")

    def forward(self, x):
        indices = keras.ops.cast(x, "int32")
        return keras.ops.take(self.weight.variable, indices, axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self._kwargs["output_dim"],)

    def __repr__(self):
        return "{block_name}({input_dim} -> {output_dim}, {dtype})".format(
            block_name=type(self).__name__, **self._kwargs)
