"""Everything TensorFlow-specific in keras_defer lives here (besides the eager fast
path, ``fast_path.py``): ``hybridize()`` and the initializers' random draws.

``hybridize()`` maps to ``tf.function``. One graph is traced per input signature
with the batch dimension left free: the batch size may vary without retracing,
while the feature dimensions stay static, so a block's shape checks still run (at
trace time) and a wrong input raises keras_defer's ``ShapeMismatchError`` instead of
a TensorFlow kernel error. ``jit_compile=True`` asks XLA to compile the graph.

Each signature's graph is kept as a ``ConcreteFunction`` and called directly: that
skips ``tf.function``'s per-call argument binding and trace-cache lookup (about half
of its ~170 us per call on a 2-core CPU); our own cache key is two attribute reads.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from keras_defer.hybrid import compiled_scope


def _feature_dims(shape):
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return tuple(dims[1:])


def compile_call(block, static_alloc=False, static_shape=False, jit_compile=None, **_):
    """A compiled version of ``block``'s call; the first pass must already be done."""
    call = block._keras_call

    def traced(*args):
        # Only runs while tracing: children called from here are traced into this
        # graph instead of calling their own compiled functions.
        with compiled_scope():
            return call(*args)

    graphs = {}

    def compiled(*args, **kwargs):
        if kwargs or not args:
            return call(*args, **kwargs)
        try:
            key = tuple((a.dtype, _feature_dims(a.shape)) for a in args)
        except (AttributeError, ValueError, TypeError):
            return call(*args)  # not arrays, or of unknown rank
        if any(isinstance(a, keras.KerasTensor) for a in args):
            return call(*args)  # functional API: build the Keras graph, not a TF one
        graph = graphs.get(key)
        if graph is None:
            signature = [
                tf.TensorSpec((None,) + tuple(a.shape)[1:], tf.as_dtype(a.dtype)) for a in args
            ]
            function = tf.function(traced, input_signature=signature,
                                   jit_compile=jit_compile, autograph=False)
            graph = function.get_concrete_function()  # traces; raises on a bad shape
            graphs[key] = graph
        return graph(*args)

    return compiled


# -- initial values ----------------------------------------------------------------
# Stateful TF ops seeded by TF's global seed (which keras.utils.set_random_seed
# sets): ~4x cheaper than keras.random's SeedGenerator round trip, and just as
# reproducible. Eagerly, ``uniform`` is three ops (draw, scale, shift) whose
# intermediates are all alive at once: 3x the tensor's bytes. Large tensors are
# drawn in a graph instead, where each op reuses its input's buffer (1x); the
# graph is traced once per dtype, so small tensors stay on the cheaper eager path.
# The graph's ops are stateless, seeded by an eager stateful draw, so
# keras.utils.set_random_seed replays them too.
_LARGE = 1 << 20  # elements


@tf.function(autograph=False)
def _uniform_graph(shape, seed, low, high):
    return tf.random.stateless_uniform(shape, seed, low, high, dtype=low.dtype)


@tf.function(autograph=False)
def _normal_graph(shape, seed, mean, stddev):
    return tf.random.stateless_normal(shape, seed, mean, stddev, dtype=mean.dtype)


def _graph_args(shape, a, b, dtype):
    seed = tf.random.uniform((2,), 0, 2**31 - 1, dtype=tf.int32)
    return (tf.constant(shape, tf.int64), seed, tf.constant(a, dtype), tf.constant(b, dtype))


def random_uniform(shape, low, high, dtype):
    """U(low, high) of ``shape``: a fresh draw on every call."""
    if int(np.prod(shape)) >= _LARGE:
        return _uniform_graph(*_graph_args(shape, low, high, dtype))
    return tf.random.uniform(shape, low, high, dtype=dtype)


def random_normal(shape, mean, stddev, dtype):
    """N(mean, stddev) of ``shape``: a fresh draw on every call."""
    if int(np.prod(shape)) >= _LARGE:
        return _normal_graph(*_graph_args(shape, mean, stddev, dtype))
    return tf.random.normal(shape, mean, stddev, dtype=dtype)


_SHARED_ZEROS_MAX = 1 << 16  # elements: small tensors only, the cache stays < 16 MiB


@functools.lru_cache(maxsize=64)
def _shared_zeros(shape, dtype):
    return tf.zeros(shape, dtype=dtype)


def zeros(shape, dtype):
    """A zeros tensor, shared between calls for small shapes when eager.

    Biases are created by the thousand (``initialize()`` on a deep net); one ``Fill``
    op less per variable is ~10 % of its creation. Sharing is safe: an eager tensor
    is immutable, and a variable created from it owns a copy."""
    shape = tuple(int(d) for d in shape)
    if tf.executing_eagerly() and int(np.prod(shape)) <= _SHARED_ZEROS_MAX:
        return _shared_zeros(shape, tf.as_dtype(dtype).name)
    return tf.zeros(shape, dtype=dtype)
