"""JAX: a first pass's initial values in one dispatch each, the same values bit for bit.

Every eager JAX operation is its own XLA dispatch (30-150 us each on a 2-core CPU), and
cProfile of a fresh chapter MLP's ``initialize()`` + first call put a fifth of the time
in the draw alone: ``keras.random.uniform`` is five dispatches (the global seed
generator's copy of its state, its next state ``(s + 1) * 5387 % 933199`` in three,
``jax.random.uniform``), a grouped draw's split one more and a reshape per piece,
``jnp.zeros`` two, and Keras's and our own checks for an active trace make an array
each. Here:

* ``random_draws``: a 'uniform' draw, split into its pieces (``init.Draws``), is one
  call of a ``jax.jit`` function (compiled once per shapes and dtype, then cached by
  jit) of the global seed generator's state: it returns the generator's next state,
  assigned as Keras assigns it, and the pieces. The operations are Keras's own on the
  same operands (the draw is ``jax.random.uniform``, already one compiled function in
  Keras's path; split and reshape move data only), so the values are bit for bit
  those of ``keras.random.uniform`` and the generator advances exactly as it would
  (``tests/test_first_call_speedups.py`` compares both, and pins values recorded before
  this module existed). 'normal' draws keep Keras's path: its ``* stddev + mean``
  runs as two eager operations, which one compiled function could contract into a
  fused multiply-add, i.e. other bits.
* ``zeros``: a jitted ``jnp.zeros`` per shape and dtype, a fresh array each time (a
  Keras variable may hold it, and ``fit`` donates variables' buffers).
* ``tracing``: whether a JAX trace is active, without making an array at top level.
* ``copy``: the copy a new variable is made from (``snapshot``), one compiled dispatch.

Where Keras's path would do anything else (a Keras stateless or symbolic scope, a JAX
trace, a distribution, another dtype than a float) ``random_draws`` returns None and
the caller takes Keras's path.
"""

import functools

import jax
import jax.numpy as jnp
import keras
import numpy as np
from keras.src.random import seed_generator as _seeds

from keras_defer import keras_compat

try:  # JAX's trace context: at top level nothing is traced (cheap to ask)
    from jax._src.core import trace_ctx as _trace_ctx

    _at_top_level = _trace_ctx.is_top_level
except (ImportError, AttributeError):  # pragma: no cover - another JAX: the slow way
    _at_top_level = None

_SCOPES = ("stateless_scope", "symbolic_scope", "distribution")
_state = keras_compat.GLOBAL_STATE


def tracing():
    """Whether operations here would yield tracers (a ``jax.jit``, ``jax.grad`` or
    ``eval_shape`` is tracing, outside ``jax.ensure_compile_time_eval``)."""
    if _at_top_level is not None and _at_top_level():
        return False
    return isinstance(jnp.zeros(()), jax.core.Tracer)


def _uniform_pieces(state, minval, maxval, shapes, dtype):
    """Keras's ``SeedGenerator.next(ordered=False)`` and ``jax.random.uniform`` of
    ``shapes`` (one shape: drawn in it; several: drawn flat and split, as
    ``init.Draws`` groups them)."""
    one = jnp.asarray(1, dtype=state.dtype)  # Keras converts the 1 to the state's dtype
    new_state = (state + one) * 5387 % 933199
    seed = state * 1
    if len(shapes) == 1:
        return new_state, [jax.random.uniform(seed, shapes[0], dtype, minval, maxval)]
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = jax.random.uniform(seed, (sum(sizes),), dtype, minval, maxval)
    pieces = jnp.split(flat, np.cumsum(sizes)[:-1].tolist())
    return new_state, [jnp.reshape(p, shape) for p, shape in zip(pieces, shapes)]


_draw = jax.jit(_uniform_pieces, static_argnums=(3, 4))


@functools.lru_cache(maxsize=None)
def _float_dtype(dtype):
    try:
        return bool(jnp.issubdtype(jnp.dtype(dtype), jnp.floating))
    except TypeError:
        return False


def random_draws(kind, shapes, scale, shift, dtype):
    """``init.Draws``' values of ``shapes``: ``unit * scale + shift``, ``unit`` one
    standard ``kind`` draw (drawn in ``shapes[0]`` when there is one shape, else flat and
    split), from Keras's global seed generator; or None where Keras's path must run."""
    if kind != "uniform" or not _float_dtype(str(dtype)):
        return None
    for key in _SCOPES:
        if getattr(_state, key, None) is not None:
            return None
    if tracing():
        return None
    generator = getattr(_state, _seeds.GLOBAL_SEED_GENERATOR, None)
    if generator is None:
        generator = _seeds.global_seed_generator()  # made here, as Keras makes it
    shapes = tuple(tuple(int(d) for d in shape) for shape in shapes)
    # Keras's keras.random.uniform(shape, shift, shift + scale): the same Python floats
    new_state, pieces = _draw(generator.state.value, shift, shift + scale, shapes,
                              str(dtype))
    generator.state.assign(new_state)
    return pieces


@functools.partial(jax.jit, static_argnums=(0, 1))
def _zeros(shape, dtype):
    return jnp.zeros(shape, dtype)


def zeros(shape, dtype):
    """``keras.ops.zeros(shape, dtype)`` (a fresh array) in one dispatch."""
    if tracing():
        return keras.ops.zeros(shape, dtype=dtype)
    return _zeros(tuple(int(d) for d in shape), keras.backend.standardize_dtype(dtype))


_jitted_copy = jax.jit(lambda value: jnp.array(value, copy=True))
_ARRAY = type(jnp.zeros(()))  # a concrete array (not a tracer)
_SINGLE_DEVICE = jax.sharding.SingleDeviceSharding


def copy(tensor):
    """``jnp.array(tensor, copy=True)``: a new buffer with the same bits, in one compiled
    dispatch (6 us against 33) for a concrete array on one device (what a variable is
    made from: ``snapshot``); XLA never hands back a parameter's own buffer as an
    output it was not told to donate."""
    if type(tensor) is _ARRAY and isinstance(tensor.sharding, _SINGLE_DEVICE) \
            and not tracing():
        return _jitted_copy(tensor)
    return jnp.array(tensor, copy=True)
