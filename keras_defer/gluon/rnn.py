"""``mxnet.gluon.rnn`` stand-in: the recurrent layers (also in ``keras_defer.nn``)."""

from keras_defer.nn.rnn_layers import GRU, LSTM, RNN  # noqa: F401

__all__ = ["RNN", "LSTM", "GRU"]
