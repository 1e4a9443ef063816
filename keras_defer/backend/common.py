"""What every backend shares: the compiled-call state, and the generic versions of
the backend front's names (``keras.ops`` and ``keras.random``), which a backend
module keeps or replaces with something faster or more exact.

A hybridized parent traces its children into its own graph: while it traces, a
child must run plain instead of through its own compiled function
(``in_compiled_call``), and every compiled call picks its trace by training mode
(``compiled_mode``), the same way on every backend that compiles.
"""

import contextlib
import threading

import keras
import numpy as np

from keras_defer import keras_compat

# -- compiled calls (hybridize) --------------------------------------------------------
_local = threading.local()


def in_compiled_call():
    """True while a compiled parent runs: its children then run plain (traced into
    the parent's graph) instead of through their own compiled functions."""
    return getattr(_local, "depth", 0) > 0


class compiled_scope:
    """``with compiled_scope():`` a compiled parent is being traced."""

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
    """No compiler: ``hybridize()`` is accepted and the forward stays eager, which
    changes no result."""
    return None


# -- the eager fast path ---------------------------------------------------------------
MISS = object()
"""Returned by ``fast_call`` when the fast path does not apply."""


def fast_call(block, args):
    """No fast path: every call takes Keras's ``Layer.__call__``."""
    return MISS


def matmul_transposed(x, weight):
    """``x @ weight.T`` (Gluon's Dense layout ``(units, in_units)``)."""
    return keras.ops.matmul(x, keras.ops.transpose(weight))


# -- initial values --------------------------------------------------------------------
def random_draw(kind, shape, scale, shift, dtype):
    """``unit * scale + shift`` of ``shape``, ``unit`` a fresh standard ``kind``
    ('uniform' on [0, 1), or 'normal') draw from Keras's global seed generator."""
    if kind == "uniform":
        return keras.random.uniform(shape, shift, shift + scale, dtype=dtype)
    return keras.random.normal(shape, shift, scale, dtype=dtype)


def split_into(flat, shapes):
    """``flat`` cut into consecutive pieces of ``shapes``."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    pieces = keras.ops.split(flat, np.cumsum(sizes)[:-1].tolist())
    return [keras.ops.reshape(piece, shape) for piece, shape in zip(pieces, shapes)]


def zeros(shape, dtype):
    return keras.ops.zeros(shape, dtype=dtype)


# -- variables -------------------------------------------------------------------------
def concrete_scope():
    """``with concrete_scope():`` computes with concrete values and changes real state,
    even when the first pass runs inside a symbolic trace. A no-op where the backend
    steps out of traces by itself."""
    return contextlib.nullcontext()


def snapshot(value, dtype=None):
    """A tensor holding ``value`` that aliases no variable.

    ``convert_to_tensor`` hands a variable back unchanged on TensorFlow, and a Keras
    variable built from it would share its storage: copy in that case only.
    """
    if isinstance(value, keras.Variable):
        value = value.value
    elif (keras.ops.is_tensor(value) and not hasattr(value, "assign")
          and (dtype is None or keras.backend.standardize_dtype(value.dtype) == dtype)):
        return value  # already a tensor of that dtype: conversion would hand it back
    tensor = keras.ops.convert_to_tensor(value, dtype=dtype)
    if hasattr(tensor, "assign"):
        tensor = keras.ops.copy(tensor)
    return tensor


# -- devices and modules ---------------------------------------------------------------
def device_name(device_type, device_id):
    """The device string ``keras.device()`` understands for Gluon's ``cpu(0)``/``gpu(1)``."""
    return "%s:%d" % (device_type, device_id)


def num_gpus():
    """How many GPUs the backend can see."""
    return 0


module_call = None
"""What a block's module call runs where layers are modules (PyTorch); None elsewhere."""
