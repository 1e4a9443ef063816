"""``mxnet.base`` stand-in, so ``from mxnet.base import MXNetError`` ports unchanged."""

from keras_defer.errors import MXNetError  # noqa: F401
