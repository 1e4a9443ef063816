"""Attribute names a Gluon block's author and Keras both use.

To its author a Gluon block is a plain Python object: ``self.output = nn.Dense(10)``
(d2l's MLP), ``self.weights = ...``, ``self.built = False`` hold what was assigned and
read it back, as MXNet 1.9.1 does. A Keras layer defines many of those names itself:
``output``, ``input``, ``weights``, ``losses``, ``dtype``, ``variables``, ``metrics`` are
read-only properties, ``built`` and ``loss`` state Keras writes, ``fit`` and ``call``
methods (``keras_compat.keras_names()`` lists them all), and Keras's own code reads them
on every layer: saving reads ``weights``, ``fit`` reads ``metrics`` and ``losses``.

So such a name has two values on a block that assigned it: Keras's, and the author's
(the *Gluon* value, kept in the block's ``_gluon_attrs``). Who reads decides which one
comes back: code in Keras, in the frameworks under it and in keras_defer
(``keras_compat.called_from_framework``) gets Keras's value, any other code (the
block's own ``forward``, a tutorial, a test) gets the Gluon value. An assignment from
that other code stores a Gluon value; Keras's own assignments (``self.built = True``
in its build wrapper) reach Keras's attribute as before. Blocks, Parameters and plain
values are registered exactly as under any other name (``Block.__setattr__``).

Two exceptions keep Keras's meaning for its users:

* ``SETTINGS``: names a Keras user sets to configure a layer (``trainable``,
  ``dtype_policy``, ``input_spec``, ...). A value of the type Keras expects goes to
  Keras (``block.trainable = False`` freezes it, and reads back ``False``, as in MXNet);
  any other value (a Block, a list) is a Gluon value.
* ``name``, ``params`` and ``prefix`` are read-only properties of a Gluon block (MXNet
  raises on assignment; so does keras_defer), while Keras sets ``name`` once in its
  constructor.

A class pays for this only once one of its instances assigned such a name: then a
``SharedName`` descriptor is installed on the class for that name (a few hundred
nanoseconds per read of that name); the built-in layers never get one.
"""

import keras

from keras_defer import keras_compat

__all__ = ["NAMES", "SharedName", "gluon_assignment", "store", "delete", "replace",
           "gluon_value", "gluon_items", "keras_attribute"]

STORE = "_gluon_attrs"

GLUON_API = frozenset({
    "add", "apply", "cast", "collect_params", "export", "forward", "hybrid_forward",
    "hybridize", "infer_shape", "infer_type", "initialize", "load", "load_parameters",
    "load_params", "name_scope", "optimize_for", "params", "prefix", "register_child",
    "register_forward_hook", "register_forward_pre_hook", "register_op_hook", "save",
    "save_parameters", "save_params", "summary",
})
"""Gluon 1.9.1's own Block API (``Block``, ``HybridBlock``, ``Sequential``): these mean
what Gluon means on a block, and an assignment shadows them as in MXNet."""

READ_ONLY = frozenset({"name", "params", "prefix"})
"""Read-only properties of a Gluon block (Keras keeps ``name`` as a plain attribute;
PyTorch's ``Module.__setattr__`` would store a sub-module past the other two)."""


def _is_bool(value):
    return isinstance(value, bool)


def _is_input_spec(value):
    if isinstance(value, (list, tuple)):
        return all(v is None or isinstance(v, keras.InputSpec) for v in value)
    return value is None or isinstance(value, keras.InputSpec)


SETTINGS = {
    "trainable": _is_bool,
    "supports_masking": _is_bool,
    "autocast": _is_bool,
    "supports_jit": _is_bool,
    "stop_training": _is_bool,
    "run_eagerly": _is_bool,
    "jit_compile": lambda value: isinstance(value, bool) or value == "auto",
    "dtype_policy": lambda value: value is None or isinstance(
        value, (str, keras.DTypePolicy)),
    "input_spec": _is_input_spec,
}
"""Names a Keras user sets to configure a layer or model, each with the values Keras
takes for it: such a value keeps Keras's meaning."""

_ABSENT = object()


def _shared_names():
    return keras_compat.keras_names() - GLUON_API - READ_ONLY


SHARED = _shared_names()
"""The names with two values (module docstring)."""

NAMES = SHARED | READ_ONLY
"""The names whose assignment from user code ``Block.__setattr__`` routes here."""


class SharedName:
    """The class attribute standing for ``name`` once an instance assigned it: the
    Gluon value to user code, Keras's (``keras_attribute``) to framework code."""

    __slots__ = ("name", "keras")

    def __init__(self, name, keras_attr):
        self.name = name
        self.keras = keras_attr  # what the class had: a descriptor, a value, _ABSENT

    def __get__(self, obj, cls=None):
        if obj is None:
            keras_attr = self.keras
            if keras_attr is _ABSENT:
                raise AttributeError(self.name)
            return keras_attr.__get__(None, cls) if hasattr(keras_attr, "__get__") \
                else keras_attr
        store = obj.__dict__.get(STORE)
        if store is not None and self.name in store and \
                not keras_compat.called_from_framework():
            return store[self.name]
        return self.keras_get(obj, cls)

    def keras_get(self, obj, cls=None):
        """What normal lookup would find without this descriptor."""
        keras_attr, name = self.keras, self.name
        if hasattr(keras_attr, "__set__"):  # a data descriptor (property) wins
            return keras_attr.__get__(obj, cls or type(obj))
        if name in obj.__dict__:
            return obj.__dict__[name]
        if keras_attr is _ABSENT:
            fallback = getattr(type(obj), "__getattr__", None)  # torch.nn.Module's
            if fallback is not None:
                return fallback(obj, name)
            raise AttributeError("'%s' object has no attribute '%s'"
                                 % (type(obj).__name__, name))
        if hasattr(keras_attr, "__get__"):
            return keras_attr.__get__(obj, cls or type(obj))
        return keras_attr

    def __set__(self, obj, value):  # reached by Keras's own assignments only
        if hasattr(self.keras, "__set__"):
            self.keras.__set__(obj, value)
        else:
            obj.__dict__[self.name] = value

    def __delete__(self, obj):
        if hasattr(self.keras, "__delete__"):
            self.keras.__delete__(obj)
        elif self.name in obj.__dict__:
            del obj.__dict__[self.name]
        else:
            raise AttributeError(self.name)


def _install(cls, name):
    """Make ``name`` a SharedName on ``cls`` (where lookup from ``cls`` finds it)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            if isinstance(found, SharedName):
                return
            break
    else:
        found = _ABSENT
    setattr(cls, name, SharedName(name, found))


def gluon_assignment(block, name, value):
    """Whether ``block.<name> = value``, for a name in ``NAMES`` assigned by user code,
    stores a Gluon value (``store``); False when it is Keras's (a ``SETTINGS`` value)
    and goes the ordinary way. Raises for a Gluon read-only property."""
    if name in READ_ONLY:
        raise AttributeError("property '%s' of '%s' object has no setter"
                             % (name, type(block).__qualname__))
    accepts = SETTINGS.get(name)
    if accepts is not None and accepts(value):
        store = block.__dict__.get(STORE)
        if store is not None:
            store.pop(name, None)  # reads get Keras's value again
        return False
    return True


def store(block, name, value):
    """Keep ``value`` as ``block``'s Gluon value of ``name`` (its registration as a
    child or Parameter is the caller's)."""
    values = block.__dict__.get(STORE)
    if values is None:
        values = {}
        object.__setattr__(block, STORE, values)
    _install(type(block), name)
    values[name] = value


def delete(block, name):
    """``del block.<name>`` from user code: True when it removed a Gluon value."""
    store = block.__dict__.get(STORE)
    if store is not None and name in store:
        del store[name]
        return True
    return False


def replace(block, name, old, new):
    """``block``'s Gluon value of ``name`` becomes ``new`` where it was ``old``
    (``share_parameters`` swapping a Parameter)."""
    values = block.__dict__.get(STORE)
    if values is not None and values.get(name) is old:
        values[name] = new


def gluon_value(block, name, default=None):
    """What ``block.<name>`` holds for its author, looked up without calling a
    property: a Gluon value, an instance attribute, or (PyTorch keeps sub-modules
    apart) a sub-module."""
    store = block.__dict__.get(STORE)
    if store is not None and name in store:
        return store[name]
    if name in block.__dict__ and name not in SHARED:
        return block.__dict__[name]
    modules = block.__dict__.get("_modules")
    if modules is not None and name in modules and name not in SHARED:
        return modules[name]
    return default


def gluon_items(block):
    """``[(name, child)]``: the children held by attributes, in registration order
    (what Gluon's repr lists: children registered under no attribute are left out)."""
    return [(key, child) for key, child in block._children.items()
            if gluon_value(block, key) is child]


def keras_attribute(block, name):
    """Keras's value of ``name`` on ``block``, whatever its author assigned to that
    name (user code reading, say, the Keras ``weights`` of such a block)."""
    descriptor = next((vars(klass)[name] for klass in type(block).__mro__
                       if name in vars(klass)), None)
    if isinstance(descriptor, SharedName):
        return descriptor.keras_get(block)
    return getattr(block, name)
