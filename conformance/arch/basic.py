"""Dense, Embedding and Activation (Gluon 1.9.1 gluon/nn/basic_layers.py, activations.py)."""

from dataclasses import dataclass
from typing import Optional

from conformance.arch.layer import Layer, activation_text, features, known_or_none


@dataclass(frozen=True)
class Dense(Layer):
    units: int
    activation: Optional[str] = None
    use_bias: bool = True
    flatten: bool = True
    in_units: int = 0
    weight_initializer: Optional[str] = None   # None (the global one) | 'ones' | 'zeros'
    bias_initializer: Optional[str] = "zeros"  # 'zeros' | 'ones' | None (the global one)
    prefix: Optional[str] = None
    share: Optional[int] = None                # params=<earlier Dense>.params

    shareable = True

    def source(self, refs):
        args = [repr(self.units)]
        if self.activation:
            args.append("activation=%r" % self.activation)
        if not self.use_bias:
            args.append("use_bias=False")
        if not self.flatten:
            args.append("flatten=False")
        if self.in_units:
            args.append("in_units=%d" % self.in_units)
        if self.weight_initializer is not None:
            args.append("weight_initializer=%r" % self.weight_initializer)
        if self.bias_initializer != "zeros":
            args.append("bias_initializer=%r" % self.bias_initializer)
        if self.prefix is not None:
            args.append("prefix=%r" % self.prefix)
        if self.share is not None:
            args.append("params=%s.params" % refs[self.share])
        return "nn.Dense(%s)" % ", ".join(args)

    def declared_params(self):
        out = [("weight", (self.units, self.in_units), self.weight_initializer, "write")]
        if self.use_bias:
            out.append(("bias", (self.units,), self.bias_initializer, "write"))
        return out

    def required_shapes(self, shape):
        return {"weight": (self.units, features(shape, self.flatten))}

    def output_shape(self, shape):
        return (shape[0], self.units) if self.flatten else tuple(shape[:-1]) + (self.units,)

    def gluon_repr(self, shape_of):
        w = shape_of("weight")
        return "Dense(%s -> %d, %s)" % (known_or_none(w[1]), w[0],
                                        activation_text(self.activation) or "linear")


@dataclass(frozen=True)
class Activation(Layer):
    activation: str = "relu"

    keeps_input_axes = True

    @property
    def hint(self):
        return self.activation

    def source(self, refs):
        return "nn.Activation(%r)" % self.activation

    def gluon_repr(self, shape_of):
        return "Activation(%s)" % self.activation


@dataclass(frozen=True)
class Embedding(Layer):
    input_dim: int
    output_dim: int

    def source(self, refs):
        return "nn.Embedding(%d, %d)" % (self.input_dim, self.output_dim)

    def declared_params(self):
        return [("weight", (self.input_dim, self.output_dim), None, "write")]

    def output_shape(self, shape):
        return tuple(shape) + (self.output_dim,)

    def gluon_repr(self, shape_of):
        return "Embedding(%d -> %d, float32)" % (self.input_dim, self.output_dim)
