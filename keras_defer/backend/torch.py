"""PyTorch: layers are ``torch.nn.Module``s, variables wrap the tensors they are
given, and ``hybridize()`` stays eager (``compile_call`` is common's: None).

Keras's ``compute_output_spec`` runs the model inside its stateless and symbolic
scopes and a ``"meta"`` device scope (tensors without data); the first pass steps
out of all three (``concrete_scope``), so initial values and variables are real
tensors on the default device.
"""

import keras
import torch

from keras_defer import keras_compat
from keras_defer.backend.common import (  # noqa: F401  (the same on PyTorch)
    compile_call, fast_call, matmul_transposed, random_draw, split_into, zeros,
)

_SYMBOLIC_SCOPES = ("stateless_scope", "symbolic_scope", "torch_device")


def concrete_scope():
    """``with concrete_scope():`` computes with real tensors and changes real state,
    even inside Keras's ``compute_output_spec`` (see the module docstring)."""
    return keras_compat.suspended_scopes(_SYMBOLIC_SCOPES)


def snapshot(value, dtype=None):
    """A tensor holding ``value`` that aliases no variable: always a copy here.

    A Keras variable wraps the very tensor it is given, and tensors share memory
    freely (a numpy array converted, a broadcast view, a slice)."""
    tensor = keras.ops.convert_to_tensor(
        value.value if isinstance(value, keras.Variable) else value, dtype=dtype)
    return tensor.detach().clone(memory_format=torch.contiguous_format)


def device_name(device_type, device_id):
    """PyTorch has one CPU device, named "cpu": a Keras variable created under
    "cpu:0" is a copy of its torch.nn.Parameter (``Parameter.to("cpu:0")``), which
    gradients never reach."""
    if device_type == "cpu":
        return "cpu"
    return "%s:%d" % (device_type, device_id)


def num_gpus():
    return torch.cuda.device_count()


_layer_forward = keras_compat.torch_layer_forward()


def module_call(layer, *args, **kwargs):
    """What ``torch.nn.Module.__call__`` runs for a block (its ``_call_impl``).

    A Keras layer is a ``torch.nn.Module`` here: ``Layer.__call__`` ends in
    ``Module.__call__``, which calls ``self.forward``, and Keras's ``TorchLayer``
    defines ``forward`` to come back to ``call``. A Gluon block's ``forward`` is the
    user's computation, which takes no ``training=`` and would skip Keras's
    ``Operation.__call__``; so a block's module call goes where ``TorchLayer.forward``
    would have sent it. (PyTorch module hooks do not run for blocks.)"""
    return _layer_forward(layer, *args, **kwargs)
