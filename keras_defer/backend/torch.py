"""PyTorch: layers are ``torch.nn.Module``s, variables wrap the tensors they are
given, ``hybridize()`` stays eager (``compile_call`` is common's: None), and
``autograd`` is PyTorch's own.

Keras's ``compute_output_spec`` runs the model inside its stateless and symbolic
scopes and a ``"meta"`` device scope (tensors without data); the first pass steps
out of all three (``concrete_scope``), so initial values and variables are real
tensors on the default device.
"""

import threading
import weakref

import keras
import torch

from keras_defer import keras_compat
from keras_defer.backend.common import (  # noqa: F401  (the same on PyTorch)
    NotRecorded, adopt_array_type, compile_call, matmul, matmul_transposed,
    random_draw, strided_slice,
    zeros,
)
from keras_defer.backend.common import fuse_rule  # noqa: F401
from keras_defer.backend.common import in_replica_context, once_for_all_replicas  # noqa: F401
from keras_defer.backend.common import ctc_loss  # noqa: F401
from keras_defer.backend.torch_fast_path import fast_call  # noqa: F401
# a grouped draw without keras.ops' overhead (the same values as Keras's path, bit for bit)
from keras_defer.backend.torch_initial_values import random_draws, split_into  # noqa: F401


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


# -- torch.nn.Module parameters ---------------------------------------------------------
# A block is a torch.nn.Module: ``parameters()``, ``named_parameters()``, ``state_dict()``,
# ``torch.optim`` and ``DistributedDataParallel`` see its Keras variables' tensors
# (``torch.nn.Parameter``s) through Keras's ``_torch_params`` ParameterDict. Keras fills
# a layer's dict with the variables of the layer *and all its sublayers*, once (at
# build, or the first ``named_parameters()``), and afterwards adds only what the layer
# itself tracks. A Gluon parameter's variable is made later (first pass,
# ``load_parameters``) or replaced (``cast``): a parent's dict never saw a deferred
# child's weight, and kept a replaced one. So here a block's dict holds its *own*
# variables only, kept current by Keras's per-layer hooks, and every child is a torch
# submodule: torch's recursion reaches each variable from every ancestor as soon as
# its owner tracks it, and drops it when its owner stops.
_PLAIN_VALUE_SCOPES = _SYMBOLIC_SCOPES + ("autocast_scope",)


def _module_tensor(variable):
    """The ``torch.nn.Parameter`` a variable holds (not a traced, meta or autocast
    stand-in for it)."""
    tensor = keras_compat.variable_tensor(variable)
    if tensor is not None:  # what ``value`` gives with those scopes suspended, at 1/100
        return tensor       # of the cost (the first pass asks for every variable)
    with keras_compat.suspended_scopes(_PLAIN_VALUE_SCOPES):
        return variable.value


_stand_ins = weakref.WeakKeyDictionary()
"""``{Parameter: torch.nn.UninitializedParameter}``: what ``named_parameters()`` listed
for a parameter whose shape waits for the first pass; its variable is made to hold
that very tensor (``_materialize``), so an optimizer made before the pass trains it."""


def _local_name(param):
    """The name the parameter's variable gets within its first owner
    (``variables.create_variable``)."""
    owner = param._owners[0] if param._owners else None
    if owner is not None and param.name.startswith(owner.prefix):
        return param.name[len(owner.prefix):] or param.name
    return param.name


def _materialize(layer, variable):
    """If ``variable`` was just made for one of ``layer``'s parameters that
    ``named_parameters()`` listed as a stand-in, the variable holds the stand-in from
    now on, materialized with the variable's value (as PyTorch's lazy modules
    materialize theirs in place)."""
    if not _stand_ins.data:  # (``len()`` of a WeakKeyDictionary costs more)
        return
    for param in list(layer.__dict__.get("_reg_params", {}).values()):
        stand_in = _stand_ins.get(param) if param is not None else None
        if stand_in is None or param.variable is not None:
            continue
        if _local_name(param) != variable.name or tuple(param.shape) != tuple(variable.shape):
            continue
        del _stand_ins[param]
        if not isinstance(stand_in, torch.nn.parameter.UninitializedParameter):
            return  # materialized already (another variable for it before this one)
        value = keras_compat.variable_tensor(variable)
        stand_in.materialize(value.shape, device=value.device, dtype=value.dtype)
        with torch.no_grad():
            stand_in.copy_(value)
        stand_in.requires_grad_(value.requires_grad)
        keras_compat.set_variable_tensor(variable, stand_in)
        return


_EMPTY_DICT = torch.nn.ParameterDict()


def _parameter_key(name):
    """The ``_torch_params`` key for a variable named ``name``: torch refuses dots,
    and names a ParameterDict has as attributes (a parameter named "compile")."""
    key = name.replace(".", "_") or "_"
    while hasattr(_EMPTY_DICT, key):
        key += "_"
    return key


class module_parameters:  # noqa: N801  (a namespace: what ``Block`` takes from here)
    """A block's ``TorchLayer`` hooks: its ``_torch_params`` hold its own variables
    (a shared one is listed by each holder; torch lists it once), made with the first
    one and kept current as each is tracked or dropped. Keys are the variables' names
    within their block ("weight"), not Keras's paths ("dense3/weight"), which hold a
    global counter: ``state_dict()`` of two nets of one architecture have the same keys
    (``body.0._torch_params.weight``), as for torch's own modules."""

    @staticmethod
    def _add(params, variable, tensor):
        key = _parameter_key(variable.name)
        while key in params:  # two own variables of one name (shared from elsewhere)
            key += "_"
        params[key] = tensor

    @staticmethod
    def track_variables(layer):
        """``TorchLayer._track_variables``: ``_torch_params`` anew from ``layer``'s own
        variables (kept as it is when it holds them already, in order: Keras calls this
        at every build, and a first pass builds blocks whose variables exist)."""
        entries, seen = {}, set()
        for variable in keras_compat.own_variables(layer):
            tensor = _module_tensor(variable)
            if id(tensor) not in seen:
                seen.add(id(tensor))
                module_parameters._add(entries, variable, tensor)
        current = layer.__dict__["_modules"].get("_torch_params")
        if current is not None and module_parameters._holds(layer, current, entries):
            return
        params = torch.nn.ParameterDict()
        for key, tensor in entries.items():
            params[key] = tensor
        layer._torch_params = params
        module_parameters._declared_order(layer, params)

    @staticmethod
    def _holds(layer, params, entries):
        """Whether ``params`` holds exactly ``entries`` (``{key: tensor}`` in tracking
        order), in the order ``_declared_order`` gives them."""
        keys = list(params.keys())
        if len(keys) != len(entries) or any(params[k] is not entries.get(k) for k in keys):
            return False
        declared = list(layer.__dict__.get("_reg_params") or ())
        rank = {name: i for i, name in enumerate(declared)}
        return keys == sorted(entries, key=lambda k: rank.get(k, len(declared)))

    @staticmethod
    def variable_tracked(layer, variable):
        """``TorchLayer._post_track_variable``, which did nothing before the layer's
        first ``named_parameters()`` or build: its parents never learnt of it."""
        _materialize(layer, variable)
        params = layer.__dict__["_modules"].get("_torch_params")
        if params is None:
            module_parameters.track_variables(layer)
            return
        tensor = _module_tensor(variable)
        if not any(t is tensor for t in params.values()):
            module_parameters._add(params, variable, tensor)
            module_parameters._declared_order(layer, params)

    @staticmethod
    def _declared_order(layer, params):
        """List ``params`` in the order the block declares its parameters (``weight``
        before ``bias``), whatever order their variables were made in: every process
        of a ``DistributedDataParallel`` run pairs its tensors by position."""
        declared = list(layer.__dict__.get("_reg_params") or ())
        rank = {name: i for i, name in enumerate(declared)}
        keys = list(params.keys())
        ordered = sorted(keys, key=lambda k: rank.get(k, len(declared)))  # stable
        if ordered != keys:
            # in place: each key, taken out and put back in order, moves to the end (a
            # new ParameterDict costs a Module and Keras's tracked setattr on the layer)
            for key in ordered:
                tensor = params[key]
                del params[key]
                params[key] = tensor

    @staticmethod
    def variable_untracked(layer, variable):
        """``TorchLayer._post_untrack_variable``: this variable's tensor leaves."""
        params = layer.__dict__["_modules"].get("_torch_params")
        if params is not None:
            tensor = _module_tensor(variable)
            for key in [k for k, t in params.items() if t is tensor]:
                del params[key]

    @staticmethod
    def named_parameters(layer, prefix="", recurse=True, remove_duplicate=True):
        """``Module.named_parameters`` (what ``parameters()``, ``torch.optim`` and
        ``DistributedDataParallel`` read): the variables' tensors, then a
        ``torch.nn.UninitializedParameter`` for each parameter whose shape waits for
        the first pass, as PyTorch's lazy modules list theirs: DDP refuses it ("Run a
        dummy forward pass"), instead of synchronizing the others alone, ``numel()``
        refuses too, and an optimizer given it trains the parameter once the pass
        made its variable (which holds this very tensor: ``_materialize``)."""
        yield from torch.nn.Module.named_parameters(layer, prefix, recurse, remove_duplicate)
        modules = layer.named_modules(prefix=prefix) if recurse else [(prefix, layer)]
        seen = set()
        for path, module in modules:
            for param in module.__dict__.get("_reg_params", {}).values():
                if param is None or param.variable is not None or param.pending is None \
                        or id(param) in seen:
                    continue
                seen.add(id(param))
                stand_in = _stand_ins.get(param)
                if stand_in is None:
                    stand_in = _stand_ins[param] = torch.nn.UninitializedParameter(
                        requires_grad=param.grad_req != "null")
                # the name its variable's tensor will have (``_add``)
                local = _parameter_key(_local_name(param))
                yield ".".join(n for n in (path, "_torch_params", local) if n), stand_in

    @staticmethod
    def copied(variable, clone, memo):
        """``copy.deepcopy`` of a block (``copying``) made ``clone`` of ``variable``:
        the copied ``_torch_params`` hold the clone's tensor, not a third copy."""
        original = _module_tensor(variable)
        memo[id(original)] = _module_tensor(clone)
        memo.setdefault(id(memo), []).append(original)  # its id stays its own

    @staticmethod
    def register_submodule(parent, name, child):
        """Make ``child`` a torch submodule of ``parent`` under ``name`` (a child
        registered under no attribute, as ``Sequential.add`` does, would otherwise be
        unknown to torch); the name's previous child is replaced, as in Gluon's
        ``_children``."""
        modules = parent.__dict__.get("_modules")
        if modules is None:
            return
        key = str(name).replace(".", "_") or "_"
        # a name torch uses for a module that is no child (``_torch_params``), or that
        # the block's class defines (Keras's ``output``: the block keeps that child
        # apart, ``attributes``)
        while (key in modules and not isinstance(modules[key], keras.layers.Layer)) \
                or hasattr(type(parent), key):
            key += "_"
        modules[key] = child


# -- sums across devices (Gluon's 'device' kvstore) -----------------------------------
from keras_defer.backend.common import added_across_devices  # noqa: E402


def sum_across_devices(groups, ctxs, everywhere=False):
    """``common.sum_across_devices`` through ``torch.cuda.comm`` (what
    ``DataParallel`` reduces and broadcasts with: NCCL where available) when every
    copy is a CUDA tensor on its own GPU: ``reduce_add_coalesced`` onto the first GPU,
    then (``everywhere``) ``broadcast_coalesced`` to each copy's GPU. Copies in host
    memory (every CPU context is the one "cpu" device) or sharing a GPU: ``keras.ops``."""
    devices = [t.device for t in groups[0]] if groups else []
    if (not devices or any(d.type != "cuda" for d in devices)
            or len({d.index for d in devices}) < len(devices)
            or any([t.device for t in group] != devices for group in groups[1:])):
        return added_across_devices(groups, ctxs, everywhere, to_device)
    from torch.cuda import comm

    indices = [d.index for d in devices]
    per_device = [[group[k] for group in groups] for k in range(len(devices))]
    sums = list(comm.reduce_add_coalesced(per_device, destination=indices[0]))
    if not everywhere:
        return sums
    spread = comm.broadcast_coalesced(sums, indices)  # one tuple per device
    return [[spread[k][i] for k in range(len(indices))] for i in range(len(sums))]
