"""Everything JAX-specific in keras_defer: ``hybridize()`` as ``jax.jit``.

A compiled call is a pure function of the block's variable values and its inputs
(a Keras ``StatelessScope``, as in ``Layer.stateless_call``), traced once per
training mode (``hybrid.compiled_mode``), which is read from the call context while
tracing, as on TensorFlow (``keras_defer.tensorflow``). What the call changes in non-trainable
state (BatchNorm's running statistics, Dropout's seed) comes back as values and is
assigned to the variables, or recorded by an enclosing stateless scope (Keras's JAX
trainer). Inputs of a new shape are traced again by JAX itself; a wrong shape raises
keras_defer's own error while tracing. The first pass always runs eagerly.
"""

import jax
import keras
from keras.src.backend.common import global_state

from keras_defer.hybrid import PLAIN, compiled_mode, compiled_scope


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
        if training is PLAIN or global_state.get_global_attribute("symbolic_scope"):
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
