"""Gluon's activation blocks (``gluon/nn/activations.py``): ``LeakyReLU``, ``PReLU``,
``ELU``, ``SELU``, ``GELU``, ``Swish``.

Each computes MXNet's formula with ``keras.ops`` and keeps the input's shape, so a
container infers the shapes after it before anything runs. ``PReLU`` owns one
parameter, ``alpha``, of shape ``(in_channels,)``: known at construction, so
``initialize()`` draws it at once and nothing about it is deferred.

The negative branches compute ``expm1`` of ``x`` with its positive values zeroed: the
branch ``where`` does not select still enters the gradient (times zero), and ``exp``
of a large positive input would make that ``0 * inf = nan``.
"""

from keras import ops

from keras_defer import keras_saving
from keras_defer import init as initializer
from keras_defer import validation as _c
from keras_defer.block import Block, HybridBlock

__all__ = ["LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Swish"]

# MXNet's SELU constants (src/operator/leaky_relu-inl.h), as keras.ops.selu's
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946


def _negative_exp(x, alpha):
    """``alpha * (exp(x) - 1)`` for x <= 0, with no overflow for positive x. (Not
    ``minimum(x, 0)``: PyTorch splits its gradient in half at x == 0.)"""
    return alpha * ops.expm1(ops.where(x > 0, ops.zeros_like(x), x))


class _Elementwise(HybridBlock):
    """An activation applied element by element: the output shape is the input's."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def _config_arguments(self):
        """The constructor arguments beyond Block's (for ``get_config``)."""
        return {}

    def get_config(self):
        config = Block.get_config(self)
        config.update(self._config_arguments())
        return config


class LeakyReLU(_Elementwise):
    """``x`` for x > 0, ``alpha * x`` otherwise (``alpha`` >= 0)."""

    def __init__(self, alpha, **kwargs):
        # MXNet: AssertionError "Slope coefficient for LeakyReLU must be no less than
        # 0." after drawing a name; here a ValueError before (docs/divergences.md)
        _c.check_real("LeakyReLU", "alpha", alpha, 0)
        super().__init__(**kwargs)
        self._alpha = alpha

    def _config_arguments(self):
        return {"alpha": self._alpha}

    def forward(self, x):
        return ops.where(x > 0, x, x * self._alpha)

    def __repr__(self):
        return "{name}({alpha})".format(name=type(self).__name__, alpha=self._alpha)


class PReLU(_Elementwise):
    """LeakyReLU whose slope ``alpha`` is learned: one value (``in_channels=1``) or
    one per channel (axis 1 of the input)."""

    def __init__(self, alpha_initializer=initializer.Constant(0.25), in_channels=1,
                 **kwargs):
        _c.check_initializer("PReLU", "alpha_initializer", alpha_initializer)
        in_channels = _c.check_int("PReLU", "in_channels", in_channels, 1)
        super().__init__(**kwargs)
        self._in_channels = in_channels
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,),
                                         init=alpha_initializer)

    def _config_arguments(self):
        return {"in_channels": self._in_channels,
                "alpha_initializer": keras_saving.initializer_to_config(self.alpha.init)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["alpha_initializer"] = keras_saving.initializer_from_config(
            config.get("alpha_initializer"))
        return cls(**config)

    def _check_input_shape(self, input_shape):
        channels = self.alpha.shape[0]
        if channels > 1 and (len(input_shape) < 2 or input_shape[1] not in (None, channels)):
            from keras_defer.errors import ShapeMismatchError

            raise ShapeMismatchError(
                "%s: parameter %s of shape %s needs inputs with %d channels on axis 1, "
                "got shape %s. Create the block with in_channels=%s, or feed inputs of "
                "that shape." % (self.name, self.alpha.name, self.alpha.shape, channels,
                                 tuple(input_shape),
                                 input_shape[1] if len(input_shape) > 1 else 1))

    def infer_shape(self, input_shape, *rest):
        self._check_input_shape(input_shape)

    def forward(self, x):
        alpha = ops.cast(self.alpha.variable, x.dtype)
        if self._in_channels > 1:
            self._check_input_shape(tuple(x.shape))
            alpha = ops.reshape(alpha, (1, -1) + (1,) * (len(x.shape) - 2))
        return ops.where(x > 0, x, x * alpha)


class ELU(_Elementwise):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        _c.check_real("ELU", "alpha", alpha, float("-inf"))
        super().__init__(**kwargs)
        self._alpha = alpha

    def _config_arguments(self):
        return {"alpha": self._alpha}

    def forward(self, x):
        return ops.where(x > 0, x, _negative_exp(x, self._alpha))


class SELU(_Elementwise):
    """Scaled ELU with the self-normalizing constants (Klambauer et al., 2017)."""

    def forward(self, x):
        return _SELU_LAMBDA * ops.where(x > 0, x, _negative_exp(x, _SELU_ALPHA))


class GELU(_Elementwise):
    """``x * Phi(x)``, Phi the standard normal CDF (the exact, erf form, as MXNet)."""

    def forward(self, x):
        return ops.gelu(x, approximate=False)


class Swish(_Elementwise):
    """``x * sigmoid(beta * x)``."""

    def __init__(self, beta=1.0, **kwargs):
        _c.check_real("Swish", "beta", beta, float("-inf"))
        super().__init__(**kwargs)
        self._beta = beta

    def _config_arguments(self):
        return {"beta": self._beta}

    def forward(self, x):
        return x * ops.sigmoid(self._beta * x)

