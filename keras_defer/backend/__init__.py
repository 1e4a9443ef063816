"""The one front for what differs between Keras backends.

The active backend's module (``tensorflow``, ``jax``, ``torch``; ``common`` for any
other) is picked once, from ``keras.backend.backend()``, and every module exports
the same names; everything else in keras_defer imports them from here and names no
backend. A backend module starts from ``common`` (the ``keras.ops`` versions) and
replaces what it does better.

``NAME``: the active Keras backend.

Compiled calls (``hybridize``)
    ``compile_call(block, **options)``: a compiled version of the built ``block``'s
    call, or None where the forward stays eager (PyTorch).
    ``in_compiled_call()``: True while a compiled parent traces its children.
The eager fast path
    ``fast_call(block, args)``: ``block(*args)`` without ``Layer.__call__``, or ``MISS``
    (always, except on TensorFlow). Callers look it up here at each call, so a test
    can spy on it.
    ``matmul_transposed(x, weight)``: ``x @ weight.T``, Dense's product.
Initial values
    ``random_draw(kind, shape, scale, shift, dtype)``: ``unit * scale + shift``, a fresh
    'uniform' or 'normal' draw, reproducible under ``keras.utils.set_random_seed``.
    ``split_into(flat, shapes)``: ``flat`` cut into pieces of ``shapes``.
    ``zeros(shape, dtype)``.
Variables
    ``concrete_scope()``: a context in which the first pass computes real values and
    creates real variables, even inside Keras's symbolic traces.
    ``snapshot(value, dtype=None)``: a tensor holding ``value`` that aliases no
    variable (what a new variable may be built from).
Devices and modules
    ``device_name(device_type, device_id)``: the ``keras.device()`` string for a Context.
    ``num_gpus()``: GPUs the backend can see.
    ``module_call``: what a block's ``torch.nn.Module`` call runs (PyTorch), or None.

Gradient recording (``autograd``) and distribution belong here too, as one more
group of names each backend module exports.
"""

import keras

from keras_defer.backend.common import MISS, in_compiled_call

NAME = keras.backend.backend()
"""The active Keras backend."""

if NAME == "tensorflow":
    from keras_defer.backend import tensorflow as _active
elif NAME == "jax":
    from keras_defer.backend import jax as _active
elif NAME == "torch":
    from keras_defer.backend import torch as _active
else:
    from keras_defer.backend import common as _active

compile_call = _active.compile_call
fast_call = _active.fast_call
matmul_transposed = _active.matmul_transposed
random_draw = _active.random_draw
split_into = _active.split_into
zeros = _active.zeros
concrete_scope = _active.concrete_scope
snapshot = _active.snapshot
device_name = _active.device_name
num_gpus = _active.num_gpus
module_call = _active.module_call

__all__ = [
    "NAME", "compile_call", "in_compiled_call", "fast_call", "MISS", "matmul_transposed",
    "random_draw", "split_into", "zeros", "concrete_scope", "snapshot", "device_name",
    "num_gpus", "module_call",
]
