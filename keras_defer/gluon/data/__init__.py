"""``mxnet.gluon.data``: datasets, samplers, ``DataLoader`` and ``vision``.

``from keras_defer.gluon import data as gdata`` then ``gdata.ArrayDataset``,
``gdata.DataLoader``, ``gdata.vision.FashionMNIST``, ``gdata.vision.transforms``, as
with MXNet 1.9.1.
"""

from keras_defer.gluon.data.dataset import *  # noqa: F401,F403
from keras_defer.gluon.data.sampler import *  # noqa: F401,F403
from keras_defer.gluon.data.dataloader import *  # noqa: F401,F403
from keras_defer.gluon.data import vision  # noqa: F401
from keras_defer.gluon.data import dataset, sampler, dataloader  # noqa: F401

__all__ = (dataset.__all__ + sampler.__all__ + dataloader.__all__ + ["vision"])
