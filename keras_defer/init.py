"""Gluon's initializers, usable by Gluon code and by Keras alike.

Gluon calls ``initializer(InitDesc(name), array)`` and user subclasses override
``_init_weight(self, name, data)`` to write into ``data`` in place. We keep that
contract exactly (``data`` is a mutable numpy array of the full shape, see
``InitArray``), and give the built-ins a fast path that produces a backend tensor
directly, so they never round-trip a large tensor through the host.

Every ``Initializer`` is also a ``keras.initializers.Initializer``:
``initializer(shape, dtype)`` returns a tensor, so Gluon initializers work in
plain Keras layers, and ``create()`` accepts Keras initializers in return.
"""

import re
from collections import namedtuple

import keras
import numpy as np

# The backend's draws: on TensorFlow, stateless ones seeded from TF's global seed, and
# shared small zeros, cheaper than keras.random's SeedGenerator round trip.
from keras_defer.backend import random_draw as _random_draw
from keras_defer.backend import random_draws as _backend_random_draws
from keras_defer.backend import split_into as _split_into
from keras_defer.backend import zeros as _zeros

__all__ = [
    "InitDesc", "InitArray", "Initializer", "Zero", "One", "Constant", "Uniform",
    "Normal", "Xavier", "MSRAPrelu", "Orthogonal", "Mixed", "KerasInitializer",
    "create", "register", "initial_value", "ValueRequest", "Draws",
]

_registry = {}


def register(klass):
    """Make ``klass`` reachable by its lower-cased name in ``create('name')``, and
    serializable by Keras (``keras_defer>Uniform``)."""
    _registry[klass.__name__.lower()] = klass
    return keras.saving.register_keras_serializable("keras_defer", klass.__name__)(klass)


class InitDesc(str):
    """A parameter's name, with Gluon's ``attrs`` and ``global_init`` riding along."""

    def __new__(cls, name, attrs=None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


class InitArray(np.ndarray):
    """The ``data`` a user's ``_init_weight`` fills: numpy, plus the NDArray methods
    Gluon tutorials call on it (``abs()``, ``asnumpy()``, ``asscalar()``)."""

    def abs(self):
        return np.abs(self)

    def asnumpy(self):
        return np.asarray(self).copy()

    def asscalar(self):
        return self.item()

    @classmethod
    def zeros(cls, shape, dtype):
        return np.zeros(shape, dtype=dtype).view(cls)


def _random_draws(kind, shapes, scale, shift, dtype):
    """``_random_draw`` for each of ``shapes``, as one draw split up.

    A first pass initializes layer after layer, and a draw is its costliest eager op:
    ~120 us on TensorFlow (four ops), ~190 us on JAX, which also compiles it anew for
    every new shape. One draw of the summed size, one split and a reshape per piece
    cost a few ms for a 400-layer net. The values come from one seed instead of one
    per tensor: as random, and as reproducible under ``keras.utils.set_random_seed``.

    The backend may make the same values in one faster call (``backend.random_draws``:
    on JAX a compiled function instead of seven eager dispatches)."""
    values = _backend_random_draws(kind, shapes, scale, shift, dtype)
    if values is not None:
        return values
    if len(shapes) == 1:
        return [_random_draw(kind, shapes[0], scale, shift, dtype)]
    total = sum(int(np.prod(shape)) for shape in shapes)
    return _split_into(_random_draw(kind, (total,), scale, shift, dtype), shapes)


def _fresh_seed():
    """An int seed drawn from Keras's global generator (reproducible under
    ``keras.utils.set_random_seed``, different on every call)."""
    return int(np.asarray(keras.random.randint((), 0, 2**31 - 1)))


class Initializer(keras.initializers.Initializer):
    """Base class. Override ``_init_weight(self, name, data)`` (data: ``InitArray``).

    Built-ins override ``_generate(shape, dtype)`` instead, which returns a backend
    tensor; ``_init_weight`` of a built-in fills ``data`` from it.
    """

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    # -- Gluon entry point -------------------------------------------------------
    def __call__(self, desc, arr=None, **kwargs):
        if not isinstance(desc, str):  # Keras style: initializer(shape, dtype)
            return self.keras_call(desc, arr if arr is not None else kwargs.get("dtype"))
        if not isinstance(desc, InitDesc):
            desc = InitDesc(desc)
        if desc.global_init is None:
            desc.global_init = self
        own = desc.attrs.get("__init__", "")
        target = create(own) if own else self
        target._init_weight(desc, arr)
        return arr

    def _init_weight(self, name, arr):
        raise NotImplementedError(
            "%s must override _init_weight(self, name, data)" % type(self).__name__
        )

    # -- array production --------------------------------------------------------
    def _generate(self, shape, dtype):
        """Backend tensor of ``shape``; ``None`` when only ``_init_weight`` exists."""
        return None

    def _draw_spec(self, shape):
        """``(kind, scale, shift)`` for initializers whose value is a fresh standard
        ``kind`` ('uniform' on [0, 1), or 'normal') draw times ``scale`` plus ``shift``:
        their values for many parameters can be drawn together (``Draws``)."""
        return None

    def _has_fast_path(self):
        # A subclass that overrides _init_weight wants to see every call.
        return type(self)._init_weight is _builtin_init_weight and (
            type(self)._generate is not Initializer._generate
        )

    def make_value(self, name, shape, dtype):
        """The initial value of parameter ``name``: a backend tensor or numpy array."""
        if self._has_fast_path():
            return self._generate(tuple(shape), dtype)
        data = InitArray.zeros(shape, dtype)
        self(InitDesc(name, {"__init__": self}), data)
        return data

    def keras_call(self, shape, dtype=None):
        dtype = dtype or "float32"
        value = self.make_value("", tuple(shape), dtype)
        return keras.ops.convert_to_tensor(value, dtype=dtype)

    # -- misc Gluon API ----------------------------------------------------------
    def set_verbosity(self, verbose=False, print_func=None):
        self._verbose = verbose
        self._print_func = print_func
        return self

    def dumps(self):
        import json

        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def get_config(self):
        return dict(self._kwargs)

    def __repr__(self):
        args = ", ".join("%s=%r" % kv for kv in self._kwargs.items())
        return "%s(%s)" % (type(self).__name__, args)


def _fill(arr, value):
    arr[...] = np.asarray(value).astype(arr.dtype, copy=False)


def _builtin_init_weight(self, name, arr):
    _fill(arr, self._generate(tuple(arr.shape), arr.dtype))


def _drawn_generate(self, shape, dtype):
    """``_generate`` of the random built-ins: one draw as ``_draw_spec`` says."""
    kind, scale, shift = self._draw_spec(shape)
    # the backend's faster way to the same values, where it has one
    values = _backend_random_draws(kind, [tuple(shape)], scale, shift, dtype)
    if values is not None:
        return values[0]
    return _random_draw(kind, shape, scale, shift, dtype)


@register
class Zero(Initializer):
    """All zeros (Gluon's 'zeros')."""

    _init_weight = _builtin_init_weight

    def _generate(self, shape, dtype):
        return _zeros(shape, dtype)


@register
class One(Initializer):
    """All ones (Gluon's 'ones')."""

    _init_weight = _builtin_init_weight

    def _generate(self, shape, dtype):
        return keras.ops.ones(shape, dtype=dtype)


@register
class Constant(Initializer):
    """Every element set to ``value`` (a scalar or something broadcastable)."""

    _init_weight = _builtin_init_weight

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _generate(self, shape, dtype):
        return keras.ops.broadcast_to(keras.ops.convert_to_tensor(self.value, dtype), shape)


@register
class Uniform(Initializer):
    """U(-scale, scale); Gluon's default initializer, scale 0.07."""

    _init_weight = _builtin_init_weight

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    _generate = _drawn_generate

    def _draw_spec(self, shape):
        return ("uniform", 2.0 * self.scale, -self.scale)


@register
class Normal(Initializer):
    """N(0, sigma²), sigma 0.01."""

    _init_weight = _builtin_init_weight

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    _generate = _drawn_generate

    def _draw_spec(self, shape):
        return ("normal", self.sigma, 0.0)


@register
class Xavier(Initializer):
    """Glorot: scale sqrt(magnitude / factor), with Gluon's fan computation."""

    _init_weight = _builtin_init_weight

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        if rnd_type not in ("uniform", "gaussian"):
            raise ValueError("Xavier rnd_type must be 'uniform' or 'gaussian', got %r" % rnd_type)
        if factor_type not in ("avg", "in", "out"):
            raise ValueError("Xavier factor_type must be 'avg', 'in' or 'out', got %r" % factor_type)
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type, self.factor_type, self.magnitude = rnd_type, factor_type, float(magnitude)

    _generate = _drawn_generate

    def _draw_spec(self, shape):
        if len(shape) < 2:
            raise ValueError(
                "Xavier initializer cannot be applied to vector of shape %s. "
                "It requires at least 2D." % (shape,)
            )
        hw_scale = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw_scale, shape[0] * hw_scale
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        scale = float(np.sqrt(self.magnitude / factor))
        if self.rnd_type == "uniform":
            return ("uniform", 2.0 * scale, -scale)
        return ("normal", scale, 0.0)


@register
class MSRAPrelu(Xavier):
    """He/Kaiming initialization for PReLU slopes (Gaussian Xavier, magnitude 2/(1+slope²))."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope**2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Orthogonal(Initializer):
    """An orthogonal matrix (via SVD of a random one) times ``scale``."""

    _init_weight = _builtin_init_weight

    def __init__(self, scale=1.414, rand_type="uniform"):
        if rand_type not in ("uniform", "normal"):
            raise ValueError("Orthogonal rand_type must be 'uniform' or 'normal', got %r" % rand_type)
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale, self.rand_type = scale, rand_type

    def _generate(self, shape, dtype):
        nout, nin = shape[0], int(np.prod(shape[1:]))
        if self.rand_type == "uniform":
            tmp = np.asarray(keras.random.uniform((nout, nin), -1.0, 1.0))
        else:
            tmp = np.asarray(keras.random.normal((nout, nin)))
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        return keras.ops.convert_to_tensor(self.scale * res.reshape(shape), dtype=dtype)


@register
class Mixed(Initializer):
    """Pick an initializer by the first regular expression matching the name."""

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise ValueError("Mixed needs as many patterns as initializers")
        super().__init__()
        self.map = [(re.compile(p), create(i)) for p, i in zip(patterns, initializers)]

    def _init_weight(self, name, arr):
        for pattern, init in self.map:
            if pattern.match(name):
                init._init_weight(name, arr)
                return
        raise ValueError(
            "Parameter name %s did not match any pattern. Consider adding a "
            '".*" pattern at the end with a default Initializer.' % name
        )


class KerasInitializer(Initializer):
    """Wrap a ``keras.initializers.Initializer`` so Gluon code can use it.

    Keras's unseeded random initializers return the same values on every call;
    Gluon draws fresh numbers on every (re-)initialization, so an unseeded one is
    reseeded per call. An explicit ``seed=`` is the user's choice and is kept.
    """

    _init_weight = _builtin_init_weight

    def __init__(self, keras_initializer):
        super().__init__()
        self.keras_initializer = keras_initializer

    def _generate(self, shape, dtype):
        init = self.keras_initializer
        config = init.get_config() if hasattr(init, "get_config") else {}
        if "seed" in config and config["seed"] is None:
            init = type(init).from_config({**config, "seed": _fresh_seed()})
        return init(shape, dtype=dtype)

    def __repr__(self):
        return "KerasInitializer(%r)" % (self.keras_initializer,)


_aliases = {"zeros": "zero", "ones": "one", "xavier_uniform": "xavier"}


def create(init):
    """Turn ``init`` (an Initializer, a Gluon name, a Keras initializer or name) into
    an ``Initializer``; raise ``ValueError`` naming the choices otherwise."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, keras.initializers.Initializer):
        return KerasInitializer(init)
    if isinstance(init, str):
        key = init.lower()
        key = _aliases.get(key, key)
        if key in _registry:
            return _registry[key]()
        try:
            return KerasInitializer(keras.initializers.get(init))
        except (ValueError, TypeError):
            pass
        raise ValueError(
            "Unknown initializer %r. Use one of %s, a keras_defer.init.Initializer, "
            "or a Keras initializer." % (init, sorted(set(_registry) | set(_aliases)))
        )
    if isinstance(type(init), type) and isinstance(init, type) and issubclass(init, Initializer):
        return init()
    raise TypeError(
        "Expected an initializer (keras_defer.init.Initializer, its name, or a Keras "
        "initializer), got %r of type %s" % (init, type(init).__name__)
    )


ValueRequest = namedtuple("ValueRequest", ["name", "init", "default_init", "shape", "dtype"])
"""What making one parameter's initial value takes: its name, its own initializer and
the global one (as ``initialize`` registered them), its shape and Keras dtype name.
``initial_value(*request)`` makes it; ``Draws`` makes many."""


def initial_value(name, init, default_init, shape, dtype):
    """The initial value of parameter ``name``, dispatched exactly as Gluon does:
    ``create(default_init)(InitDesc(name, {'__init__': init}), zeros)``, i.e. the
    parameter's own initializer's ``_init_weight`` runs, whatever the name's suffix.

    Built-ins skip the host buffer and return a backend tensor.
    """
    target = create(init)
    if target._has_fast_path():
        return target._generate(tuple(shape), dtype)
    data = InitArray.zeros(shape, dtype)
    glob = create(default_init)
    glob(InitDesc(name, {"__init__": target}, global_init=glob), data)
    if tuple(data.shape) != tuple(shape):
        raise ValueError(
            "Initializer %r changed the shape of '%s' from %s to %s; write into data "
            "in place (data[:] = ...)." % (target, name, tuple(shape), tuple(data.shape))
        )
    return data


class Draws:
    """The initial values of many parameters, in order, each as ``initial_value``
    makes it, except that small parameters whose initializer is a plain random
    built-in (``_draw_spec``) are drawn together with the later ones of the same
    kind, scale and dtype: a deep net's first pass makes a few draws instead of one
    per layer.

    ``requests`` are ``ValueRequest``s (``initial_value``'s arguments), one per
    parameter, or ``None`` for a parameter whose value is known (never asked for). A group
    is drawn when its first value is asked for and holds at most ``_GROUP_ELEMENTS``
    elements, so the values waiting to be stored stay small.
    """

    _SMALL = 1 << 16  # elements: larger parameters are drawn on their own
    _GROUP_ELEMENTS = 1 << 20

    def __init__(self, requests):
        self._requests = list(requests)
        self._group_of = {}
        self._ready = {}
        open_groups = {}
        for index, request in enumerate(self._requests):
            if request is None:  # a value the caller already has (``set_data``)
                continue
            _, init, _, shape, dtype = request
            spec = _draw_spec(init, shape)
            size = int(np.prod(shape)) if spec is not None else 0
            if spec is None or size > self._SMALL:
                continue
            key = spec + (str(dtype),)
            group = open_groups.get(key)
            if group is None or group["size"] + size > self._GROUP_ELEMENTS:
                group = open_groups[key] = {"spec": spec, "dtype": dtype, "size": 0,
                                            "members": []}
            group["size"] += size
            group["members"].append(index)
            self._group_of[index] = group

    def value(self, index):
        """The initial value of request ``index``; ask for each index once."""
        if index in self._ready:
            return self._ready.pop(index)
        group = self._group_of.pop(index, None)
        if group is None or len(group["members"]) == 1:
            return initial_value(*self._requests[index])
        members = group["members"]
        kind, scale, shift = group["spec"]
        shapes = [tuple(self._requests[i][3]) for i in members]
        values = _random_draws(kind, shapes, scale, shift, group["dtype"])
        for i, v in zip(members, values):
            self._ready[i] = v
            self._group_of.pop(i, None)
        return self._ready.pop(index)


def _draw_spec(init, shape):
    """``init``'s ``_draw_spec`` for ``shape`` when its value is exactly that draw
    (a built-in, or a subclass that changes neither ``_generate`` nor
    ``_init_weight``); ``None`` otherwise or when the shape is refused."""
    target = create(init)
    if not target._has_fast_path() or type(target)._generate is not _drawn_generate:
        return None
    try:
        return tuple(target._draw_spec(tuple(shape)))
    except ValueError:
        return None  # e.g. Xavier on a vector: initial_value raises the error itself
