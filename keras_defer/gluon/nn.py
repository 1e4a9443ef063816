"""``mxnet.gluon.nn`` stand-in (the same objects as ``keras_defer.nn``)."""

from keras_defer.nn import *  # noqa: F401,F403
from keras_defer.nn import __all__  # noqa: F401
