"""keras_defer: MXNet Gluon's parameter semantics (deferred initialization) on Keras 3.

Port a Gluon tutorial by replacing ``mxnet`` with ``keras_defer`` in its imports::

    from keras_defer import init, nd
    from keras_defer.gluon import nn
"""

from keras_defer import context, errors, init, nd
from keras_defer import init as initializer
from keras_defer import nn
from keras_defer.context import Context, cpu, current_context, gpu, num_gpus
from keras_defer.errors import DeferredInitializationError, MXNetError, ShapeMismatchError
from keras_defer.nd import random
from keras_defer.parameter import Parameter, ParameterDict
from keras_defer import gluon  # noqa: E402  (needs nn and parameter)

__version__ = "0.1.0"

__all__ = [
    "nn", "gluon", "init", "initializer", "nd", "random", "errors", "context",
    "Parameter", "ParameterDict", "DeferredInitializationError", "MXNetError",
    "ShapeMismatchError", "Context", "cpu", "gpu", "current_context", "num_gpus",
]
