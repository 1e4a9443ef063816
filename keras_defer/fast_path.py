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
for each child. ``add`` checks what holds for every block first:

* built, and not hybridized (a hybridized block runs its compiled graph instead);
* its ``__call__`` is ``Block.__call__`` (marked ``plannable_call``): a plan skips
  ``__call__`` of every block in it; so it has no forward hooks (``hooks``) either;
* its ``forward`` and ``call`` are those of the class defining ``_plan_step``: a
  subclass overriding either computes something else, so it is not planned unless it
  defines its own ``_plan_step``;
* ``compute_dtype == variable_dtype`` (no mixed precision), one dtype in the plan.
"""

import functools

from keras_defer import keras_compat

__all__ = ["Unplannable", "Plan", "Planner", "make_plan", "plannable_call"]

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

    ``values``: for a backend whose variables hold a mutable tensor that a variable
    could swap for another (PyTorch: ``keras_compat.set_variable_tensor``), the tensor
    each variable held when planned (``keras_compat.variable_tensor``), checked too;
    else None."""

    __slots__ = ("steps", "dtype", "rank2", "params", "containers", "values")

    def __init__(self, steps, dtype, params, containers, values=None):
        self.steps = tuple(steps)
        self.dtype = dtype
        self.rank2 = any(s[0] is not None for s in steps)
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


@functools.lru_cache(maxsize=None)
def _planning_class(cls):
    """The class in ``cls``'s MRO that defines ``_plan_step``, or None."""
    return next((klass for klass in cls.__mro__ if "_plan_step" in vars(klass)), None)


class Planner:
    """Collects a plan; handed to each block's ``_plan_step``."""

    Unplannable = Unplannable

    def __init__(self, raw_activations, compile_run=None):
        self.steps, self.params, self.containers, self.dtypes = [], [], [], set()
        self._raw_activations = raw_activations
        self._compile_run = compile_run
        self._run, self._depth, self.runs, self.eager_steps = [], 0, 0, 0

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
        self.finish()
        self.eager_steps += 1
        self.steps.append((weight, bias, activation))


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


def make_plan(block, raw_activations, native_dtype, check_values=False, compile_run=None):
    """``block``'s plan, or None. ``raw_activations`` maps Keras activations to the
    backend's own functions; ``native_dtype`` turns a dtype name into the backend's
    dtype, which a call's input is compared with (None: no input is). With
    ``check_values``, the plan is also invalid once a variable holds another tensor
    (``Plan.values``). ``compile_run(blocks)``, where the backend has it, compiles
    consecutive hybridized children into one step (``Planner._add_to_run``); a plan
    is then made of runs only (None: any input dtype), so that it never runs part of
    a computation eagerly before a compiled part fails."""
    planner = Planner(raw_activations, compile_run)
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
    return Plan(planner.steps, dtype, planner.params, planner.containers, values)
