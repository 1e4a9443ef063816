"""What the nd modules ask of tensors: dtype names, and the tensor primitives of the
backend front (``keras_defer.backend``, bound here once so an op pays one attribute
lookup for them).

``keras.ops`` computes every op; the primitives answer questions about a tensor (its
dtype, device, a host copy) and do the few things Keras has no op for (C-style
integer division) or does with per-call overhead that an NDArray wrapper must not add
on top (a cast, a host copy). Nothing here names a backend.
"""

import math

import keras
import numpy as np

from keras_defer import backend

#: numpy scalar type of each dtype name, as ``NDArray.dtype`` reports it (MXNet gives
#: ``numpy.float32``, the type object, not a ``numpy.dtype``).
NUMPY_TYPES = {
    name: np.dtype(name).type
    for name in (
        "float16", "float32", "float64", "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64", "bool",
    )
}

tensor_dtype = backend.tensor_dtype
is_integer = backend.is_integer
is_tensor = backend.is_tensor
to_numpy = backend.to_numpy
cast = backend.cast
reshape = backend.reshape
to_vector = backend.to_vector
copy = backend.copy
read_variable = backend.read_variable
trunc_div = backend.trunc_div
lgamma = backend.lgamma
exact_sqrt = backend.exact_sqrt
strided_slice = backend.strided_slice
stop_gradient = backend.stop_gradient
device_string = backend.device_string
to_device = backend.to_device
wait_to_read = backend.wait_to_read
synchronize = backend.synchronize
adopt_array_type = backend.adopt_array_type


def dtype_name(dtype):
    """Canonical name ('float32', 'int64', ...) of a user's dtype (str, numpy, type)."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in NUMPY_TYPES:
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        return keras.backend.standardize_dtype(dtype)


def prod(shape):
    return math.prod(shape)


def numpy_type(t):
    """``numpy.float32`` and friends: the type object MXNet's ``NDArray.dtype`` returns."""
    name = tensor_dtype(t)
    try:
        return NUMPY_TYPES[name]
    except KeyError:
        return np.dtype(keras.backend.standardize_dtype(name)).type


def dims(t):
    """``t``'s shape, each dim unknown until run time as a scalar tensor.

    TensorFlow's ``hybridize()`` traces with the batch size left free (None in the
    static shape); an op that builds a target shape from its input's dims (a
    reshape, a broadcast, MXNet's ``pick``) takes them from here, so a ported
    ``hybrid_forward`` runs at every batch size. Fully known shapes come back as the
    plain tuple of ints (no op is added)."""
    shape = tuple(t.shape)
    if None in shape:
        return tuple(keras.ops.shape(t))
    return shape


def is_known(shape):
    """Whether every dim of ``shape`` is a known int (no None, no tensor)."""
    return all(isinstance(d, (int, np.integer)) for d in shape)
