"""The few Keras internals keras_defer relies on, kept in one place.

Keras locks a layer's state after ``build()``; Gluon creates a parameter's variable
whenever its shape becomes known (at ``initialize()`` with ``in_units``, at the first
pass otherwise, on ``load_parameters``), possibly after the layer is built, and a
shared parameter belongs to several layers. So variables are created here and
tracked by every owning layer, briefly unlocking the layer's tracker.
"""

import contextlib

import keras
from keras.src.backend.common import global_state
from keras.src.backend.common.name_scope import name_scope as keras_path_scope

_BACKEND = keras.backend.backend()


def concrete_scope():
    """``with concrete_scope():`` computes with concrete values and changes real state,
    even when the first pass runs inside a symbolic trace.

    Keras builds a model for ``fit``/``evaluate``/``predict`` with
    ``backend.compute_output_spec``, which on JAX runs the model inside
    ``jax.eval_shape`` and a Keras ``StatelessScope``: there, unseeded random ops
    refuse to run, operations yield tracers, variables cannot be created from a
    value, and assignments (the global seed generator's too) are only recorded.
    Gluon's first pass initializes parameters right there, once, so on JAX this
    scope steps out of both: the stateless (and symbolic) scope is suspended and
    ``jax.ensure_compile_time_eval()`` makes operations on concrete inputs run
    eagerly. Initial values are then real arrays drawn from the global seed
    generator in forward order, exactly as in an eager first pass, and the variable
    the trace reads is already initialized (a constant in the trace).

    PyTorch's ``compute_output_spec`` runs the model inside the same two Keras scopes
    and a ``"meta"`` device scope (tensors without data); this scope steps out of all
    three, so initial values and variables are real tensors on the default device.

    On TensorFlow it is a no-op: TensorFlow creates variables outside graphs by
    itself (``tf.init_scope``).
    """
    if _BACKEND == "jax":
        return _jax_concrete_scope()
    if _BACKEND == "torch":
        return _suspended_scopes(("stateless_scope", "symbolic_scope", "torch_device"))
    return contextlib.nullcontext()


@contextlib.contextmanager
def _suspended_scopes(keys):
    saved = {key: global_state.get_global_attribute(key) for key in keys}
    if all(value is None for value in saved.values()):
        yield
        return
    for key in saved:
        global_state.set_global_attribute(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            global_state.set_global_attribute(key, value)


@contextlib.contextmanager
def _jax_concrete_scope():
    import jax

    saved = {key: global_state.get_global_attribute(key)
             for key in ("stateless_scope", "symbolic_scope")}
    if all(value is None for value in saved.values()) and not _jax_tracing():
        yield
        return
    for key in saved:
        global_state.set_global_attribute(key, None)
    try:
        with jax.ensure_compile_time_eval():
            yield
    finally:
        for key, value in saved.items():
            global_state.set_global_attribute(key, value)


def _jax_tracing():
    import jax
    import jax.numpy as jnp

    return isinstance(jnp.zeros(()), jax.core.Tracer)


@contextlib.contextmanager
def training_context(layer, training):
    """Children of ``layer`` see ``training`` through Keras's call context, also when
    ``layer.call`` is invoked directly rather than through ``Layer.__call__``.

    Keras's JAX trainer runs the model as ``stateless_call(..., training=True)``,
    which calls ``call()`` without entering a call context, so a container that
    leaves ``training`` to the context (``Sequential``) would run its BatchNorm and
    Dropout in inference mode. When a context exists (``Layer.__call__`` made it)
    it already carries the value and is left alone.
    """
    if training is None or global_state.get_global_attribute("current_call_ctx") is not None:
        yield
        return
    context = layer._get_call_context()  # a new one, entered by ``layer``
    context.training = training
    try:
        yield
    finally:
        layer._maybe_reset_call_context()


def context_training():
    """The ``training`` flag of Keras's current call context: what a child called
    without ``training=`` inherits from its parent (``None`` outside any call)."""
    context = global_state.get_global_attribute("current_call_ctx")
    return None if context is None else context.training


def snapshot(value, dtype=None):
    """A tensor holding ``value`` that aliases no variable.

    ``convert_to_tensor`` hands a variable back unchanged on TensorFlow, and a Keras
    variable built from it would share its storage; copy in that case. On PyTorch a
    variable wraps the very tensor it is given, and tensors share memory freely (a
    numpy array converted, a broadcast view, a slice): always copy there.
    """
    if _BACKEND == "torch":
        tensor = keras.ops.convert_to_tensor(
            value.value if isinstance(value, keras.Variable) else value, dtype=dtype)
        return tensor.detach().clone(memory_format=_torch_contiguous())
    if isinstance(value, keras.Variable):
        value = value.value
    elif (keras.ops.is_tensor(value) and not hasattr(value, "assign")
          and (dtype is None or keras.backend.standardize_dtype(value.dtype) == dtype)):
        return value  # already a tensor of that dtype: conversion would hand it back
    tensor = keras.ops.convert_to_tensor(value, dtype=dtype)
    if hasattr(tensor, "assign"):
        tensor = keras.ops.copy(tensor)
    return tensor


def _torch_contiguous():
    import torch

    return torch.contiguous_format


def create_variable(owners, param_name, value, shape, dtype, trainable, device=None):
    """A Keras variable for parameter ``param_name``, tracked by each layer in
    ``owners``. Its path is ``<first owner>/<name within it>``, the same whether it is
    created eagerly (``in_units``) or late (first pass)."""
    owner = owners[0] if owners else None
    local = param_name
    if owner is not None and param_name.startswith(owner.prefix):
        local = param_name[len(owner.prefix):] or param_name
    # A Keras-only path scope: the path is the same, but the TF op names stay
    # constant ("weight", "bias"), so TF's eager kernel cache is hit. Under
    # ``keras.name_scope`` every VarHandleOp gets a new debug_name and TF builds a
    # new kernel for it (~450 us per variable on a 2-core CPU).
    scope = (keras_path_scope(owner.name, override_parent="")
             if owner is not None else None)
    device_scope = keras.device(device) if device else None
    try:
        if device_scope is not None:
            device_scope.__enter__()
        if scope is not None:
            scope.__enter__()
        variable = keras.Variable(
            initializer=snapshot(value, dtype),
            shape=tuple(shape), dtype=dtype, trainable=trainable, name=local,
        )
    finally:
        if scope is not None:
            scope.__exit__(None, None, None)
        if device_scope is not None:
            device_scope.__exit__(None, None, None)
    for layer in owners:  # a new variable: no layer tracks it yet
        with state_unlocked(layer):
            layer._track_variable(variable)
    return variable  # the caller orders the owners' variables (``sort_tracked``)


def sort_tracked(layer):
    """Order ``layer``'s own variables as its parameters are declared (``weight``
    before ``bias``), whatever order they were created in.

    Keras lists a model's variables layer by layer in tracking order, and an
    optimizer saves its slots (Adam's m and v) by position in that list. A deferred
    ``Dense`` in a symbolic Keras model creates ``bias`` (known shape) before
    ``weight`` (known at the first pass), a reloaded one creates them in declaration
    order: without one canonical order, restored slots would land on the wrong
    variables."""
    params = getattr(layer, "_reg_params", None)
    if not params:
        return
    rank = {}
    for index, param in enumerate(params.values()):
        if param is not None and param.variable is not None:
            rank.setdefault(id(param.variable), index)
    last = len(params)
    for store in ("_trainable_variables", "_non_trainable_variables"):
        variables = getattr(layer, store, None)
        if variables and len(variables) > 1:
            variables.sort(key=lambda v: rank.get(id(v), last))  # in place, stable


# Attributes Keras's ``build_wrapper`` and ``__call__`` set on a layer that hold plain
# values (a path string, flags, the build shapes): nothing for Keras's tracker.
BUILD_BOOKKEEPING = frozenset({"_path", "_parent_path", "built", "_called",
                               "_build_shapes_dict"})


def state_locked(layer):
    """Whether Keras refuses new state (variables, sub-layers) on ``layer``."""
    return layer._tracker.locked


def set_state_locked(layer, locked):
    if locked:
        layer._tracker.lock()
    else:
        layer._tracker.unlock()


@contextlib.contextmanager
def state_unlocked(layer):
    """``with state_unlocked(layer):`` — Keras accepts new state on ``layer`` for the
    block; its lock is put back as it was."""
    was_locked = state_locked(layer)
    layer._tracker.unlock()
    try:
        yield layer._tracker
    finally:
        set_state_locked(layer, was_locked)


def track_variable(layer, variable):
    with state_unlocked(layer):
        if not any(v is variable for v in layer._trainable_variables
                   + layer._non_trainable_variables):
            layer._track_variable(variable)
    sort_tracked(layer)


def untrack_variable(owners, variable):
    for layer in owners:
        layer._untrack_variable(variable)


def track_sublayer(layer, child):
    """Make ``child`` a Keras sublayer of ``layer`` (weights, summary, saving)."""
    with state_unlocked(layer) as tracker:
        if not tracker.is_in_store("layers", child):
            tracker.add_to_store("layers", child)


def clone_variable(variable):
    """A new, untracked variable with ``variable``'s value, name and path."""
    parent = variable.path.rsplit("/", 1)[0] if "/" in variable.path else None
    scope = keras.name_scope(parent, override_parent="") if parent else None
    if scope is not None:
        scope.__enter__()
    try:
        return keras.Variable(
            initializer=snapshot(variable), shape=variable.shape,
            dtype=variable.dtype, trainable=variable.trainable, name=variable.name,
        )
    finally:
        if scope is not None:
            scope.__exit__(None, None, None)


def torch_module_call(layer, *args, **kwargs):
    """What ``torch.nn.Module.__call__`` runs for a block on Keras's PyTorch backend.

    There a Keras layer is a ``torch.nn.Module``: ``Layer.__call__`` ends in
    ``Module.__call__``, which calls ``self.forward``, and Keras's ``TorchLayer``
    defines ``forward`` to come back to ``call``. A Gluon block's ``forward`` is the
    user's computation, which takes no ``training=`` and would skip Keras's
    ``Operation.__call__``; so a block's module call goes where ``TorchLayer.forward``
    would have sent it. (PyTorch module hooks do not run for blocks.)"""
    from keras.src.backend.torch.layer import TorchLayer

    return TorchLayer.forward(layer, *args, **kwargs)
