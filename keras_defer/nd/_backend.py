"""The few tensor primitives NDArray needs that ``keras.ops`` makes slow or lacks.

``keras.ops`` is the front for every computation; this module only answers questions
about a tensor (its dtype, device, host copy) and does the handful of things Keras has
no op for (C-style integer division) or does with per-call overhead that an NDArray
wrapper must not add on top (a cast, a host copy). One small function per backend,
picked once at import.
"""

import math

import keras
import numpy as np

BACKEND = keras.backend.backend()

#: numpy scalar type of each dtype name, as ``NDArray.dtype`` reports it (MXNet gives
#: ``numpy.float32``, the type object, not a ``numpy.dtype``).
NUMPY_TYPES = {
    name: np.dtype(name).type
    for name in (
        "float16", "float32", "float64", "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64", "bool",
    )
}


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


if BACKEND == "tensorflow":
    import tensorflow as tf

    def tensor_dtype(t):
        return t.dtype.name

    _TF_INTEGER = frozenset(
        (tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8, tf.uint16, tf.uint32, tf.uint64,
         tf.bool))

    def is_integer(t):
        return t.dtype in _TF_INTEGER

    def to_numpy(t):
        return t.numpy()  # a fresh, writable host copy

    def cast(t, name):
        return tf.cast(t, name)

    def trunc_div(a, b):
        return tf.truncatediv(a, b)

    def device_string(t):
        return t.device

    def stop_gradient(t):
        return tf.stop_gradient(t)

    def is_tensor(x):
        return tf.is_tensor(x)

    def block(t):
        return t

elif BACKEND == "jax":
    import jax
    import jax.numpy as jnp

    def tensor_dtype(t):
        return t.dtype.name

    def is_integer(t):
        return t.dtype.kind in "iub"

    def to_numpy(t):
        return np.array(t)  # np.asarray would give a read-only view

    def cast(t, name):
        return t.astype(name)

    def trunc_div(a, b):
        a = jnp.asarray(a)
        return jax.lax.div(a, jnp.asarray(b, dtype=a.dtype))

    def device_string(t):
        try:
            device = next(iter(t.devices()))
        except Exception:  # a tracer: no device yet
            return "cpu:0"
        return "%s:%d" % (device.platform, device.id)

    def stop_gradient(t):
        return jax.lax.stop_gradient(t)

    def is_tensor(x):
        return isinstance(x, jax.Array)

    def block(t):
        return t.block_until_ready() if hasattr(t, "block_until_ready") else t

elif BACKEND == "torch":
    import torch

    _TORCH_NAMES = {getattr(torch, n): n for n in NUMPY_TYPES if hasattr(torch, n)}

    def tensor_dtype(t):
        return _TORCH_NAMES[t.dtype]

    def is_integer(t):
        return not (t.dtype.is_floating_point or t.dtype.is_complex)

    def to_numpy(t):
        t = t.detach()
        if t.device.type == "cpu":
            return t.numpy().copy()  # .numpy() shares the tensor's memory
        return t.cpu().numpy()

    def cast(t, name):
        return t.to(getattr(torch, name))

    def trunc_div(a, b):
        return torch.div(a, b, rounding_mode="trunc")

    def device_string(t):
        device = t.device
        return "%s:%d" % (device.type, device.index or 0)

    def stop_gradient(t):
        return t.detach()

    def is_tensor(x):
        return isinstance(x, torch.Tensor)

    def block(t):
        return t

else:  # pragma: no cover - keras_defer supports the three backends above
    raise ImportError("keras_defer.nd supports TensorFlow, JAX and PyTorch, not %r" % BACKEND)


def numpy_type(t):
    """``numpy.float32`` and friends: the type object MXNet's ``NDArray.dtype`` returns."""
    name = tensor_dtype(t)
    try:
        return NUMPY_TYPES[name]
    except KeyError:
        return np.dtype(keras.backend.standardize_dtype(name)).type


def synchronize():
    """Wait for every queued computation (``nd.waitall``)."""
    if BACKEND == "torch" and torch.cuda.is_available():
        torch.cuda.synchronize()
    elif BACKEND == "jax":
        jax.effects_barrier()


if BACKEND == "tensorflow":

    def copy(t):
        return tf.identity(t)

    def to_device(t, ctx):
        with tf.device(ctx.keras_device):
            return tf.identity(t)

    def read_variable(variable):
        # ``variable.value`` is the tf.Variable itself (or, under autocast or a
        # stateless scope, a tensor): read it into a tensor that later assigns leave alone.
        return tf.convert_to_tensor(variable.value)

elif BACKEND == "jax":

    def copy(t):
        return t  # immutable

    def to_device(t, ctx):
        platform = "cpu" if ctx.device_type == "cpu" else "gpu"
        return jax.device_put(t, jax.devices(platform)[ctx.device_id])

    def read_variable(variable):
        return variable.value

else:

    def copy(t):
        return t.clone()

    def to_device(t, ctx):
        if ctx.device_type == "cpu":
            return t.to("cpu")
        return t.to("cuda:%d" % ctx.device_id)

    def read_variable(variable):
        return variable.value


if BACKEND == "tensorflow":

    def lgamma(t):
        return tf.math.lgamma(t)

elif BACKEND == "jax":

    def lgamma(t):
        return jax.lax.lgamma(t)

else:

    def lgamma(t):
        return torch.lgamma(t)


def exact_sqrt(t):
    """A correctly rounded float32 square root (PyTorch's CPU kernel is off by 1 ulp)."""
    if BACKEND == "torch" and t.dtype == torch.float32:
        return torch.sqrt(t.double()).float()
    return keras.ops.sqrt(t)


if BACKEND == "tensorflow":

    def reshape(t, shape):
        return tf.reshape(t, shape)  # half of keras.ops.reshape's eager cost

    def to_vector(t):
        """A 0-d tensor as shape (1,) (TF's expand_dims is 4x cheaper than reshape)."""
        return tf.expand_dims(t, 0)

else:

    def reshape(t, shape):
        return t.reshape(tuple(shape))

    def to_vector(t):
        return t.reshape((1,))
