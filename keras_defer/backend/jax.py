"""JAX: ``hybridize()`` as ``jax.jit``, and a first pass that stays concrete inside
Keras's symbolic traces.

A compiled call is a pure function of the block's variable values and its inputs
(a Keras ``StatelessScope``, as in ``Layer.stateless_call``), traced once per
training mode (``compiled_mode``), which is read from the call context while
tracing, as on TensorFlow (``backend.tensorflow``). What the call changes in
non-trainable state (BatchNorm's running statistics, Dropout's seed) comes back as
values and is assigned to the variables, or recorded by an enclosing stateless scope
(Keras's JAX trainer). Inputs of a new shape are traced again by JAX itself; a wrong
shape raises keras_defer's own error while tracing. The first pass always runs
eagerly.

JAX has no tape to record operations on: ``autograd.record()`` refuses with a
message naming what does work (Keras's ``fit``; ``jax.grad`` of a stateless call).
"""

import contextlib

import jax
import jax.numpy as jnp
import keras
import numpy as np

from keras_defer import keras_compat
from keras_defer.backend.common import (  # noqa: F401  (the same on JAX)
    PLAIN, NotRecorded, compiled_mode, compiled_scope, device_name, end_recording,
    exact_sqrt, matmul, matmul_transposed, module_call, module_parameters, pause_recording,
    random_draw,
    read_variables, records_by_default, resume_recording, split_into,
    unrecorded, watch,
)
from keras_defer.backend.common import in_place_rule  # noqa: F401
from keras_defer.backend.common import in_replica_context, once_for_all_replicas  # noqa: F401
from keras_defer.backend.common import ctc_loss  # noqa: F401
from keras_defer.backend.common import sparse_softmax_cross_entropy  # noqa: F401
from keras_defer.backend.common import from_numpy  # noqa: F401  (keras's is jnp.asarray)
from keras_defer.backend.common import MISS
from keras_defer.backend.jax_fast_path import fast_call as _compiled_call
# initial values in one dispatch each (the same values as Keras's path, bit for bit)
from keras_defer.backend.jax_initial_values import random_draws, zeros  # noqa: F401
from keras_defer.backend.jax_initial_values import tracing as _tracing  # noqa: F401
from keras_defer.backend.jax_initial_values import copy as _copy_array
from keras_defer.backend.jax_eager_plan import first_pass_call as _first_pass_call
from keras_defer.errors import MXNetError

_TRACING_SCOPES = ("stateless_scope", "symbolic_scope")


def compile_call(block, **_):
    """A jitted version of ``block``'s call; the first pass must already be done."""
    call = block._keras_call

    def pure(trainable, non_trainable, args, training):
        del training  # read from the call context while tracing; static: one trace each
        # Keras's stateless_call, but through Layer.__call__ (as on TensorFlow), which
        # resolves ``training`` from the call context; stateless_call runs call()
        # directly. Runs while tracing only: children are traced into this function
        # instead of calling their own compiled versions.
        state = block.non_trainable_variables
        mapping = list(zip(block.trainable_variables, trainable)) + list(zip(state, non_trainable))
        with keras.StatelessScope(state_mapping=mapping) as scope, compiled_scope():
            out = call(*args)
        updated = [scope.get_current_value(v) for v in state]
        return out, [old if new is None else new for old, new in zip(non_trainable, updated)]

    function = jax.jit(pure, static_argnums=3)

    def compiled(*args, **kwargs):
        training = compiled_mode(args, kwargs)
        if training is PLAIN or keras_compat.in_symbolic_scope():
            return call(*args, **kwargs)
        trainable = block.trainable_variables
        non_trainable = block.non_trainable_variables
        out, updated = function([v.value for v in trainable],
                                [v.value for v in non_trainable], args, training)
        for variable, value in zip(non_trainable, updated):
            if value is not variable.value:
                variable.assign(value)
        return out

    return compiled


@contextlib.contextmanager
def concrete_scope():
    """``with concrete_scope():`` computes with concrete values and changes real state,
    even when the first pass runs inside a symbolic trace.

    Keras builds a model for ``fit``/``evaluate``/``predict`` with
    ``backend.compute_output_spec``, which on JAX runs the model inside
    ``jax.eval_shape`` and a Keras ``StatelessScope``: there, unseeded random ops
    refuse to run, operations yield tracers, variables cannot be created from a
    value, and assignments (the global seed generator's too) are only recorded.
    Gluon's first pass initializes parameters right there, once, so this scope steps
    out of both: the stateless (and symbolic) scope is suspended and
    ``jax.ensure_compile_time_eval()`` makes operations on concrete inputs run
    eagerly. Initial values are then real arrays drawn from the global seed
    generator in forward order, exactly as in an eager first pass, and the variable
    the trace reads is already initialized (a constant in the trace).
    """
    if not keras_compat.scopes_active(_TRACING_SCOPES) and not _tracing():
        yield
        return
    with keras_compat.suspended_scopes(_TRACING_SCOPES), jax.ensure_compile_time_eval():
        yield


def fast_call(block, args):
    """The eager fast path: a net called the same way often runs compiled
    (``jax_fast_path``); before that, its first pass runs as a plan of eager
    operations (``jax_eager_plan``), not through ``Layer.__call__``."""
    out = _compiled_call(block, args)
    if out is MISS:
        out = _first_pass_call(block, args)
    return out


def num_gpus():
    return len([d for d in jax.devices() if d.platform == "gpu"])


# -- gradient recording (autograd) -----------------------------------------------------
RECORDING_UNSUPPORTED = (
    "autograd.record() is not available on Keras's JAX backend: JAX records no "
    "operations (it differentiates functions, with jax.grad), so gradients of "
    "imperative code cannot be taken after the fact. Train with Keras instead: "
    "net.compile(optimizer, loss) and net.fit(...) (a Block is a Keras layer, a "
    "Sequential a Keras model); or differentiate a pure function with jax.grad: "
    "jax.grad(lambda values: loss(net.stateless_call(values, state, x)[0]))(params), "
    "where params = [v.value for v in net.trainable_variables] and state = [v.value "
    "for v in net.non_trainable_variables]; or set KERAS_BACKEND to 'tensorflow' or "
    "'torch', where autograd.record() works.")


def begin_recording():
    raise MXNetError(RECORDING_UNSUPPORTED)


def gradients(heads, head_grads, sources, retain_graph=False, create_graph=False):
    raise MXNetError(RECORDING_UNSUPPORTED)


def custom_gradient(inputs, outputs, backward):
    raise MXNetError(RECORDING_UNSUPPORTED)


# -- tensors (NDArray) -----------------------------------------------------------------
def tensor_dtype(t):
    return t.dtype.name


def is_integer(t):
    return t.dtype.kind in "iub"


def is_tensor(x):
    return isinstance(x, jax.Array)


def to_numpy(t):
    return np.array(t)  # np.asarray would give a read-only view


def cast(t, name):
    return t.astype(name)


def trunc_div(a, b):
    a = jnp.asarray(a)
    return jax.lax.div(a, jnp.asarray(b, dtype=a.dtype))


def device_string(t):
    try:
        device = next(iter(t.devices()))
    except Exception:  # a tracer: no device yet
        return "cpu:0"
    return "%s:%d" % (device.platform, device.id)


def stop_gradient(t):
    return jax.lax.stop_gradient(t)


def wait_to_read(t):
    return t.block_until_ready() if hasattr(t, "block_until_ready") else t


def synchronize():
    jax.effects_barrier()


def copy(t):
    return t  # immutable


def to_device(t, ctx):
    ctx.keras_device  # noqa: B018 - MXNetError for a GPU the backend cannot see
    platform = "gpu" if ctx.device_type == "gpu" else "cpu"  # cpu_pinned/_shared: host
    devices = jax.devices(platform)
    # MXNet's cpu(1), cpu(2), ... are all host memory: the host device, as on
    # TensorFlow (soft placement) and PyTorch ("cpu")
    index = ctx.device_id if platform == "gpu" or ctx.device_id < len(devices) else 0
    return jax.device_put(t, devices[index])


def read_variable(variable):
    return variable.value  # immutable: later assignments replace it


def lgamma(t):
    return jax.lax.lgamma(t)


def reshape(t, shape):
    return t.reshape(tuple(shape))


def to_vector(t):
    return t.reshape((1,))


def strided_slice(t, slices):
    return t[slices]  # negative steps included


def adopt_array_type(cls, to_tensor):
    """``jnp.asarray`` (what Keras's JAX ops convert with) takes instances of ``cls``
    through ``__jax_array__``."""
    cls.__jax_array__ = to_tensor


def fuse_rule(fn, static_argnames=()):
    """An optimizer rule compiled with ``jax.jit`` (one dispatch instead of one per op;
    Python floats stay weakly typed, so a float16 weight stays float16)."""
    return jax.jit(fn, static_argnames=static_argnames)


def snapshot(value, dtype=None):
    """A tensor holding ``value`` that aliases no variable: always a copy here. A JAX
    array handed over (``set_data(other.weight.data())``) may be another variable's
    buffer, which ``fit`` donates and deletes."""
    tensor = keras.ops.convert_to_tensor(
        value.value if isinstance(value, keras.Variable) else value, dtype=dtype)
    return _copy_array(tensor)  # jnp.array(tensor, copy=True), in one dispatch


# -- sums across devices (Gluon's 'device' kvstore) -----------------------------------
from keras_defer.backend.common import added_across_devices  # noqa: E402


def sum_across_devices(groups, ctxs, everywhere=False):
    """``common.sum_across_devices`` with JAX's device copies (``jax.device_put``).
    JAX's collectives (``jax.lax.psum``) run inside a mapped function over one sharded
    array, not over separate arrays that Gluon's copies are; and ``autograd.record()``
    refuses here, so no Trainer step reaches this with gradients (what it serves is
    ``allreduce_grads`` of gradients set by hand)."""
    return added_across_devices(groups, ctxs, everywhere, to_device)
