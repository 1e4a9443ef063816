"""JAX's eager fast path: a built net called eagerly the same way again and again runs
as one jitted function of its variables' values and its inputs.

On JAX every eager operation is a separate XLA dispatch (~10-100 us) and Keras's
``Layer.__call__`` adds its own bookkeeping per layer, so a 30-layer MLP costs ~10 ms
per call where the same computation jitted costs ~0.3 ms. ``hybridize()`` already
compiles (``backend.jax.compile_call``); this does the same, unasked, where nothing
observable can change:

* every block of the net is keras_defer's own (its ``forward``/``call`` defined in
  ``keras_defer``, not a user's Python, which must run on every call as in Gluon;
  no ``Lambda``, no NDArray forward), built, not hybridized, with no forward hooks,
  its ``__call__`` ``Block.__call__`` (``fast_path.plannable_call``);
* the call is eager: one or more concrete JAX arrays, no keyword, no Keras scope
  (autocast, stateless, symbolic, distribution), inference mode (``training`` not
  True: Dropout and BatchNorm change nothing), not inside a compiled parent;
* the trace reads no variable it does not get as an argument (any closed-over array
  constant refuses) and assigns none.

One function per block is kept in ``block._fast_plan`` (dropped by
``Block._forget_compiled_state``: hooks, sharing) and checked on every call: the
same variable behind each parameter, the same children, nothing hybridized or
hooked since. Values are read at each call, so ``set_data``, ``load_parameters``,
``initialize(force_reinit=True)`` and optimizer steps are seen by the next call.

Compiling costs ~25 eager calls, so a signature (training flag, input shapes and
dtypes) is compiled only at its ``HOT_CALLS``-th call with the net unchanged (and at
most ``MAX_SIGNATURES`` per net); before that, and for anything refused or failing
(a wrong shape raises while tracing), the call returns ``MISS`` and takes the
ordinary Keras path, which computes the same values and raises keras_defer's own
errors.
"""

import jax
import jax.numpy as jnp
import keras

from keras_defer import fast_path, keras_compat
from keras_defer.backend.common import MISS, compiled_scope

HOT_CALLS = 8
"""A signature is compiled at its HOT_CALLS-th call (tests set 1)."""
MAX_SIGNATURES = 8
"""At most this many compiled signatures per net; later ones stay eager."""

_state = keras_compat.GLOBAL_STATE
_SCOPES = keras_compat.CALL_SCOPES
_ARRAY = type(jnp.zeros(()))  # a concrete array (not a tracer)
_HOOKS = "_gluon_forward_hooks"
_REFUSED = object()  # a signature that cannot be compiled: always MISS


class Unfit(Exception):
    """Raised while planning or tracing: the call cannot be compiled unasked."""


def _check_block(block, root):
    """Refuses (``Unfit``) a block whose call a compiled net may not replace. A
    hybridized block inside the net (``nn.Sequential.hybridize()`` hybridizes the
    children) is traced into the net's function, as into a hybridized parent's, once
    its own first call after ``hybridize()`` is done (that one builds Gluon's graph)."""
    cls = type(block)
    own = fast_path.own_code
    if (not block.built or block.__dict__.get(_HOOKS)
            or (block._compiled_call is not None
                and (root or "_export_graph" not in block.__dict__))
            or cls.__call__ not in fast_path._PLANNABLE_CALLS
            or getattr(block, "_forward_on_ndarrays", False)
            or not (own(cls, "forward") and own(cls, "call"))):
        raise Unfit


class CompiledNet:
    """What one net compiles to: the variables its functions take (in order), what
    must stay as it is for them to hold, and one jitted function per signature."""

    __slots__ = ("block", "variables", "params", "containers", "signatures")

    def __init__(self, block):
        containers, params, seen = [], [], set()
        pending = [block]
        while pending:
            current = pending.pop()
            _check_block(current, current is block)
            children = tuple(current._children.values())
            containers.append((current, children, current._compiled_call))
            for param in current._reg_params.values():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    if param.variable is None:
                        raise Unfit
                    params.append((param, param.variable))
            pending.extend(children)
        for param in block.collect_params().values():
            if id(param) not in seen:
                seen.add(id(param))
                if param.variable is None:
                    raise Unfit
                params.append((param, param.variable))
        variables, ids = [], set()
        for variable in [v for _, v in params] + list(block.variables):
            if id(variable) not in ids:
                ids.add(id(variable))
                variables.append(variable)
        self.block = block
        self.variables = tuple(variables)
        self.params = tuple(params)
        self.containers = tuple(containers)
        self.signatures = {}

    def valid(self):
        for param, variable in self.params:
            if param.variable is not variable:
                return False
        for block, children, compiled in self.containers:
            if (block._compiled_call is not compiled or block.__dict__.get(_HOOKS)
                    or tuple(block._children.values()) != children):
                return False
        return True

    def compile(self, args):
        """The compiled function of ``args``' signature; raises ``Unfit``."""
        variables, call = self.variables, self.block._keras_call

        def pure(values, inputs):
            mapping = list(zip(variables, values))
            with keras.StatelessScope(state_mapping=mapping) as scope, compiled_scope():
                out = call(*inputs)
            for variable, value in mapping:
                if scope.get_current_value(variable) is not value:
                    raise Unfit  # assigned a variable: not a pure inference call
            return out

        values = [v.value for v in variables]
        try:
            traced = jax.jit(pure).trace(values, args)
        except Unfit:
            raise
        except Exception as exc:  # a wrong shape, an output that is not arrays...
            raise Unfit from exc
        if any(getattr(c, "ndim", 0) for c in traced.jaxpr.consts):
            raise Unfit  # read an array it was not given: it would be frozen in
        return traced.lower().compile()

    def __deepcopy__(self, memo):
        return None  # a copied net compiles its own, on its own variables

    def __reduce__(self):
        return (type(None), ())


class _Signature:
    __slots__ = ("calls", "function")

    def __init__(self):
        self.calls, self.function = 0, None


def fast_call(block, args):
    """``block(*args)`` computed by its compiled function, or ``MISS``."""
    if not args:
        return MISS
    for x in args:
        if type(x) is not _ARRAY:
            return MISS
    for scope in _SCOPES:
        if getattr(_state, scope, None) is not None:
            return MISS
    training = keras_compat.context_training()
    if training is not None and training is not False:
        return MISS
    net = block.__dict__.get("_fast_plan")
    if net is None or not net.valid():
        try:
            net = CompiledNet(block)
        except Unfit:
            object.__setattr__(block, "_fast_plan", None)
            return MISS
        object.__setattr__(block, "_fast_plan", net)
    key = tuple((x.shape, x.dtype) for x in args)
    signature = net.signatures.get(key)
    if signature is None:
        if len(net.signatures) >= MAX_SIGNATURES:
            return MISS
        signature = net.signatures[key] = _Signature()
    function = signature.function
    if function is None:
        signature.calls += 1
        if signature.calls < HOT_CALLS:
            return MISS
        try:
            function = net.compile(args)
        except Unfit:
            function = _REFUSED
        signature.function = function
    if function is _REFUSED:
        return MISS
    try:
        return function([v.value for v in net.variables], args)
    except Exception:  # e.g. inputs on another device: the Keras path decides
        return MISS
