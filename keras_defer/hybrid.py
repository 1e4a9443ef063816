"""``hybridize()``: compile a block's forward with the active backend's compiler.

TensorFlow (``keras_defer.tensorflow``: ``tf.function``) and JAX (``keras_defer.jax``:
``jax.jit``) have a compiler wired in; on PyTorch hybridize is accepted and the
forward stays eager, which changes no result. The first pass always runs eagerly
(it creates variables and runs initializers); compilation applies from the second
call on.
"""

import threading

import keras

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


def compile_call(block, **options):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from keras_defer.tensorflow import compile_call as compile_tf

        return compile_tf(block, **options)
    if backend == "jax":
        from keras_defer.jax import compile_call as compile_jax

        return compile_jax(block, **options)
    return None
