"""``copy.deepcopy`` of a block: an independent net with the same names, shapes,
values and pending initializations.

Keras models copy themselves through ``.keras`` serialization, which would lose
Gluon's state (pending initializers, prefixes, shared parameters); so a block is
copied attribute by attribute, every parameter getting a fresh variable (one per
shared parameter) holding a copy of its value (on JAX, ``fit`` donates the
original's buffers), and every block fresh Keras ``build`` wrappers. Keras's tracker
is copied first and told the copies' ids, so the tracked containers copied after it
(TensorFlow's checkpoint dependencies hold an activation child) find their contents
known. A hybridized block's compiled function is made again for the copy: a trace
holds the original's variables.

A compiled model (``Sequential.compile``) is copied as Keras copies one: compiled
again with the same arguments, its optimizer a new one of the same configuration
holding a copy of the original's state (iterations, moments; with a warning it starts
afresh where the trainable parameters changed since that state was built), its
metrics new objects of the same configuration, fresh; the history and train
functions of the original's runs are left behind.

A copy is a snapshot of one state: it is made holding the lock under which
parameters change (``first_pass.exclusive()``, as ``save_parameters`` reads), so an
``initialize(force_reinit=True)``, ``load_parameters`` or first pass in another thread
runs wholly before or wholly after it, never half-way through the values copied.
"""

import copy
import warnings
import weakref

import keras

from keras_defer import backend, first_pass, keras_compat, naming, tree_walk, variables

__all__ = ["copy_block"]


def copy_block(block, memo):
    """``block.__deepcopy__(memo)``: no parameter changes while it copies.

    The descendants are copied first, deepest first (``tree_walk.postorder``), so each
    block finds its children's copies in ``memo`` instead of recursing into them: a
    net nests as deep as memory allows. Their links to their parents (``_parents``)
    are made once every copy exists."""
    with first_pass.exclusive():
        originals = [b for b in tree_walk.postorder(block) if id(b) not in memo]
        for param in block.collect_params().values():  # one fresh variable each
            if param.variable is not None and id(param.variable) not in memo:
                memo[id(param.variable)] = variables.clone_variable(param.variable)
                if backend.module_parameters is not None:  # torch: its module parameter too
                    backend.module_parameters.copied(param.variable, memo[id(param.variable)],
                                                     memo)
        for descendant in originals[:-1]:
            if id(descendant) not in memo:  # a block held twice is copied once
                _copy_block(descendant, memo)
        new = _copy_block(block, memo)
        for original in originals:
            copied = memo.get(id(original))
            if isinstance(copied, type(original)) and "_parents" in original.__dict__:
                object.__setattr__(copied, "_parents", [
                    weakref.ref(memo[id(ref())]) for ref in original.__dict__["_parents"]
                    if ref() is not None and id(ref()) in memo])
        return new


def _copy_block(block, memo):
    for value in list(block.__dict__.values()):
        if isinstance(value, keras.random.SeedGenerator) and id(value) not in memo:
            # a SeedGenerator holds the backend module, which cannot be copied
            twin = keras.random.SeedGenerator(seed=0)
            twin.state.assign(keras.ops.copy(value.state.value))
            memo[id(value)], memo[id(value.state)] = twin, twin.state
    compiled = keras_compat.is_compiled(block)
    if compiled:
        arguments = keras_compat.compile_arguments(block)
        optimizer = arguments["optimizer"]
        if optimizer is not None and id(optimizer) not in memo:
            # TensorFlow's checkpoint dependencies name it: they copy to the new one
            memo[id(optimizer)] = _clone_keras_object(optimizer)
    cls = type(block)
    new = cls.__new__(cls)  # Keras wraps build/quantize for the new object here
    memo[id(block)] = new
    fresh = keras_compat.instance_wrappers(new)
    for key, value in _tracker_first(block.__dict__):
        if key in fresh:
            continue
        if compiled and key in keras_compat.TRAINER_STATE:
            # flags are kept; objects (optimizer, metrics, functions) are made again
            # by compile() below or stay unset, as before any compile()
            value = value if isinstance(value, (bool, int, float, str)) else None
        elif key == "_compiled_call":
            value = None
        elif key == "_parents":  # the copies of the parents copied along with it
            value = [weakref.ref(memo[id(ref())]) for ref in value
                     if ref() is not None and id(ref()) in memo]
        elif key == "_scope":
            value = naming.NameScope(new)
        else:
            value = copy.deepcopy(value, memo)
        object.__setattr__(new, key, value)
        if key == "_tracker":
            keras_compat.reindex_tracker(new)
    if new._compiled_call is None and block._compiled_call is not None:
        new.hybridize()
    if compiled:
        _compile_like(new, block, arguments, memo)
    return new


def _tracker_first(attributes):
    """``attributes.items()`` with Keras's tracker first: what is copied after it
    is tracked by the copy's tracker."""
    items = list(attributes.items())
    return sorted(items, key=lambda item: item[0] != "_tracker")  # stable


def _compile_like(new, block, arguments, memo):
    """Compile ``new`` (the copy of ``block``) with copies of ``block``'s compile
    arguments; give its optimizer a copy of the original's state."""
    optimizer = arguments["optimizer"]
    arguments = {key: (memo.get(id(value)) if key == "optimizer" and value is not None
                       else _copy_argument(value, memo))
                 for key, value in arguments.items()}
    new.compile(**arguments)
    if optimizer is None or not optimizer.built:
        return
    new.optimizer.build(new.trainable_variables)
    theirs, mine = optimizer.variables, new.optimizer.variables
    if [tuple(v.shape) for v in theirs] != [tuple(v.shape) for v in mine]:
        # as Keras's loading of an optimizer's state into different variables
        warnings.warn(
            "copy.deepcopy(%s): the copy's optimizer starts afresh: the original's state "
            "(%d variables) was built for other trainable variables than the net has now "
            "(%d optimizer variables); the trainable parameters changed since its last "
            "fit()." % (block.name, len(theirs), len(mine)), stacklevel=3)
        return
    for source, target in zip(theirs, mine):
        target.assign(keras.ops.copy(source.value))


def _copy_argument(value, memo):
    """A copy of a compile() argument: Keras's losses, metrics and optimizers are made
    again from their configuration (they copy themselves only through saving, and a
    metric's state stays with the original); containers are copied item by item;
    anything else (names, functions, blocks) by ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: _copy_argument(item, memo) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_copy_argument(item, memo) for item in value)
    if isinstance(value, (keras.losses.Loss, keras.metrics.Metric, keras.optimizers.Optimizer)):
        if id(value) not in memo:
            memo[id(value)] = _clone_keras_object(value)
        return memo[id(value)]
    return copy.deepcopy(value, memo)


def _clone_keras_object(obj):
    """A new ``obj`` (a Keras optimizer, loss or metric) of the same configuration."""
    try:
        return type(obj).from_config(obj.get_config())
    except Exception as exc:
        raise TypeError(
            "copy.deepcopy of a compiled net makes its %s again from its configuration "
            "(type(obj).from_config(obj.get_config())), which failed: %s: %s. Give %s a "
            "get_config() that from_config() accepts, or copy the net before compile() "
            "and compile the copy." % (type(obj).__name__, type(exc).__name__, exc,
                                       type(obj).__name__)) from exc
