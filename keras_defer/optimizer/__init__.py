"""``mxnet.optimizer``: MXNet 1.9.1's optimizers, their registry and the Updater.

``optimizer`` holds the base class and bookkeeping, ``sgd``, ``adaptive`` and ``contrib``
the update rules by family, ``updater`` the per-index states a Trainer steps with.
"""

from keras_defer.optimizer.optimizer import Optimizer, create, register
from keras_defer.optimizer.sgd import (
    DCASGD, LARS, LBSGD, NAG, SGD, SGLD, Signum, Test, ccSGD)
from keras_defer.optimizer.updater import Updater, get_updater
from keras_defer.optimizer import contrib  # noqa: E402  (registers GroupAdaGrad)

__all__ = [
    'AdaDelta', 'AdaGrad', 'Adam', 'Adamax', 'DCASGD', 'FTML', 'Ftrl', 'LARS', 'LBSGD',
    'NAG', 'Nadam', 'Optimizer', 'RMSProp', 'SGD', 'SGLD', 'Signum', 'LAMB',
    'Test', 'Updater', 'ccSGD', 'create', 'get_updater', 'register', 'contrib'
]

from keras_defer.optimizer.adaptive import (  # noqa: E402
    LAMB, FTML, AdaDelta, AdaGrad, Adam, Adamax, Ftrl, Nadam, RMSProp)
