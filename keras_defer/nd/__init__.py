"""``mxnet.nd`` stand-in: the creation functions Gluon tutorials use.

They return tensors of the active Keras backend, so their results feed keras_defer
blocks and any Keras layer alike. Gluon's default dtype is float32 whatever the source.
"""

import keras
import numpy as np

from keras_defer.nd import random  # noqa: F401

__all__ = ["array", "ones", "zeros", "full", "random"]


def _on(ctx):
    from keras_defer.context import Context

    return keras.device(Context(ctx).keras_device) if ctx is not None else _NullScope()


class _NullScope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def array(source_array, ctx=None, dtype=None):
    """A tensor holding ``source_array`` (float32 unless ``dtype`` says otherwise)."""
    with _on(ctx):
        return keras.ops.convert_to_tensor(np.asarray(source_array), dtype=dtype or "float32")


def zeros(shape, ctx=None, dtype="float32"):
    with _on(ctx):
        return keras.ops.zeros(shape, dtype=dtype or "float32")


def ones(shape, ctx=None, dtype="float32"):
    with _on(ctx):
        return keras.ops.ones(shape, dtype=dtype or "float32")


def full(shape, val, ctx=None, dtype="float32"):
    with _on(ctx):
        return keras.ops.full(shape, val, dtype=dtype or "float32")
