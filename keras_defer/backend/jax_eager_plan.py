"""JAX: the first pass's forward as a plan of eager operations.

On JAX a built net is compiled once it is called the same way ``HOT_CALLS`` times
(``jax_fast_path``); before that, and in particular in the first pass, each call took
Keras's ``Layer.__call__`` for the net and again for every child (a Dense and its
Activation: two), about 40 % of a fresh chapter MLP's ``initialize()`` + first call.
TensorFlow and PyTorch run their first pass as a *plan* (``fast_path``): the ops
Keras's path ends in, without ``Layer.__call__``. Here the same, on JAX, for the first
pass only: once ``_prepare_first_pass`` has built and initialized every child, a
plannable net of Dense and Activation blocks (``fast_path.make_plan``; a plan with
other steps, convolutions or pooling, is not run here) runs its steps eagerly, with the
functions Keras's own path calls (``backend.matmul_transposed`` and ``keras.ops.add``,
as ``Dense.forward``; the activation's JAX function; ``fast_path.PlanOps``), so the
values are the Keras path's bit for bit.

The plan is made for that call and dropped (a JAX variable holds an immutable array,
which the next assignment replaces: a kept plan would read old values), so nothing is
cached that hooks, sharing or ``set_data`` could make stale. Anything else (a tracer,
a Keras scope, training mode for a plan with Dropout or BatchNorm, another input dtype
or rank, an error while running: a wrong shape) returns ``MISS``, and the first pass
takes Keras's path, which computes the same values and raises keras_defer's errors.
"""

import jax
import jax.numpy as jnp
import keras

from keras_defer import backend, fast_path, first_pass, keras_compat
from keras_defer.backend.common import MISS

_state = keras_compat.GLOBAL_STATE
_SCOPES = keras_compat.CALL_SCOPES
_ARRAY = type(jnp.zeros(()))  # a concrete array (not a tracer)
_ERRORS = (TypeError, ValueError, IndexError)
_add = keras.ops.add

# Keras activations and the JAX function each one's Keras path ends in
# (keras.src.backend.jax: nn.relu is jax.nn.relu, numpy.tanh is jnp.tanh).
_RAW_ACTIVATIONS = {
    keras.activations.relu: jax.nn.relu,
    keras.activations.tanh: jnp.tanh,
    keras.activations.linear: None,
}
_ACTIVATION_FUNCTIONS = frozenset(f for f in _RAW_ACTIVATIONS.values() if f is not None)
_DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
_OPS = fast_path.PlanOps()


def _dense_step(step):
    """Whether ``step`` is a Dense's product or an activation (what the first pass on
    JAX plans; other steps, convolutions and pooling, take Keras's path for now)."""
    _, _, act = step
    return act is None or act in _ACTIVATION_FUNCTIONS or (
        getattr(act, "__module__", "") or "").startswith("keras.src.activations")


def _run(steps, x):
    for weight, bias, act in steps:
        if weight is not None:
            x = backend.matmul_transposed(x, weight)  # Dense.forward's product
            if bias is not None:
                x = _add(x, bias)
        if act is not None:
            x = act(x)
    return x


def first_pass_call(block, args):
    """``block(*args)`` by a plan made for this call, inside a first pass; or ``MISS``."""
    if len(args) != 1 or not first_pass.active():
        return MISS
    x = args[0]
    if type(x) is not _ARRAY:
        return MISS
    for scope in _SCOPES:
        if getattr(_state, scope, None) is not None:
            return MISS
    plan = fast_path.make_plan(block, _RAW_ACTIVATIONS, _DTYPES.get, ops=_OPS)
    if plan is None or plan.dtype is None or not all(map(_dense_step, plan.steps)):
        return MISS
    rank = getattr(plan, "rank", None)
    if x.dtype != plan.dtype or (rank is not None and x.ndim != rank):
        return MISS
    if getattr(plan, "inference", False):
        training = keras_compat.context_training()
        if training is not None and training is not False:
            return MISS
    try:
        return _run(plan.steps, x)
    except _ERRORS:
        return MISS  # the Keras path raises keras_defer's own error
