"""Flatten, Dropout, Lambda and HybridLambda (Gluon 1.9.1 gluon/nn/basic_layers.py):
blocks without parameters."""

from dataclasses import dataclass

from conformance.arch.layer import Layer, features


@dataclass(frozen=True)
class Flatten(Layer):
    def source(self, refs):
        return "nn.Flatten()"

    def output_shape(self, shape):
        return (shape[0], features(shape, True))

    def gluon_repr(self, shape_of):
        return "Flatten"


@dataclass(frozen=True)
class Dropout(Layer):
    rate: float = 0.5

    keeps_input_axes = True

    def source(self, refs):
        return "nn.Dropout(%r)" % self.rate

    def gluon_repr(self, shape_of):
        return "Dropout(p = %s, axes=())" % self.rate


@dataclass(frozen=True)
class Lambda(Layer):
    function: str = "tanh"     # the name of an nd function
    hybrid: bool = True        # HybridLambda (a HybridBlock) or Lambda (a Block)

    keeps_input_axes = True

    @property
    def class_name(self):
        return "HybridLambda" if self.hybrid else "Lambda"

    @property
    def hint(self):
        return self.class_name.lower()

    def source(self, refs):
        return "nn.%s(%r)" % (self.class_name, self.function)

    def gluon_repr(self, shape_of):
        return "%s(%s)" % (self.class_name, self.function)
