"""Gluon's parameter-free layers: ``Flatten``, ``Dropout``, ``Lambda``, ``HybridLambda``.

They own no parameters, so deferred initialization passes straight through them;
``Flatten`` and ``Dropout`` know their output shape, so a container keeps inferring
the shapes of the layers after them before anything runs.
"""

import functools
import math

import keras

from keras_defer import nd
from keras_defer.block import Block, HybridBlock
from keras_defer.nd.ndarray import apply
from keras_defer import validation as _c
from keras_defer.nn import layer_plans

__all__ = ["Flatten", "Dropout", "Lambda", "HybridLambda"]


def _resolve_function(owner, name):
    """The function named ``name`` on NDArrays: ``nd.<name>`` as in Gluon, else a
    ``keras.ops`` or ``keras.activations`` function applied to the arrays' tensors."""
    function = getattr(nd, name, None) if name in nd.__all__ else None
    if callable(function):
        return function
    for namespace in (keras.ops, keras.activations):
        function = getattr(namespace, name, None)
        if callable(function):
            return functools.partial(apply, function)
    # MXNet: an AssertionError "Function name ... is not found in ndarray."
    raise ValueError("%s: function name %r is not found in keras_defer.nd, keras.ops or "
                     "keras.activations; pass one of their names or a callable."
                     % (owner, name))


class Flatten(HybridBlock):
    """(batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def forward(self, x):
        features = x.shape[1:]
        if None in features:
            return keras.ops.reshape(x, (keras.ops.shape(x)[0], -1))
        return keras.ops.reshape(x, (-1, int(math.prod(features))))

    _plan_step = layer_plans.flatten_step  # the eager fast path (fast_path)

    def compute_output_shape(self, input_shape):
        features = input_shape[1:]
        size = None if None in features else int(math.prod(features))
        return (input_shape[0], size)

    def __repr__(self):
        return type(self).__name__


class Dropout(HybridBlock):
    """Zero each element with probability ``rate`` and scale the rest by
    1/(1-rate), in training only (Keras's ``training`` flag, set by ``fit``).
    ``axes`` are the axes along which one mask value is shared, as in Gluon."""

    def __init__(self, rate, axes=(), **kwargs):
        # MXNet accepts any rate and axes here (rate 1 or -0.5 run; a negative axis
        # fails at the first pass); a rate of 1 would divide by zero.
        rate = _c.check_real("Dropout", "rate", rate, 0, 1, high_open=True)
        axes = _check_axes(axes)
        super().__init__(**kwargs)
        self._rate = rate
        self._axes = axes
        self.seed_generator = keras.random.SeedGenerator()

    def call(self, x, training=None):
        # Block.call: a subclass's forward may take NDArrays
        return Block.call(self, x, training=training)

    def forward(self, x, training=None):
        if not training or self._rate == 0:
            return x
        noise_shape = None
        if self._axes:
            noise_shape = tuple(1 if i in self._axes else d
                                for i, d in enumerate(keras.ops.shape(x)))
        return keras.random.dropout(x, self._rate, noise_shape=noise_shape,
                                    seed=self.seed_generator)

    _plan_step = layer_plans.dropout_step  # the eager fast path: inference only

    def compute_output_shape(self, input_shape):
        return input_shape

    def __repr__(self):
        return "{name}(p = {rate}, axes={axes})".format(
            name=type(self).__name__, rate=self._rate, axes=self._axes)


def _check_axes(axes):
    """Gluon's ``axes``: a tuple (or list) of ints >= 0; a single int is one axis."""
    if isinstance(axes, (tuple, list)) and all(_c._is_int(a) for a in axes):
        if any(a < 0 for a in axes):
            raise ValueError("Dropout: axes must be a tuple of ints >= 0 (input axes "
                             "sharing one mask value), got %r" % (axes,))
        return tuple(int(a) for a in axes)
    if _c._is_int(axes):
        return _check_axes((axes,))
    raise TypeError("Dropout: axes must be a tuple of ints >= 0 (input axes sharing one "
                    "mask value), got %r of type %s" % (axes, type(axes).__name__))


class Lambda(Block):
    """Wrap a function: an ``nd`` name ('tanh') or any callable ``f(*args)`` of
    NDArrays, as in Gluon."""

    _forward_on_ndarrays = True

    def __init__(self, function, prefix=None, **kwargs):
        self._func_name = getattr(function, "__name__", None) or repr(function)
        if isinstance(function, str):
            self._func_name = function
            function = _resolve_function("Lambda", function)
        elif not callable(function):
            # MXNet's ValueError and message (after its name is drawn; ours before)
            raise ValueError("Lambda: Unrecognized function in lambda: {} of type {}; "
                             "expected a callable or a keras.ops name"
                             .format(function, type(function)))
        self._func_impl = function
        super().__init__(prefix=prefix, **kwargs)

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return "{name}({function})".format(name=type(self).__name__,
                                           function=self._func_name)


class HybridLambda(HybridBlock):
    """Wrap a function ``f(F, x, *args)`` of NDArrays (``F`` is ``keras_defer.nd``) or
    an ``nd`` name, as in Gluon; hybridizes with the rest of the net."""

    _forward_on_ndarrays = True

    def __init__(self, function, prefix=None, **kwargs):
        if isinstance(function, str):
            impl = _resolve_function("HybridLambda", function)
            self._func = lambda F, *args: impl(*args)
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = function.__name__
        else:
            # MXNet's ValueError and message (after its name is drawn; ours before)
            raise ValueError("HybridLambda: Unrecognized function in lambda: {} of type {}; "
                             "expected a callable or a keras.ops name"
                             .format(function, type(function)))
        super().__init__(prefix=prefix, **kwargs)

    def forward(self, x, *args):
        return self._func(nd, x, *args)

    def __repr__(self):
        return "{name}({function})".format(name=type(self).__name__,
                                           function=self._func_name)
