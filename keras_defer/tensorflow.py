"""Everything TensorFlow-specific in keras_defer lives here.

``hybridize()`` maps to ``tf.function``: the block's Keras call is traced once per
input signature (``reduce_retracing`` lets the batch size vary without retracing
for every size) and ``jit_compile=True`` asks XLA, as Gluon's ``static_alloc``
style options ask MXNet for a faster graph.
"""

import tensorflow as tf


def compile_call(block, static_alloc=False, static_shape=False, jit_compile=None, **_):
    """A compiled version of ``block``'s call; the first pass must already be done."""
    call = block._keras_call

    def forward(*args, **kwargs):
        return call(*args, **kwargs)

    return tf.function(forward, reduce_retracing=True, jit_compile=jit_compile)
