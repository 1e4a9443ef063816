"""``mxnet.nd.random``: fresh draws from Keras's global seed generator.

``out=`` fills an existing array in place, which is how Gluon initializers write
(``nd.random.uniform(-s, s, out=data)``).
"""

import keras
import numpy as np

__all__ = ["uniform", "normal", "seed"]


def _deliver(value, out):
    if out is None:
        return value
    if isinstance(out, np.ndarray):
        out[...] = np.asarray(value)
    else:
        out.assign(value)
    return out


def _shape_of(shape, out):
    if out is not None:
        return tuple(out.shape)
    return (shape,) if isinstance(shape, int) else tuple(shape)


def uniform(low=0.0, high=1.0, shape=(1,), dtype="float32", ctx=None, out=None):
    """Samples from U(low, high)."""
    value = keras.random.uniform(_shape_of(shape, out), low, high, dtype=dtype or "float32")
    return _deliver(value, out)


def normal(loc=0.0, scale=1.0, shape=(1,), dtype="float32", ctx=None, out=None):
    """Samples from N(loc, scale²)."""
    value = keras.random.normal(_shape_of(shape, out), loc, scale, dtype=dtype or "float32")
    return _deliver(value, out)


def seed(seed_state):
    """Seed every random draw keras_defer makes (and Keras's, NumPy's, Python's)."""
    keras.utils.set_random_seed(int(seed_state))
