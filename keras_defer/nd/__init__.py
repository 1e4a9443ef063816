"""``mxnet.nd`` (MXNet 1.9.1's ``mxnet.ndarray``): ``NDArray`` and the functions that
make and combine them (``nd.array``, ``nd.dot``, ``nd.random.uniform``, ...).

Every function returns ``NDArray``s, which hold tensors of the active Keras backend;
a keras_defer block called with NDArrays returns NDArrays. The names are gathered by
``keras_defer.nd.api`` from one module per op family.

As ``mxnet.nd`` is ``mxnet.ndarray``, this package is also ``keras_defer.ndarray``
(``NDArray``'s module reads ``keras_defer.ndarray.ndarray``, as MXNet's prints).
"""

import sys as _sys

from keras_defer.nd import ndarray as _ndarray_module
from keras_defer.nd.api import *  # noqa: F401,F403
from keras_defer.nd.api import __all__  # noqa: F401

_sys.modules.setdefault("keras_defer.ndarray", _sys.modules[__name__])
_sys.modules.setdefault("keras_defer.ndarray.ndarray", _ndarray_module)
