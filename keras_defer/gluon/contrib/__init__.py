"""``gluon.contrib``: MXNet 1.9.1's contributed blocks (``contrib.nn``: ``Concurrent``,
``HybridConcurrent``, ``Identity``)."""

from keras_defer.gluon.contrib import nn

__all__ = ["nn"]
