"""Everything TensorFlow-specific in keras_defer lives here.

``hybridize()`` maps to ``tf.function``. One graph is traced per input signature
with the batch dimension left free: the batch size may vary without retracing,
while the feature dimensions stay static, so a block's shape checks still run (at
trace time) and a wrong input raises keras_defer's ``ShapeMismatchError`` instead of
a TensorFlow kernel error. ``jit_compile=True`` asks XLA to compile the graph.
"""

import tensorflow as tf

from keras_defer.hybrid import compiled_scope


def compile_call(block, static_alloc=False, static_shape=False, jit_compile=None, **_):
    """A compiled version of ``block``'s call; the first pass must already be done."""
    call = block._keras_call
    graphs = {}

    def compiled(*args, **kwargs):
        if kwargs or not all(hasattr(a, "shape") and hasattr(a, "dtype") for a in args):
            return call(*args, **kwargs)
        key = tuple((tuple(a.shape[1:]), str(a.dtype)) for a in args)
        graph = graphs.get(key)
        if graph is None:
            signature = [
                tf.TensorSpec((None,) + tuple(a.shape[1:]), tf.as_dtype(a.dtype)) for a in args
            ]
            graph = graphs[key] = tf.function(
                call, input_signature=signature, jit_compile=jit_compile, autograph=False
            )
        with compiled_scope():
            return graph(*args)

    return compiled
