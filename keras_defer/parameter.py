"""``Parameter`` and ``ParameterDict``: Gluon's parameter lifecycle on Keras variables.

A parameter moves through three states, held in two fields:

* uninitialized: ``pending is None`` and ``variable is None``;
* pending (Gluon's "deferred"): ``initialize()`` registered an initializer but the
  shape still has unknown (0) dims, or ``set_data`` supplied a value to use later;
* initialized: ``variable`` is a Keras variable holding the data.

``finish_pending_inits()`` is the one place that moves pending to initialized. The
Keras variable is created once, the first time the shape is known, and every later
re-initialization assigns into that same variable, so optimizers built on it keep
working.
"""

import functools
import warnings
import weakref
from collections import OrderedDict, namedtuple

import keras
import numpy as np

from keras_defer import first_pass
from keras_defer import init as initializer
from keras_defer import backend, keras_compat, multi_device, variables
from keras_defer.context import as_context_list, current_context
from keras_defer.display import indent
from keras_defer.errors import (
    DeferredInitializationError,
    ShapeMismatchError,
    deferred_message,
    not_initialized_message,
)
from keras_defer.nd.ndarray import NDArray
from keras_defer.nd.variable import VariableNDArray
from keras_defer.shapes import as_shape, merge_shapes, shape_is_known
from keras_defer.validation import check_bool

__all__ = ["Parameter", "Constant", "ParameterDict", "PendingInit", "finish_pending_inits"]

PendingInit = namedtuple("PendingInit", ["init", "ctx", "default_init", "data"])
"""What ``initialize()`` registered: the parameter's initializer and the global one
(both ``init.Initializer`` objects, normalized once by ``initialize``), the devices,
and a value from ``set_data`` to use instead (or None)."""

_GRAD_REQS = ("write", "add", "null")

_with_variables = weakref.WeakSet()
"""Every live Parameter that holds a variable: what ``autograd`` may differentiate."""


def parameters_with_variables():
    """The live Parameters that have held a Keras variable (``autograd`` asks which of
    them a recorded computation read); check ``variable``, which may be gone since."""
    return list(_with_variables)


def _initial_values(items):
    """The initial value of each ``(pending, request)`` in ``items``, in order: the
    ``set_data`` value where there is one, else what the registered initializer makes
    for ``request`` (an ``init.ValueRequest``). The one path by which values are made.

    Made lazily, each just before the caller stores it, so a net of large parameters
    never holds two copies of all of them; small random draws are made together
    (``init.Draws``)."""
    draws = initializer.Draws(None if pending.data is not None else request
                              for pending, request in items)
    for index, (pending, _) in enumerate(items):
        if pending.data is not None:
            yield pending.data
            continue
        # Concrete even inside a symbolic trace (Keras builds models for fit() under
        # jax.eval_shape): the initializer runs here, once, on real arrays.
        with backend.concrete_scope():
            value = draws.value(index)
        yield value


class Parameter:
    """A named tensor with Gluon's lifecycle, backed by one Keras variable."""

    _replicas = None
    """Copies on the second, third... context (``multi_device.Replica``), or None."""

    def __init__(self, name, grad_req="write", shape=None, dtype=np.float32,
                 lr_mult=1.0, wd_mult=1.0, init=None, allow_deferred_init=False,
                 differentiable=True, stype="default", grad_stype="default"):
        if not isinstance(name, str) or not name:
            raise TypeError("Parameter name must be a non-empty str, got %r" % (name,))
        self._name = name
        self._shape = as_shape(shape, name)
        self._dtype = dtype
        try:
            np.dtype(dtype)  # nonsense dtypes fail at construction, not at the first pass
            if dtype is None:
                raise TypeError
        except TypeError:
            raise TypeError(
                "Parameter '%s': dtype must be a NumPy dtype such as 'float32', got %r"
                % (name, dtype)
            ) from None
        if init is not None:
            initializer.create(init)  # validate now, not at the first pass
        self.init = init
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self._allow_deferred_init = allow_deferred_init
        self._differentiable = differentiable
        if grad_req not in _GRAD_REQS:
            raise ValueError("grad_req must be one of %s, got %r" % (_GRAD_REQS, grad_req))
        self._grad_req = grad_req if differentiable else "null"
        self._stype, self._grad_stype = stype, grad_stype
        self.pending = None
        self.variable = None
        self._grad = None
        # MXNet's ``_fresh_grad``: a backward wrote the gradient since the last
        # Trainer step consumed it (``gluon.Trainer`` reports stale gradients).
        self._fresh_grad = False
        self._ctx_list = None
        self._owners = []  # blocks that hold this parameter (several when shared)

    # -- plain attributes ----------------------------------------------------------
    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        new_shape = as_shape(new_shape, self._name)
        merged = merge_shapes(self._shape, new_shape)
        if merged is None:
            raise ShapeMismatchError(
                "Parameter '%s': expected shape %s is incompatible with given shape %s."
                % (self._name, new_shape, self._shape)
            )
        self._shape = merged

    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in _GRAD_REQS:
            raise ValueError("grad_req must be one of %s, got %r" % (_GRAD_REQS, req))
        if not self._differentiable:
            req = "null"
        self._grad_req = req
        if self.variable is not None:
            self.variable.trainable = req != "null"
        self._grad = None

    @property
    def allow_deferred_init(self):
        return self._allow_deferred_init

    @property
    def _keras_dtype(self):
        return _dtype_name(self._dtype)

    @property
    def is_initialized(self):
        return self.variable is not None

    # -- lifecycle: the only methods that change the state ---------------------
    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(),
                   force_reinit=False):
        """Initialize now if the shape is known, else register for the first pass."""
        check_bool("Parameter '%s'.initialize" % self._name, "force_reinit", force_reinit)
        if backend.in_replica_context():  # strategy.run: once, the same on every replica
            return backend.once_for_all_replicas(lambda: self.initialize(
                init, ctx, default_init, force_reinit))
        with first_pass.lock():
            plan = self._plan_initialize(init, ctx, initializer.create(default_init),
                                         force_reinit)
            if plan[0] == "set":
                pending = plan[1]
                plan = ("set", (pending, next(_initial_values(
                    [(pending, self._value_request(pending))]))))
            self._apply_plan(plan, stacklevel=3)

    def _plan_initialize(self, init, ctx, default_init, force_reinit):
        """Decide, without changing anything, what ``initialize`` does:
        ``("warn", None)``, ``("register", PendingInit)`` or ``("set", PendingInit)``
        (the caller makes the value and applies ``("set", (PendingInit, value))``).
        ``default_init`` is an ``init.Initializer`` already."""
        if self.variable is not None and not force_reinit:
            return ("warn", None)
        ctx = as_context_list(ctx)
        if init is not None:
            init = initializer.create(init)  # garbage fails now, not at the first pass
        elif self.init is not None:
            init = initializer.create(self.init)
        else:
            init = default_init
        pending = PendingInit(init, ctx, default_init, None)
        if not shape_is_known(self._shape):
            if self._allow_deferred_init:
                return ("register", pending)
            raise ValueError(
                "Cannot initialize Parameter '%s' because it has invalid shape: %s. "
                "Give every dimension (for a layer: in_units, in_channels, ...)."
                % (self._name, self._shape)
            )
        return ("set", pending)

    def _apply_plan(self, plan, stacklevel=2):
        action, payload = plan
        if action == "warn":
            warnings.warn(
                "Parameter '%s' is already initialized, ignoring. "
                "Set force_reinit=True to re-initialize." % self._name,
                stacklevel=stacklevel,
            )
        elif action == "register":
            self.pending = payload
        else:
            pending, value = payload
            self._store(value, pending.ctx)
            self.pending = None

    def _value_request(self, pending, shape=None):
        return initializer.ValueRequest(self._name, pending.init, pending.default_init,
                                        shape or self._shape, self._keras_dtype)

    def _initial_value(self, shape):
        """What finishing the pending initialization would store if the shape were
        ``shape``; changes nothing (sharing plans with it before it applies)."""
        return next(_initial_values([(self.pending, self._value_request(self.pending,
                                                                        shape))]))

    def _check_shape_known(self):
        if not shape_is_known(self._shape):
            raise DeferredInitializationError(
                "Cannot initialize Parameter '%s' because it has invalid shape: %s. "
                "Please specify in_units, in_channels, etc for `Block`s."
                % (self._name, self._shape)
            )

    def _fix_shape(self, shape):
        """Set the shape to ``shape``, which the caller has merged with the current
        one (``merge_shapes``): fewer or no unknown dims, never a contradiction."""
        self._shape = as_shape(shape, self._name)

    def _materialize(self, value, ctx=None):
        """Pending (or uninitialized) -> initialized with ``value``, on ``ctx`` (by
        default where the parameter is, or where ``initialize`` asked)."""
        if ctx is None:
            ctx = self._ctx_list or (self.pending.ctx if self.pending is not None else None)
        self._store(value, ctx)
        self.pending = None

    def _drop_variable(self):
        """Forget the variable (its owners stop tracking it): the parameter is
        uninitialized again, or pending if an initializer is registered."""
        if self.variable is not None:
            keras_compat.untrack_variable(self._owners, self.variable)
        self.variable = None
        self._ctx_list = None
        self._replicas = None

    def _set_dtype(self, dtype):
        """Change the dtype without converting a value: a held variable is dropped
        (the caller stores a value of the new dtype next)."""
        if np.dtype(dtype) == np.dtype(self._dtype):
            return
        if self.variable is not None:
            keras_compat.untrack_variable(self._owners, self.variable)
            self.variable = None
        self._dtype = np.dtype(dtype).name

    def _load(self, value, shape, dtype, ctx=None):
        """Any state -> initialized with a loaded ``value`` of ``shape`` (merged with
        the current shape by the caller) and ``dtype``: into the existing variable
        when there is one, else a new one on ``ctx`` (by default where the parameter
        is, or where ``initialize`` asked)."""
        self._set_dtype(dtype)
        self._fix_shape(shape)
        if self.variable is not None:
            self.variable.assign(value)
            self.pending = None
            if self._replicas:  # MXNet loads every copy
                multi_device.sync(self)
        else:
            self._materialize(value, ctx)

    def _add_owner(self, block):
        """``block`` holds this parameter (several blocks do when it is shared)."""
        if block not in self._owners:
            self._owners.append(block)

    def _remove_owner(self, block):
        """``block`` no longer holds this parameter: it stops tracking the variable."""
        if block in self._owners:
            self._owners.remove(block)
        if self.variable is not None:
            keras_compat.untrack_variable([block], self.variable)

    def _store(self, value, ctx):
        """Write ``value``: into the existing variable, or into a new one."""
        ctx = list(ctx) if ctx else [current_context()]
        with backend.concrete_scope():  # a real variable, even inside a trace
            self._store_value(value, ctx)
        self._ctx_list = ctx
        if len(ctx) > 1 or self._replicas:  # one copy per further context
            multi_device.sync(self)
        self._grad = None  # allocated on first use: most nets never read it
        self._fresh_grad = False  # new arrays in MXNet: no backward has reached them

    def _store_value(self, value, ctx):
        if self.variable is not None and tuple(self.variable.shape) == self._shape:
            self.variable.assign(keras.ops.cast(value, self.variable.dtype))
        else:
            if self.variable is not None:
                keras_compat.untrack_variable(self._owners, self.variable)
            _with_variables.add(self)
            self.variable = variables.create_variable(
                self._owners, self._name, value, self._shape, self._keras_dtype,
                trainable=self._grad_req != "null", device=ctx[0].keras_device,
            )
            for layer in self._owners:  # declared order, now that ``variable`` is set
                keras_compat.sort_tracked(layer)

    # -- data access ---------------------------------------------------------------
    def _check_initialized(self):
        if self.variable is not None:
            return
        if self.pending is not None:
            raise DeferredInitializationError(deferred_message(self._name))
        raise RuntimeError(not_initialized_message(self._name))

    def var(self):
        """MXNet's ``Parameter.var()``: the symbol variable standing for this parameter
        in exported graphs (one per parameter, kept; ``keras_defer.export``)."""
        from keras_defer import export

        return export.parameter_var(self)

    def data(self, ctx=None):
        """The value as an NDArray that reads and writes the Keras variable (as
        Gluon's): ``p.data()[:] = 0`` or ``p.data()[:] += 1`` changes the parameter,
        and every later read sees its current value. The same array each time.
        (Code that needs the variable itself uses ``variable``.)"""
        self._check_initialized()
        if self._replicas and (ctx is not None or len(self._ctx_list) > 1):
            copy = multi_device.copy_for(self, ctx)
            if copy is not self:
                return copy.data()
        array = self.__dict__.get("_data_array")
        if not (isinstance(array, VariableNDArray) and array.variable is self.variable):
            array = VariableNDArray(self.variable, self)
            self._data_array = array
        return array

    def list_data(self):
        """One array per context, in ``list_ctx()`` order."""
        if self._replicas:
            return [self.data(self._ctx_list[0])] + [r.data() for r in self._replicas]
        return [self.data()]

    def grad(self, ctx=None):
        """The gradient buffer as an NDArray (zeros until ``autograd`` writes it); its
        in-place writes (``p.grad()[:] = 0``) go to the buffer. The same array each
        time, and it always shows the current buffer."""
        if self.variable is not None and self._grad_req == "null":
            raise RuntimeError(
                "Cannot get gradient array for Parameter '%s' because grad_req='null'"
                % self._name
            )
        self._check_initialized()
        if self._replicas and (ctx is not None or len(self._ctx_list) > 1):
            copy = multi_device.copy_for(self, ctx)
            if copy is not self:
                return copy.grad()
        array = self.__dict__.get("_grad_array")
        if not (isinstance(array, _GradArray) and array._param is self):
            array = _GradArray(self)
            self._grad_array = array
        return array

    def list_grad(self):
        if self._replicas:
            return [self.grad(self._ctx_list[0])] + [r.grad() for r in self._replicas]
        return [self.grad()]

    def zero_grad(self):
        """Set the gradient buffer(s) to zeros."""
        self._grad = None  # reads as zeros on next use
        for replica in self._replicas or ():
            replica._grad = None

    def _grad_tensor(self):
        """The gradient buffer's tensor, zeros allocated on first use."""
        if self._grad is None:
            self._grad = keras.ops.zeros(self._shape, self._keras_dtype)
        return self._grad

    def _write_grad(self, grad):
        """Take ``grad`` (a backend tensor of this parameter's shape, from
        ``autograd``) as MXNet's ``grad_req`` says: 'write' replaces the buffer,
        'add' accumulates into it until ``zero_grad()``, 'null' ignores it."""
        if self._grad_req == "null" or self.variable is None:
            return
        if keras.backend.standardize_dtype(grad.dtype) != self._keras_dtype:
            grad = keras.ops.cast(grad, self._keras_dtype)
        if self._grad_req == "add" and self._grad is not None:
            grad = keras.ops.add(self._grad, grad)
        self._grad = grad
        self._fresh_grad = True

    def _set_fresh_grad(self, fresh):
        """MXNet's ``data()._fresh_grad = fresh``: a Trainer step clears it (the gradient
        is stale until the next backward); code that writes ``grad()`` itself sets it."""
        self._fresh_grad = bool(fresh)

    def list_ctx(self):
        if self.variable is None:
            if self.pending is not None:
                return self.pending.ctx
            raise RuntimeError("Parameter '%s' has not been initialized" % self._name)
        return self._ctx_list

    def set_data(self, data):
        """Set the value. Before the first pass this also fixes the shape, and the
        registered initializer will not run for this parameter."""
        if not hasattr(data, "shape") or isinstance(data, (str, bytes)):
            converted = np.asarray(data) if isinstance(data, (list, tuple)) else None
            if converted is None or converted.dtype.kind not in "biuf":
                raise TypeError(
                    "Parameter '%s': set_data expects a tensor or array of shape %s, got "
                    "%r of type %s" % (self._name, self._shape, data, type(data).__name__)
                )
            data = converted
        with first_pass.lock():
            self._set_data(data)

    def _set_data(self, data):
        shape = as_shape(tuple(data.shape), self._name)
        # Gluon checks the shape before the state: a contradicting shape is a shape error
        # even on a parameter that was never initialized.
        merged = merge_shapes(self._shape, shape)
        if merged is None or merged != shape:
            raise ShapeMismatchError(
                "Parameter '%s': set_data got shape %s, but the parameter has shape %s."
                % (self._name, shape, self._shape)
            )
        if self.variable is None and self.pending is None:
            raise RuntimeError(not_initialized_message(self._name))
        value = backend.snapshot(data, self._keras_dtype)
        self._shape = shape
        if self.variable is None:
            self.pending = self.pending._replace(data=value)
        else:
            self.variable.assign(value)
            if self._replicas:  # MXNet sets every copy
                multi_device.sync(self)

    def cast(self, dtype):
        """Change the dtype (and the variable's, if it exists)."""
        np.dtype(dtype)
        with first_pass.lock():
            self._dtype = dtype
            if self.variable is not None:
                value = keras.ops.cast(self.variable.value, np.dtype(dtype).name)
                keras_compat.untrack_variable(self._owners, self.variable)
                self.variable = None
                self._store(value, self._ctx_list)

    def reset_ctx(self, ctx):
        ctx = as_context_list(ctx)
        if self.variable is not None:
            with first_pass.lock():
                self._store(self.variable.value, ctx)
        elif self.pending is not None:
            self.pending = self.pending._replace(ctx=ctx)
        else:
            raise ValueError("Cannot reset context for Parameter '%s' because it has "
                             "not been initialized." % self._name)

    def _state(self):
        """Everything a failed first pass must be able to put back."""
        return (self._shape, self.pending, self.variable, self._grad, self._ctx_list)

    def _restore(self, state):
        shape, pending, variable, grad, ctx_list = state
        if self.variable is not None and self.variable is not variable:
            keras_compat.untrack_variable(self._owners, self.variable)
        self._shape, self.pending, self.variable, self._grad, self._ctx_list = state
        if self._replicas or (ctx_list and len(ctx_list) > 1):
            multi_device.sync(self)

    def _checkpoint(self):
        """``_state()`` plus the dtype and a host copy of the value: what a load that
        fails part-way needs to put this parameter back (``_rollback``)."""
        value = None if self.variable is None else np.array(self.variable.numpy(), copy=True)
        return self._dtype, self._state(), value

    def _rollback(self, checkpoint):
        dtype, state, value = checkpoint
        dropped = self.variable is None and state[2] is not None
        self._dtype = dtype
        self._restore(state)
        if dropped:  # ``_set_dtype`` dropped it: the owners track it again
            for layer in self._owners:
                keras_compat.track_variable(layer, self.variable)
        if value is not None:
            self.variable.assign(value)

    def __getstate__(self):
        # copies (deepcopy of a block) make their own arrays for data() and grad()
        state = dict(self.__dict__)
        state.pop("_data_array", None)
        state.pop("_grad_array", None)
        if state.pop("_replicas", None):  # the copy makes its own copies (setstate)
            state["_resync_replicas"] = True
        return state

    def __setstate__(self, state):
        resync = state.pop("_resync_replicas", False)
        self.__dict__.update(state)
        if self.variable is not None:  # a copy's variable is one autograd may differentiate
            _with_variables.add(self)
        if resync and self.variable is not None:
            multi_device.sync(self)

    def __repr__(self):
        return "Parameter {name} (shape={shape}, dtype={dtype})".format(
            name=self._name, shape=self._shape, dtype=self._dtype
        )


class Constant(Parameter):
    """A parameter holding a fixed value (Gluon's ``Constant``): ``grad_req`` is always
    'null', so neither ``autograd`` nor Keras's training changes it; ``initialize()``
    writes ``value`` (again on ``force_reinit``), and ``set_data`` can still change it.
    ``value``: an NDArray or anything ``nd.array`` takes (float32 then)."""

    def __init__(self, name, value):
        if not isinstance(value, NDArray):
            from keras_defer.nd import creation

            value = creation.array(value)
        self.value = value
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                         init=_ConstantValue(value))

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn('Constant parameter "{}" does not support grad_req other than '
                          '"null", and new value "{}" is ignored.'.format(self.name, req),
                          stacklevel=2)

    def __repr__(self):
        return "Constant {name} (shape={shape}, dtype={dtype})".format(
            name=self.name, shape=self.shape, dtype=self.dtype)


class _ConstantValue(initializer.Initializer):
    """A ``Constant``'s initializer: its value, whatever the global initializer."""

    def __init__(self, value):
        super().__init__()
        self._value = value

    def _init_weight(self, name, arr):
        arr[...] = self._value.asnumpy()

    def __repr__(self):
        return "Constant value"


class _GradArray(NDArray):
    """``Parameter.grad()``: an NDArray whose data is the parameter's gradient buffer
    (``Parameter._grad``, written by ``autograd`` through ``_write_grad``); in-place
    writes replace the buffer."""

    __slots__ = ("_param",)

    def __init__(self, param):
        self._param = param
        self._grad = None
        self._grad_req = "null"

    @property
    def shape(self):
        return tuple(self._param.shape)

    @property
    def _data(self):
        return self._param._grad_tensor()

    @_data.setter
    def _data(self, tensor):
        self._param._grad = tensor


def finish_pending_inits(params):
    """Run the registered initializer (or use the ``set_data`` value) of each of
    ``params`` that is pending, in order, now that their shapes are known: the one
    transition from pending to initialized at the first pass."""
    params = [p for p in params if p.pending is not None]
    for param in params:
        param._check_shape_known()
    values = _initial_values([(p.pending, p._value_request(p.pending)) for p in params])
    for param, value in zip(params, values):
        param._materialize(value, param.pending.ctx)


class ParameterDict:
    """An ordered ``name -> Parameter`` map with a prefix, as Gluon's."""

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    @property
    def prefix(self):
        return self._prefix

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __contains__(self, key):
        return key in self._params

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    def items(self):
        return self._params.items()

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._params[name]
        return None

    def get(self, name, **kwargs):
        """The parameter ``prefix + name``: existing (shared) or newly created."""
        full = self._prefix + name
        param = self._get_impl(full)
        if param is None:
            param = Parameter(full, **kwargs)
            self._params[full] = param
            return param
        for key, value in kwargs.items():
            existing = getattr(param, key, None)
            if existing is None:
                if key == "shape":
                    param._fix_shape(value)
                else:
                    setattr(param, key, value)
                continue
            if key == "shape":
                merged = merge_shapes(existing, as_shape(value, full))
                if merged is not None:
                    param._fix_shape(merged)
                    continue
            elif key == "dtype" and np.dtype(value) == np.dtype(existing):
                continue
            if value is not None and value != existing:
                raise ValueError(
                    "Cannot retrieve Parameter '%s' because desired attribute does not "
                    "match with stored for attribute '%s': desired '%s' vs stored '%s'."
                    % (full, key, value, existing)
                )
        return param

    def get_constant(self, name, value=None):
        """The ``Constant`` ``prefix + name``: existing (shared), or made from ``value``
        (an NDArray or array-like), which must then match an existing one."""
        full = self._prefix + name
        param = self._get_impl(full)
        if param is None:
            if value is None:
                raise KeyError("No constant named '{}'. Please specify value if you want "
                               "to create a new constant.".format(full))
            param = Constant(full, value)
            self._params[full] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise AssertionError(
                    "Parameter '{}' already exists but it is not a constant.".format(full))
            value = np.asarray(value)
            if param.shape != value.shape or not (param.value.asnumpy() == value).all():
                raise AssertionError("Constant '{}' already exists but it's value doesn't "
                                     "match new value".format(full))
        return param

    def _replace(self, replace, added):
        """Swap parameters in place, keeping the order: ``replace`` maps ``id(old)``
        to the Parameter taking its entry (under its own name); each of ``added`` not
        held afterwards is appended (sharing)."""
        entries = OrderedDict()
        for key, param in self._params.items():
            if id(param) in replace:
                param = replace[id(param)]
                key = param.name
            entries.setdefault(key, param)
        for param in added:
            if param.name not in entries:
                entries[param.name] = param
        self._params.clear()
        self._params.update(entries)

    def update(self, other):
        """Add ``other``'s parameters; the same name must mean the same Parameter."""
        for key, value in other.items():
            if key in self._params and self._params[key] is not value:
                raise ValueError(
                    "Cannot update self with other because they have different "
                    "Parameters with the same name '%s'" % key
                )
        for key, value in other.items():
            self._params[key] = value

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialize every parameter whose shape is known; register ``init`` for the
        rest. All-or-nothing: if any initializer raises, no parameter changes."""
        force_reinit = check_bool("initialize", "force_reinit", force_reinit)
        check_bool("initialize", "verbose", verbose)
        if backend.in_replica_context():  # strategy.run: once, the same on every replica
            return backend.once_for_all_replicas(lambda: self.initialize(
                init, ctx, verbose, force_reinit))
        default_init = initializer.create(init)
        if verbose:
            default_init.set_verbosity(verbose=verbose)
        with first_pass.lock():
            params = list(self.values())
            plans = [p._plan_initialize(None, ctx, default_init, force_reinit)
                     for p in params]
            to_set = [(p, plan[1]) for p, plan in zip(params, plans) if plan[0] == "set"]
            values = iter(list(_initial_values(  # every value before any change
                [(pending, p._value_request(pending)) for p, pending in to_set])))
            for param, (action, payload) in zip(params, plans):
                if action == "set":
                    payload = (payload, next(values))
                param._apply_plan((action, payload), stacklevel=4)

    def zero_grad(self):
        for param in self.values():
            param.zero_grad()

    def reset_ctx(self, ctx):
        for param in self.values():
            param.reset_ctx(ctx)

    def list_ctx(self):
        seen = []
        for param in self.values():
            for c in param.list_ctx():
                if c not in seen:
                    seen.append(c)
        return seen

    def setattr(self, name, value):
        """Set attribute ``name`` (e.g. 'grad_req', 'lr_mult') on every parameter."""
        if name == "grad_req" and value not in _GRAD_REQS:  # check before any change
            raise ValueError("grad_req must be one of %s, got %r" % (_GRAD_REQS, value))
        for param in self.values():
            setattr(param, name, value)

    def save(self, filename, strip_prefix=""):
        from keras_defer import serialization

        serialization.save_param_dict(self, filename, strip_prefix)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
             restore_prefix="", cast_dtype=False, dtype_source="current"):
        from keras_defer import serialization

        serialization.load_param_dict(
            self, filename, ctx=ctx, allow_missing=allow_missing, ignore_extra=ignore_extra,
            restore_prefix=restore_prefix, cast_dtype=cast_dtype, dtype_source=dtype_source,
        )

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join(indent("  {0}".format(v), 2) for v in self.values())
        return "{name}(\n{content}\n)".format(name=name, content=content)


@functools.lru_cache(maxsize=None)
def _dtype_name(dtype):
    """'float32' for np.float32, 'float32', np.dtype('float32'): asked on every store."""
    return np.dtype(dtype).name
