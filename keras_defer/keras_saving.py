"""Blocks as Keras citizens: ``get_config``/``from_config`` and ``.keras`` files.

Keras saves a layer's variables by position, and rebuilds a model from configs
before loading. Neither works for a block whose parameters may still be deferred
(no variable yet) or whose names must survive the round trip. So:

* every Block subclass is registered with Keras (``<module>>ClassName``);
* a block's config carries its Gluon ``prefix`` (names stay ``dense0_weight``), and a
  container's config carries its children;
* a block saves each parameter under its Gluon attribute name (``weight``), the
  pending ones as a note with their initializer instead of a value; loading fixes
  shapes and values, or re-registers the pending initializer;
* a container's config lists the structural positions that hold one shared Parameter
  (``share_parameters``, ``params=``), and loading ties them again before any
  variable exists, so the loaded net trains one variable where the saved one did.
"""

import json
import os
import weakref

import keras
import numpy as np

from keras_defer import keras_compat

# Parameters that ``build_from_config`` initialized with a default value, waiting for
# ``load_own_variables`` to write the saved value (or to drop them again).
_made_by_build_config = weakref.WeakSet()

_PENDING_KEY = "__pending_inits__"


def register(cls):
    """Register ``cls`` with Keras under ``<top-level module>>ClassName``, or under its
    module-qualified name when another class of the package took that name first
    (``gluon.data.vision.transforms.HybridSequential`` beside ``nn.HybridSequential``:
    a ``.keras`` file of the one must not load as the other)."""
    package = cls.__module__.split(".")[0]
    name = cls.__name__
    taken = keras.saving.get_registered_object("%s>%s" % (package, name))
    if taken is not None and taken is not cls and (
            (taken.__module__, taken.__qualname__) != (cls.__module__, cls.__qualname__)):
        name = "%s.%s" % (cls.__module__, cls.__qualname__)
    return keras.saving.register_keras_serializable(package=package, name=name)(cls)


def block_config(block, base_config):
    config = dict(base_config)
    auto = keras_compat.auto_config(block)  # Keras's capture of plain ctor args
    if auto is not None:
        config.update(auto)
    config["prefix"] = block.prefix
    config.pop("params", None)  # a ParameterDict is runtime state, not config
    config.pop("name", None)  # the prefix determines the name
    return config


def container_config(block, base_config):
    config = block_config(block, base_config)
    config["layers"] = [keras.saving.serialize_keras_object(c) for c in block._children.values()]
    ties = shared_positions(block)
    if ties:
        config["shared_parameters"] = ties
    return config


def container_from_config(cls, config):
    config = dict(config)
    layers = [keras.saving.deserialize_keras_object(c) for c in config.pop("layers", [])]
    ties = config.pop("shared_parameters", [])
    net = cls(**config)
    net.add(*layers)
    if ties:
        params = net._collect_params_with_prefix()
        missing = [pos for group in ties for pos in group if pos not in params]
        if missing:
            raise ValueError(
                "%s: the saved config ties parameters at %s, which the rebuilt net does "
                "not have (its positions: %s)." % (net.name, missing, sorted(params)))
        net.share_parameters({pos: params[group[0]] for group in ties for pos in group[1:]})
    return net


def shared_positions(block):
    """``[['0.weight', '1.weight'], ...]``: the structural positions under ``block``
    that hold the same Parameter, each group in structure order (only groups of two
    or more)."""
    groups = {}
    for position, param in block._collect_params_with_prefix().items():
        groups.setdefault(id(param), []).append(position)
    return [group for group in groups.values() if len(group) > 1]


def initializer_to_config(initializer):
    """A config value for an initializer argument (names and None stay as they are)."""
    if initializer is None or isinstance(initializer, str):
        return initializer
    return keras.saving.serialize_keras_object(initializer)


def initializer_from_config(value):
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    return value


def _serialize_initializer(initializer):
    from keras_defer import init as gluon_init

    try:
        initializer = gluon_init.create(initializer)
        return json.dumps(keras.saving.serialize_keras_object(initializer))
    except Exception:  # an unregistered user initializer: fall back to the default
        return ""


def save_own_variables(block, store):
    pending = {}
    for attr, param in block._reg_params.items():
        if param is None:
            continue
        if param.variable is not None:
            store[attr] = np.asarray(param.variable)
        elif param.pending is not None:
            pending[attr] = {
                "init": _serialize_initializer(param.pending.init),
                "default_init": _serialize_initializer(param.pending.default_init),
                "shape": list(param.shape),
            }
    if pending:
        store[_PENDING_KEY] = np.frombuffer(json.dumps(pending).encode(), dtype=np.uint8)


def _deserialize_initializer(text):
    from keras_defer import init as gluon_init

    if not text:
        return gluon_init.Uniform()
    return keras.saving.deserialize_keras_object(_parse_note(text))


def _parse_note(raw):
    """JSON from a ``.keras`` file's variable store, depth-bounded (a hostile file gets
    ``ParameterFileError``, never a ``RecursionError``)."""
    from keras_defer.serialization import parse_json

    return parse_json(raw, "<.keras file>", "a keras_defer variable note", max_depth=64)


def save_model_atomic(model, filepath, overwrite=True, zipped=None, **kwargs):
    """``keras.Model.save`` that never leaves a half-written ``.keras`` file: Keras
    writes the target in place (a crash mid-save leaves it empty or cut, the old model
    gone), so a zipped ``.keras`` save goes to a temporary ``.keras`` file beside the
    target, fsynced, then renamed over it; a crashed save's temporary file is removed
    by the next save of the same target. Every other destination (``.h5``, an unzipped
    folder, ``hf://``) is Keras's own path, unchanged."""
    from keras_defer import mxnet_format
    from keras.src.utils import io_utils

    path = filepath if isinstance(filepath, str) else (
        os.fspath(filepath) if isinstance(filepath, os.PathLike) else None)
    if (path is None or not path.endswith(".keras") or path.startswith("hf://")
            or zipped is False or kwargs.get("save_format")):
        return keras.Model.save(model, filepath, overwrite=overwrite, zipped=zipped,
                                **kwargs)
    if os.path.exists(path) and not overwrite:  # Keras's question, asked before writing
        if not io_utils.ask_to_proceed_with_overwrite(path):
            return None
    with mxnet_format.atomic_path(path, suffix=".keras") as tmp:
        keras.Model.save(model, tmp, overwrite=True, zipped=zipped, **kwargs)
    return None


def build_from_config(block, config):
    """Keras's ``build_from_config`` for a block being deserialized (``load_model``).

    A built block is one whose first pass ran, so its parameters of known shape hold
    data; Keras builds the optimizer (``compile_from_config``) before it restores
    any variable, from the model's variables as they are at that point. So infer the
    shapes from the saved input shape as the first pass would, and initialize every
    parameter that has none yet, as a symbolic first pass does (its own initializer,
    else the default): the variables exist, in their declared order, when the
    optimizer is built, and its saved slots (Adam's m and v) are restored onto them.
    ``load_own_variables`` then writes the saved values into these same variables."""
    from keras_defer import first_pass
    from keras_defer.shapes import shape_is_known

    with first_pass.lock():
        keras.layers.Layer.build_from_config(block, config)
        for param in block.collect_params().values():
            if (param.variable is None and param.pending is None
                    and shape_is_known(param.shape)):
                param.initialize()
                _made_by_build_config.add(param)


def load_own_variables(block, store):
    keys = set(store.keys())
    notes = {}
    if _PENDING_KEY in keys:
        notes = _parse_note(bytes(np.asarray(store[_PENDING_KEY], dtype=np.uint8)))
    for attr, param in block._reg_params.items():
        if param is None:
            continue
        made = param in _made_by_build_config
        _made_by_build_config.discard(param)
        if attr in keys:
            value = np.asarray(store[attr])
            param.shape = value.shape
            param._materialize(value)
        elif attr in notes:
            note = notes[attr]
            # force_reinit keeps the variable made by build_from_config (the optimizer
            # already holds it); on a block never built this registers the init.
            param.initialize(
                init=_deserialize_initializer(note["init"]),
                default_init=_deserialize_initializer(note["default_init"]),
                force_reinit=made,
            )
        elif made:
            # The saved block had no value for it (never initialized): undo ours.
            param._drop_variable()
