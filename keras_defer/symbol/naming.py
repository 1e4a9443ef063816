"""MXNet's ``mx.name`` and ``mx.AttrScope``: the automatic names of symbol nodes.

An operator node without ``name=`` is named by the current ``NameManager`` from a hint
(the function name, lowercased) and a per-hint counter: ``convolution0``,
``convolution1``. ``Prefix`` puts a string in front of every name made inside it,
with counters of its own; Gluon enters ``Prefix(block.prefix)`` around each block's
symbolic forward, which is how ``dense0_fwd`` and ``flatten0_flatten0`` come about. The
state is per thread, as in MXNet.
"""

import threading

_state = threading.local()


class NameManager:
    """Names nodes ``<hint><count>``; ``with NameManager():`` starts the counters afresh."""

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    def get(self, name, hint):
        """``name`` itself when given, else a new ``hint<count>``."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return "%s%d" % (hint, count)

    def __enter__(self):
        self._old_manager = current()
        _state.manager = self
        return self

    def __exit__(self, *exc):
        _state.manager = self._old_manager
        return False


class Prefix(NameManager):
    """Puts ``prefix`` in front of every name, given or automatic (Gluon's name scopes)."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)


def current():
    """This thread's NameManager (one is made on first use, as MXNet does)."""
    manager = getattr(_state, "manager", None)
    if manager is None:
        manager = _state.manager = NameManager()
    return manager


class AttrScope:
    """``with AttrScope(ctx_group='dev1'):`` adds attributes to every symbol made inside."""

    def __init__(self, **kwargs):
        for value in kwargs.values():
            if not isinstance(value, str):
                raise ValueError("Attributes need to be string")
        self._attr = kwargs
        self._old_scope = None

    def get(self, attr):
        """The scope's attributes updated with ``attr`` (a dict, or None)."""
        if self._attr:
            ret = self._attr.copy()
            if attr:
                ret.update(attr)
            return ret
        return attr if attr else {}

    def __enter__(self):
        self._old_scope = current_attr_scope()
        attr = self._old_scope._attr.copy()
        attr.update(self._attr)
        self._attr = attr
        _state.attr_scope = self
        return self

    def __exit__(self, *exc):
        _state.attr_scope = self._old_scope
        return False


def current_attr_scope():
    scope = getattr(_state, "attr_scope", None)
    if scope is None:
        scope = _state.attr_scope = AttrScope()
    return scope
