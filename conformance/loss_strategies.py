"""Hypothesis strategies for the loss group: a loss, its options and its inputs
(loss_model.LossSpec).

Inputs are float32 arrays of shape (batch, ...) with 1 to 4 samples.  Values come
from ranges that reach the hard regions of each loss: logits up to +-30 (softmax and
sigmoid saturate), probabilities within 1e-6 of 0 and 1 (the logs of
SigmoidBCE(from_sigmoid) and KLDiv), exact zeros (KLDiv's 0 * log 0, PoissonNLL's
target 0), labels on the kinks of Hinge and Huber.  Only inputs MXNet 1.9.1 accepts
are drawn (labels of the right size, sample weights that broadcast to the loss).
An array is one draw of a regime (uniform, large, integer, near 0/1, or a per-element
mix) and a seed that fills it: hypothesis's cost stays small next to the losses'.
"""

import numpy as np
from hypothesis import strategies as st

from conformance import loss_model as LM

F32 = np.float32
NAMES = sorted(LM.LOSSES)
# the losses that reduce with mean/sum over every axis but batch_axis (batch_axis 1 works)
AXIS_REDUCED = {"L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "HuberLoss", "HingeLoss",
                "SquaredHingeLoss", "LogisticLoss", "KLDivLoss", "SoftmaxCrossEntropyLoss"}


def _array(draw, shape, elements):
    """A float32 array of `shape`: `elements(rng, size)` fills it from a drawn seed
    (one draw per array, not per element: the group's cost is the implementation's)."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    size = int(np.prod(shape))
    values = np.asarray(elements(np.random.default_rng(seed), size), np.float64)
    return values.astype(F32).reshape(shape)


def _floats(low, high):
    return lambda rng, n: rng.uniform(low, high, n)


def _choice(values):
    return lambda rng, n: rng.choice(np.asarray(values, np.float64), n)


def _mixed(*regimes):
    """Each element from one of `regimes`, picked at random per element."""
    def fill(rng, n):
        parts = np.stack([r(rng, n) for r in regimes])
        return parts[rng.integers(0, len(regimes), n), np.arange(n)]
    return fill


def real(scale=3.0):
    """Moderate values, sometimes large logits, sometimes small integers (kinks)."""
    return st.sampled_from([
        _floats(-scale, scale),
        _mixed(_floats(-scale, scale), _floats(-30, 30)),
        _floats(-30, 30),
        _choice([-2.0, -1.0, 0.0, 1.0, 2.0]),
        _mixed(_floats(-scale, scale), _choice([-2.0, -1.0, 0.0, 1.0, 2.0])),
    ])


def probability():
    """Probabilities, often within 1e-6 of 0 or 1."""
    near0, near1 = _floats(1e-7, 1e-5), (lambda rng, n: 1.0 - rng.uniform(6e-8, 5e-6, n))
    return st.sampled_from([_floats(0.0, 1.0), near0, near1, _choice([0.0, 1.0]),
                            _mixed(_floats(0.0, 1.0), near0, near1, _choice([0.0, 1.0]))])


def _distribution(draw, shape, axis, zeros=True):
    """Rows summing to 1 along `axis` (some entries exactly 0)."""
    raw = _array(draw, shape, _mixed(_floats(0.0, 1.0), _choice([0.0])) if zeros
                 else _floats(0.1, 1.0))
    raw = raw + (np.sum(raw, axis=axis, keepdims=True) == 0)
    return (raw / np.sum(raw, axis=axis, keepdims=True)).astype(F32)


@st.composite
def specs(draw, names=NAMES):
    name = draw(st.sampled_from(names))
    batch = draw(st.integers(1, 4))
    features = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    shape = (batch,) + features
    kwargs = {}
    weight = draw(st.sampled_from([None, None, 0.5, 2.0, 2]))
    if weight is not None:
        kwargs["weight"] = weight
    if name in AXIS_REDUCED and draw(st.integers(0, 4)) == 0:
        kwargs["batch_axis"] = 1
    keyword_inputs = {}
    make = globals()["_" + name]
    inputs = make(draw, shape, kwargs)
    if draw(st.booleans()) and name not in ("TripletLoss", "CTCLoss", "SDMLLoss"):
        loss_shape = _unreduced_shape(name, inputs, kwargs)
        sw_shape = draw(st.sampled_from(_broadcasting(loss_shape)))
        keyword_inputs["sample_weight"] = _array(draw, sw_shape, _floats(0.0, 2.0))
    if name == "SigmoidBinaryCrossEntropyLoss" and draw(st.booleans()):
        pw_shape = draw(st.sampled_from([inputs[0].shape, inputs[0].shape[1:]]))
        keyword_inputs["pos_weight"] = _array(draw, pw_shape, _floats(0.0, 3.0))
    return LM.LossSpec(name, kwargs, tuple(inputs), keyword_inputs)


def _broadcasting(shape):
    """Shapes broadcasting to `shape`: itself, (batch, 1, ...), (1,) * ndim."""
    out = [tuple(shape), (shape[0],) + (1,) * (len(shape) - 1)]
    if len(shape) > 1:
        out.append((1,) * len(shape))
    return out


def _unreduced_shape(name, inputs, kwargs):
    """The shape of the loss before its reduction (what sample_weight multiplies)."""
    pred = inputs[0]
    if name == "CosineEmbeddingLoss":
        return (inputs[1].shape[0], 1)
    if name == "SoftmaxCrossEntropyLoss":
        shape = list(pred.shape)
        if kwargs.get("sparse_label", True) or True:
            shape[kwargs.get("axis", -1) % pred.ndim] = 1
        return tuple(shape)
    return pred.shape


def _maybe_flat(draw, array, shape):
    """The label as given or flattened to (batch, -1) (MXNet reshapes it like pred)."""
    if len(shape) > 2 and draw(st.booleans()):
        return array.reshape(shape[0], -1)
    return array


def _L2Loss(draw, shape, kwargs):
    label = _array(draw, shape, draw(real()))
    return [_array(draw, shape, draw(real())), _maybe_flat(draw, label, shape)]


_L1Loss = _L2Loss


def _HuberLoss(draw, shape, kwargs):
    rho = draw(st.sampled_from([None, 1, 0.5, 2.0]))
    if rho is not None:
        kwargs["rho"] = rho
    return _L2Loss(draw, shape, kwargs)


def _signed(draw, shape):
    return _array(draw, shape, _choice([-1.0, 1.0]))


def _HingeLoss(draw, shape, kwargs):
    margin = draw(st.sampled_from([None, 1, 0.5, 2.0]))
    if margin is not None:
        kwargs["margin"] = margin
    return [_array(draw, shape, draw(real())), _maybe_flat(draw, _signed(draw, shape), shape)]


_SquaredHingeLoss = _HingeLoss


def _LogisticLoss(draw, shape, kwargs):
    fmt = draw(st.sampled_from([None, "signed", "binary"]))
    if fmt is not None:
        kwargs["label_format"] = fmt
    label = _signed(draw, shape) if fmt != "binary" else \
        _array(draw, shape, _choice([0.0, 1.0]))
    return [_array(draw, shape, draw(real())), label]


def _SigmoidBinaryCrossEntropyLoss(draw, shape, kwargs):
    from_sigmoid = draw(st.booleans())
    if from_sigmoid or draw(st.booleans()):
        kwargs["from_sigmoid"] = from_sigmoid
    pred = _array(draw, shape, draw(probability() if from_sigmoid else real()))
    label = _array(draw, shape, draw(st.sampled_from([_choice([0.0, 1.0]), _floats(0.0, 1.0)])))
    return [pred, _maybe_flat(draw, label, shape)]


def _SoftmaxCrossEntropyLoss(draw, shape, kwargs):
    axis = draw(st.sampled_from([None, -1, 1] if len(shape) > 2 else [None, -1, 1]))
    if axis is not None:
        kwargs["axis"] = axis
    axis = -1 if axis is None else axis
    sparse = draw(st.booleans())
    if not sparse or draw(st.booleans()):
        kwargs["sparse_label"] = sparse
    from_logits = draw(st.integers(0, 3)) == 0
    if from_logits:
        kwargs["from_logits"] = True
    pred = _array(draw, shape, draw(real()) if not from_logits else _floats(-8.0, 0.0))
    classes = shape[axis]
    if sparse:
        lshape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
        label = _array(draw, lshape, _choice(range(classes)))
    else:
        label = _distribution(draw, shape, axis)
    return [pred, label]


def _KLDivLoss(draw, shape, kwargs):
    from_logits = draw(st.booleans())
    if not from_logits or draw(st.booleans()):
        kwargs["from_logits"] = from_logits
    if draw(st.booleans()):
        kwargs["axis"] = -1
    pred = _array(draw, shape, draw(real()) if not from_logits else _floats(-12.0, 0.0))
    return [pred, _distribution(draw, shape, -1)]


def _TripletLoss(draw, shape, kwargs):
    margin = draw(st.sampled_from([None, 1, 0.5]))
    if margin is not None:
        kwargs["margin"] = margin
    return [_array(draw, shape, draw(real())) for _ in range(3)]


def _CosineEmbeddingLoss(draw, shape, kwargs):
    margin = draw(st.sampled_from([None, 0, 0.2]))
    if margin is not None:
        kwargs["margin"] = margin
    shape = shape[:2]
    nonzero = _mixed(_floats(0.1, 3.0), _floats(-3.0, -0.1))
    return [_array(draw, shape, nonzero), _array(draw, shape, nonzero),
            _array(draw, (shape[0],), _choice([-1.0, 1.0]))]


def _SDMLLoss(draw, shape, kwargs):
    """Two (batch, dim) batches of matching pairs, batch >= 2 (labels divide by N - 1)."""
    smoothing = draw(st.sampled_from([None, 0.3, 0.1]))
    if smoothing is not None:
        kwargs["smoothing_parameter"] = smoothing
    shape = (max(2, shape[0]), shape[1])
    return [_array(draw, shape, _floats(-1.5, 1.5)), _array(draw, shape, _floats(-1.5, 1.5))]


def _CTCLoss(draw, shape, kwargs):
    """Activations (N, T, C) (or TNC), labels (N, L) (or TN) of classes 0..C-2 padded
    with -1, each short enough for its sequence (L <= T // 2: repeats need blanks)."""
    batch = shape[0]
    steps, classes = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    layout = draw(st.sampled_from([None, "NTC", "TNC"]))
    label_layout = draw(st.sampled_from([None, "NT", "TN"]))
    if layout is not None:
        kwargs["layout"] = layout
    if label_layout is not None:
        kwargs["label_layout"] = label_layout
    pred = _array(draw, (batch, steps, classes), draw(st.sampled_from(
        [_floats(-3.0, 3.0), _floats(-10.0, 10.0)])))
    longest = draw(st.integers(1, steps // 2))
    label = np.full((batch, longest), -1.0, F32)
    for i in range(batch):
        n = draw(st.integers(1, longest))
        label[i, :n] = _array(draw, (n,), _choice(range(classes - 1)))
    if layout == "TNC":
        pred = np.ascontiguousarray(np.swapaxes(pred, 0, 1))
    if label_layout == "TN":
        label = np.ascontiguousarray(np.swapaxes(label, 0, 1))
    return [pred, label]


def _PoissonNLLLoss(draw, shape, kwargs):
    from_logits = draw(st.booleans())
    if not from_logits or draw(st.booleans()):
        kwargs["from_logits"] = from_logits
    if draw(st.booleans()):
        kwargs["compute_full"] = draw(st.booleans())
    pred = _array(draw, shape, _floats(-3.0, 3.0) if from_logits else _floats(1e-3, 5.0))
    low = 0 if not kwargs.get("compute_full") or draw(st.booleans()) else 1
    target = _array(draw, shape, _choice(range(low, 7)))
    return [pred, target]
