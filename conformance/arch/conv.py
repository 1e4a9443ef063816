"""Convolutions and pooling (Gluon 1.9.1 gluon/nn/conv_layers.py), 1-3D, layouts
NCW/NCHW/NCDHW; pooling also channels-last (NWC/NHWC/NDHWC).

MXNet 1.9.1 on CPU refuses channels-last convolutions (Conv1D: "Only supports 'NCW'
layout for now"; Conv2D/3D and the transposed ones: "could not create a descriptor for a
dilated convolution forward propagation primitive", observed): the kit generates them
channels-first only, as the ground truth cannot run them.  Its pooling runs every layout."""

from dataclasses import dataclass
from typing import Optional

from conformance.arch.layer import (NP_FLOAT32, Layer, activation_text, known_or_none,
                                    source_args)

LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


@dataclass(frozen=True)
class Conv(Layer):
    dims: int                  # 1, 2, 3: Conv1D/2D/3D
    channels: int
    kernel: int
    strides: int = 1
    padding: int = 0
    use_bias: bool = True
    in_channels: int = 0
    activation: Optional[str] = None
    transpose: bool = False

    hint = "conv"
    dtype = NP_FLOAT32

    @property
    def class_name(self):
        return "Conv%dD%s" % (self.dims, "Transpose" if self.transpose else "")

    def source(self, refs):
        return "nn.%s(%s)" % (self.class_name, source_args(
            self.channels, self.kernel, strides=(self.strides, 1), padding=(self.padding, 0),
            activation=(self.activation, None), use_bias=(self.use_bias, True),
            in_channels=(self.in_channels, 0)))

    def _weight_shape(self, in_channels):
        # a transposed convolution's weight is (in_channels, channels, *kernel)
        pair = ((in_channels, self.channels) if self.transpose
                else (self.channels, in_channels))
        return pair + (self.kernel,) * self.dims

    def declared_params(self):
        out = [("weight", self._weight_shape(self.in_channels), None, "write")]
        if self.use_bias:
            out.append(("bias", (self.channels,), "zeros", "write"))
        return out

    def required_shapes(self, shape):
        self._expect_rank(shape, self.dims + 2)
        return {"weight": self._weight_shape(shape[1])}

    def output_shape(self, shape):
        k, s, pad = self.kernel, self.strides, self.padding
        if self.transpose:
            spatial = tuple((n - 1) * s - 2 * pad + k for n in shape[2:])
        else:
            spatial = tuple((n + 2 * pad - k) // s + 1 for n in shape[2:])
        return (shape[0], self.channels) + spatial

    def gluon_repr(self, shape_of):
        w, d = shape_of("weight"), self.dims
        text = "%s(%s -> %s, kernel_size=%r, stride=%r" % (
            self.class_name, known_or_none(w[1]), w[0], (self.kernel,) * d, (self.strides,) * d)
        if self.padding:
            text += ", padding=%r" % ((self.padding,) * d,)
        if not self.use_bias:
            text += ", bias=False"
        if self.activation:
            text += ", " + activation_text(self.activation)
        return text + ")"

    def fixed_input_size(self, shape_of):
        w = shape_of("weight")
        return 1, (w[0] if self.transpose else w[1])


@dataclass(frozen=True)
class Pool(Layer):
    dims: int
    kind: str = "max"          # 'max' | 'avg'
    size: int = 2              # pool_size (strides default to it); ignored when global
    global_pool: bool = False
    layout: str = ""           # "" (Gluon's default, channels-first) or NWC/NHWC/NDHWC

    hint = "pool"
    keeps_input_axes = True

    @property
    def class_name(self):
        return "%s%sPool%dD" % ("Global" if self.global_pool else "", self.kind.capitalize(),
                                self.dims)

    @property
    def channels_last(self):
        return bool(self.layout) and self.layout[-1] == "C"

    def source(self, refs):
        layout = ", layout=%r" % self.layout if self.layout else ""
        if self.global_pool:
            return "nn.%s(%s)" % (self.class_name, layout[2:])
        return "nn.%s(pool_size=%d%s)" % (self.class_name, self.size, layout)

    def output_shape(self, shape):
        self._expect_rank(shape, self.dims + 2)
        if self.channels_last:
            spatial, channels = shape[1:-1], shape[-1:]
        else:
            spatial, channels = shape[2:], shape[1:2]
        if self.global_pool:
            spatial = (1,) * self.dims
        else:
            spatial = tuple((n - self.size) // self.size + 1 for n in spatial)
        if self.channels_last:
            return (shape[0],) + spatial + tuple(channels)
        return (shape[0],) + tuple(channels) + spatial

    def gluon_repr(self, shape_of):
        d = self.dims
        size = (1,) * d if self.global_pool else (self.size,) * d
        return ("%s(size=%r, stride=%r, padding=%r, ceil_mode=%s, global_pool=%s, pool_type=%s, "
                "layout=%s)" % (self.class_name, size, size, (0,) * d, self.global_pool,
                                self.global_pool, self.kind, self.layout or LAYOUTS[d]))
