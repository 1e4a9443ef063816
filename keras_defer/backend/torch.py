"""PyTorch: layers are ``torch.nn.Module``s, variables wrap the tensors they are
given, ``hybridize()`` stays eager (``compile_call`` is common's: None), and
``autograd`` is PyTorch's own.

Keras's ``compute_output_spec`` runs the model inside its stateless and symbolic
scopes and a ``"meta"`` device scope (tensors without data); the first pass steps
out of all three (``concrete_scope``), so initial values and variables are real
tensors on the default device.
"""

import threading

import keras
import torch

from keras_defer import keras_compat
from keras_defer.backend.common import (  # noqa: F401  (the same on PyTorch)
    NotRecorded, adopt_array_type, compile_call, fast_call, matmul, matmul_transposed,
    random_draw, strided_slice,
    split_into, zeros,
)
from keras_defer.backend.common import fuse_rule  # noqa: F401
from keras_defer.backend.common import ctc_loss  # noqa: F401


def sparse_softmax_cross_entropy(logits, labels):
    """``common.sparse_softmax_cross_entropy`` as torch's fused ``cross_entropy``."""
    classes = logits.shape[-1]
    idx = torch.clamp(labels.to(torch.int64) if labels.is_floating_point() else labels.long(),
                      0, classes - 1)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, classes), idx.reshape(-1),
                                             reduction="none")
    return loss.reshape(idx.shape)
from keras_defer.backend.common import from_numpy  # noqa: F401  (keras's device placement)

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


# -- gradient recording (autograd) -----------------------------------------------------
# PyTorch records every operation on tensors that require grad while its (per-thread)
# grad mode is on, and an array's history lives as long as the array, as in MXNet: a
# session turns grad mode on, ``pause()`` off, and the end of the session puts back
# whatever mode was set before it. An array with an attached gradient holds a leaf
# tensor that requires grad (``watch``); parameters' variables are such leaves
# already (``torch.nn.Parameter``, requiring grad when trainable).
records_by_default = True
_set_grad_enabled = torch._C._set_grad_enabled
_local = threading.local()


def begin_recording():
    _local.outside = torch.is_grad_enabled()
    _set_grad_enabled(True)


def pause_recording():
    _set_grad_enabled(False)


def resume_recording():
    _set_grad_enabled(True)


def end_recording():
    _set_grad_enabled(getattr(_local, "outside", True))


class unrecorded:
    """``with unrecorded():`` PyTorch records nothing (``torch.no_grad()``, at a fifth
    of its cost: NDArray operations outside ``record()`` pay it on every call)."""

    __slots__ = ("_previous",)

    def __enter__(self):
        self._previous = torch.is_grad_enabled()
        _set_grad_enabled(False)

    def __exit__(self, *exc):
        _set_grad_enabled(self._previous)
        return False


def watch(tensor):
    if tensor.requires_grad and tensor.is_leaf:
        return tensor
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return tensor  # PyTorch differentiates floats only
    return tensor.detach().requires_grad_()


def read_variables(variables):
    return [v for v in variables if v.trainable]


def gradients(heads, head_grads, sources, retain_graph=False, create_graph=False):
    if not all(h.requires_grad for h in heads):
        raise NotRecorded()
    grad_outputs = [torch.ones_like(h) if g is None else g for h, g in zip(heads, head_grads)]
    sources = [s.value if isinstance(s, keras.Variable) else s for s in sources]
    wanted = [i for i, s in enumerate(sources) if s.requires_grad]
    result = [None] * len(sources)
    if not wanted:
        return result
    previous = torch.is_grad_enabled()
    _set_grad_enabled(create_graph)
    try:
        grads = torch.autograd.grad(heads, [sources[i] for i in wanted], grad_outputs,
                                    retain_graph=retain_graph, create_graph=create_graph,
                                    allow_unused=True)
    except RuntimeError as exc:
        if "second time" in str(exc):  # freed by an earlier backward without retain_graph
            raise NotRecorded() from exc
        raise
    finally:
        _set_grad_enabled(previous)
    for i, grad in zip(wanted, grads):
        result[i] = grad
    return result


class _Custom(torch.autograd.Function):
    """One recorded operation: forward gives back the outputs computed before,
    backward calls the given function."""

    @staticmethod
    def forward(ctx, backward, count, *tensors):
        ctx.backward, ctx.count = backward, count
        return tuple(t.detach() for t in tensors[count:])

    @staticmethod
    def backward(ctx, *output_grads):
        grads = ctx.backward(list(output_grads))
        return (None, None, *grads) + (None,) * len(output_grads)


def custom_gradient(inputs, outputs, backward):
    return list(_Custom.apply(backward, len(inputs), *inputs, *outputs))


# -- tensors (NDArray) -----------------------------------------------------------------
_TORCH_NAMES = {getattr(torch, n): n for n in (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool") if hasattr(torch, n)}


def tensor_dtype(t):
    return _TORCH_NAMES[t.dtype]


def is_integer(t):
    return not (t.dtype.is_floating_point or t.dtype.is_complex)


def is_tensor(x):
    return isinstance(x, torch.Tensor)


def to_numpy(t):
    t = t.detach()
    if t.device.type == "cpu":
        return t.numpy().copy()  # .numpy() shares the tensor's memory
    return t.cpu().numpy()


def cast(t, name):
    return t.to(getattr(torch, name))


def trunc_div(a, b):
    return torch.div(a, b, rounding_mode="trunc")


def device_string(t):
    device = t.device
    return "%s:%d" % (device.type, device.index or 0)


def stop_gradient(t):
    return t.detach()


def wait_to_read(t):
    return t


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def copy(t):
    return t.clone()


def to_device(t, ctx):
    ctx.keras_device  # noqa: B018 - MXNetError for a GPU the backend cannot see
    if ctx.device_type != "gpu":  # cpu, cpu_pinned, cpu_shared: host memory
        return t.to("cpu")
    return t.to("cuda:%d" % ctx.device_id)


def read_variable(variable):
    # The variable's own tensor (assigned in place, ``copy_``): gradients reach it.
    return variable.value


def lgamma(t):
    return torch.lgamma(t)


def exact_sqrt(t):
    """A correctly rounded float32 square root (PyTorch's CPU kernel is off by 1 ulp)."""
    if t.dtype == torch.float32:
        return torch.sqrt(t.double()).float()
    return torch.sqrt(t)


def reshape(t, shape):
    return t.reshape(tuple(shape))


def to_vector(t):
    return t.reshape((1,))




# ------------------------------------------------------------------ optimizer steps
# In-place kernels for the hottest optimizer rules: a PyTorch CPU op that makes a new
# tensor pays for fresh memory each time (several times the arithmetic on a weight of
# 200k floats); these write into the variable's own tensor and the states' tensors,
# as Keras's own PyTorch optimizers do. Same arithmetic as the generic rules in
# ``keras_defer.optimizer`` (rounding may differ in the last bit).
def _scaled(g, rescale_grad, clip_gradient):
    if rescale_grad != 1.0:
        g = g * rescale_grad
    if clip_gradient:
        g = torch.clamp(g, -clip_gradient, clip_gradient)
    return g


def _sgd_in_place(w, g, mom, lr, wd, momentum, rescale_grad, clip_gradient):
    """MXNet's ``multi_sgd(_mom)_update`` on ``w`` (and ``mom``) in place."""
    with torch.no_grad():
        g = _scaled(g, rescale_grad, clip_gradient)
        if mom is None:
            if wd:
                g = g + wd * w
            w.add_(g, alpha=-lr)
            return
        mom.mul_(momentum)
        if wd:
            g = g + wd * w
        mom.add_(g, alpha=-lr)
        w.add_(mom)


def _adam_in_place(w, g, m, v, lr, wd, beta1, beta2, one_minus_beta1, one_minus_beta2,
                   epsilon, rescale_grad, clip_gradient):
    """MXNet's ``adam_update`` on ``w``, ``m``, ``v`` in place."""
    with torch.no_grad():
        if rescale_grad != 1.0:
            g = g * rescale_grad
        if wd:
            g = g + wd * w
        if clip_gradient:
            g = torch.clamp(g, -clip_gradient, clip_gradient)
        m.mul_(beta1).add_(g, alpha=one_minus_beta1)
        v.mul_(beta2).addcmul_(g, g, value=one_minus_beta2)
        w.addcdiv_(m, torch.sqrt(v).add_(epsilon), value=-lr)


_IN_PLACE_RULES = {"sgd": _sgd_in_place, "adam": _adam_in_place}


def in_place_rule(name):
    return _IN_PLACE_RULES.get(name)
