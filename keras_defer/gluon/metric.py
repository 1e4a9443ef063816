"""``gluon.metric``: the same objects as ``mx.metric`` (``keras_defer.metric``)."""

from keras_defer.metric import *  # noqa: F401,F403
from keras_defer.metric import __all__  # noqa: F401
