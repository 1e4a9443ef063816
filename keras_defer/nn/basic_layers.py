"""Gluon's basic layers: ``Sequential``, ``HybridSequential``, ``Dense``, ``Activation``.

Each keeps Gluon's constructor arguments, parameter names, weight layout
``(units, in_units)`` and repr, and computes with ``keras.ops`` only, so it runs on
every Keras backend.
"""

import math
import warnings

import keras
import numpy as np

from keras_defer import backend, keras_compat, keras_loss, keras_saving, tree_walk
from keras_defer.block import Block, HybridBlock, repr_items
from keras_defer.shapes import check_fixed_dim
from keras_defer.validation import ACTIVATION_ALIASES, GLUON_ACTIVATIONS, check_bool, check_int
from keras_defer.errors import ShapeMismatchError

__all__ = ["Sequential", "HybridSequential", "Dense", "Activation"]

class _SequentialMixin:
    """Children run in order; shapes chain through children that can compute them."""

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def forward(self, x, *args):
        for block in self._children.values():
            x = block(x, *args)
            args = ()
        return x

    def call(self, x, *args, training=None):
        # ``training`` in the signature makes Keras's fit/evaluate pass it; children
        # (Dropout, BatchNorm) then read it from Keras's call context.
        with keras_compat.training_context(self, training):
            return Block.call(self, x, *args)  # a subclass's forward may take NDArrays

    def _plan_step(self, planner):
        """The eager fast path (``fast_path``): the children's steps, in order."""
        children = tuple(self._children.values())
        planner.watch(self, children)
        for child in children:
            planner.add(child)

    def build(self, input_shape):
        shape = input_shape
        for child in self._children.values():
            shape = child._build_and_output_shape(shape)
            if shape is None:
                break  # the rest are built when the forward reaches them

    def _static_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for child in self._children.values():
            shape = child._static_output_shape(shape)
            if shape is None:
                return None
        return shape

    def compute_output_shape(self, input_shape):
        shape = self._static_output_shape(input_shape)
        if shape is None:  # a child only its forward can tell: Keras's error
            return keras.layers.Layer.compute_output_shape(self, input_shape)
        return shape

    def _check_input_shape(self, input_shape):
        for child in self._children.values():
            child._check_input_shape(input_shape)
            input_shape = child._static_output_shape(input_shape)
            if input_shape is None:
                return

    def get_config(self):
        return keras_saving.container_config(self, Block.get_config(self))

    @classmethod
    def from_config(cls, config):
        return keras_saving.container_from_config(cls, config)

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)

    def __repr__(self):
        # every child, made without recursion (tree_walk)
        return tree_walk.container_repr(self, repr_items)

    __repr__.container_items = lambda block: list(block._children.items())

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """``keras.Model.save``, atomic for ``.keras`` files: a crash mid-save leaves the
        old file or the new one, complete (``keras_saving.save_model_atomic``)."""
        return keras_saving.save_model_atomic(self, filepath, overwrite=overwrite,
                                              zipped=zipped, **kwargs)

    def compile(self, *args, **kwargs):
        """``keras.Model.compile``; a Gluon loss given as ``loss`` is called as Gluon's,
        ``loss(pred, label)``, and averaged over the batch (``keras_loss``)."""
        args, kwargs = keras_loss.wrap_compile_losses(args, kwargs)
        return keras.Model.compile(self, *args, **kwargs)

    def compile_from_config(self, config):
        """What ``keras.Model.compile_from_config`` does (``.keras`` loading compiles the
        model again); Keras skips that for a model whose ``compile`` is overridden."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)


class Sequential(_SequentialMixin, Block, keras.Model):
    """Stacks blocks; also a ``keras.Model``, so it compiles and fits."""

    def __init__(self, prefix=None, params=None, **kwargs):
        Block.__init__(self, prefix=prefix, params=params, **kwargs)

    def hybridize(self, active=True, **kwargs):
        """Hybridize the children; warn, as Gluon does, when HybridSequential would do better."""
        children = list(self._children.values())
        if children and all(isinstance(c, HybridBlock) for c in children):
            warnings.warn(
                "All children of this Sequential layer '%s' are HybridBlocks. Consider "
                "using HybridSequential for the best performance." % self.prefix,
                stacklevel=2,
            )
        Block.hybridize(self, active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock, keras.Model):
    """Stacks hybrid blocks; ``hybridize()`` compiles the whole stack at once."""

    def __init__(self, prefix=None, params=None, **kwargs):
        Block.__init__(self, prefix=prefix, params=params, **kwargs)


class Activation(HybridBlock):
    """Applies an activation function by name ('relu', 'sigmoid', 'tanh', ...)."""

    def __init__(self, activation, **kwargs):
        if not isinstance(activation, str):
            raise TypeError("Activation expects a name such as 'relu', got %r" % (activation,))
        try:
            self._fn = keras.activations.get(ACTIVATION_ALIASES.get(activation, activation))
        except (ValueError, TypeError):
            raise ValueError(
                "Unknown activation %r. Gluon's are %s; any Keras activation name also works."
                % (activation, ", ".join(GLUON_ACTIVATIONS))
            ) from None
        self._act_type = activation
        super().__init__(**kwargs)

    def _alias(self):
        return self._act_type

    def get_config(self):
        config = Block.get_config(self)
        config["activation"] = self._act_type
        return config

    def forward(self, x):
        return self._fn(x)

    def _plan_step(self, planner):
        """The eager fast path (``fast_path``): one step applying the function."""
        planner.step(activation=self._planned_function(planner))

    def _planned_function(self, planner, input_shape=None):
        """This activation as a plan's function, also as a ``Dense``'s ``act``: that one
        is built at the Dense's first call, inside its forward, so it may not be built
        yet; it has no parameters, so it is built here, from ``input_shape``."""
        if not self.built:
            if input_shape is None:
                raise planner.Unplannable
            self._build_and_output_shape(input_shape)
        if self._compiled_call is not None:
            raise planner.Unplannable
        planner.watch(self)
        return planner.activation(self._fn)

    def compute_output_shape(self, input_shape):
        return input_shape

    def __repr__(self):
        return "{name}({_act_type})".format(name=type(self).__name__, _act_type=self._act_type)


class Dense(HybridBlock):
    """Fully connected layer ``y = act(x · Wᵀ + b)``, W of shape ``(units, in_units)``.

    ``in_units=0`` defers W's shape to the first pass. ``flatten=True`` reads an input
    of shape (batch, d1, d2, ...) as (batch, d1*d2*...), as Gluon does.
    """

    def __init__(self, units, activation=None, use_bias=True, flatten=True,
                 dtype="float32", weight_initializer=None, bias_initializer="zeros",
                 in_units=0, **kwargs):
        units = check_int("Dense", "units", units, 1)
        in_units = check_int("Dense", "in_units", in_units, 0)
        use_bias = check_bool("Dense", "use_bias", use_bias)
        flatten = check_bool("Dense", "flatten", flatten)
        if activation is not None and not isinstance(activation, str):
            raise TypeError("Dense: activation must be a name such as 'relu' or None, "
                            "got %r" % (activation,))
        super().__init__(**kwargs)
        self._units = units
        self._in_units = in_units
        self._flatten = bool(flatten)
        with self.name_scope():
            self.weight = self.params.get(
                "weight", shape=(units, in_units), init=weight_initializer, dtype=dtype,
                allow_deferred_init=True,
            )
            if use_bias:
                self.bias = self.params.get(
                    "bias", shape=(units,), init=bias_initializer, dtype=dtype,
                    allow_deferred_init=True,
                )
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def get_config(self):
        config = Block.get_config(self)
        config.update(
            units=self._units, activation=self.act._act_type if self.act else None,
            use_bias=self.bias is not None, flatten=self._flatten,
            dtype=np.dtype(self.weight.dtype).name, in_units=self._in_units,
            weight_initializer=keras_saving.initializer_to_config(self.weight.init),
            bias_initializer=keras_saving.initializer_to_config(
                self.bias.init if self.bias is not None else "zeros"),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("weight_initializer", "bias_initializer"):
            config[key] = keras_saving.initializer_from_config(config.get(key))
        return cls(**config)

    def _features(self, input_shape):
        if len(input_shape) < 2:
            raise ShapeMismatchError(
                "%s: Dense needs inputs of rank >= 2 (batch, features...), got shape %s"
                % (self.name, tuple(input_shape))
            )
        dims = input_shape[1:] if self._flatten else input_shape[-1:]
        if any(d is None for d in dims):
            raise ShapeMismatchError(
                "%s: the feature dimensions of the input must be known, got shape %s"
                % (self.name, tuple(input_shape))
            )
        return int(math.prod(dims))

    def infer_shape(self, input_shape, *rest):
        check_fixed_dim(
            self, self.weight, 1, self._features(input_shape),
            "Feed inputs with %d features per example (flatten=%s), or create the layer "
            "with a matching in_units." % (self.weight.shape[1], self._flatten),
        )

    def _check_input_shape(self, input_shape):
        self.infer_shape(input_shape)

    def compute_output_shape(self, input_shape):
        if self._flatten:
            return (input_shape[0], self._units)
        return tuple(input_shape[:-1]) + (self._units,)

    def forward(self, x):
        weight = self.weight.variable
        features = x.shape[1:] if self._flatten else x.shape[-1:]
        if None not in features and math.prod(features) != weight.shape[1]:
            self.infer_shape(tuple(x.shape))  # raises a ShapeMismatchError naming all
        if keras.backend.standardize_dtype(x.dtype) != weight.dtype:
            raise TypeError(
                "%s: input dtype %s does not match the parameters' %s. Cast the input "
                "(e.g. x.astype('%s')) or the block (block.cast('%s'))."
                % (self.name, keras.backend.standardize_dtype(x.dtype), weight.dtype,
                   weight.dtype, keras.backend.standardize_dtype(x.dtype))
            )
        if self._flatten and len(x.shape) != 2:
            x = keras.ops.reshape(x, (-1, weight.shape[1]))
        y = backend.matmul_transposed(x, weight)
        if self.bias is not None:
            # keras.ops.add emits TF's BiasAdd for a bias: in a graph (fit, hybridize)
            # TF fuses it with the MatMul/Conv2D before it and the Relu after it
            y = keras.ops.add(y, self.bias.variable)
        if self.act is not None:
            y = self.act(y)
        return y

    def _plan_step(self, planner):
        """The eager fast path (``fast_path``): one step, ``act(x · Wᵀ + b)``."""
        weight = planner.variable(self.weight)
        bias = planner.variable(self.bias) if self.bias is not None else None
        variable = self.weight.variable
        if variable.dtype != self.compute_dtype or len(variable.shape) != 2:
            raise planner.Unplannable
        act = None
        if self.act is not None:
            if type(self.act).forward is not Activation.forward:
                raise planner.Unplannable
            act = self.act._planned_function(planner, (None, int(variable.shape[0])))
        planner.watch(self)
        if self._flatten:  # forward's reshape of an input of another rank than 2
            planner.flatten_to(int(variable.shape[1]))
        planner.step(weight, bias, act)

    def __repr__(self):
        shape = self.weight.shape
        return "{name}({layout}, {act})".format(
            name=type(self).__name__,
            act=self.act if self.act else "linear",
            layout="{0} -> {1}".format(shape[1] if shape[1] else None, shape[0]),
        )
