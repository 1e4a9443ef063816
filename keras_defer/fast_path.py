"""Plans for the eager fast path: a built block's forward flattened into steps.

A backend with a plan-based fast path (``backend.tf_fast_path``,
``backend.torch_fast_path``; JAX compiles whole nets instead, ``backend.jax_fast_path``)
runs a block's *plan* instead of calling it through Keras: a list of steps
``(weight, bias, activation)``, each computing ``activation(x · weightᵀ + bias)``
(any part may be None), holding the backend's own variables and functions. A plan
is made once and validated on every call: each parameter still has the same
variable, each container the same children, and nothing got hybridized since.

Hybridized children (``nn.Sequential.hybridize()`` hybridizes each child, as Gluon
does) are not planned step by step: where the backend can (TensorFlow, ``compile_run``)
consecutive ones become one step that runs them as one compiled graph, what their
own compiled calls would compute one after the other (``Planner._add_to_run``).

The planner knows no layer. A block that can be planned says how: its class
defines ``_plan_step(planner)``, which adds its steps (``planner.step``), the
variables they read (``planner.variable``) and what must not change
(``planner.watch``), or raises ``Unplannable``; a container asks ``planner.add``
for each child. A step that is not ``x · Wᵀ + b`` (a convolution, a pooling) is one
function of the running tensor, made from the backend's plan operations
(``planner.ops``: the functions Keras's own operations end in on that backend, with
their static arguments bound, so the values are the Keras path's bit for bit); the
planner follows the tensor's rank (``require_rank``, ``set_rank``) so that a plan
checks only its input's rank, and a block that computes differently in training
(Dropout, BatchNorm) plans its inference form and marks the plan
(``inference_only``): it runs only where Keras's call context is not training.
``add`` checks what holds for every block first:

* built, and not hybridized (a hybridized block runs its compiled graph instead);
* its ``__call__`` is ``Block.__call__`` (marked ``plannable_call``): a plan skips
  ``__call__`` of every block in it; so it has no forward hooks (``hooks``) either;
* its ``forward`` and ``call`` are those of the class defining ``_plan_step``: a
  subclass overriding either computes something else, so it is not planned unless it
  defines its own ``_plan_step``;
* ``compute_dtype == variable_dtype`` (no mixed precision), one dtype in the plan.
"""

import functools
import math

from keras_defer import keras_compat

__all__ = ["Unplannable", "Plan", "Planner", "PlanOps", "make_plan", "plannable_call"]

_PLANNABLE_CALLS = set()


def plannable_call(call):
    """Mark ``call`` (a ``__call__``) as one a plan may skip; a block whose class
    has another ``__call__`` is never planned, since that one must run."""
    _PLANNABLE_CALLS.add(call)
    return call


class Unplannable(Exception):
    """Raised while planning: a block's forward is not one a plan can replace."""


class Plan:
    """``steps``: tuples ``(weight, bias, activation)``; any may be None.

    ``rank``: the rank the input must have (None: any). ``inference``: whether the
    plan holds the inference form of a block that computes differently in training.

    ``values``: for a backend whose variables hold a mutable tensor that a variable
    could swap for another (PyTorch: ``keras_compat.set_variable_tensor``), the tensor
    each variable held when planned (``keras_compat.variable_tensor``), checked too;
    else None."""

    __slots__ = ("steps", "dtype", "rank", "inference", "params", "containers", "values")

    def __init__(self, steps, dtype, params, containers, values=None, rank=None,
                 inference=False):
        self.steps = tuple(steps)
        self.dtype = dtype
        self.rank = rank
        self.inference = inference
        self.params = tuple(params)
        self.containers = tuple(containers)
        self.values = None if values is None else tuple(values)

    def valid(self):
        for param, variable in self.params:
            if param.variable is not variable:
                return False
        if self.values is not None:
            tensor = keras_compat.variable_tensor
            for (_, variable), value in zip(self.params, self.values):
                if tensor(variable) is not value:
                    return False
        for block, children, compiled in self.containers:
            if block._compiled_call is not compiled or (
                children is not None and tuple(block._children.values()) != children
            ):
                return False
        return True

    def __deepcopy__(self, memo):
        return None  # a copied block plans again, on its own variables

    def __reduce__(self):
        return (type(None), ())  # steps are closures: an unpickled block plans again


@functools.lru_cache(maxsize=None)
def _planning_class(cls):
    """The class in ``cls``'s MRO that defines ``_plan_step``, or None."""
    return next((klass for klass in cls.__mro__ if "_plan_step" in vars(klass)), None)


class Planner:
    """Collects a plan; handed to each block's ``_plan_step``."""

    Unplannable = Unplannable

    def __init__(self, raw_activations, compile_run=None, ops=None):
        self.steps, self.params, self.containers, self.dtypes = [], [], [], set()
        self._raw_activations = raw_activations
        self._compile_run = compile_run
        self._ops = ops
        self._run, self._depth, self.runs, self.eager_steps = [], 0, 0, 0
        self.input_rank = self.rank = None  # None: the input's own, not yet required
        self.inference = False

    @property
    def ops(self):
        """The backend's plan operations (``tf_fast_path.PlanOps``,
        ``torch_fast_path.PlanOps``): each takes an operation's static arguments and
        returns the function of tensors that Keras's operation ends in."""
        if self._ops is None:
            raise Unplannable
        return self._ops

    def require_rank(self, rank):
        """The next step needs a tensor of ``rank`` dimensions: the plan's input must
        have it if no step changed the rank yet; otherwise it is known here."""
        if self.rank is None:  # every step so far kept the input's rank
            self.input_rank = self.rank = rank
        elif self.rank != rank:
            raise Unplannable  # the Keras path raises its own error

    def set_rank(self, rank):
        """The last step's output has ``rank`` dimensions (a step that changes the
        rank says so; one that keeps it says nothing)."""
        self.rank = rank

    def inference_only(self):
        """The plan holds a block's inference form: it runs only where the Keras path
        would not be training."""
        self.inference = True

    def flatten_to(self, features):
        """A ``Dense`` with ``flatten=True`` reshapes an input of another rank than 2
        to ``(-1, features)`` (``keras.ops.reshape``): a step where the rank is known
        to differ; at the plan's input the rank is then required to be 2."""
        if self.rank is not None and self.rank != 2:
            self.step(activation=self.ops.reshape((-1, int(features))))
            self.rank = 2

    def add(self, block):
        """Plan ``block``: the conditions every block meets, then its own steps."""
        cls = type(block)
        if self._depth and block._compiled_call is not None and self._compile_run is not None:
            self._add_to_run(block)
            return
        owner = _planning_class(cls)
        if (owner is None or not block.built or block._compiled_call is not None
                or cls.__call__ not in _PLANNABLE_CALLS
                or block.__dict__.get("_gluon_forward_hooks")  # hooks run in its call
                or block.compute_dtype != block.variable_dtype
                or cls.forward is not owner.forward or cls.call is not owner.call):
            raise Unplannable
        self.dtypes.add(block.compute_dtype)
        self._depth += 1
        try:
            block._plan_step(self)
        finally:
            self._depth -= 1

    def _add_to_run(self, block):
        """A hybridized child (not the planned block itself) joins the run of
        consecutive hybridized children compiled together (``compile_run``), which
        computes what their own compiled calls compute, in one graph. Only once its
        first call after ``hybridize()`` is done (that one builds Gluon's graph), and
        only when its whole subtree is keras_defer's own code without hooks, whose
        tracing has no effect a user could see."""
        options = block.__dict__.get("_hybrid_options", {})
        if (not block.built or "_export_graph" not in block.__dict__
                or (self._run and options != self._run[0].__dict__.get("_hybrid_options", {}))):
            raise Unplannable
        for member in block._iter_blocks():
            cls = type(member)
            if (cls.__call__ not in _PLANNABLE_CALLS or not member.built
                    or member.__dict__.get("_gluon_forward_hooks")
                    or getattr(member, "_forward_on_ndarrays", False)
                    or not (own_code(cls, "forward") and own_code(cls, "call"))):
                raise Unplannable
            for param in member._reg_params.values():
                if param is not None:
                    if param.variable is None:
                        raise Unplannable
                    self.params.append((param, param.variable))
        self.containers.append((block, tuple(block._children.values()), block._compiled_call))
        self._run.append(block)

    def finish(self):
        """Close the pending run, if any."""
        if self._run:
            self.steps.append((None, None, self._compile_run(tuple(self._run))))
            self.runs += 1
            self._run = []

    def variable(self, param):
        """The backend's own variable behind ``param`` (no autocast or stateless
        scope is active), which the plan will check is still ``param``'s."""
        variable = param.variable
        if variable is None:
            raise Unplannable
        self.params.append((param, variable))
        return variable.value

    def activation(self, fn):
        """The backend's own form of Keras activation ``fn`` (None: the identity)."""
        return self._raw_activations.get(fn, fn)

    def watch(self, block, children=None):
        """The plan is invalid once ``block`` is hybridized or (given ``children``)
        its children change. A block with forward hooks cannot be in a plan (a
        ``Dense`` plans its ``act`` without calling it)."""
        if block.__dict__.get("_gluon_forward_hooks"):
            raise Unplannable
        self.containers.append((block, children, None))

    def step(self, weight=None, bias=None, activation=None):
        """``activation(x · weightᵀ + bias)``; with no weight, ``activation`` is any
        function of the running tensor (elementwise, or a step made from ``ops``)."""
        if weight is not None:
            self.require_rank(2)
        self.finish()
        self.eager_steps += 1
        self.steps.append((weight, bias, activation))


_K = keras_compat.BACKEND_FUNCTIONS


class PlanOps:
    """The operations a layer's plan is made of (``Planner.ops``): each method takes
    the static arguments of the ``keras.ops`` function of the same name, as the
    layer's forward passes them, and returns the function of tensors that
    ``keras.ops`` ends in on the active backend (``keras_compat.BACKEND_FUNCTIONS``),
    so a plan computes the Keras path's values bit for bit while skipping
    ``keras.ops``' symbolic checks and ``Layer.__call__``. A backend overrides an
    operation where Keras's own function does work per call that a plan can do once
    (``tf_fast_path.PlanOps.conv``), keeping the operations it ends in."""

    def transpose(self, axes):
        f = _K.numpy.transpose
        return lambda x: f(x, axes)

    def transpose_fixed(self, axes, shape):
        """``transpose(axes)`` of tensors of one fixed ``shape`` (a variable's)."""
        return self.transpose(axes)

    def reshape(self, shape):
        f = _K.numpy.reshape
        return lambda x: f(x, shape)

    def flatten(self):
        """``nn.Flatten``'s ``keras.ops.reshape(x, (-1, prod(x.shape[1:])))``."""
        f, prod = _K.numpy.reshape, math.prod
        return lambda x: f(x, (-1, int(prod(x.shape[1:]))))

    def pad(self, widths, value):
        f = _K.numpy.pad
        return lambda x: f(x, widths, "constant", value)

    def add(self):
        return _K.numpy.add

    def bias_add(self, channels):
        """``keras.ops.add(y, bias)``: a channels-last ``y``, a bias of ``channels``."""
        return self.add()

    def multiply(self):
        return _K.numpy.multiply

    def cast(self, dtype):
        f = _K.core.cast
        return lambda x: f(x, dtype)

    def rsqrt(self):
        return _K.math.rsqrt

    def tensor(self, value):
        """What ``keras.ops`` makes of a numpy operand, made once."""
        return _K.core.convert_to_tensor(value)

    def item(self, index):
        """``x[index]`` (basic slicing)."""
        return lambda x: x[index]

    def split(self, sections, axis):
        f = _K.numpy.split
        return lambda x: f(x, sections, axis=axis)

    def concatenate(self, axis):
        f = _K.numpy.concatenate
        return lambda xs: f(xs, axis=axis)

    def max(self, axes):
        f = _K.numpy.max
        return lambda x: f(x, axis=axes, keepdims=True)

    def mean(self, axes):
        f = _K.numpy.mean
        return lambda x: f(x, axis=axes, keepdims=True)

    def conv(self, strides, padding, dilation):
        """``keras.ops.conv(x, kernel, strides, padding, 'channels_last', dilation)``."""
        f = _K.nn.conv
        return lambda x, kernel: f(x, kernel, strides, padding, "channels_last", dilation)

    def depthwise_conv(self, strides, padding, dilation):
        f = _K.nn.depthwise_conv
        return lambda x, kernel: f(x, kernel, strides, padding, "channels_last", dilation)

    def conv_transpose(self, strides, output_padding):
        """``keras.ops.conv_transpose(x, kernel, strides, 'valid', output_padding,
        'channels_last')``."""
        f = _K.nn.conv_transpose
        return lambda x, kernel: f(x, kernel, strides, "valid", output_padding,
                                   "channels_last", 1)

    def max_pool(self, pool_size, strides):
        """``keras.ops.max_pool(x, pool_size, strides, 'valid', 'channels_last')``."""
        f = _K.nn.max_pool
        return lambda x: f(x, pool_size, strides, "valid", "channels_last")

    def average_pool(self, pool_size, strides):
        f = _K.nn.average_pool
        return lambda x: f(x, pool_size, strides, "valid", "channels_last")


def own_code(cls, name):
    """Whether ``cls.<name>`` is keras_defer's own code (not a user's Python, which
    Gluon runs on every call)."""
    module = getattr(getattr(cls, name, None), "__module__", None) or ""
    return module == "keras_defer" or module.startswith("keras_defer.")


def current_plan(block, *args, **kwargs):
    """``block``'s plan, made again (``make_plan(block, *args, **kwargs)``) when it has
    none or the one it has is no longer valid; None where the block is unplannable."""
    plan = block.__dict__.get("_fast_plan")
    if plan is None or not plan.valid():
        plan = make_plan(block, *args, **kwargs)
        object.__setattr__(block, "_fast_plan", plan)
    return plan


def make_plan(block, raw_activations, native_dtype, check_values=False, compile_run=None,
              ops=None):
    """``block``'s plan, or None. ``raw_activations`` maps Keras activations to the
    backend's own functions; ``native_dtype`` turns a dtype name into the backend's
    dtype, which a call's input is compared with (None: no input is). With
    ``check_values``, the plan is also invalid once a variable holds another tensor
    (``Plan.values``). ``compile_run(blocks)``, where the backend has it, compiles
    consecutive hybridized children into one step (``Planner._add_to_run``); a plan
    is then made of runs only (None: any input dtype), so that it never runs part of
    a computation eagerly before a compiled part fails. ``ops``: the backend's plan
    operations (``Planner.ops``), None where it has none."""
    planner = Planner(raw_activations, compile_run, ops)
    try:
        planner.add(block)
        planner.finish()
    except Unplannable:
        return None
    if planner.runs:
        if planner.eager_steps:
            return None
        return Plan(planner.steps, None, planner.params, planner.containers)
    if len(planner.dtypes) != 1:
        return None
    dtype = native_dtype(planner.dtypes.pop())
    if dtype is None:
        return None
    values = None
    if check_values:
        values = [keras_compat.variable_tensor(variable) for _, variable in planner.params]
    return Plan(planner.steps, dtype, planner.params, planner.containers, values,
                planner.input_rank, planner.inference)
