"""``hybridize()``: compile a block's forward with the active backend's compiler.

TensorFlow (``keras_defer.tensorflow``: ``tf.function``) and JAX (``keras_defer.jax``:
``jax.jit``) have a compiler wired in; on PyTorch hybridize is accepted and the
forward stays eager, which changes no result. The first pass always runs eagerly
(it creates variables and runs initializers); compilation applies from the second
call on.
"""

import threading

import keras

from keras_defer import keras_compat

_local = threading.local()


def in_compiled_call():
    """True while a compiled parent runs: its children then run plain (traced into
    the parent's graph) instead of through their own compiled functions."""
    return getattr(_local, "depth", 0) > 0


class compiled_scope:
    def __enter__(self):
        _local.depth = getattr(_local, "depth", 0) + 1

    def __exit__(self, *exc):
        _local.depth -= 1
        return False


PLAIN = object()
"""Returned by ``compiled_mode`` when a call must take the block's plain path."""


def compiled_mode(args, kwargs):
    """The training mode a compiled call of ``block(*args, **kwargs)`` runs in (each
    mode has its own trace), or ``PLAIN``.

    A child inherits ``training`` from its parent's Keras call context (``fit`` calls
    the model with training=True), and Dropout and BatchNorm trace differently in
    each mode. Plain: keyword arguments (``training=`` given explicitly), no
    positional input, KerasTensors (the functional API builds a Keras graph, not a
    compiled one), or a symbolic training flag that only Keras can resolve.
    """
    if kwargs or not args or any(isinstance(a, keras.KerasTensor) for a in args):
        return PLAIN
    training = keras_compat.context_training()
    if training is not None and not isinstance(training, bool):
        return PLAIN
    return training


def compile_call(block, **options):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from keras_defer.tensorflow import compile_call as compile_tf

        return compile_tf(block, **options)
    if backend == "jax":
        from keras_defer.jax import compile_call as compile_jax

        return compile_jax(block, **options)
    return None
