"""Gluon's ``nn`` namespace: blocks and layers."""

from keras_defer.block import Block, HybridBlock
from keras_defer.nn.activation_layers import ELU, GELU, PReLU, SELU, LeakyReLU, Swish
from keras_defer.nn.basic_layers import Activation, Dense, HybridSequential, Sequential
from keras_defer.nn.conv_layers import *  # noqa: F401,F403
from keras_defer.nn.conv_layers import __all__ as _conv_all
from keras_defer.nn.norm_layers import BatchNorm, Embedding, InstanceNorm, LayerNorm
from keras_defer.nn.rnn_layers import GRU, LSTM, RNN
from keras_defer.nn.utility_layers import Dropout, Flatten, HybridLambda, Lambda

__all__ = ["Block", "HybridBlock", "Sequential", "HybridSequential", "Dense", "Activation",
           "Flatten", "Dropout", "Lambda", "HybridLambda",
           "BatchNorm", "LayerNorm", "InstanceNorm", "Embedding",
           "RNN", "LSTM", "GRU",
           "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Swish"] + list(_conv_all)
