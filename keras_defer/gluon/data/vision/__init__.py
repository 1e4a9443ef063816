"""``mxnet.gluon.data.vision``: the image datasets and ``transforms``."""

from keras_defer.gluon.data.vision.datasets import *  # noqa: F401,F403
from keras_defer.gluon.data.vision import transforms  # noqa: F401
from keras_defer.gluon.data.vision import datasets as _datasets

__all__ = _datasets.__all__ + ["transforms"]
