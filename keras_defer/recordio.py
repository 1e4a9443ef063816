"""``mxnet.recordio`` stand-in: the same reader as ``gluon.data.recordio``."""

from keras_defer.gluon.data.recordio import *  # noqa: F401,F403
from keras_defer.gluon.data.recordio import MXIndexedRecordIO, MXRecordIO, pack, unpack  # noqa: F401
