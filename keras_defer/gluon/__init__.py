"""``mxnet.gluon`` stand-in: ``from keras_defer.gluon import nn`` works as in Gluon.

``gluon.loss``, ``gluon.data``, ``gluon.utils``, ``gluon.contrib``, ``gluon.metric`` and
``gluon.Trainer``, ``gluon.SymbolBlock``, ``gluon.model_zoo`` are imported on first use (as ``mx.gluon.<name>`` or
``from keras_defer.gluon import loss``): building a net needs none of them.
"""

import importlib

from keras_defer import nn
from keras_defer.block import Block, HybridBlock
from keras_defer.parameter import Constant, Parameter, ParameterDict

_LAZY_MODULES = ("loss", "data", "utils", "trainer", "contrib", "metric", "model_zoo", "rnn")
_LAZY_NAMES = {"Trainer": "trainer", "SymbolBlock": "symbol_block"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module("keras_defer.gluon." + name)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module("keras_defer.gluon." + _LAZY_NAMES[name]), name)
    raise AttributeError("module 'keras_defer.gluon' has no attribute %r" % (name,))


__all__ = ["nn", "Block", "HybridBlock", "Parameter", "Constant", "ParameterDict",
           "Trainer", "SymbolBlock", "loss", "data", "utils", "contrib", "metric", "model_zoo", "rnn"]
