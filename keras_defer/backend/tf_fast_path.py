"""TensorFlow's eager fast path: a built block called with a plain tensor runs its
plan (``fast_path``) as raw TensorFlow ops and skips ``Layer.__call__``.

Keras's ``Layer.__call__`` costs about 250 us per layer on a 2-core CPU (input
conversion, call-spec binding, call context, name and autocast scopes, masks), while
the computation of a small ``Dense`` is three TensorFlow ops (~20 us each);
convolutions, pooling, ``Flatten``, ``Dropout`` and ``BatchNorm`` (``nn.layer_plans``)
run the TensorFlow ops Keras's functions end in (``PlanOps``: Keras's own, except
where one does per-call work a plan does once). Once a block's first pass is done
none of that work changes the result *when*:

* the call is eager and its only argument is an ``EagerTensor`` of the plan's dtype
  (no ``training=`` or other keyword, no KerasTensor, no numpy);
* no Keras autocast, stateless or symbolic scope and no distribution is active;
* the block can be planned (``fast_path``: built, not hybridized, every block of the
  plan one that says how to plan it, no mixed precision).

The plan is made once and re-validated on every call (attribute reads only), so a
later ``cast``, ``load_parameters``, ``add`` or ``hybridize`` is never missed. Anything
else, or any TensorFlow error while running the plan (e.g. a wrong feature size),
returns ``MISS`` and the caller takes the ordinary Keras path, which raises
keras_defer's own errors. The plan only reads variables, so falling back after a
failure changes nothing.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.ops import gen_array_ops
from tensorflow.python.framework.ops import EagerTensor

from keras_defer import fast_path, keras_compat
from keras_defer.backend.common import MISS, compiled_scope

_state = keras_compat.GLOBAL_STATE
_SCOPES = keras_compat.CALL_SCOPES
_tf_matmul = tf.linalg.matmul

# Keras activations whose default form is exactly one TF op.
_RAW_ACTIVATIONS = {
    keras.activations.relu: tf.nn.relu,
    keras.activations.tanh: tf.math.tanh,
    keras.activations.linear: None,
}


class PlanOps(fast_path.PlanOps):
    """Keras's TensorFlow functions, where one does per-call work a plan does once."""

    def conv(self, strides, padding, dilation):
        """Keras's ``conv`` defines a ``tf.function`` (its XLA fallback for grouped
        and channels-first 3-D convolutions) on every call, ~110 us; a plan's
        convolutions are channels-last and never grouped (grouped ones are split by
        hand), so this is its other branch: ``tf.nn.convolution``, then the same
        refusal of an empty output."""
        padding = padding.upper()
        convolution, prod = tf.nn.convolution, math.prod

        def conv(x, kernel):
            if x.shape[-1] != kernel.shape[-2]:
                raise ValueError("a grouped convolution: the Keras path decides")
            data_format = _CHANNELS_LAST[x.shape.rank]
            y = convolution(x, kernel, strides, padding, data_format=data_format,
                            dilations=dilation)
            if prod(y.shape) == 0 and prod(x.shape) != 0:
                raise ValueError("an empty output: the Keras path raises its error")
            return y
        return conv

    def transpose_fixed(self, axes, shape):
        """With oneDNN (TensorFlow's default on x86), a ``Transpose`` of a small
        kernel costs ~140-500 us on a busy 2-core CPU against ~25 us without it;
        gathering the same elements in the transposed order gives the same tensor
        (a copy of each value) for ~1/4 of the time."""
        order = np.transpose(np.arange(math.prod(shape)).reshape(shape), axes)
        index = tf.constant(order.reshape(-1).astype("int32"))
        out_shape, flat = tf.constant(order.shape, tf.int32), tf.constant([-1], tf.int32)
        gather, reshape = gen_array_ops.gather_v2, gen_array_ops.reshape
        return lambda x: reshape(gather(reshape(x, flat), index, 0), out_shape)

    def flatten(self):
        """Keras's ``reshape`` with the target shape made a tensor once per size."""
        shapes, reshape = {}, gen_array_ops.reshape

        def flatten(x):
            features = x.shape[1:]
            shape = shapes.get(features)
            if shape is None:
                shape = shapes[features] = tf.constant((-1, math.prod(features)), tf.int32)
            return reshape(x, shape)
        return flatten

    def bias_add(self, channels):
        """What Keras's ``add`` ends in for a channels-last ``y`` and a 1-D bias:
        ``BiasAdd`` (``AddV2`` for one channel), without its per-call dtype checks."""
        if channels > 1:
            bias_add = tf.nn.bias_add
            return lambda y, bias: bias_add(y, bias, data_format="NHWC")
        return tf.add


_CHANNELS_LAST = {3: "NWC", 4: "NHWC", 5: "NDHWC"}
_OPS = PlanOps()


def _run(steps, x):
    for weight, bias, act in steps:
        if weight is not None:
            x = _tf_matmul(x, weight, transpose_b=True)
            if bias is not None:
                x = x + bias
        if act is not None:
            x = act(x)
    return x


class _TraceFailed(Exception):
    """A run could not be traced (nothing ran): the caller takes the Keras path."""


class _Run:
    """Consecutive hybridized children of a plain container (``nn.Sequential``
    hybridizes its children one by one, as Gluon does) compiled into one graph:
    the graph their own compiled calls would run one after the other (each child's
    Keras call traced under ``compiled_scope``), one ``ConcreteFunction`` per
    training mode and input signature, batch dimension free, as
    ``backend.tensorflow.compile_call``. One graph call instead of one per child:
    ~190 us instead of ~500 us for the chapter MLP."""

    __slots__ = ("blocks", "jit_compile", "graphs")

    def __init__(self, blocks):
        self.blocks = blocks
        self.jit_compile = blocks[0].__dict__.get("_hybrid_options", {}).get("jit_compile")
        self.graphs = {}

    def _traced(self, x):
        with compiled_scope():
            for block in self.blocks:
                x = block._keras_call(x)
        return x

    def __call__(self, x):
        training = keras_compat.context_training()
        if training is not None and not isinstance(training, bool):
            raise _TraceFailed
        key = (training, x.dtype, tuple(x.shape[1:]))
        graph = self.graphs.get(key)
        if graph is None:
            signature = [tf.TensorSpec((None,) + tuple(x.shape[1:]), x.dtype)]
            function = tf.function(self._traced, input_signature=signature,
                                   jit_compile=self.jit_compile, autograph=False)
            try:
                graph = function.get_concrete_function()
            except Exception as exc:  # a wrong shape: the children's own calls raise it
                raise _TraceFailed from exc
            self.graphs[key] = graph
        return graph(x)


def fast_call(block, args):
    """``block(*args)`` computed by its plan, or ``MISS``."""
    if len(args) != 1:
        return MISS
    x = args[0]
    if type(x) is not EagerTensor:
        return MISS
    for scope in _SCOPES:
        if getattr(_state, scope, None) is not None:
            return MISS
    plan = fast_path.current_plan(block, _RAW_ACTIVATIONS, tf.as_dtype, compile_run=_Run,
                                  ops=_OPS)
    if plan is None:
        return MISS
    if plan.dtype is None:  # compiled runs only
        if x.shape.rank is None or x.shape.rank < 1 or tf.distribute.has_strategy():
            return MISS
        try:
            return _run(plan.steps, x)
        except _TraceFailed:
            return MISS  # nothing ran; an error a graph raises while running stays
    if x.dtype != plan.dtype or (plan.rank is not None and x.shape.rank != plan.rank):
        return MISS
    if plan.inference:
        training = keras_compat.context_training()
        if training is not None and training is not False:
            return MISS
    try:
        return _run(plan.steps, x)
    except (tf.errors.InvalidArgumentError, ValueError, TypeError):
        return MISS  # the Keras path raises keras_defer's own error
