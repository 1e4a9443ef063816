"""Gluon's block naming: per-class counters, ``prefix=`` and ``name_scope()``.

Gluon names parameters after the block that creates them (``dense0_weight``): a
global counter per class at top level, a counter local to the parent inside
``with parent.name_scope():``. Ported code and saved files depend on these names,
so we reproduce the rules of MXNet 1.9.1's ``_BlockScope`` exactly, but keep the
state in one thread-local object instead of hidden globals spread over modules.
"""

import re
import threading

_state = threading.local()

#: A name every backend takes for a layer: TensorFlow opens a name scope with it, and
#: a root scope (a hybridized block's graph, Keras's ``fit``) must match
#: ``^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$``; Keras refuses ``/`` in any layer name, and
#: PyTorch ``.`` in the variable paths made from it.
_KERAS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_>-]*\Z")
_NOT_IN_KERAS_NAME = re.compile(r"[^A-Za-z0-9_>-]")
_KERAS_MARK = "gluon-"


def keras_name(name):
    """The Keras layer name for a block whose Gluon name is ``name``.

    Gluon names a block after its class: ``class _ScaledL1`` gives ``_scaledl10``
    (prefix ``_scaledl10_``), which TensorFlow refuses as a root scope name, and a
    user's ``prefix=`` may hold characters no scope takes (``/``, spaces, dots).
    Such a name goes to Keras with each of those characters as ``_`` and ``gluon-``
    in front (``gluon-_scaledl10``): no class name holds a ``-``, so it cannot
    collide with a block named after its class. Any other name is unchanged. The
    block keeps its Gluon ``name`` and ``prefix`` for its users (``Block.__init__``)."""
    if not name or _KERAS_NAME.match(name):
        return name
    return _KERAS_MARK + _NOT_IN_KERAS_NAME.sub("_", name)


def _top_level_counters():
    counters = getattr(_state, "counters", None)
    if counters is None:
        counters = _state.counters = {}
    return counters


def _current_scope():
    return getattr(_state, "scope", None)


def reset_counters():
    """Start the top-level counters again (``dense0`` ...). Handy in tests and notebooks."""
    _state.counters = {}


def allocate_prefix(prefix, hint):
    """The prefix a new block gets: ``prefix`` if given, else ``hint`` + a counter.

    Returns ``(full_prefix, local_prefix, parent_params)``; ``parent_params`` is the
    enclosing block's ParameterDict when created inside its ``name_scope()``, else None.
    """
    scope = _current_scope()
    if scope is None:
        if prefix is None:
            counters = _top_level_counters()
            count = counters.get(hint, 0)
            counters[hint] = count + 1
            prefix = "%s%d_" % (hint, count)
        return prefix, prefix, None
    if prefix is None:
        count = scope.counters.get(hint, 0)
        scope.counters[hint] = count + 1
        prefix = "%s%d_" % (hint, count)
    return scope.block.prefix + prefix, prefix, scope.block.params


class NameScope:
    """``with block.name_scope():`` — children created inside are named under ``block``."""

    def __init__(self, block):
        self.block = block
        self.counters = {}
        self._previous = []

    def __enter__(self):
        # MXNet: a block made with ``prefix=''`` opens no scope of its own; its children
        # are named and counted in the enclosing scope (the model zoo's
        # ``HybridSequential(prefix='')`` holds ``alexnet0_dense0_``, and the Dense its
        # parent adds next is ``alexnet0_dense2_``)
        if getattr(self.block, "_empty_prefix", False):
            return self
        self._previous.append(_current_scope())
        _state.scope = self
        return self

    def __exit__(self, *exc):
        if getattr(self.block, "_empty_prefix", False):
            return False
        _state.scope = self._previous.pop()
        return False
