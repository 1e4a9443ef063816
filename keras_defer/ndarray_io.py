"""Blocks speak NDArray at their edges, tensors inside.

MXNet code calls a block with NDArrays and gets NDArrays; Keras calls it with
tensors (symbolic ones in the functional API and ``fit``'s trace) and needs tensors.
So a block called with NDArrays unwraps them, runs the tensor path (first pass,
compiled call, fast path, Keras), and wraps what comes out; and a user's ``forward``
(Gluon code, written with ``nd`` operations and NDArray methods) gets its inputs
wrapped and its result unwrapped, whoever called the block. keras_defer's own layers
compute on tensors throughout.
"""

import contextlib

from keras_defer import backend, keras_compat
from keras_defer.nd.ndarray import KERAS, NDARRAY, unwrap_all, wrap_all
from keras_defer.nd.ndarray import caller as _caller

__all__ = ["call_with_ndarrays", "forward_on_ndarrays", "not_a_tensor_message"]

_autograd = None
_UNRECORDED = backend.unrecorded
_NO_SCOPE = contextlib.nullcontext()


def _autograd_module():
    """``keras_defer.autograd`` (imported on first use: it imports ``nd``)."""
    global _autograd
    if _autograd is None:
        from keras_defer import autograd

        _autograd = autograd
    return _autograd


def call_with_ndarrays(block, args, kwargs):
    """MXNet's call: NDArrays in, NDArrays out; in between, the tensor path.

    Called from outside any Keras call, the block trains when
    ``autograd.is_training()`` (inside ``autograd.record()``) unless ``training=``
    is given; inside one (a parent's forward, ``fit``), it inherits Keras's
    ``training`` as any layer does. An error raised in a forward comes out as
    raised, not rewrapped by Keras ("Exception encountered when calling ...").

    Which world the outermost call came from (``nd.ndarray.caller``) decides how nd
    operations in user forwards record: MXNet's way (``autograd``) under an
    NDArray call, the backend's own way (what ``fit`` needs) under a Keras call."""
    args = unwrap_all(args)
    if kwargs:
        kwargs = {key: unwrap_all(value) for key, value in kwargs.items()}
    outermost = _caller.outermost is None
    if outermost:
        _caller.outermost = NDARRAY
    try:
        # Outside autograd.record() nothing is recorded (PyTorch would record a
        # block's operations on its parameters, and backward() would then succeed
        # where MXNet raises)
        autograd = _autograd_module()
        with (_UNRECORDED() if outermost and not autograd.is_recording()
              else _NO_SCOPE):
            if "training" not in kwargs and autograd.is_training():
                with keras_compat.training_context(block, True):
                    out = block.__call__(*args, **kwargs)
            else:
                out = block.__call__(*args, **kwargs)
    except Exception as exc:
        original = keras_compat.original_call_error(exc)
        if original is exc:
            raise
        raise original.with_traceback(original.__traceback__) from None
    finally:
        if outermost:
            _caller.outermost = None
    return wrap_all(out)


def forward_on_ndarrays(block, args, kwargs):
    """``block.forward`` on NDArrays (a Gluon ``forward``), from ``Block.call``."""
    if kwargs:
        kwargs = {key: wrap_all(value) for key, value in kwargs.items()}
    if _caller.outermost is None:  # Keras called the outermost block
        _caller.outermost = KERAS
        try:
            return unwrap_all(block.forward(*wrap_all(args), **kwargs))
        finally:
            _caller.outermost = None
    return unwrap_all(block.forward(*wrap_all(args), **kwargs))


def not_a_tensor_message(block, value):
    """The ``TypeError`` text for a block called with something that is not an array
    (None, a list, a string, a dict): what came, what a block takes, how to convert.
    MXNet 1.9.1 refuses all of these too (``ValueError: In HybridBlock, there must be
    one NDArray or one Symbol in the input``); keras_defer refuses them before any hook
    runs or any state changes, whether or not the block is built."""
    if value is None:
        what = "None"
    elif isinstance(value, str):
        what = "the string %r" % (value[:40] + ("..." if len(value) > 40 else ""),)
    else:
        text = repr(value)
        what = "%s %s" % (type(value).__name__, text[:60] + ("..." if len(text) > 60 else ""))
    fix = (" Convert a nested list of numbers with mx.nd.array(x)."
           if isinstance(value, (list, tuple)) else "")
    return ("%s %r expects a tensor as its first input (an NDArray, a numpy array or a "
            "backend tensor), got %s.%s" % (type(block).__name__, block.name, what, fix))
