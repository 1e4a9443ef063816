"""The reference model of MXNet 1.9.1's Gluon losses (numpy only, no framework).

`LossSpec` names one loss block as a user builds it (class name and keyword
arguments) and the inputs it is called with; `forward(spec)` is the per-sample loss
MXNet 1.9.1's `gluon/loss.py` computes (the ops of its `hybrid_forward`, written in
numpy), `gradient(spec)` the gradient of `loss(...).sum()` with respect to the first
input (`pred`; `input1` for CosineEmbeddingLoss), and `repr_of(spec)` the block's repr.

What the model follows from gluon/loss.py:

* `label` is reshaped to `pred`'s shape (`_reshape_like`) before the formula;
* `_apply_weighting`: `loss * sample_weight` (broadcast), then `loss * weight` when
  `weight` is not None (L2Loss passes `weight / 2`: its default `weight=1.` gives
  `(label - pred)**2 / 2`);
* the reduction: `mean` over every axis but `batch_axis` (L1, L2, SigmoidBCE,
  SoftmaxCE, Huber, Hinge, SquaredHinge, Logistic), `sum` for KLDivLoss and TripletLoss,
  the mean of everything (shape (1,)) for PoissonNLLLoss, none for CosineEmbeddingLoss
  (shape (batch, 1));
* the constants MXNet adds: 1e-12 inside the logs of SigmoidBCE (from_sigmoid) and
  KLDiv, 1e-8 in PoissonNLL (from_logits=False), 1e-12 under CosineEmbedding's norms;
  they are added in float32 as MXNet does (a probability of 1e-7 plus 1e-12 is 1e-7);
* PoissonNLL's Stirling term `target*log(target) - target + 0.5*log(2*pi*target)` is
  multiplied by `target > 1`: a target of 0 gives 0 * nan, so the loss is NaN (MXNet
  1.9.1 does this; the model predicts it).

The model computes in float64 from the float32 inputs; a loss is compared within
float32 tolerance (checks/loss.py states it).  Gradients are central differences in
float64; an element where the left and right differences disagree (a kink: relu at 0,
|x| at 0, Huber's rho, a hinge's margin) is not compared.
"""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np

F32 = np.float32

# Constructor defaults (name -> (weight default, extra defaults)); every loss also takes
# batch_axis=0.  The repr is '{Name}(batch_axis={b}, w={weight})'.
LOSSES = {
    "L2Loss": (1.0, {}),
    "L1Loss": (None, {}),
    "SoftmaxCrossEntropyLoss": (None, {"axis": -1, "sparse_label": True, "from_logits": False}),
    "SigmoidBinaryCrossEntropyLoss": (None, {"from_sigmoid": False}),
    "KLDivLoss": (None, {"from_logits": True, "axis": -1}),
    "HuberLoss": (None, {"rho": 1}),
    "HingeLoss": (None, {"margin": 1}),
    "SquaredHingeLoss": (None, {"margin": 1}),
    "LogisticLoss": (None, {"label_format": "signed"}),
    "TripletLoss": (None, {"margin": 1}),
    "CosineEmbeddingLoss": (None, {"margin": 0}),
    "PoissonNLLLoss": (None, {"from_logits": True, "compute_full": False}),
    "CTCLoss": (None, {"layout": "NTC", "label_layout": "NT"}),
    "SDMLLoss": (1.0, {"smoothing_parameter": 0.3}),
}

# The names of each loss's positional inputs (the first is differentiated).
INPUTS = {
    "TripletLoss": ("pred", "positive", "negative"),
    "CosineEmbeddingLoss": ("input1", "input2", "label"),
    "SDMLLoss": ("x1", "x2"),
}


def input_names(name):
    return INPUTS.get(name, ("pred", "label"))


@dataclass
class LossSpec:
    """One call: `Name(**kwargs)(*inputs, **keyword_inputs)` (numpy float32 arrays)."""
    name: str
    kwargs: Dict = field(default_factory=dict)
    inputs: Tuple = ()
    keyword_inputs: Dict = field(default_factory=dict)   # sample_weight, pos_weight

    def option(self, key):
        return self.kwargs.get(key, LOSSES[self.name][1].get(key))

    @property
    def weight(self):
        return self.kwargs.get("weight", LOSSES[self.name][0])

    @property
    def batch_axis(self):
        if self.name == "CTCLoss":   # set by label_layout, not a constructor argument
            return self.option("label_layout").find("N")
        return self.kwargs.get("batch_axis", 0)


def repr_of(spec):
    return "%s(batch_axis=%r, w=%r)" % (spec.name, spec.batch_axis, spec.weight)


# -- numpy versions of MXNet's ops -------------------------------------------------------------
def _relu(x):
    return np.maximum(x, 0.0)


def _softrelu(x):
    """MXNet's Activation(act_type='softrelu'): log(1 + exp(x)), stable."""
    return np.logaddexp(0.0, x)


def _log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def _plus_f32(x, eps):
    """x + eps as MXNet computes it on a float32 array (then widened for the log)."""
    return (np.asarray(x, F32) + F32(eps)).astype(np.float64)


def _mean_exclude(loss, batch_axis):
    axes = tuple(i for i in range(loss.ndim) if i != batch_axis % loss.ndim)
    return loss.mean(axis=axes) if axes else loss


def _sum_exclude(loss, batch_axis):
    axes = tuple(i for i in range(loss.ndim) if i != batch_axis % loss.ndim)
    return loss.sum(axis=axes) if axes else loss


def _weighting(loss, weight, sample_weight):
    if sample_weight is not None:
        loss = loss * sample_weight
    if weight is not None:
        loss = loss * weight
    return loss


def forward(spec, first=None):
    """The per-sample loss (float64) MXNet 1.9.1 computes; `first` replaces the first
    input (the gradient's finite differences)."""
    with np.errstate(all="ignore"):
        return _forward(spec, first)


def _forward(spec, first):
    ins = [np.asarray(a, np.float64) for a in spec.inputs]
    raw_first = spec.inputs[0] if first is None else first
    if first is not None:
        ins[0] = np.asarray(first, np.float64)
    kw = {k: (None if v is None else np.asarray(v, np.float64))
          for k, v in spec.keyword_inputs.items()}
    sw = kw.get("sample_weight")
    name, b, w = spec.name, spec.batch_axis, spec.weight
    opt = spec.option
    if name == "TripletLoss":
        pred, pos, neg = ins[0], ins[1].reshape(ins[0].shape), ins[2].reshape(ins[0].shape)
        loss = _sum_exclude(np.square(pos - pred) - np.square(neg - pred), b)
        return _weighting(_relu(loss + opt("margin")), w, None)
    if name == "SDMLLoss":
        # its weight is shown in the repr but never applied (its KLDivLoss has none)
        x1, x2 = ins[0], ins[1]
        n = x1.shape[0]
        distances = np.sum(np.square(x1[:, None, :] - x2[None, :, :]), axis=2)
        log_p = _log_softmax(-distances, 1)
        sp = opt("smoothing_parameter")
        gold = np.eye(n)
        labels = gold * (1 - sp) + (1 - gold) * sp / (n - 1)
        return np.sum(labels * (np.log(_plus_f32(labels, 1e-12)) - log_p), axis=1)
    if name == "CosineEmbeddingLoss":
        x, y, label = ins[1], ins[0].reshape(ins[1].shape), ins[2].reshape(-1, 1)
        # input1 is reshaped like input2 (MXNet's argument order)
        xn = np.sqrt(np.sum(np.square(y), axis=-1)).reshape(-1, 1)
        yn = np.sqrt(np.sum(np.square(x), axis=-1)).reshape(-1, 1)
        dot = np.sum(y * x, axis=-1).reshape(-1, 1)
        cos = dot / np.maximum(xn * yn, 1e-12)
        loss = (1 - cos) * (label == 1) + np.maximum(0.0, (label == -1) * (cos - opt("margin")))
        return _weighting(loss, w, sw)
    pred, label = ins[0], ins[1]
    if name == "CTCLoss":
        if opt("layout") == "TNC":
            pred = np.swapaxes(pred, 0, 1)
        if opt("label_layout") == "TN":
            label = np.swapaxes(label, 0, 1)
        loss = np.array([_ctc(p, lab) for p, lab in zip(pred, label)])
        return _weighting(loss, w, sw)
    if name == "SoftmaxCrossEntropyLoss":
        axis = opt("axis")
        if not opt("from_logits"):
            pred = _log_softmax(pred, axis)
        if opt("sparse_label"):
            index = np.expand_dims(label.astype(np.int64), axis % pred.ndim) \
                if label.ndim < pred.ndim else label.astype(np.int64)
            index = np.clip(index.reshape(_keep_shape(pred.shape, axis)), 0, pred.shape[axis] - 1)
            loss = -np.take_along_axis(pred, index, axis=axis)
        else:
            loss = -np.sum(pred * label.reshape(pred.shape), axis=axis, keepdims=True)
        return _mean_exclude(_weighting(loss, w, sw), b)
    if name == "KLDivLoss":
        if not opt("from_logits"):
            pred = _log_softmax(pred, opt("axis"))
        loss = label * (np.log(_plus_f32(spec.inputs[1], 1e-12)) - pred)
        return _sum_exclude(_weighting(loss, w, sw), b)
    label = label.reshape(pred.shape)
    if name == "L2Loss":
        return _mean_exclude(_weighting(np.square(label - pred), w / 2, sw), b)
    if name == "L1Loss":
        return _mean_exclude(_weighting(np.abs(label - pred), w, sw), b)
    if name == "SigmoidBinaryCrossEntropyLoss":
        pw = kw.get("pos_weight")
        if not opt("from_sigmoid"):
            if pw is None:
                loss = _relu(pred) - pred * label + _softrelu(-np.abs(pred))
            else:
                log_weight = 1 + (pw - 1) * label
                loss = pred - pred * label + log_weight * (_softrelu(-np.abs(pred)) + _relu(-pred))
        else:
            p32 = np.asarray(raw_first, F32)
            log_p = np.log(_plus_f32(p32, 1e-12))
            log_q = np.log(_plus_f32(F32(1.0) - p32, 1e-12))
            if first is not None:   # finite differences: the float64 perturbation
                log_p = np.log(pred + 1e-12)
                log_q = np.log(1.0 - pred + 1e-12)
            if pw is None:
                loss = -(log_p * label + log_q * (1.0 - label))
            else:
                loss = -(log_p * label * pw + log_q * (1.0 - label))
        return _mean_exclude(_weighting(loss, w, sw), b)
    if name == "HuberLoss":
        rho = opt("rho")
        d = np.abs(label - pred)
        loss = np.where(d > rho, d - 0.5 * rho, (0.5 / rho) * np.square(d))
        return _mean_exclude(_weighting(loss, w, sw), b)
    if name == "HingeLoss":
        return _mean_exclude(_weighting(_relu(opt("margin") - pred * label), w, sw), b)
    if name == "SquaredHingeLoss":
        loss = np.square(_relu(opt("margin") - pred * label))
        return _mean_exclude(_weighting(loss, w, sw), b)
    if name == "LogisticLoss":
        if opt("label_format") == "signed":
            label = (label + 1.0) / 2.0
        loss = _relu(pred) - pred * label + _softrelu(-np.abs(pred))
        return _mean_exclude(_weighting(loss, w, sw), b)
    if name == "PoissonNLLLoss":
        if opt("from_logits"):
            loss = np.exp(pred) - label * pred
        else:
            loss = pred - label * np.log(pred + 1e-8)
        if opt("compute_full"):
            stirling = label * np.log(label) - label + 0.5 * np.log(2 * label * np.pi)
            loss = loss + stirling * (label > 1)
        return np.array([np.mean(_weighting(loss, w, sw))])
    raise ValueError("unknown loss %s" % name)


def _ctc(pred, label):
    """-log p(label | pred) of one sequence: pred (T, C) activations (softmax over C, the
    last channel the blank), label padded with -1 (MXNet's CTCLoss, blank_label='last');
    the forward algorithm in log space."""
    lp = _log_softmax(pred, -1)
    blank = pred.shape[1] - 1
    labels = [int(v) for v in label if v >= 0]
    ext = [blank]
    for v in labels:
        ext += [v, blank]
    steps, states = lp.shape[0], len(ext)
    alpha = np.full(states, -np.inf)
    alpha[0] = lp[0, ext[0]]
    if states > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, steps):
        prev = alpha.copy()
        for s in range(states):
            terms = [prev[s]]
            if s >= 1:
                terms.append(prev[s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                terms.append(prev[s - 2])
            alpha[s] = np.logaddexp.reduce(terms) + lp[t, ext[s]]
    return -np.logaddexp.reduce(alpha[-2:] if states > 1 else alpha[-1:])


def _keep_shape(shape, axis):
    out = list(shape)
    out[axis % len(shape)] = 1
    return tuple(out)


# Losses whose smooth formula is written with relu(x) and |x|: at x == 0 exactly MXNet's
# subgradients (relu'(0) = 0, |x|'(0) = 0) give -label where the smooth derivative is
# sigmoid(0) - label; those elements are not compared (LS-11).
SUBGRADIENT_AT_ZERO = ("SigmoidBinaryCrossEntropyLoss", "LogisticLoss")


def gradient(spec, h=1e-6):
    """(d sum(loss) / d first input, mask of the elements to compare): central
    differences; an element whose one-sided differences disagree is a kink, masked."""
    x = np.asarray(spec.inputs[0], np.float64)
    grad = np.zeros_like(x)
    smooth = np.ones(x.shape, bool)
    base = np.sum(forward(spec, x))
    for i in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        f_up, f_down = np.sum(forward(spec, up)), np.sum(forward(spec, down))
        right, left = (f_up - base) / h, (base - f_down) / h
        grad[i] = (f_up - f_down) / (2 * h)
        if not np.isfinite(grad[i]) or abs(right - left) > 1e-3 * (1 + abs(grad[i])):
            smooth[i] = False
        if x[i] == 0 and spec.name in SUBGRADIENT_AT_ZERO and \
                not spec.option("from_sigmoid"):
            smooth[i] = False
    return grad, smooth


def output_shape(spec):
    return forward(spec).shape


def reference(spec) -> Optional[np.ndarray]:
    return forward(spec)
