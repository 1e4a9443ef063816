"""``hybridize()``: compile a block's forward with the active backend's compiler.

Only TensorFlow has a compiler wired in today (``keras_defer.tensorflow``); on
other backends hybridize is accepted and the forward stays eager, which changes no
result. The first pass always runs eagerly (it creates variables and runs
initializers); compilation applies from the second call on.
"""

import keras


def compile_call(block, **options):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from keras_defer.tensorflow import compile_call as compile_tf

        return compile_tf(block, **options)
    return None
