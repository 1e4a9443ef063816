"""TensorFlow: ``hybridize()`` as ``tf.function``, cheap random draws for the
initializers, the eager fast path (``tf_fast_path``), and ``autograd`` on
``tf.GradientTape``.

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

import contextlib
import functools
import random
import threading

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.autograph.core import config as _autograph_config
from tensorflow.python.framework import random_seed as _tf_random_seed
from tensorflow.python.ops import gen_array_ops as _array_ops
from tensorflow.python.ops import gen_math_ops as _math_ops
from tensorflow.python.ops import gen_stateless_random_ops as _stateless_ops

from keras_defer.backend.common import (  # noqa: F401  (the same on TensorFlow)
    PLAIN, NotRecorded, compiled_mode, compiled_scope, device_name,
    exact_sqrt, module_call, module_parameters, records_by_default, snapshot, synchronize,
    unrecorded, wait_to_read,
)
from keras_defer.backend.common import fuse_rule, in_place_rule  # noqa: F401, E402
from keras_defer.backend.common import random_draws  # noqa: F401, E402  (none faster on TF)
from keras_defer.backend.tf_fast_path import fast_call  # noqa: F401
from keras_defer import keras_compat


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
        if tf.distribute.has_strategy() and (
                not tf.executing_eagerly() or not tf.distribute.in_cross_replica_context()):
            # In a replica (``fit``'s step, ``strategy.run``) each replica reads its
            # own copy of the variables: one cached graph would read the first
            # replica's, and the others would get no gradient. In a strategy's graph
            # the call is traced into it (compiled with it); an eager replica runs
            # it plain, as ``strategy.run`` runs everything else eagerly.
            with compiled_scope():
                return call(*args)
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


# AutoGraph (``strategy.run``, ``tf.function``) leaves Keras's own code alone; a
# block is a Keras layer and is left alone too (it failed to convert one, with a
# warning on every trace). Its forward still traces into the graph as Python.
_autograph_config.CONVERSION_RULES = (
    (_autograph_config.DoNotConvert("keras_defer"),) + _autograph_config.CONVERSION_RULES)


# -- variables: the first pass inside traces and under tf.distribute -------------------
_TRACING_SCOPES = ("stateless_scope", "symbolic_scope")


def concrete_scope():
    """``with concrete_scope():`` computes with concrete values and creates real
    variables, even when the first pass runs inside a trace.

    Keras reaches a deferred net's first pass inside traces: under a
    ``tf.distribute`` strategy, ``fit``/``evaluate``/``predict`` build the model with
    ``backend.compute_output_spec`` (a scratch ``FuncGraph`` inside Keras's stateless
    and symbolic scopes, where no variable may be created); without one, inside the
    ``tf.function`` of the train step; ``strategy.run`` inside a user's
    ``tf.function``. Gluon initializes parameters right there, once: this scope
    suspends Keras's scopes and, under a strategy, lifts out of the graph
    (``tf.init_scope``), so initial values are eager tensors drawn once, and a
    variable made here is made once, in the strategy's scope (mirrored: the same
    value on every replica). Inside a replica function the first replica to run
    makes them (MirroredStrategy runs replicas one after another until they meet);
    the others find the net built.
    """
    if not keras_compat.scopes_active(_TRACING_SCOPES) and (
            tf.executing_eagerly() or not tf.distribute.has_strategy()):
        # eager already, or a plain ``tf.function``: values drawn in the graph, the
        # variable lifted out of it by ``tf.function`` itself (as before strategies).
        # Asked twice per parameter in a first pass: no generator made here.
        return _NO_SCOPE
    return _lifted()


_NO_SCOPE = contextlib.nullcontext()


@contextlib.contextmanager
def _lifted():
    with keras_compat.suspended_scopes(_TRACING_SCOPES), tf.init_scope():
        yield


def in_replica_context():
    """True inside a ``tf.distribute`` strategy's replica function
    (``strategy.run``), where each replica would write its own copy of a value."""
    return tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()


def once_for_all_replicas(fn):
    """``fn()`` run once for all replicas, in the strategy's cross-replica context
    (``merge_call``: every replica reaches this call, as each runs the same code), so
    what it writes into mirrored variables is the same on every replica; every
    replica gets its result. Outside a replica function, just ``fn()``."""
    if not in_replica_context():
        return fn()
    return tf.distribute.get_replica_context().merge_call(lambda _strategy: fn())


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
_FLOATS = frozenset({tf.float16, tf.bfloat16, tf.float32, tf.float64})


def matmul(a, b):
    """``a @ b``: the raw MatMul op for float tensors (``keras.ops.matmul`` costs ~50 us
    more per call in conversions and dtype rules, ``tf.linalg.matmul`` ~15 us);
    Keras's for anything else (integers, KerasTensors)."""
    if a.dtype in _FLOATS and not isinstance(a, keras.KerasTensor) and not isinstance(
            b, keras.KerasTensor):
        return _math_ops.mat_mul(a, b)
    return keras.ops.matmul(a, b)


def matmul_transposed(x, weight):
    """``x @ weight.T`` as one MatMul op (no Transpose)."""
    return tf.linalg.matmul(x, weight, transpose_b=True)


def num_gpus():
    return len(tf.config.list_logical_devices("GPU"))


# -- gradient recording (autograd) -----------------------------------------------------
# A session records on a persistent ``tf.GradientTape`` (``pause()`` pops it from TF's
# tape stack, a resume pushes it back: ``__exit__``/``__enter__`` do exactly that).
# MXNet keeps an array's history as long as the array lives, so a head computed in
# one ``record()`` can be used in the next one and differentiated there (a GAN's
# generator output, made in the discriminator's step, trained in the generator's).
# A tape only knows what it saw, so the tapes of the last two sessions record
# together: the older one has seen both, and gradients come from it. Older tapes
# are dropped, with everything they hold (memory stays bounded by two sessions).
_WINDOW = 2
_local = threading.local()


def _tapes():
    try:
        return _local.tapes
    except AttributeError:
        _local.tapes, _local.recording = [], False
        return _local.tapes


def _push(tapes):
    for tape in tapes:
        tape.__enter__()
    _local.recording = True


def _pop(tapes):
    for tape in tapes:
        tape.__exit__(None, None, None)
    _local.recording = False


def begin_recording():
    tapes = _tapes()
    if _local.recording:
        _pop(tapes)
    if len(tapes) >= _WINDOW:
        del tapes[0]
    tapes.append(tf.GradientTape(persistent=True))
    _push(tapes)


def pause_recording():
    tapes = _tapes()
    if _local.recording:
        _pop(tapes)


def resume_recording():
    tapes = _tapes()
    if not _local.recording:
        _push(tapes)


end_recording = pause_recording


def watch(tensor):
    for tape in _tapes():
        tape.watch(tensor)
    return tensor


def read_variables(variables):
    tapes = _tapes()
    if not tapes:
        return []
    read = {id(v) for v in tapes[0].watched_variables()}
    return [v for v in variables if id(v.value) in read]


def gradients(heads, head_grads, sources, retain_graph=False, create_graph=False):
    tapes = _tapes()
    if not tapes:
        raise NotRecorded()
    sources = [s.value if isinstance(s, keras.Variable) else s for s in sources]
    if all(g is None for g in head_grads):
        head_grads = None
    else:
        head_grads = [tf.ones_like(h) if g is None else g for h, g in zip(heads, head_grads)]
    # Without create_graph nothing of the backward pass is recorded (inside record(),
    # a tape would record it, at a cost); with it, everything is, even after record().
    switch = create_graph != _local.recording
    if switch:
        (_push if create_graph else _pop)(tapes)
    if create_graph:  # TF warns that this records the gradient: it is what is asked
        logger = tf.get_logger()
        level = logger.level
        logger.setLevel("ERROR")
    try:
        grads = tapes[0].gradient(heads, sources, output_gradients=head_grads,
                                  unconnected_gradients=tf.UnconnectedGradients.NONE)
    finally:
        if create_graph:
            logger.setLevel(level)
        if switch:
            (_pop if create_graph else _push)(tapes)
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]


def custom_gradient(inputs, outputs, backward):
    @tf.custom_gradient
    def operation(*_):
        def gradient(*output_grads):
            return backward([tf.zeros_like(o) if g is None else g
                             for o, g in zip(outputs, output_grads)])

        return list(outputs), gradient

    return list(operation(*inputs))


# -- tensors (NDArray) -----------------------------------------------------------------
# Raw TF calls: ``keras.ops.cast`` or ``reshape`` costs twice the op itself eagerly.
_TF_INTEGER = frozenset(
    (tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8, tf.uint16, tf.uint32, tf.uint64,
     tf.bool))


def tensor_dtype(t):
    return t.dtype.name


def is_integer(t):
    return t.dtype in _TF_INTEGER


is_tensor = tf.is_tensor


def to_numpy(t):
    return t.numpy()  # a fresh, writable host copy


def from_numpy(values):
    return tf.constant(values)


def cast(t, name):
    return tf.cast(t, name)


def trunc_div(a, b):
    return tf.truncatediv(a, b)


def device_string(t):
    return t.device


def stop_gradient(t):
    return tf.stop_gradient(t)


def copy(t):
    return tf.identity(t)


def to_device(t, ctx):
    with tf.device(ctx.keras_device):
        return tf.identity(t)


def read_variable(variable):
    # ``variable.value`` is the tf.Variable itself (or, under autocast or a stateless
    # scope, a tensor): read it into a tensor that later assigns leave alone.
    return tf.convert_to_tensor(variable.value)


def lgamma(t):
    return tf.math.lgamma(t)


def reshape(t, shape):
    return tf.reshape(t, shape)  # half of keras.ops.reshape's eager cost


def to_vector(t):
    """A 0-d tensor as shape (1,) (TF's expand_dims is 4x cheaper than reshape)."""
    return tf.expand_dims(t, 0)


def strided_slice(t, slices):
    return t[slices]  # negative steps included


def sparse_softmax_cross_entropy(logits, labels):
    """``common.sparse_softmax_cross_entropy`` as TF's one fused kernel (its gradient
    too): a d2l training step's loss is otherwise a dozen eager ops."""
    idx = tf.clip_by_value(tf.cast(labels, tf.int32), 0, logits.shape[-1] - 1)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=idx, logits=logits)


def ctc_loss(labels, logits, label_lengths, logit_lengths, blank):
    """``common.ctc_loss`` through TF's CTC kernel: Keras's ``ctc_loss`` gives
    ``tf.nn.ctc_loss`` dense labels, whose while loop TF cannot differentiate through a
    ``tf.function`` (a hybridized loss under ``autograd.record()``: "SymbolicGradient"
    NotFoundError); sparse labels take the C++ kernel, whose gradient is registered."""
    dtype = logits.dtype
    if dtype != tf.float32:  # the kernel is float32 (Keras casts the same way)
        logits = tf.cast(logits, tf.float32)
    # The kernel refuses empty labels: they get a one-symbol stand-in there, and their
    # loss, -sum_t log p_t(blank), is computed here
    empty = tf.equal(label_lengths, 0)
    first = tf.equal(tf.range(tf.shape(labels)[1]), 0)[tf.newaxis, :]
    stand_in = (blank + 1) % logits.shape[-1]
    labels = tf.where(empty[:, tf.newaxis] & first, tf.cast(stand_in, labels.dtype), labels)
    mask = tf.sequence_mask(tf.where(empty, 1, label_lengths), tf.shape(labels)[1])
    sparse = tf.SparseTensor(tf.where(mask), tf.boolean_mask(labels, mask),
                             tf.shape(labels, out_type=tf.int64))
    loss = tf.nn.ctc_loss(labels=sparse, logits=logits, label_length=None,
                          logit_length=logit_lengths, logits_time_major=False,
                          blank_index=blank)
    frames = tf.sequence_mask(logit_lengths, tf.shape(logits)[1], dtype=tf.float32)
    blanks = tf.nn.log_softmax(logits)[:, :, blank]
    loss = tf.where(empty, -tf.reduce_sum(blanks * frames, axis=1), loss)
    return loss if loss.dtype == dtype else tf.cast(loss, dtype)


def adopt_array_type(cls, to_tensor):
    """TensorFlow converts instances of ``cls`` with ``to_tensor`` (its conversion
    registry), in graphs too and without a copy; a requested dtype is a cast."""

    def convert(value, dtype=None, name=None, as_ref=False):
        tensor = to_tensor(value)
        if dtype is not None and tensor.dtype != dtype:
            tensor = tf.cast(tensor, dtype)
        return tensor

    tf.register_tensor_conversion_function(cls, convert)


# -- sums across devices (Gluon's 'device' kvstore) -----------------------------------
from keras_defer.backend.common import added_across_devices  # noqa: E402

_mirrored_strategies = {}
"""Device names -> a ``MirroredStrategy`` over them: made once per set of devices."""


def _gpus_only(devices):
    return all(":GPU:" in d.upper() for d in devices)


def _mirrored_strategy(devices):
    strategy = _mirrored_strategies.get(devices)
    if strategy is None:
        # TF's own choice for one host: NCCL between GPUs, else all onto one device
        ops = (tf.distribute.NcclAllReduce() if _gpus_only(devices)
               else tf.distribute.ReductionToOneDevice(reduce_to_device=devices[0]))
        strategy = tf.distribute.MirroredStrategy(list(devices), cross_device_ops=ops)
        _mirrored_strategies[devices] = strategy
    return strategy


def sum_across_devices(groups, ctxs, everywhere=False):
    """``common.sum_across_devices`` through ``tf.distribute``: where the copies sit on
    distinct devices (GPUs, logical CPUs), each group becomes a ``PerReplica`` value of
    a ``MirroredStrategy`` over those devices, and the strategy's cross-device ops sum
    them (``batch_reduce_to``, SUM) onto the first device, or onto every copy's device
    (``everywhere``: a Mirrored value). Copies on one device (TensorFlow without
    logical devices), inside another strategy's scope, or in a graph: ``keras.ops``."""
    devices = tuple(t.device for t in groups[0]) if groups else ()
    if (len(set(devices)) < max(len(devices), 2) or tf.distribute.has_strategy()
            or not tf.executing_eagerly()
            or any(tuple(t.device for t in group) != devices for group in groups[1:])):
        return added_across_devices(groups, ctxs, everywhere, to_device)
    strategy = _mirrored_strategy(devices)
    per_replica = strategy.experimental_distribute_values_from_function(
        lambda where: [group[where.replica_id_in_sync_group] for group in groups])
    # NCCL all-reduces onto every replica (a sum onto one device would fall back to
    # ReductionToOneDevice): between GPUs, take copy 0's part of the all-reduce
    mirrored = everywhere or _gpus_only(devices)
    sums = strategy.extended.batch_reduce_to(
        tf.distribute.ReduceOp.SUM,
        [(value, value if mirrored else devices[0]) for value in per_replica])
    if not mirrored:
        return list(sums)
    spread = [list(strategy.experimental_local_results(total)) for total in sums]
    return spread if everywhere else [copies[0] for copies in spread]
