"""Plans for the eager fast path: a built block's forward flattened into steps.

A backend with a fast path (TensorFlow: ``backend.tf_fast_path``) runs a block's
*plan* instead of calling it through Keras: a list of steps
``(weight, bias, activation)``, each computing ``activation(x · weightᵀ + bias)``
(any part may be None), holding the backend's own variables and functions. A plan
is made once and validated on every call: each parameter still has the same
variable, each container the same children, and nothing got hybridized since.

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
    """``steps``: tuples ``(weight, bias, activation)``; any may be None."""

    __slots__ = ("steps", "dtype", "rank2", "params", "containers")

    def __init__(self, steps, dtype, params, containers):
        self.steps = tuple(steps)
        self.dtype = dtype
        self.rank2 = any(s[0] is not None for s in steps)
        self.params = tuple(params)
        self.containers = tuple(containers)

    def valid(self):
        for param, variable in self.params:
            if param.variable is not variable:
                return False
        for block, children in self.containers:
            if block._compiled_call is not None or (
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

    def __init__(self, raw_activations):
        self.steps, self.params, self.containers, self.dtypes = [], [], [], set()
        self._raw_activations = raw_activations

    def add(self, block):
        """Plan ``block``: the conditions every block meets, then its own steps."""
        cls = type(block)
        owner = _planning_class(cls)
        if (owner is None or not block.built or block._compiled_call is not None
                or cls.__call__ not in _PLANNABLE_CALLS
                or block.__dict__.get("_gluon_forward_hooks")  # hooks run in its call
                or block.compute_dtype != block.variable_dtype
                or cls.forward is not owner.forward or cls.call is not owner.call):
            raise Unplannable
        self.dtypes.add(block.compute_dtype)
        block._plan_step(self)

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
        self.containers.append((block, children))

    def step(self, weight=None, bias=None, activation=None):
        self.steps.append((weight, bias, activation))


def make_plan(block, raw_activations, native_dtype):
    """``block``'s plan, or None. ``raw_activations`` maps Keras activations to the
    backend's own functions; ``native_dtype`` turns a dtype name into the backend's
    dtype, which a call's input is compared with."""
    planner = Planner(raw_activations)
    try:
        planner.add(block)
    except Unplannable:
        return None
    if len(planner.dtypes) != 1:
        return None
    return Plan(planner.steps, native_dtype(planner.dtypes.pop()), planner.params,
                planner.containers)
