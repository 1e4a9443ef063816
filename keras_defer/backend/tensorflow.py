"""TensorFlow: ``hybridize()`` as ``tf.function``, cheap random draws for the
initializers, and the eager fast path (``tf_fast_path``).

``hybridize()`` maps to ``tf.function``. One graph is traced per input signature
and training mode (the ``training`` a child inherits from its parent's Keras call
context, as a hybridized Gluon block follows autograd's train mode), with the batch
dimension left free: the batch size may vary without retracing,
while the feature dimensions stay static, so a block's shape checks still run (at
trace time) and a wrong input raises keras_defer's ``ShapeMismatchError`` instead of
a TensorFlow kernel error. ``jit_compile=True`` asks XLA to compile the graph.

Each signature's graph is kept as a ``ConcreteFunction`` and called directly: that
skips ``tf.function``'s per-call argument binding and trace-cache lookup (about half
of its ~170 us per call on a 2-core CPU); our own cache key is two attribute reads.
"""

import functools
import random

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import random_seed as _tf_random_seed
from tensorflow.python.ops import gen_array_ops as _array_ops
from tensorflow.python.ops import gen_math_ops as _math_ops
from tensorflow.python.ops import gen_stateless_random_ops as _stateless_ops

from keras_defer.backend.common import (  # noqa: F401  (the same on TensorFlow)
    PLAIN, compiled_mode, compiled_scope, concrete_scope, device_name, module_call, snapshot,
)
from keras_defer.backend.tf_fast_path import fast_call  # noqa: F401


# -- hybridize -------------------------------------------------------------------------
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
        training = compiled_mode(args, kwargs)
        if training is PLAIN:
            return call(*args, **kwargs)
        try:
            key = (training,) + tuple((a.dtype, _feature_dims(a.shape)) for a in args)
        except (AttributeError, ValueError, TypeError):
            return call(*args)  # not arrays, or of unknown rank
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


# -- initial values --------------------------------------------------------------------
# Draws are stateless ops seeded from TF's global seed and its per-op counter, the
# pair ``tf.random.uniform`` would use: ``keras.utils.set_random_seed`` replays them,
# and every call draws fresh numbers. The seed goes in as a tensor, so TF's eager
# kernel cache is hit; the stateful ``RandomUniform`` takes it as an attribute that
# changes on every call, and a seeded ``tf.random.uniform`` builds a new kernel each
# time (4-10x slower, measured). Eagerly, ``uniform`` is three ops (draw, scale,
# shift) whose intermediates are alive at once: 3x the tensor's bytes. Large tensors
# are drawn in a graph instead, where each op reuses its input's buffer (1x); it is
# traced once per dtype, so small tensors stay on the cheaper eager path.
_LARGE = 1 << 20  # elements
_ENTROPY = random.SystemRandom()


@tf.function(autograph=False)
def _uniform_graph(shape, seed, scale, shift):
    return tf.random.stateless_uniform(shape, seed, dtype=scale.dtype) * scale + shift


@tf.function(autograph=False)
def _normal_graph(shape, seed, scale, shift):
    return tf.random.stateless_normal(shape, seed, dtype=scale.dtype) * scale + shift


_DRAWS = {"uniform": (_stateless_ops.stateless_random_uniform, _uniform_graph),
          "normal": (_stateless_ops.stateless_random_normal, _normal_graph)}


def _seed():
    global_seed, op_seed = _tf_random_seed.get_seed(None)
    if global_seed is None or op_seed is None:  # no global seed: nondeterministic
        global_seed, op_seed = _ENTROPY.getrandbits(31), _ENTROPY.getrandbits(31)
    return tf.constant([global_seed, op_seed], tf.int64)


@functools.lru_cache(maxsize=256)
def _constant(value, dtype):
    """An eager scalar, made once per (value, dtype): initializers repeat theirs."""
    return tf.constant(value, dtype)


def random_draw(kind, shape, scale, shift, dtype):
    """``unit * scale + shift`` of ``shape``, ``unit`` a fresh standard ``kind``
    ('uniform' on [0, 1), or 'normal') draw: fresh numbers on every call."""
    if not tf.executing_eagerly():
        if kind == "uniform":
            return tf.random.uniform(shape, shift, shift + scale, dtype=dtype)
        return tf.random.normal(shape, shift, scale, dtype=dtype)
    eager_op, graph = _DRAWS[kind]
    dtype = tf.as_dtype(dtype)
    scale, shift = _constant(scale, dtype), _constant(shift, dtype)
    if int(np.prod(shape)) >= _LARGE:
        return graph(tf.constant(shape, tf.int64), _seed(), scale, shift)
    return _math_ops.add_v2(_math_ops.mul(eager_op(shape, _seed(), dtype=dtype), scale), shift)


def split_into(flat, shapes):
    """``flat`` cut into consecutive pieces of ``shapes``: one ``SplitV`` and a raw
    ``Reshape`` per piece (``keras.ops.reshape`` costs ~50 us more per piece, 20 ms
    for a 400-layer first pass)."""
    pieces = tf.split(flat, [int(np.prod(shape)) for shape in shapes])
    return [_array_ops.reshape(piece, shape) for piece, shape in zip(pieces, shapes)]


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


# -- the eager fast path's matmul, devices ---------------------------------------------
def matmul_transposed(x, weight):
    """``x @ weight.T`` as one MatMul op (no Transpose)."""
    return tf.linalg.matmul(x, weight, transpose_b=True)


def num_gpus():
    return len(tf.config.list_logical_devices("GPU"))
