"""Gluon's convolution and pooling layers.

Constructor arguments, parameter names, weight layouts and reprs are Gluon's
(MXNet 1.9.1): a convolution's weight is ``(channels, in_channels/groups, *kernel)``
in the channels-first layouts ('NCW', 'NCHW', 'NCDHW', the defaults) and
``(channels, *kernel, in_channels/groups)`` in the channels-last ones; a transposed
convolution's is ``(in_channels, channels/groups, *kernel)``. ``in_channels=0``
defers the input-channel dimension to the first pass.

The computation runs channels-last with ``keras.ops`` whatever the layout:
TensorFlow's CPU has no channels-first convolution or pooling kernels, so a
channels-first input is transposed in, computed, and transposed back. Gluon's
explicit, symmetric ``padding`` becomes an explicit pad followed by a 'valid'
operation, which reproduces MXNet's numbers exactly (also for ``ceil_mode`` and
``count_include_pad``).
"""

import math

import keras
import numpy as np

from keras_defer.block import HybridBlock
from keras_defer.shapes import check_fixed_dim
from keras_defer.errors import ShapeMismatchError
from keras_defer import validation as _c
from keras_defer.nn.basic_layers import Activation
from keras_defer.nn import layer_plans

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
]

_LAYOUTS = {
    1: ("NCW", "NWC"),
    2: ("NCHW", "NHWC"),
    3: ("NCDHW", "NDHWC"),
}


def _check_layout(block, layout, ndim):
    return _c.check_choice(block, "layout", layout, _LAYOUTS[ndim])


def _to_channels_last(x, layout):
    if layout[1] != "C":
        return x
    rank = len(layout)
    return keras.ops.transpose(x, (0,) + tuple(range(2, rank)) + (1,))


def _from_channels_last(x, layout):
    if layout[1] != "C":
        return x
    rank = len(layout)
    return keras.ops.transpose(x, (0, rank - 1) + tuple(range(1, rank - 1)))


def _pad_spatial(x, before, after, value=0.0):
    """Pad the spatial dims of a channels-last tensor (``before``/``after`` per dim)."""
    if not any(before) and not any(after):
        return x
    widths = [(0, 0)] + [(int(b), int(a)) for b, a in zip(before, after)] + [(0, 0)]
    return keras.ops.pad(x, widths, constant_values=value)


def _check_rank(block, input_shape, layout):
    if len(input_shape) != len(layout):
        raise ShapeMismatchError(
            "%s: expected a %d-d input in layout %s, got shape %s"
            % (block.name, len(layout), layout, tuple(input_shape))
        )


class _Conv(HybridBlock):
    """Shared by every convolution: parameters, shape inference, repr."""

    _transpose = False

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout,
                 in_channels=0, activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", output_padding=None, ndim=2, **kwargs):
        # Everything is checked before Block.__init__ draws a name: a refused
        # construction leaves the name counters as they were.
        cls = type(self).__name__
        channels = _c.check_int(cls, "channels", channels, 1)
        groups = _c.check_int(cls, "groups", groups, 1)
        in_channels = _c.check_int(cls, "in_channels", in_channels, 0)
        self._layout = _check_layout(cls, layout, ndim)
        self._kernel = _c.check_ints(cls, "kernel_size", kernel_size, ndim, 1)
        self._strides = _c.check_ints(cls, "strides", strides, ndim, 1)
        # MXNet accepts a negative padding (a crop); keras.ops.pad does not.
        self._padding = _c.check_ints(cls, "padding", padding, ndim, 0)
        self._dilation = _c.check_ints(cls, "dilation", dilation, ndim, 1)
        self._output_padding = None
        if self._transpose:
            self._output_padding = _c.check_ints(cls, "output_padding", output_padding,
                                                 ndim, 0)
            if any(o >= s for o, s in zip(self._output_padding, self._strides)):
                # MXNet: "adj(y) must be samller than stride[0]" (an MXNetError)
                raise ValueError("%s: output_padding must be smaller than strides in every "
                                 "dimension, got output_padding=%r, strides=%r"
                                 % (cls, self._output_padding, self._strides))
        # MXNet: "output/input num_filter must divide group size" (MXNetErrors).
        if channels % groups:
            raise ValueError("%s: channels (%d) must be divisible by groups (%d)"
                             % (cls, channels, groups))
        if in_channels % groups:
            raise ValueError("%s: in_channels (%d) must be divisible by groups (%d)"
                             % (cls, in_channels, groups))
        use_bias = _c.check_bool(cls, "use_bias", use_bias)
        _c.check_activation(cls, activation)
        _c.check_initializer(cls, "weight_initializer", weight_initializer)
        _c.check_initializer(cls, "bias_initializer", bias_initializer)
        super().__init__(**kwargs)
        self._channels = channels
        self._in_channels = in_channels
        self._groups = groups
        with self.name_scope():
            self.weight = self.params.get(
                "weight", shape=self._weight_shape(in_channels), init=weight_initializer,
                allow_deferred_init=True,
            )
            if use_bias:
                self.bias = self.params.get(
                    "bias", shape=(channels,), init=bias_initializer,
                    allow_deferred_init=True,
                )
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def _alias(self):
        return "conv"

    _plan_step = layer_plans.conv_step  # the eager fast path (fast_path): forward's ops

    @property
    def _channels_last(self):
        return self._layout[1] != "C"

    # -- shapes ------------------------------------------------------------------
    def _weight_shape(self, in_channels):
        if self._transpose:  # Gluon: (in_channels, channels/groups, *kernel)
            return (in_channels, self._channels // self._groups) + self._kernel
        per_group = in_channels // self._groups
        if self._channels_last:
            return (self._channels,) + self._kernel + (per_group,)
        return (self._channels, per_group) + self._kernel

    def _in_channels_of(self, input_shape):
        _check_rank(self, input_shape, self._layout)
        channels = input_shape[self._layout.find("C")]
        if channels is None:
            raise ShapeMismatchError("%s: the channel dimension of the input must be known, "
                                     "got shape %s" % (self.name, tuple(input_shape)))
        if channels % self._groups:
            raise ShapeMismatchError(
                "%s: the input has %d channels, which groups=%d does not divide"
                % (self.name, channels, self._groups))
        return int(channels)

    def infer_shape(self, input_shape, *rest):
        channels = self._in_channels_of(input_shape)
        hint = ("Feed inputs with %s channels (axis %d of layout %s), or create the layer "
                "with a matching in_channels." % (
                    self._in_channels or "the same number of", self._layout.find("C"),
                    self._layout))
        if self._transpose:
            check_fixed_dim(self, self.weight, 0, channels, hint)
        else:
            axis = -1 if self._channels_last else 1
            check_fixed_dim(self, self.weight, axis, channels // self._groups, hint)

    def _check_input_shape(self, input_shape):
        self.infer_shape(input_shape)

    def _spatial_out(self, size, i):
        if size is None:
            return None
        k, s, p, d = self._kernel[i], self._strides[i], self._padding[i], self._dilation[i]
        if self._transpose:
            return (size - 1) * s - 2 * p + d * (k - 1) + 1 + self._output_padding[i]
        return (size + 2 * p - d * (k - 1) - 1) // s + 1

    def compute_output_shape(self, input_shape):
        spatial_axes = [i for i, c in enumerate(self._layout) if c not in "NC"]
        out = list(input_shape)
        for i, axis in enumerate(spatial_axes):
            out[axis] = self._spatial_out(input_shape[axis], i)
        out[self._layout.find("C")] = self._channels
        return tuple(out)

    # -- computation ---------------------------------------------------------------
    def _keras_kernel(self, weight):
        """Gluon's weight in Keras's kernel layout (*kernel, in/groups, out)."""
        ndim = len(self._kernel)
        if self._transpose:  # keras conv_transpose: (*kernel, out, in)
            return keras.ops.transpose(weight, tuple(range(2, 2 + ndim)) + (1, 0))
        if self._channels_last:
            return keras.ops.transpose(weight, tuple(range(1, 1 + ndim)) + (ndim + 1, 0))
        return keras.ops.transpose(weight, tuple(range(2, 2 + ndim)) + (1, 0))

    def forward(self, x):
        channels = x.shape[self._layout.find("C")]
        if channels is not None and self.weight.variable is not None:
            expected = self._weight_shape(channels)
            if tuple(self.weight.shape) != expected:
                self.infer_shape(tuple(x.shape))  # raises a ShapeMismatchError naming all
        x = _to_channels_last(x, self._layout)
        kernel = self._keras_kernel(self.weight.variable)
        groups = self._groups
        if groups == 1:
            y = self._compute(x, kernel)
        elif self._is_depthwise():
            # one group per input channel (MobileNet): one depthwise convolution, not
            # `groups` convolutions of one channel each (mobilenet1.0: 4,974 ops a pass)
            y = self._compute(x, keras.ops.reshape(
                kernel, tuple(self._kernel) + (groups, self._channels // groups)),
                conv=keras.ops.depthwise_conv)
        else:  # split by hand: TF's CPU has no grouped-convolution kernels
            xs = keras.ops.split(x, groups, axis=-1)
            ks = keras.ops.split(kernel, groups, axis=-1)
            y = keras.ops.concatenate([self._compute(a, k) for a, k in zip(xs, ks)], axis=-1)
        if self.bias is not None:
            # keras.ops.add emits TF's BiasAdd for a bias: in a graph (fit, hybridize)
            # TF fuses it with the MatMul/Conv2D before it and the Relu after it
            y = keras.ops.add(y, self.bias.variable)
        if self.act is not None:
            if self.act.__dict__.get("_gluon_forward_hooks"):  # hooks see Gluon's layout
                return self.act(_from_channels_last(y, self._layout))
            # Elementwise, so apply it before transposing back: the transposes of
            # consecutive channels-first layers then meet and TF's graph optimizer
            # cancels them.
            y = self.act(y)
        return _from_channels_last(y, self._layout)

    def _same_padding(self):
        """True when Gluon's symmetric padding is exactly Keras's 'same' (stride 1)."""
        return all(
            s == 1 and (d * (k - 1)) % 2 == 0 and p == d * (k - 1) // 2
            for k, s, p, d in zip(self._kernel, self._strides, self._padding, self._dilation)
        )

    def _is_depthwise(self):
        """One input channel per group, 2-D, not transposed: Keras's depthwise_conv
        (kernel (*kernel, in_channels, channels/in_channels)) computes it."""
        return (not self._transpose and len(self._kernel) == 2
                and self.weight.shape[-1 if self._channels_last else 1] == 1)

    def _compute(self, x, kernel, conv=keras.ops.conv):
        strides, dilation = self._strides, self._dilation
        if any(self._padding) and self._same_padding():
            return conv(x, kernel, strides=1, padding="same",
                        data_format="channels_last", dilation_rate=dilation)
        x = _pad_spatial(x, self._padding, self._padding)
        if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
            # TensorFlow refuses strides and dilation together: convolve densely and
            # subsample, which is the same for a 'valid' convolution.
            y = conv(x, kernel, strides=1, padding="valid",
                     data_format="channels_last", dilation_rate=dilation)
            index = (slice(None),) + tuple(slice(None, None, s) for s in strides)
            return y[index + (slice(None),)]
        return conv(x, kernel, strides=strides, padding="valid",
                    data_format="channels_last", dilation_rate=dilation)

    def __repr__(self):
        s = "{name}({mapping}, kernel_size={kernel}, stride={stride}"
        ndim = len(self._kernel)
        if self._padding != (0,) * ndim:
            s += ", padding={pad}"
        if self._dilation != (1,) * ndim:
            s += ", dilation={dilate}"
        if self._groups != 1:
            s += ", groups={num_group}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += ", {}".format(self.act)
        s += ")"
        shape = self.weight.shape
        # Gluon prints shape[1] -> shape[0] whatever the layout (so a transposed
        # convolution reads "channels -> in_channels"); we print what Gluon prints.
        return s.format(
            name=type(self).__name__,
            mapping="{0} -> {1}".format(shape[1] if shape[1] else None, shape[0]),
            kernel=self._kernel, stride=self._strides, pad=self._padding,
            dilate=self._dilation, num_group=self._groups,
        )


class _ConvTranspose(_Conv):
    """Transposed convolution, Gluon's ``Deconvolution``."""

    _transpose = True

    def _compute(self, x, kernel):
        if any(d > 1 for d in self._dilation):
            kernel = _dilate_kernel(kernel, self._dilation)
        y = keras.ops.conv_transpose(
            x, kernel, strides=self._strides, padding="valid",
            output_padding=self._output_padding, data_format="channels_last",
        )
        if any(self._padding):
            index = tuple(slice(p, -p if p else None) for p in self._padding)
            y = y[(slice(None),) + index + (slice(None),)]
        return y


def _dilate_kernel(kernel, dilation):
    """Insert ``dilation - 1`` zeros between kernel taps (spatial dims first)."""
    for axis, d in enumerate(dilation):
        if d == 1:
            continue
        size = kernel.shape[axis]
        zeros_shape = list(kernel.shape)
        zeros_shape[axis] = d - 1
        zeros = keras.ops.zeros(zeros_shape, kernel.dtype)
        pieces = []
        for i, piece in enumerate(keras.ops.split(kernel, size, axis=axis)):
            pieces.append(piece)
            if i < size - 1:
                pieces.append(zeros)
        kernel = keras.ops.concatenate(pieces, axis=axis)
    return kernel


class Conv1D(_Conv):
    """1-d convolution over 'NCW' (default) or 'NWC' inputs."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                 layout="NCW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, ndim=1, **kwargs)


class Conv2D(_Conv):
    """2-d convolution over 'NCHW' (default) or 'NHWC' inputs."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0),
                 dilation=(1, 1), groups=1, layout="NCHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, ndim=2, **kwargs)


class Conv3D(_Conv):
    """3-d convolution over 'NCDHW' (default) or 'NDHWC' inputs."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout="NCDHW", activation=None,
                 use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 in_channels=0, **kwargs):
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, ndim=3, **kwargs)


class Conv1DTranspose(_ConvTranspose):
    """1-d transposed convolution ('NCW' or 'NWC')."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0,
                 dilation=1, groups=1, layout="NCW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0,
                 **kwargs):
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, output_padding=output_padding, ndim=1, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """2-d transposed convolution ('NCHW' or 'NHWC')."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0),
                 output_padding=(0, 0), dilation=(1, 1), groups=1, layout="NCHW",
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, output_padding=output_padding, ndim=2, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """3-d transposed convolution ('NCDHW' or 'NDHWC')."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 output_padding=(0, 0, 0), dilation=(1, 1, 1), groups=1, layout="NCDHW",
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, output_padding=output_padding, ndim=3, **kwargs)


# -- pooling ---------------------------------------------------------------------


class _Pooling(HybridBlock):
    """Max or average pooling with Gluon's padding, ``ceil_mode`` ('full' convention)
    and ``count_include_pad``; global pooling keeps the spatial dims as 1."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type,
                 layout, count_include_pad=None, ndim=2, **kwargs):
        cls = type(self).__name__
        self._layout = _check_layout(cls, layout, ndim)
        self._kernel = _c.check_ints(cls, "pool_size", pool_size, ndim, 1)
        self._strides = (self._kernel if strides is None
                         else _c.check_ints(cls, "strides", strides, ndim, 1))
        # MXNet accepts a negative padding (a crop); keras.ops.pad does not.
        self._padding = _c.check_ints(cls, "padding", padding, ndim, 0)
        self._ceil_mode = _c.check_bool(cls, "ceil_mode", ceil_mode)
        if count_include_pad is not None:
            count_include_pad = _c.check_bool(cls, "count_include_pad", count_include_pad)
        self._global_pool = global_pool
        self._pool_type = pool_type
        self._count_include_pad = True if count_include_pad is None else count_include_pad
        super().__init__(**kwargs)

    def _alias(self):
        return "pool"

    _plan_step = layer_plans.pool_step  # the eager fast path (fast_path): forward's ops

    def _spatial_axes(self):
        return [i for i, c in enumerate(self._layout) if c not in "NC"]

    def _spatial_out(self, size, i):
        if self._global_pool:
            return 1
        if size is None:
            return None
        k, s, p = self._kernel[i], self._strides[i], self._padding[i]
        if self._ceil_mode:
            return int(math.ceil((size + 2 * p - k) / s)) + 1
        return (size + 2 * p - k) // s + 1

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, self._layout)
        out = list(input_shape)
        for i, axis in enumerate(self._spatial_axes()):
            out[axis] = self._spatial_out(input_shape[axis], i)
        return tuple(out)

    def _check_input_shape(self, input_shape):
        _check_rank(self, input_shape, self._layout)

    def infer_shape(self, input_shape, *rest):
        _check_rank(self, input_shape, self._layout)

    def forward(self, x):
        if self._global_pool:
            axes = tuple(self._spatial_axes())
            if self._pool_type == "max":
                return keras.ops.max(x, axis=axes, keepdims=True)
            return keras.ops.mean(x, axis=axes, keepdims=True)
        x = _to_channels_last(x, self._layout)
        sizes = [int(d) for d in x.shape[1:-1]]
        before = self._padding
        # 'full' (ceil) convention: the last window may run past the padding.
        after = [(self._spatial_out(n, i) - 1) * self._strides[i] + self._kernel[i]
                 - n - self._padding[i] for i, n in enumerate(sizes)]
        after = [max(a, self._padding[i]) for i, a in enumerate(after)]
        if self._pool_type == "max":
            xp = _pad_spatial(x, before, after, value=-np.inf)
            y = keras.ops.max_pool(xp, self._kernel, self._strides, "valid",
                                   data_format="channels_last")
        else:
            xp = _pad_spatial(x, before, after)
            y = keras.ops.average_pool(xp, self._kernel, self._strides, "valid",
                                       data_format="channels_last")
            # keras.ops converts the cached numpy array: a backend tensor times a numpy
            # array would go through numpy on PyTorch, and lose the gradient
            y = keras.ops.multiply(y, self._avg_correction(
                sizes, before, after, keras.backend.standardize_dtype(x.dtype)))
        return _from_channels_last(y, self._layout)

    def _avg_correction(self, sizes, before, after, dtype):
        """Turn Keras's mean over the whole window into MXNet's: the divisor counts
        the padding (``count_include_pad``) but never the 'full'-convention overrun."""
        key = (tuple(sizes), str(dtype))
        cached = self.__dict__.get("_avg_cache", {}).get(key)
        if cached is not None:
            return cached
        counted = np.zeros([b + n + a for b, n, a in zip(before, sizes, after)], "float32")
        region = tuple(
            slice(0, b + n + p) if self._count_include_pad else slice(b, b + n)
            for b, n, p in zip(before, sizes, self._padding)
        )
        counted[region] = 1.0
        window_count = _window_sums(counted, self._kernel, self._strides)
        correction = float(np.prod(self._kernel)) / np.maximum(window_count, 1.0)
        correction = correction.reshape((1,) + correction.shape + (1,)).astype(dtype)
        object.__setattr__(self, "_avg_cache", {**self.__dict__.get("_avg_cache", {}),
                                                key: correction})
        return correction

    def __repr__(self):
        s = ("{name}(size={kernel}, stride={stride}, padding={pad}, ceil_mode={ceil_mode}"
             ", global_pool={global_pool}, pool_type={pool_type}, layout={layout})")
        return s.format(name=type(self).__name__, kernel=self._kernel,
                        stride=self._strides, pad=self._padding, ceil_mode=self._ceil_mode,
                        global_pool=self._global_pool, pool_type=self._pool_type,
                        layout=self._layout)


def _window_sums(array, kernel, strides):
    """Sum of ``array`` over every pooling window ('valid', numpy, small arrays)."""
    out_shape = [(n - k) // s + 1 for n, k, s in zip(array.shape, kernel, strides)]
    out = np.zeros(out_shape, "float32")
    for index in np.ndindex(*out_shape):
        window = tuple(slice(i * s, i * s + k) for i, k, s in zip(index, kernel, strides))
        out[index] = array[window].sum()
    return out


class MaxPool1D(_Pooling):
    """Max pooling over 'NCW' (default) or 'NWC' inputs."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 **kwargs):
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         ndim=1, **kwargs)


class MaxPool2D(_Pooling):
    """Max pooling over 'NCHW' (default) or 'NHWC' inputs."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout="NCHW",
                 ceil_mode=False, **kwargs):
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         ndim=2, **kwargs)


class MaxPool3D(_Pooling):
    """Max pooling over 'NCDHW' (default) or 'NDHWC' inputs."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", **kwargs):
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         ndim=3, **kwargs)


class AvgPool1D(_Pooling):
    """Average pooling over 'NCW' (default) or 'NWC' inputs."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 count_include_pad=True, **kwargs):
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, ndim=1, **kwargs)


class AvgPool2D(_Pooling):
    """Average pooling over 'NCHW' (default) or 'NHWC' inputs."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCHW", count_include_pad=True, **kwargs):
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, ndim=2, **kwargs)


class AvgPool3D(_Pooling):
    """Average pooling over 'NCDHW' (default) or 'NDHWC' inputs."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", count_include_pad=True, **kwargs):
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, ndim=3, **kwargs)


class _GlobalPooling(_Pooling):
    def __init__(self, pool_type, layout, ndim, **kwargs):
        super().__init__((1,) * ndim, None, 0, True, True, pool_type, layout, ndim=ndim,
                         **kwargs)


class GlobalMaxPool1D(_GlobalPooling):
    """Max over the width: (N, C, W) -> (N, C, 1)."""

    def __init__(self, layout="NCW", **kwargs):
        super().__init__("max", layout, 1, **kwargs)


class GlobalMaxPool2D(_GlobalPooling):
    """Max over height and width: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, layout="NCHW", **kwargs):
        super().__init__("max", layout, 2, **kwargs)


class GlobalMaxPool3D(_GlobalPooling):
    """Max over depth, height and width: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""

    def __init__(self, layout="NCDHW", **kwargs):
        super().__init__("max", layout, 3, **kwargs)


class GlobalAvgPool1D(_GlobalPooling):
    """Mean over the width: (N, C, W) -> (N, C, 1)."""

    def __init__(self, layout="NCW", **kwargs):
        super().__init__("avg", layout, 1, **kwargs)


class GlobalAvgPool2D(_GlobalPooling):
    """Mean over height and width: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, layout="NCHW", **kwargs):
        super().__init__("avg", layout, 2, **kwargs)


class GlobalAvgPool3D(_GlobalPooling):
    """Mean over depth, height and width: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""

    def __init__(self, layout="NCDHW", **kwargs):
        super().__init__("avg", layout, 3, **kwargs)
