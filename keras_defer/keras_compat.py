"""The Keras internals keras_defer relies on, kept in one place.

Keras locks a layer's state after ``build()``; Gluon creates a parameter's variable
whenever its shape becomes known, possibly after the layer is built, and a shared
parameter belongs to several layers (``variables``). So layers are briefly unlocked
to track a variable, the first pass reads and suspends Keras's global scopes, and a
block stands in for a few steps of ``Layer.__call__`` it skips. Everything private
that is touched is listed in ``RELIED_ON`` and checked by ``tests/test_keras_compat``,
so a Keras upgrade that moves one fails there, by name, and nowhere else: add a line
there with every new access. No backend is named here (``backend`` does that).
"""

import contextlib
import functools
import importlib
import inspect
import sys

import keras

from keras.src.backend.common import global_state
from keras.src.backend.common.name_scope import name_scope as _keras_path_scope

RELIED_ON = (
    # (module, dotted attribute, backend or None for all): each must exist.
    ("keras.src.backend.common.global_state", "GLOBAL_STATE_TRACKER", None),
    ("keras.src.backend.common.global_state", "get_global_attribute", None),
    ("keras.src.backend.common.global_state", "set_global_attribute", None),
    ("keras.src.backend.common.name_scope", "name_scope", None),
    ("keras.layers", "Layer._track_variable", None),
    ("keras.layers", "Layer._untrack_variable", None),
    ("keras.layers", "Layer._get_call_context", None),
    ("keras.layers", "Layer._maybe_reset_call_context", None),
    ("keras.src.utils.tracking", "Tracker.lock", None),
    ("keras.src.utils.tracking", "Tracker.unlock", None),
    ("keras.src.utils.tracking", "Tracker.is_in_store", None),
    ("keras.src.utils.tracking", "Tracker.add_to_store", None),
    ("keras.src.backend.torch.layer", "TorchLayer.forward", "torch"),
    # backend.torch: a block's torch parameters (``_torch_params``, kept by the hooks)
    ("keras.src.backend.torch.layer", "TorchLayer._track_variables", "torch"),
    ("keras.src.backend.torch.layer", "TorchLayer._post_track_variable", "torch"),
    ("keras.src.backend.torch.layer", "TorchLayer._post_untrack_variable", "torch"),
    ("keras.src.backend.torch.layer", "TorchLayer.torch_params", "torch"),
    ("torch.nn", "Module._call_impl", "torch"),
    # variable_tensor: ``_value`` is an instance attribute, which ``_initialize`` sets
    # (also checked on a live variable by tests/test_torch_modules)
    ("keras.src.backend.torch.core", "Variable._initialize", "torch"),
    ("torch._C", "_set_grad_enabled", "torch"),  # backend.torch: autograd's switch
    # fast_path.PlanOps: what keras.ops calls once no input is symbolic
    ("keras.src.backend", "nn.conv", None),
    ("keras.src.backend", "nn.depthwise_conv", None),
    ("keras.src.backend", "nn.conv_transpose", None),
    ("keras.src.backend", "nn.max_pool", None),
    ("keras.src.backend", "nn.average_pool", None),
    ("keras.src.backend", "numpy.transpose", None),
    ("keras.src.backend", "numpy.reshape", None),
    ("keras.src.backend", "numpy.pad", None),
    ("keras.src.backend", "numpy.add", None),
    ("keras.src.backend", "numpy.multiply", None),
    ("keras.src.backend", "numpy.split", None),
    ("keras.src.backend", "numpy.concatenate", None),
    ("keras.src.backend", "numpy.max", None),
    ("keras.src.backend", "numpy.mean", None),
    ("keras.src.backend", "core.convert_to_tensor", None),
    ("keras.src.backend", "core.cast", None),
    ("keras.src.backend", "math.rsqrt", None),
    # backend.jax_initial_values, backend.torch_initial_values: Keras's own draw, faster
    ("keras.src.random.seed_generator", "GLOBAL_SEED_GENERATOR", None),
    ("keras.src.random.seed_generator", "global_seed_generator", None),
    ("keras.src.random.seed_generator", "draw_seed", None),
    ("keras.src.backend.torch.core", "get_device", "torch"),
    ("keras.src.backend.torch.core", "to_torch_dtype", "torch"),
)
"""Private attributes of Keras (and PyTorch) classes and modules used here. What a
layer *instance* must carry (``LAYER_STATE``, ``INSTANCE_WRAPPERS``,
``BUILD_BOOKKEEPING``) and the global-state keys (``SCOPE_KEYS``) are checked on live
objects by the test."""

LAYER_STATE = ("_tracker", "_trainable_variables", "_non_trainable_variables", "_called",
               "_auto_config", "_seed_generators")
"""Attributes of a Keras layer instance read or written here."""

INSTANCE_WRAPPERS = ("build", "quantize")
"""Methods ``Layer.__new__`` wraps per instance (``build_wrapper`` records the build
shapes, sets ``built`` and locks the layer): a copied block needs its own wrappers,
bound to the copy, not the original's."""

# Attributes Keras's ``build_wrapper`` and ``__call__`` set on a layer that hold plain
# values (a path string, flags, the build shapes): nothing for Keras's tracker.
BUILD_BOOKKEEPING = frozenset({"_path", "_parent_path", "built", "_called",
                               "_build_shapes_dict"})

SCOPE_KEYS = ("current_call_ctx", "autocast_scope", "stateless_scope", "symbolic_scope",
              "distribution", "torch_device")
"""Keras global-state keys read or suspended here, each set by a public Keras scope."""

BACKEND_FUNCTIONS = importlib.import_module("keras.src.backend")
"""The active backend's functions that ``keras.ops`` calls once no input is symbolic
(``nn.conv``, ``numpy.add`` ...): what the eager fast path's plans call
(``fast_path.PlanOps``), so their values are the Keras path's bit for bit."""

CALL_SCOPES = ("autocast_scope", "stateless_scope", "symbolic_scope", "distribution")
"""Scopes that change what a layer call computes (casts, recorded assignments, symbolic
tensors, sharding): the eager fast path applies only when none is active."""

GLOBAL_STATE = global_state.GLOBAL_STATE_TRACKER
"""Keras's global state, a thread-local: ``getattr(GLOBAL_STATE, key, None)`` is
``get_global_attribute(key)``, read directly where a call per key costs too much
(the eager fast path, on every call)."""


# -- global scopes ---------------------------------------------------------------------
def in_symbolic_scope():
    """Whether Keras is tracing symbolically (``compute_output_spec``)."""
    return global_state.get_global_attribute("symbolic_scope") is not None


def scopes_active(keys):
    """Whether any of Keras's global scopes ``keys`` is active."""
    return any(global_state.get_global_attribute(key) is not None for key in keys)


@contextlib.contextmanager
def suspended_scopes(keys):
    """``with suspended_scopes(keys):`` Keras's global scopes ``keys`` are inactive
    for the block, and put back as they were after it."""
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


# -- the call context ------------------------------------------------------------------
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


CALL_ERROR_MARK = "_keras_call_info_injected"
"""Set by Keras on the exception it raises in place of one raised in ``call()`` (the
same class where it can, its message prefixed with "Exception encountered when calling
..."); the original is that exception's ``__context__``."""


def original_call_error(exc):
    """The exception raised in a ``call()`` that Keras re-raised as ``exc`` with its
    call information; ``exc`` itself if Keras did not rewrap it."""
    if getattr(exc, CALL_ERROR_MARK, False):
        original = exc.__context__
        if isinstance(original, Exception):
            return original
    return exc


def mark_called(layer):
    """What ``Layer.__call__`` records when it runs (``keras.export`` reads it), for a
    call that skipped it (the eager fast path)."""
    layer._called = True


# -- layer construction ----------------------------------------------------------------
def instance_wrappers(layer):
    """``{name: method}``: the per-instance wrappers ``Layer.__new__`` gave ``layer``."""
    return {k: layer.__dict__[k] for k in INSTANCE_WRAPPERS if k in layer.__dict__}


def auto_config(layer):
    """The plain constructor arguments Keras captured in ``Operation.__new__`` (a
    dict), or ``None`` where it could not."""
    auto = getattr(layer, "_auto_config", None)
    return None if auto is None else auto.config


# -- variables and sublayers -----------------------------------------------------------
def path_scope(name):
    """A scope naming variables ``<name>/...`` in Keras's paths only.

    ``keras.name_scope`` (on TensorFlow) also opens a TF name scope: every VarHandleOp
    then gets a new debug_name and TF builds a new kernel for it (~450 us per variable
    on a 2-core CPU); here the TF op names stay constant ("weight", "bias"), so TF's
    eager kernel cache is hit."""
    return _keras_path_scope(name, override_parent="")


def track_new_variable(owners, variable):
    """Make each layer in ``owners`` track ``variable``, which none tracks yet."""
    for layer in owners:
        with state_unlocked(layer):
            layer._track_variable(variable)


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


def own_variables(layer):
    """The variables ``layer`` itself tracks (no sublayer's), and its random seeds'
    states: what ``Layer.variables`` lists before it recurses."""
    return (list(layer._trainable_variables) + list(layer._non_trainable_variables)
            + [generator.state for generator in getattr(layer, "_seed_generators", ())])


def variable_tensor(variable):
    """The backend tensor a Keras variable holds (``_value``: no autocast, no scope)."""
    return variable._value


def set_variable_tensor(variable, tensor):
    """Make ``variable`` hold ``tensor`` itself (of its shape and dtype) from now on:
    on PyTorch, a ``torch.nn.Parameter`` that optimizers already hold."""
    variable._value = tensor


def untrack_variable(owners, variable):
    for layer in owners:
        layer._untrack_variable(variable)


def track_sublayer(layer, child):
    """Make ``child`` a Keras sublayer of ``layer`` (weights, summary, saving)."""
    with state_unlocked(layer) as tracker:
        if not tracker.is_in_store("layers", child):
            tracker.add_to_store("layers", child)


# -- copying a layer (``copying``) -----------------------------------------------------
def reindex_tracker(layer):
    """Make ``layer``'s tracker know its stores' objects by their own ids.

    The tracker records what each store holds by ``id``; a deep-copied tracker holds
    the copies in its stores but the originals' ids, so a copied child or variable
    would count as new: refused on a built (locked) layer ("cannot add new elements
    of state"), tracked twice on an open one. (``Tracker.config``/``stored_ids``,
    ``TRAINER_STATE`` and ``_compile_config`` are checked on live objects by
    ``tests/test_deepcopy``.)"""
    tracker = layer.__dict__.get("_tracker")
    if tracker is not None:
        for name, (_, store) in tracker.config.items():
            tracker.stored_ids[name] = {id(value) for value in store}


TRAINER_STATE = frozenset({
    # set by ``Trainer.compile``
    "compiled", "optimizer", "loss", "_compile_loss", "_compile_metrics", "_loss_tracker",
    "_compile_config", "_compiled_trainable_state", "_jit_compile", "_run_eagerly",
    "steps_per_execution", "stop_training", "train_function", "test_function",
    "predict_function",
    # left by fit()/evaluate(): the run's history, iterator, JAX state between steps
    "history", "_eval_epoch_iterator", "_jax_state",
})
"""A compiled model's attributes that belong to its ``compile()`` and its runs: a copy
is compiled again instead (Keras's optimizers, losses and metrics copy themselves only
through saving, and the train functions hold the original's variables)."""


def is_compiled(model):
    """Whether ``model`` (any layer) went through ``keras.Model.compile``."""
    return model.__dict__.get("compiled") is True


def compile_arguments(model):
    """The arguments of ``model``'s last ``compile()`` (a dict, the objects
    themselves: an optimizer, loss and metrics as given)."""
    return dict(model._compile_config.config)


# -- PyTorch ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def layer_kwargs():
    """Keyword arguments ``keras.layers.Layer.__init__`` accepts (named, or through its
    ``**kwargs``), so a block can refuse unknown ones before Keras does."""
    named = {n for n, p in inspect.signature(keras.layers.Layer.__init__).parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "self"}
    return frozenset(named | {"input_dim", "input_shape", "batch_input_shape", "batch_size",
                              "weights"})


def torch_layer_forward():
    """Keras's ``TorchLayer.forward``, where a layer's ``torch.nn.Module`` call goes
    back to ``Layer.__call__`` (PyTorch backend only: it imports torch)."""
    from keras.src.backend.torch.layer import TorchLayer

    return TorchLayer.forward


# -- names Keras and Gluon both use ----------------------------------------------------
KERAS_INSTANCE_ATTRIBUTES = frozenset({
    # Operation, Layer (and torch.nn.Module on PyTorch)
    "name", "built", "autocast", "supports_jit", "activity_regularizer",
    "call_signature_parameters", "build", "quantize", "training",
    # Model, Trainer (compile, fit)
    "compiled", "loss", "optimizer", "history", "stop_training", "steps_per_execution",
    "unrolled_steps_per_execution", "train_function", "test_function", "predict_function",
})
"""Public attributes Keras sets on a layer or model instance (the class defines the
rest); ``tests/test_keras_compat`` checks live layers and fitted models carry no other."""

FRAMEWORK_PACKAGES = frozenset({"keras", "keras_defer", "tensorflow", "torch", "jax",
                                "jaxlib", "flax", "optree"})
"""Top-level packages whose code reads a block's attributes as a Keras layer's
(``keras_defer.attributes``): Keras, the frameworks under it, keras_defer itself."""

GLUON_AUTHORED_MODULES = ("keras_defer.gluon.model_zoo.",)
"""keras_defer modules written as a Gluon author writes (MXNet's model zoo, ported as it
is: ``self.output = nn.Dense(classes)`` and ``self.output(x)``): their reads and writes
of a block's attributes are a user's, not Keras's, and their blocks' ``forward`` /
``hybrid_forward`` get NDArrays as a user's do (``Block.__init_subclass__``)."""


@functools.lru_cache(maxsize=None)
def keras_names():
    """Every public name a keras_defer block gets from Keras: what ``keras.Model``
    and its bases (``Layer``, the backend's trainer and layer, ``torch.nn.Module`` on
    PyTorch) define, and what Keras sets on instances."""
    return frozenset({name for name in dir(keras.Model) if not name.startswith("_")}
                     | KERAS_INSTANCE_ATTRIBUTES)


def called_from_framework(depth=1):
    """Whether the code ``depth`` frames up from the caller (1: whoever called the
    caller) is in one of ``FRAMEWORK_PACKAGES`` rather than a user's."""
    name = sys._getframe(depth + 1).f_globals.get("__name__") or ""
    return name.partition(".")[0] in FRAMEWORK_PACKAGES and \
        not name.startswith(GLUON_AUTHORED_MODULES)
