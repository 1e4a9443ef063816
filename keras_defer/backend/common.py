"""What every backend shares: the compiled-call state, and the generic versions of
the backend front's names (``keras.ops`` and ``keras.random``), which a backend
module keeps or replaces with something faster or more exact. Gradient recording has
no generic version: here it refuses, with a message that says what to use instead.

A hybridized parent traces its children into its own graph: while it traces, a
child must run plain instead of through its own compiled function
(``in_compiled_call``), and every compiled call picks its trace by training mode
(``compiled_mode``), the same way on every backend that compiles.
"""

import contextlib
import math
import threading

import keras
import numpy as np

from keras_defer import keras_compat
from keras_defer.errors import MXNetError

# -- compiled calls (hybridize) --------------------------------------------------------
_local = threading.local()


def in_compiled_call():
    """True while a compiled parent runs: its children then run plain (traced into
    the parent's graph) instead of through their own compiled functions."""
    return getattr(_local, "depth", 0) > 0


class compiled_scope:
    """``with compiled_scope():`` a compiled parent is being traced."""

    def __enter__(self):
        _local.depth = getattr(_local, "depth", 0) + 1

    def __exit__(self, *exc):
        _local.depth -= 1
        return False


PLAIN = object()
"""Returned by ``compiled_mode`` when a call must take the block's plain path."""


def compiled_mode(args, kwargs):
    """The training mode a compiled call of ``block(*args, **kwargs)`` runs in (each
    mode has its own trace), or ``PLAIN``.

    A child inherits ``training`` from its parent's Keras call context (``fit`` calls
    the model with training=True), and Dropout and BatchNorm trace differently in
    each mode. Plain: keyword arguments (``training=`` given explicitly), no
    positional input, KerasTensors (the functional API builds a Keras graph, not a
    compiled one), or a symbolic training flag that only Keras can resolve.
    """
    if kwargs or not args or any(isinstance(a, keras.KerasTensor) for a in args):
        return PLAIN
    training = keras_compat.context_training()
    if training is not None and not isinstance(training, bool):
        return PLAIN
    return training


def compile_call(block, **options):
    """No compiler: ``hybridize()`` is accepted and the forward stays eager, which
    changes no result."""
    return None


# -- the eager fast path ---------------------------------------------------------------
MISS = object()
"""Returned by ``fast_call`` when the fast path does not apply."""


def fast_call(block, args):
    """No fast path: every call takes Keras's ``Layer.__call__``."""
    return MISS


def matmul(a, b):
    """``a @ b`` of two 2-D tensors of one dtype (``nd.dot``)."""
    return keras.ops.matmul(a, b)


def matmul_transposed(x, weight):
    """``x @ weight.T`` (Gluon's Dense layout ``(units, in_units)``)."""
    return keras.ops.matmul(x, keras.ops.transpose(weight))


# -- initial values --------------------------------------------------------------------
def random_draw(kind, shape, scale, shift, dtype):
    """``unit * scale + shift`` of ``shape``, ``unit`` a fresh standard ``kind``
    ('uniform' on [0, 1), or 'normal') draw from Keras's global seed generator."""
    if kind == "uniform":
        return keras.random.uniform(shape, shift, shift + scale, dtype=dtype)
    return keras.random.normal(shape, shift, scale, dtype=dtype)


def random_draws(kind, shapes, scale, shift, dtype):
    """``random_draw`` of ``shapes[0]`` or of their summed size split into them, as one
    faster call with the same values; None: no faster call here, so ``init.Draws`` runs
    ``random_draw`` and ``split_into`` (JAX and PyTorch have one)."""
    return None


def split_into(flat, shapes):
    """``flat`` cut into consecutive pieces of ``shapes``."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    pieces = keras.ops.split(flat, np.cumsum(sizes)[:-1].tolist())
    return [keras.ops.reshape(piece, shape) for piece, shape in zip(pieces, shapes)]


def zeros(shape, dtype):
    return keras.ops.zeros(shape, dtype=dtype)


# -- variables -------------------------------------------------------------------------
def concrete_scope():
    """``with concrete_scope():`` computes with concrete values and changes real state,
    even when the first pass runs inside a symbolic trace. A no-op where the backend
    steps out of traces by itself."""
    return contextlib.nullcontext()


def snapshot(value, dtype=None):
    """A tensor holding ``value`` that aliases no variable.

    ``convert_to_tensor`` hands a variable back unchanged on TensorFlow, and a Keras
    variable built from it would share its storage: copy in that case only.
    """
    if isinstance(value, keras.Variable):
        # its value is the variable's own buffer on JAX (which ``fit`` donates): a copy
        return keras.ops.copy(keras.ops.convert_to_tensor(value.value, dtype=dtype))
    if (keras.ops.is_tensor(value) and not hasattr(value, "assign")
          and (dtype is None or keras.backend.standardize_dtype(value.dtype) == dtype)):
        return value  # already a tensor of that dtype: conversion would hand it back
    tensor = keras.ops.convert_to_tensor(value, dtype=dtype)
    if hasattr(tensor, "assign"):
        tensor = keras.ops.copy(tensor)
    return tensor


# -- distribution ----------------------------------------------------------------------
def in_replica_context():
    """True inside a distribution strategy's per-replica function, where each
    replica would write its own copy of a parameter (TensorFlow's ``strategy.run``)."""
    return False


def once_for_all_replicas(fn):
    """``fn()`` run once for all replicas (so every replica sees the same writes),
    its result handed to each; outside a replica function, just ``fn()``."""
    return fn()


# -- devices and modules ---------------------------------------------------------------
def device_name(device_type, device_id):
    """The device string ``keras.device()`` understands for Gluon's ``cpu(0)``/``gpu(1)``."""
    return "%s:%d" % (device_type, device_id)


def num_gpus():
    """How many GPUs the backend can see."""
    return 0


module_call = None
module_parameters = None  # only PyTorch's layers are modules with parameters
"""What a block's module call runs where layers are modules (PyTorch); None elsewhere."""


# -- gradient recording (autograd) -----------------------------------------------------
# ``keras_defer.autograd`` drives these; the state they keep is per thread, as MXNet's
# recording flag is. A *session* runs from the moment recording turns on outside any
# session (``record()`` entered) to the moment it turns off with no ``record()``
# scope left open; inside it, ``pause()`` stops and resumes recording.
class NotRecorded(Exception):
    """Raised by ``gradients``: a head was not recorded, or its history is gone."""


records_by_default = False
"""Whether the backend records operations outside any session (PyTorch does, while
its grad mode is on): then ``autograd`` runs NDArray operations outside ``record()``
in ``unrecorded()``, as MXNet records nothing there."""

RECORDING_UNSUPPORTED = (
    "autograd.record() needs a Keras backend that records operations for "
    "differentiation (TensorFlow or PyTorch); Keras's %r backend does not. Train with "
    "Keras instead: net.compile(optimizer, loss) and net.fit(...) (a Block is a Keras "
    "layer, a Sequential a Keras model), or set KERAS_BACKEND to 'tensorflow' or "
    "'torch'." % keras.backend.backend())


def begin_recording():
    """Recording turns on, starting a session."""
    raise MXNetError(RECORDING_UNSUPPORTED)


def pause_recording():
    """Recording turns off inside a session (``pause()``)."""


def resume_recording():
    """Recording turns back on inside a session."""


def end_recording():
    """The session ends (recording is off, or turns off now)."""


def watch(tensor):
    """A tensor holding ``tensor``'s value whose gradient later ``gradients`` calls can
    compute, for an array with an attached gradient: the caller stores the result in
    place of ``tensor``. Called while recording."""
    return tensor


def read_variables(variables):
    """Those of ``variables`` (Keras variables) that the recorded operations may have
    read, in order."""
    return []


def gradients(heads, head_grads, sources, retain_graph=False, create_graph=False):
    """The gradient of ``sum(head * head_grad)`` over ``heads`` with respect to each
    of ``sources`` (tensors given to ``watch``, or Keras variables), None where a
    source is unreachable from the heads; a ``head_grads`` entry None means ones.
    ``create_graph``: record the computation, so that the results can be
    differentiated in turn. Raises ``NotRecorded``."""
    raise MXNetError(RECORDING_UNSUPPORTED)


def unrecorded():
    """``with unrecorded():`` the backend records nothing (PyTorch's ``no_grad``)."""
    return contextlib.nullcontext()


def custom_gradient(inputs, outputs, backward):
    """``outputs`` (tensors computed from ``inputs`` without recording) as new
    tensors recorded as one operation of ``inputs`` whose gradient is
    ``backward(output_grads) -> input_grads`` (lists of tensors)."""
    raise MXNetError(RECORDING_UNSUPPORTED)


# -- tensors (what an NDArray asks of the tensor it holds) -----------------------------
# ``keras.ops`` computes every NDArray operation; these answer questions about a
# tensor (dtype, device, a host copy) and do what Keras has no op for (C-style integer
# division, lgamma) or does with per-call overhead an NDArray must not add (a cast, a
# reshape). The backend modules replace them with one raw call each.
def tensor_dtype(t):
    """The dtype name ('float32', 'int64', ...) of tensor ``t``."""
    return keras.backend.standardize_dtype(t.dtype)


def is_integer(t):
    """Whether ``t`` holds integers or booleans."""
    name = tensor_dtype(t)
    return name == "bool" or "int" in name


def is_tensor(x):
    """Whether ``x`` is a tensor of the backend (not a numpy array, not a variable)."""
    return keras.ops.is_tensor(x)


def to_numpy(t):
    """A fresh, writable numpy copy of ``t``."""
    return np.array(keras.ops.convert_to_numpy(t))


def from_numpy(values):
    """A tensor holding the numpy array ``values`` (dtype kept) on the default device,
    without Keras's per-call conversion overhead (``gluon.data`` makes one per sample
    and per batch). It may share ``values``' memory: pass an array nobody writes later."""
    return keras.ops.convert_to_tensor(values)


def cast(t, name):
    return keras.ops.cast(t, name)


def trunc_div(a, b):
    """Integer division rounding towards zero (C's, MXNet's), not towards -inf."""
    quotient = keras.ops.floor_divide(keras.ops.abs(a), keras.ops.abs(b))
    return keras.ops.where(keras.ops.sign(a) * keras.ops.sign(b) < 0, -quotient, quotient)


def device_string(t):
    """``'cpu:0'``, ``'gpu:1'``: where ``t`` lives."""
    return "cpu:0"


def stop_gradient(t):
    return keras.ops.stop_gradient(t)


def wait_to_read(t):
    """Wait until ``t`` is computed (asynchronous backends); returns ``t``."""
    return t


def synchronize():
    """Wait for every queued computation (``nd.waitall``)."""


def copy(t):
    """A tensor holding ``t``'s value that later writes to ``t``'s storage leave alone."""
    return keras.ops.copy(t)


def to_device(t, ctx):
    """A copy of ``t`` on the device of Context ``ctx``."""
    with keras.device(ctx.keras_device):
        return keras.ops.copy(t)


def read_variable(variable):
    """The current value of Keras variable ``variable``, as a tensor that later
    assignments to the variable leave alone."""
    return keras.ops.copy(variable.value)


def lgamma(t):
    """log|Γ(t)| elementwise (no ``keras.ops`` version: computed on the host)."""
    values = np.vectorize(math.lgamma, otypes=[np.float64])(keras.ops.convert_to_numpy(t))
    return keras.ops.convert_to_tensor(values, dtype=tensor_dtype(t))


def exact_sqrt(t):
    """A correctly rounded square root."""
    return keras.ops.sqrt(t)


def reshape(t, shape):
    return keras.ops.reshape(t, shape)


def to_vector(t):
    """A 0-d tensor as shape (1,)."""
    return keras.ops.reshape(t, (1,))


def strided_slice(t, slices):
    """``t[slices]`` for a tuple of Python slices, negative steps included (an axis
    sliced backwards is flipped first: not every backend takes negative steps)."""
    if all(s.step is None or s.step > 0 for s in slices):
        return t[slices]
    shape = tuple(t.shape)
    forward = []
    for axis, s in enumerate(slices):
        if s.step is not None and s.step < 0:
            n = shape[axis]
            start, stop, step = s.indices(n)
            t = keras.ops.flip(t, axis=axis)
            forward.append(slice(n - 1 - start, n - 1 - stop, -step))
        else:
            forward.append(s)
    return t[tuple(forward)]


def adopt_array_type(cls, to_tensor):
    """Let the backend's own functions (and so ``keras.ops``) take instances of
    ``cls`` (NDArray) as the tensor ``to_tensor(instance)``, without a host copy, where
    the backend has a hook for that. Elsewhere they go through ``cls.__array__``: a
    copy, eager only."""


# ------------------------------------------------------------------ losses
def sparse_softmax_cross_entropy(logits, labels):
    """``-log_softmax(logits)[..., label]`` per position (``labels``: ``logits``'s shape
    without the last axis, any numeric dtype, truncated to int and clipped to the
    classes, as MXNet's ``pick`` with mode 'clip')."""
    idx = keras.ops.clip(keras.ops.cast(labels, "int32"), 0, logits.shape[-1] - 1)
    log_p = keras.ops.log_softmax(logits, axis=-1)
    picked = keras.ops.take_along_axis(log_p, keras.ops.expand_dims(idx, -1), axis=-1)
    return -keras.ops.squeeze(picked, -1)


def ctc_loss(labels, logits, label_lengths, logit_lengths, blank):
    """Per-sample CTC loss (``gluon.loss.CTCLoss``, ``nd.CTCLoss``): ``labels`` (N, L)
    int32, entries past a row's ``label_lengths`` ignored; ``logits`` (N, T, C) before
    softmax; ``blank`` the blank's channel. ``keras.ops.ctc_loss`` here."""
    return keras.ops.ctc_loss(labels, logits, label_lengths, logit_lengths, mask_index=blank)


# ------------------------------------------------------------------ optimizer steps
def fuse_rule(fn, static_argnames=()):
    """``fn``, a pure function of tensors and Python numbers (an optimizer's update
    rule), as this backend runs it fastest: as it is here (eager ops, one
    dispatch each, are cheap); JAX compiles it once per value of ``static_argnames``."""
    return fn


def in_place_rule(name):
    """An in-place kernel for the optimizer rule ``name`` ('sgd', 'adam'), or None
    where tensors are immutable (TensorFlow, JAX): there the rule's new tensors are
    assigned. See ``keras_defer.optimizer`` for the kernels' arguments."""
    return None


# ------------------------------------------------------------ sums across devices
def sum_across_devices(groups, ctxs, everywhere=False):
    """Gluon's 'device' kvstore sum (``keras_defer.multi_device``): ``groups`` holds
    one list per parameter of one tensor per context of ``ctxs`` (copy k's gradient,
    on context k's device). Returns each group's sum on ``ctxs[0]``'s device, or, with
    ``everywhere`` (an all-reduce), one list per group of the sum on each context's
    device. Here device copies and ``keras.ops.add``; a backend replaces it with its
    engine's collective where the tensors sit on distinct devices it can reduce
    across (TensorFlow's ``tf.distribute``, PyTorch's ``torch.cuda.comm``)."""
    return added_across_devices(groups, ctxs, everywhere, to_device)


def added_across_devices(groups, ctxs, everywhere, move):
    """``sum_across_devices`` with ``keras.ops.add``, ``move(tensor, ctx)`` being the
    backend's device copy: what every backend falls back to (one device, CPU copies
    on PyTorch, JAX)."""
    sums = []
    for group in groups:
        total = group[0]
        for tensor in group[1:]:
            total = keras.ops.add(total, move(tensor, ctxs[0]))
        sums.append(total)
    if not everywhere:
        return sums
    return [[total] + [move(total, ctx) for ctx in ctxs[1:]] for total in sums]
