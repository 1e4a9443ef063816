"""``mxnet.gluon`` stand-in: ``from keras_defer.gluon import nn`` works as in Gluon."""

from keras_defer import nn
from keras_defer.block import Block, HybridBlock
from keras_defer.parameter import Constant, Parameter, ParameterDict

__all__ = ["nn", "Block", "HybridBlock", "Parameter", "Constant", "ParameterDict"]
