"""``mxnet.nd.random`` (also ``mxnet.random``), returning NDArrays: ``uniform``,
``normal``, ``randn``, ``randint``, ``exponential``, ``gamma``, ``shuffle``,
``multinomial``, ``seed``.

Draws come from Keras's global seed generator, so ``seed(n)`` (which also seeds
NumPy and Python) makes them reproducible. MXNet's shapes: no ``shape`` gives
``(1,)``; array-valued parameters (``low``, ``loc``, ...) draw ``shape`` samples for
each of their elements (output ``param.shape + shape``); ``multinomial`` samples
class indices from the probabilities on the last axis of ``data``.

``out=`` writes into an existing NDArray (or, for initializer code, a numpy array
or a ``keras.Variable``) and returns it.
"""

import keras
import numpy as np

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.creation import device_scope
from keras_defer.nd.ndarray import NDArray, apply, unwrap, wrap

__all__ = [
    "uniform", "normal", "randn", "randint", "exponential", "gamma", "shuffle",
    "multinomial", "seed",
]

ops = keras.ops


def _shape(shape):
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _deliver(result, out):
    if out is None:
        return result
    if isinstance(out, NDArray):
        out._replace(_backend.cast(result._data, _backend.tensor_dtype(out._data)))
    elif isinstance(out, np.ndarray):
        out[...] = result.asnumpy()
    else:
        out.assign(result._data)
    return out


def _draw(sample, params, shape, dtype, ctx, out):
    """``sample(full_shape, dtype)`` of standard draws, then ``params`` applied.

    ``params`` are the distribution's parameters (scalars or arrays); an array
    parameter of shape ``p`` makes the output ``p + shape``.
    """
    if out is not None:
        shape = tuple(out.shape)
        if isinstance(out, NDArray):
            dtype = dtype or _backend.tensor_dtype(out._data)
    name = _backend.dtype_name(dtype) or "float32"
    arrays = [p for p in params if not isinstance(p, (int, float, np.generic))]
    if arrays and out is None:
        pshape = _backend.dims(unwrap(arrays[0]))  # tensors for a traced batch's dims
        full = pshape + _shape(shape)
        params = [p if isinstance(p, (int, float, np.generic))
                  else _backend.reshape(_backend.cast(unwrap(p), name),
                                   pshape + (1,) * len(_shape(shape)))
                  for p in params]
    else:
        full = tuple(shape) if out is not None else (_shape(shape) or (1,))
    with device_scope(ctx):
        return _deliver(wrap(sample(full, name, *params)), out)


def _uniform(shape, dtype, low, high):
    return keras.random.uniform(shape, dtype=dtype) * (high - low) + low


def _uniform_scalar(shape, dtype, low, high):
    return keras.random.uniform(shape, low, high, dtype=dtype)


def _normal(shape, dtype, loc, scale):
    return keras.random.normal(shape, dtype=dtype) * scale + loc


def _normal_scalar(shape, dtype, loc, scale):
    return keras.random.normal(shape, loc, scale, dtype=dtype)


def _scalars(*params):
    return all(isinstance(p, (int, float, np.generic)) for p in params)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U(low, high)."""
    fn = _uniform_scalar if _scalars(low, high) else _uniform
    return _draw(fn, (low, high), shape, dtype, ctx, out)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale²)."""
    fn = _normal_scalar if _scalars(loc, scale) else _normal
    return _draw(fn, (loc, scale), shape, dtype, ctx, out)


def randn(*shape, loc=0, scale=1, dtype=None, ctx=None, out=None, **kwargs):
    """``normal(loc, scale, shape)`` with the shape given as arguments."""
    return normal(loc, scale, shape=shape or None, dtype=dtype, ctx=ctx, out=out)


def _exponential(shape, dtype, scale):
    return -ops.log1p(-keras.random.uniform(shape, dtype=dtype)) * scale


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the exponential distribution of mean ``scale``."""
    return _draw(_exponential, (scale,), shape, dtype, ctx, out)


def _gamma(shape, dtype, alpha, beta):
    return keras.random.gamma(shape, alpha, dtype=dtype) * beta


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from Gamma(alpha, scale=beta) (scalar ``alpha``)."""
    if not _scalars(alpha):
        raise MXNetError("keras_defer: nd.random.gamma takes a scalar alpha")
    return _draw(lambda s, d, b: _gamma(s, d, float(alpha), b), (beta,), shape, dtype, ctx, out)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers drawn uniformly from ``[low, high)``; int32 unless ``dtype='int64'``."""
    name = _backend.dtype_name(dtype) or "int32"
    if name not in ("int32", "int64"):
        raise MXNetError("Invalid Input: '%s', valid values are: {'None', 'int32', 'int64'}, "
                         "in operator _random_randint" % name)
    full = tuple(out.shape) if out is not None else (_shape(shape) or (1,))
    with device_scope(ctx):
        return _deliver(wrap(keras.random.randint(full, int(low), int(high), dtype=name)), out)


def _shuffle_t(t):
    # A permutation of the row indices, then a gather: keras.random.shuffle on JAX
    # mixes the elements of a row across rows.
    order = keras.random.shuffle(ops.arange(t.shape[0], dtype="int32"))
    return ops.take(t, order, axis=0)


def shuffle(data, **kwargs):
    """A copy of ``data`` with its rows (axis 0) in random order."""
    return apply(_shuffle_t, data)


def _multinomial_t(probs, shape, get_prob, dtype):
    pshape = tuple(probs.shape)
    classes = pshape[-1]
    batch = pshape[:-1]
    count = _backend.prod(shape) if shape else 1
    logits = ops.log(_backend.reshape(probs, (-1, classes)))
    samples = keras.random.categorical(logits, count, dtype="int32")  # (batch, count)
    out_shape = batch + shape if shape else (batch or (1,))
    result = _backend.reshape(_backend.cast(samples, dtype), out_shape)
    if not get_prob:
        return result
    logp = _backend.reshape(ops.take_along_axis(logits, samples, axis=-1), out_shape)
    return [result, logp]


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """Class indices drawn with the probabilities on the last axis of ``data``.

    Output shape ``data.shape[:-1] + shape``; with ``get_prob=True``, also the log
    probability of each draw.
    """
    result = apply(_multinomial_t, data, shape=_shape(shape), get_prob=bool(get_prob),
                   dtype=_backend.dtype_name(dtype))
    return result if isinstance(result, list) else _deliver(result, out)


def seed(seed_state, ctx="all"):
    """Seed every random draw keras_defer makes (and Keras's, NumPy's, Python's)."""
    keras.utils.set_random_seed(int(seed_state))
