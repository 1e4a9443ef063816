"""Gluon's ``nn`` namespace: blocks and layers."""

from keras_defer.block import Block, HybridBlock
from keras_defer.nn.basic_layers import Activation, Dense, HybridSequential, Sequential

__all__ = ["Block", "HybridBlock", "Sequential", "HybridSequential", "Dense", "Activation"]
