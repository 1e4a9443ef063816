"""keras_defer: MXNet Gluon's parameter semantics (deferred initialization) on Keras 3.

Port a Gluon tutorial by replacing ``mxnet`` with ``keras_defer`` in its imports::

    from keras_defer import init, nd
    from keras_defer.gluon import nn
"""

import importlib

from keras_defer import base, context, errors, init, nd
from keras_defer import init as initializer
from keras_defer import nn
from keras_defer.context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus
from keras_defer.errors import DeferredInitializationError, MXNetError, ShapeMismatchError
from keras_defer.nd import random
from keras_defer.parameter import Parameter, ParameterDict
from keras_defer import gluon  # noqa: E402  (needs nn and parameter)

ndarray = nd  # mxnet.nd is mxnet.ndarray

_LAZY = ("autograd", "optimizer", "lr_scheduler", "metric", "recordio", "symbol", "sym", "name")
"""Submodules ``mx.<name>`` imports on first use (``import keras_defer as mx``): they
are not needed to build a net, and importing them all would slow ``import keras_defer``."""


def __getattr__(name):
    if name in _LAZY:
        # mx.sym is mx.symbol, as in MXNet
        return importlib.import_module("keras_defer." + ("symbol" if name == "sym" else name))
    raise AttributeError("module 'keras_defer' has no attribute %r" % (name,))

__version__ = "0.1.0"

__all__ = [
    "nn", "gluon", "init", "initializer", "nd", "ndarray", "random", "errors", "context",
    "Parameter", "ParameterDict", "DeferredInitializationError", "MXNetError",
    "ShapeMismatchError", "Context", "cpu", "cpu_pinned", "gpu", "current_context",
    "num_gpus", "base", "autograd", "optimizer", "lr_scheduler", "metric", "recordio",
]
