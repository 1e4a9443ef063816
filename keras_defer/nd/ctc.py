"""``CTCLoss`` (alias ``ctc_loss``): MXNet 1.9.1's connectionist temporal classification op.

MXNet's conventions, mapped onto the backend's ``ctc_loss`` (``keras.ops.ctc_loss``,
or TF's sparse-label kernel: ``keras_defer.backend``), whose blank is an index and whose
label lengths are always given:

* ``data`` is ``(sequence_length, batch_size, alphabet_size)`` activations, before
  softmax (time-major; Keras's op is batch-major);
* ``blank_label='first'``: channel 0 is the blank and label value 0 pads a label row;
  ``'last'``: channel ``alphabet_size - 1`` is the blank and ``-1`` pads;
* without ``use_label_lengths`` a label's length is the position of the first padding
  value in its row (the whole row if there is none); without ``use_data_lengths`` every
  sequence is ``sequence_length`` long;
* a label that cannot be aligned to its sequence (it needs more frames than there are:
  one per label and one more between repeated labels) costs 0, as in MXNet's kernel
  (Keras's op would give inf or a huge number there), and passes gradient 0 (MXNet's
  leaves that sample's gradient unwritten: docs/divergences.md L3).

The result is the per-sample loss, shape ``(batch_size,)``, in the data's dtype.
"""

import keras

from keras_defer import backend
from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import apply, deliver

ops = keras.ops

__all__ = ["CTCLoss", "ctc_loss"]

_BLANKS = ("first", "last")


def _lengths_from_padding(label, padding):
    """Per row: the index of the first ``padding`` value, or the row's width."""
    is_pad = ops.equal(label, padding)
    width = ops.shape(label)[1]
    first = ops.argmax(_backend.cast(is_pad, "int32"), axis=1)
    return ops.where(ops.any(is_pad, axis=1), _backend.cast(first, "int32"),
                     ops.cast(ops.full_like(first, width), "int32"))


def _ctc_loss_t(data, label, *lengths, use_data_lengths, use_label_lengths, blank_label):
    if len(data.shape) != 3 or len(label.shape) != 2:
        raise MXNetError("CTCLoss: data must be 3-D (sequence_length, batch_size, "
                         "alphabet_size) and label 2-D (batch_size, label_length), got "
                         "shapes %s and %s" % (tuple(data.shape), tuple(label.shape)))
    lengths = list(lengths)
    data_lengths = lengths.pop(0) if use_data_lengths else None
    label_lengths = lengths.pop(0) if use_label_lengths else None
    return _ctc_fused(data, label, data_lengths, label_lengths, blank_label=blank_label)


def _ctc_core(data, label, data_lengths, label_lengths, blank_label):
    """The loss itself, a pure function (compiled as one on JAX, whose eager ops
    would each compile on their own: 7 s a call instead of 1 s once per shape)."""
    use_data_lengths = data_lengths is not None
    use_label_lengths = label_lengths is not None
    alphabet = data.shape[-1]
    blank = 0 if blank_label == "first" else alphabet - 1
    padding = 0 if blank_label == "first" else -1
    labels = _backend.cast(label, "int32")
    if use_label_lengths:
        label_len = _backend.cast(label_lengths, "int32")
    else:
        label_len = _lengths_from_padding(labels, padding)
    steps = ops.shape(data)[0]
    if use_data_lengths:
        data_len = _backend.cast(data_lengths, "int32")
    else:
        data_len = ops.cast(ops.full_like(label_len, steps), "int32")
    # entries past a label's length are ignored: make them a valid class index
    position = ops.expand_dims(ops.arange(ops.shape(labels)[1], dtype="int32"), 0)
    valid = ops.less(position, ops.expand_dims(label_len, 1))
    labels = ops.where(valid, labels, ops.zeros_like(labels))
    # frames an alignment needs: one per label, one more between equal neighbours
    repeats = ops.logical_and(ops.equal(labels[:, 1:], labels[:, :-1]), valid[:, 1:])
    needed = label_len + ops.sum(_backend.cast(repeats, "int32"), axis=1)
    feasible = ops.less_equal(needed, data_len)
    label_len = ops.where(feasible, label_len, ops.zeros_like(label_len))
    loss = backend.ctc_loss(labels, ops.transpose(data, (1, 0, 2)), label_len, data_len,
                            blank)
    loss = ops.where(feasible, loss, ops.zeros_like(loss))
    name = _backend.tensor_dtype(data)
    return loss if _backend.tensor_dtype(loss) == name else _backend.cast(loss, name)


_ctc_fused = backend.fuse_rule(_ctc_core, static_argnames=("blank_label",))


def CTCLoss(data=None, label=None, data_lengths=None, label_lengths=None,
            use_data_lengths=False, use_label_lengths=False, blank_label="first",
            out=None, name=None, **kwargs):
    """Per-sample CTC loss of ``data`` (T, N, C) against ``label`` (N, L); see the module."""
    if blank_label not in _BLANKS:
        raise MXNetError("Invalid Input: '%s', valid values are: {'first', 'last'}, in "
                         "operator CTCLoss(name=\"\", blank_label=\"%s\")"
                         % (blank_label, blank_label))
    inputs = [data, label]
    for used, value in ((use_data_lengths, data_lengths), (use_label_lengths, label_lengths)):
        if used:
            inputs.append(value)
    if any(value is None for value in inputs):
        given = sum(value is not None for value in inputs)
        raise MXNetError("Check failed: num_inputs == infered_num_inputs (%d vs. %d) : "
                         "Operator CTCLoss expects %d inputs, but got %d instead (pass "
                         "data_lengths / label_lengths, of shape (batch_size,), when "
                         "use_data_lengths / use_label_lengths is True)"
                         % (given, len(inputs), len(inputs), given))
    return deliver(apply(_ctc_loss_t, *inputs, use_data_lengths=bool(use_data_lengths),
                         use_label_lengths=bool(use_label_lengths),
                         blank_label=blank_label), out)


ctc_loss = CTCLoss
