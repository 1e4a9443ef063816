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
    (TensorFlow and PyTorch: a plan of raw ops, ``fast_path``; JAX: a whole net
    compiled once it is called the same way often, ``jax_fast_path``; always ``MISS``
    elsewhere). Callers look it up here at each call, so a test can spy on it.
    ``matmul_transposed(x, weight)``: ``x @ weight.T``, Dense's product.
    ``matmul(a, b)``: ``a @ b`` of 2-D tensors of one dtype (``nd.dot``).
Initial values
    ``random_draw(kind, shape, scale, shift, dtype)``: ``unit * scale + shift``, a fresh
    'uniform' or 'normal' draw, reproducible under ``keras.utils.set_random_seed``.
    ``split_into(flat, shapes)``: ``flat`` cut into pieces of ``shapes``.
    ``random_draws(kind, shapes, scale, shift, dtype)``: ``random_draw`` of ``shapes[0]``
    (one shape) or of their summed size split into them, as one faster call giving the
    same values bit for bit; None where it does not apply (or on a backend without
    one): then those two run (``init.Draws``).
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
    ``module_parameters``: the hooks that make a block's variables its
    ``torch.nn.Module`` parameters and its children torch submodules (PyTorch), or None.

Gradient recording (``autograd``: TensorFlow's tapes, PyTorch's autograd; refused on
JAX and other backends, with what to use instead)
    ``begin_recording()``, ``pause_recording()``, ``resume_recording()``,
    ``end_recording()``: the recording switch, per thread; a session runs from
    ``begin_recording`` to ``end_recording``, ``pause``/``resume`` inside it.
    ``watch(tensor)``: what an array with an attached gradient holds from now on (a
    tensor gradients can be taken for).
    ``read_variables(variables)``: those Keras variables the recording may have read.
    ``gradients(heads, head_grads, sources, retain_graph, create_graph)``: one
    gradient (or None: unreachable) per source; raises ``NotRecorded``.
    ``records_by_default``: whether operations are recorded outside a session too
    (PyTorch), and ``unrecorded()``, a scope where they are not.
    ``custom_gradient(inputs, outputs, backward)``: outputs recorded as one operation
    of the inputs whose gradient a Python function computes (``autograd.Function``).

Tensors (what an ``NDArray`` asks of the tensor it holds; ``keras.ops`` computes)
    ``tensor_dtype(t)`` (a name, 'float32'), ``is_integer(t)``, ``is_tensor(x)``,
    ``to_numpy(t)`` (a fresh writable copy), ``from_numpy(values)`` (may share
    ``values``' memory; no Keras overhead), ``cast(t, name)``, ``reshape(t, shape)``,
    ``to_vector(t)`` (0-d to shape (1,)), ``copy(t)``, ``read_variable(variable)`` (a
    tensor later assignments leave alone; PyTorch: the variable's own tensor, which
    gradients reach), ``trunc_div(a, b)`` (C's integer division), ``lgamma(t)``,
    ``exact_sqrt(t)`` (correctly rounded), ``strided_slice(t, slices)`` (negative
    steps too), ``stop_gradient(t)``.
    ``device_string(t)``, ``to_device(t, ctx)``, ``wait_to_read(t)``,
    ``synchronize()``: where a tensor lives, moving it, waiting for it.
    ``adopt_array_type(cls, to_tensor)``: the backend's functions (and ``keras.ops``)
    take instances of ``cls`` (NDArray) as ``to_tensor(instance)`` (TensorFlow,
    JAX; elsewhere through ``cls.__array__``, a host copy).

Optimizer steps (``keras_defer.optimizer``)
    ``fuse_rule(fn, static_argnames=())``: an update rule (pure function of tensors
    and numbers) as the backend runs it fastest (``jax.jit`` on JAX, else ``fn``).
    ``in_place_rule(name)``: an in-place kernel for 'sgd' or 'adam' (PyTorch), or None.

Losses (``keras_defer.nd.ctc``)
    ``ctc_loss(labels, logits, label_lengths, logit_lengths, blank)``: per-sample CTC
    loss (``keras.ops.ctc_loss``; TF's sparse-label kernel on TensorFlow, which
    differentiates through a ``tf.function``).
    ``sparse_softmax_cross_entropy(logits, labels)``: ``-log_softmax(logits)[label]``
    along the last axis (TF's and torch's fused kernels; ``gluon.loss``'s
    SoftmaxCrossEntropyLoss with integer labels).

Distribution
    ``in_replica_context()``: True inside a strategy's per-replica function
    (TensorFlow's ``strategy.run``), where each replica would write its own copy.
    ``once_for_all_replicas(fn)``: ``fn()`` once for all replicas (``merge_call``),
    its result handed to each; elsewhere just ``fn()``.
    ``sum_across_devices(groups, ctxs, everywhere=False)``: per group (one tensor per
    context), the sum on the first context's device, or (``everywhere``) on each
    context's device: the engine's collective where the copies sit on distinct devices
    (``tf.distribute``'s cross-device ops, ``torch.cuda.comm``), else ``keras.ops.add``
    (``multi_device``, Gluon's 'device' kvstore).
"""

import keras

from keras_defer.backend.common import MISS, NotRecorded, in_compiled_call

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
matmul = _active.matmul
random_draw = _active.random_draw
split_into = _active.split_into
random_draws = _active.random_draws
zeros = _active.zeros
concrete_scope = _active.concrete_scope
snapshot = _active.snapshot
device_name = _active.device_name
num_gpus = _active.num_gpus
module_call = _active.module_call
module_parameters = _active.module_parameters
begin_recording = _active.begin_recording
pause_recording = _active.pause_recording
resume_recording = _active.resume_recording
end_recording = _active.end_recording
watch = _active.watch
read_variables = _active.read_variables
gradients = _active.gradients
records_by_default = _active.records_by_default
unrecorded = _active.unrecorded
custom_gradient = _active.custom_gradient
tensor_dtype = _active.tensor_dtype
is_integer = _active.is_integer
is_tensor = _active.is_tensor
to_numpy = _active.to_numpy
from_numpy = _active.from_numpy
cast = _active.cast
reshape = _active.reshape
to_vector = _active.to_vector
copy = _active.copy
read_variable = _active.read_variable
trunc_div = _active.trunc_div
lgamma = _active.lgamma
exact_sqrt = _active.exact_sqrt
strided_slice = _active.strided_slice
stop_gradient = _active.stop_gradient
device_string = _active.device_string
to_device = _active.to_device
wait_to_read = _active.wait_to_read
synchronize = _active.synchronize
adopt_array_type = _active.adopt_array_type
fuse_rule = _active.fuse_rule
ctc_loss = _active.ctc_loss
sparse_softmax_cross_entropy = _active.sparse_softmax_cross_entropy
in_place_rule = _active.in_place_rule
in_replica_context = _active.in_replica_context
once_for_all_replicas = _active.once_for_all_replicas
sum_across_devices = _active.sum_across_devices

__all__ = [
    "NAME", "compile_call", "in_compiled_call", "fast_call", "MISS", "matmul_transposed", "matmul",
    "random_draw", "split_into", "random_draws", "zeros", "concrete_scope", "snapshot", "device_name",
    "num_gpus", "module_call", "module_parameters", "begin_recording", "pause_recording",
    "resume_recording",
    "end_recording", "watch", "read_variables", "gradients", "records_by_default",
    "unrecorded", "custom_gradient", "NotRecorded",
    "tensor_dtype", "is_integer", "is_tensor", "to_numpy", "from_numpy",
    "cast", "reshape", "to_vector", "copy", "read_variable", "trunc_div", "lgamma",
    "exact_sqrt", "strided_slice", "stop_gradient", "device_string", "to_device",
    "wait_to_read", "synchronize", "adopt_array_type", "fuse_rule", "in_place_rule", "ctc_loss",
    "sparse_softmax_cross_entropy", "in_replica_context", "once_for_all_replicas",
    "sum_across_devices",
]
