"""``mxnet.gluon.loss`` (MXNet 1.9.1): losses are HybridBlocks that return a per-sample loss.

::

    loss = gluon.loss.L2Loss()
    with autograd.record():
        l = loss(net(X), y)          # shape (batch_size,): one value per sample
    l.backward()                     # the parameters' gradients, as MXNet's

Each class keeps MXNet's constructor, defaults, name (``l2loss0``), repr
(``L2Loss(batch_axis=0, w=1.0)``) and ``hybrid_forward(F, ...)``, written with the same
``nd`` operations in the same order as MXNet's, so values, dtypes and gradients are
MXNet's, including its quirks: ``L2Loss`` halves the squared error, ``weight``
multiplies the elementwise loss before the mean, ``CosineEmbeddingLoss`` returns
``(batch_size, 1)``, ``PoissonNLLLoss`` returns the mean over everything (shape
``(1,)``), ``SDMLLoss`` ignores its own ``weight``. Inputs are called positionally, as
in MXNet (``loss(pred, label, sample_weight)``; MXNet refuses keywords too).

Two things differ in how, not what: a loss keeps its inputs' float dtype (Keras would
cast float64 inputs of a layer to float32: ``autocast=False``), and a hybridized loss on
TensorFlow is traced with an unknown batch size, so the few steps that MXNet does with
static shapes (``_reshape_like``, ``pick``, ``reshape((-1, 1))``, ``norm``, SDML's
``eye``) fall back to dynamic ones there (the helpers below). Where results differ
from MXNet's (``PoissonNLLLoss(compute_full=True)`` and ``SDMLLoss`` train and
hybridize; an unalignable CTC label gets gradient 0), see ``docs/divergences.md``
(L1-L6).
"""

import numpy as np
import keras

from keras_defer import backend
from keras_defer.block import HybridBlock
from keras_defer.errors import MXNetError
from keras_defer.nd.ndarray import apply

__all__ = ["Loss", "L2Loss", "L1Loss",
           "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss",
           "KLDivLoss", "CTCLoss", "HuberLoss", "HingeLoss",
           "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss",
           "CosineEmbeddingLoss", "SDMLLoss"]

ops = keras.ops

#: MXNet's ``base.numeric_types``: what ``weight`` may be
numeric_types = (float, int, np.generic)


# -- MXNet's helpers ----------------------------------------------------------------------
def _apply_weighting(F, loss, weight=None, sample_weight=None):
    """``loss`` times ``sample_weight`` (broadcast) and times the scalar ``weight``."""
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        assert isinstance(weight, numeric_types), "weight must be a number"
        loss = loss * weight
    return loss


# -- shapes: MXNet's static-shape steps, with a fallback for a traced call ----------------
def _is_static(*arrays):
    """Whether every dim of every array is known (always, except in a traced call)."""
    return all(d is not None for a in arrays for d in a.shape)


def _reshape_like_t(x, y):
    return ops.reshape(x, ops.shape(y))


def _reshape_like(F, x, y):
    """``x`` reshaped to ``y``'s shape: ``x.reshape(y.shape)``, MXNet's eager path and
    errors (ValueError when ``x`` is larger, MXNetError when smaller)."""
    if _is_static(x, y):
        return x.reshape(y.shape)
    return apply(_reshape_like_t, x, y)


def _as_column_t(x):
    return ops.reshape(x, (-1, 1))


def _as_column(x):
    """``x.reshape((-1, 1))``."""
    if _is_static(x):
        return x.reshape((-1, 1))
    return apply(_as_column_t, x)


def _norm_column_t(x, axis):
    return ops.reshape(ops.sqrt(ops.sum(ops.square(x), axis=axis)), (-1, 1))


def _norm_column(F, x, axis):
    """``F.norm(x, axis=axis).reshape((-1, 1))``."""
    if _is_static(x):
        return F.norm(x, axis=axis).reshape((-1, 1))
    return apply(_norm_column_t, x, axis=axis)


def _pick_keepdims_t(t, index, axis):
    axis %= len(t.shape)
    idx = ops.clip(ops.cast(index, "int32"), 0, ops.shape(t)[axis] - 1)
    if len(idx.shape) < len(t.shape):  # (N,) labels; (N, 1) ones are kept as they are
        idx = ops.expand_dims(idx, axis)
    return ops.take_along_axis(t, idx, axis=axis)


def _check_pick_index(data, index, axis):
    """MXNet's shape check of ``pick``: ``index`` is ``data``'s shape without ``axis``
    (or with it as 1)."""
    shape = tuple(data.shape)
    axis %= len(shape)
    dropped, kept = shape[:axis] + shape[axis + 1:], shape[:axis] + (1,) + shape[axis + 1:]
    if tuple(index.shape) not in (dropped, kept):
        inferred = kept if len(index.shape) == len(shape) else dropped
        raise MXNetError("Shape inconsistent, Provided = [%s], inferred shape=[%s]"
                         % (",".join(map(str, index.shape)), ",".join(map(str, inferred))))


def _pick_keepdims(F, data, index, axis):
    """``F.pick(data, index, axis=axis, keepdims=True)`` (mode 'clip')."""
    if _is_static(data, index):
        _check_pick_index(data, index, axis)
        return F.pick(data, index, axis=axis, keepdims=True)
    return apply(_pick_keepdims_t, data, index, axis=axis)


def _sdml_labels_t(x, smoothing):
    """``SDMLLoss._compute_labels`` for a batch size known only when the call runs."""
    size = ops.shape(x)[0]
    index = ops.arange(size)
    gold = ops.cast(ops.equal(ops.expand_dims(index, 1), ops.expand_dims(index, 0)), "float32")
    return gold * (1 - smoothing) + (1 - gold) * smoothing / ops.cast(size - 1, "float32")


# -- the base class -----------------------------------------------------------------------
class Loss(HybridBlock):
    """Base class for loss.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # every loss computes on NDArrays with F = nd, user subclasses too
        cls._forward_on_ndarrays = True

    _forward_on_ndarrays = True

    def __init__(self, weight, batch_axis, **kwargs):
        # Keras would cast float64 inputs of a layer to float32; MXNet keeps them
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = batch_axis

    def __repr__(self):
        return "{name}(batch_axis={batch_axis}, w={weight})".format(
            name=type(self).__name__, batch_axis=self._batch_axis, weight=self._weight)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Overrides to construct the loss (``F`` is ``keras_defer.nd``)."""
        raise NotImplementedError


def _mean_over_samples(F, loss, batch_axis):
    return F.mean(loss, axis=batch_axis, exclude=True)


# -- regression -----------------------------------------------------------------------------
class L2Loss(Loss):
    r"""Half the mean squared error: :math:`L = \frac{1}{2} \sum_i |label_i - pred_i|^2`
    (averaged over every axis but ``batch_axis``)."""

    def __init__(self, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.square(label - pred)
        loss = _apply_weighting(F, loss, self._weight / 2, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


class L1Loss(Loss):
    r"""The mean absolute error :math:`L = \sum_i |label_i - pred_i|` (averaged over
    every axis but ``batch_axis``)."""

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


class HuberLoss(Loss):
    r"""Smoothed L1: :math:`\frac{1}{2 rho} d^2` where :math:`|d| \le rho`, else
    :math:`|d| - \frac{rho}{2}` (``d = label - pred``)."""

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = F.where(loss > self._rho, loss - 0.5 * self._rho,
                       (0.5 / self._rho) * F.square(loss))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


class PoissonNLLLoss(Loss):
    r"""Negative log likelihood of ``target`` under a Poisson of rate ``pred``
    (``exp(pred)`` when ``from_logits``); ``compute_full`` adds Stirling's term for
    targets > 1. Returns the mean over *all* elements, shape ``(1,)``."""

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False,
                 **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F, pred, target, sample_weight=None, epsilon=1e-08):
        target = _reshape_like(F, target, pred)
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            # MXNet's Stirling factor: nan where target is 0 (0 * log 0), even masked
            stirling_factor = target * F.log(target) - target + 0.5 * F.log(2 * target * np.pi)
            target_gt_1 = target > 1
            stirling_factor = stirling_factor * target_gt_1
            loss = loss + stirling_factor
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.mean(loss)


# -- classification -------------------------------------------------------------------------
class SigmoidBinaryCrossEntropyLoss(Loss):
    r"""Binary cross-entropy of ``label`` in [0, 1] and ``sigmoid(pred)`` (or ``pred``
    itself with ``from_sigmoid=True``); ``pos_weight`` (the 4th input) weighs the
    positive term. Alias ``SigmoidBCELoss``."""

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F, pred, label, sample_weight=None, pos_weight=None):
        label = _reshape_like(F, label, pred)
        if not self._from_sigmoid:
            if pos_weight is None:
                # the stable formula: max(x, 0) - x * z + log(1 + exp(-abs(x)))
                loss = F.relu(pred) - pred * label + \
                    F.Activation(-F.abs(pred), act_type='softrelu')
            else:
                # x - x * z + (1 + z * pos_weight - z) * (log(1 + exp(-abs(x))) + max(-x, 0))
                log_weight = 1 + F.broadcast_mul(pos_weight - 1, label)
                loss = pred - pred * label + log_weight * \
                    (F.Activation(-F.abs(pred), act_type='softrelu') + F.relu(-pred))
        else:
            eps = 1e-12
            if pos_weight is None:
                loss = -(F.log(pred + eps) * label
                         + F.log(1. - pred + eps) * (1. - label))
            else:
                loss = -(F.broadcast_mul(F.log(pred + eps) * label, pos_weight)
                         + F.log(1. - pred + eps) * (1. - label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    r"""Cross-entropy of ``softmax(pred)`` along ``axis`` (``pred`` is already
    log-probabilities with ``from_logits=True``) against integer labels
    (``sparse_label=True``: ``pred``'s shape without ``axis``) or distributions
    (``pred``'s shape). Alias ``SoftmaxCELoss``."""

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, weight=None,
                 batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if self._fused(pred, label):
            # log_softmax + pick as one fused kernel where the backend has one (the
            # same formula: -log_softmax(pred)[label], labels truncated and clipped)
            loss = apply(_sparse_softmax_ce_t, pred, label)
            loss = _apply_weighting(F, loss, self._weight, sample_weight)
            return loss.mean(axis=self._batch_axis, exclude=True)
        if not self._from_logits:
            pred = F.log_softmax(pred, self._axis)
        if self._sparse_label:
            loss = -_pick_keepdims(F, pred, label, self._axis)
        else:
            label = _reshape_like(F, label, pred)
            loss = -(pred * label).sum(axis=self._axis, keepdims=True)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return loss.mean(axis=self._batch_axis, exclude=True)


    def _fused(self, pred, label):
        """Integer labels over the last axis, shapes known and MXNet's (``label`` is
        ``pred``'s shape without the class axis): the case of every classifier."""
        ndim = len(pred.shape)
        return (self._sparse_label and not self._from_logits and ndim >= 1
                and self._axis in (-1, ndim - 1) and _is_static(pred, label)
                and tuple(label.shape) == tuple(pred.shape[:-1]))


def _sparse_softmax_ce_t(pred, label):
    """The per-position loss, kept with a class axis of 1 (as ``pick(keepdims=True)``)."""
    return ops.expand_dims(backend.sparse_softmax_cross_entropy(pred, label), -1)


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    r""":math:`L = \sum_i label_i (\log label_i - pred_i)`, ``pred`` log-probabilities
    (``from_logits=True``, the default) or logits turned into them along ``axis``;
    summed (not averaged) over every axis but ``batch_axis``."""

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if not self._from_logits:
            pred = F.log_softmax(pred, self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.sum(loss, axis=self._batch_axis, exclude=True)


class HingeLoss(Loss):
    r""":math:`L = \max(0, margin - pred \cdot label)`, labels -1 or 1."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.relu(self._margin - pred * label)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


class SquaredHingeLoss(Loss):
    r""":math:`L = \max(0, margin - pred \cdot label)^2`, labels -1 or 1."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.square(F.relu(self._margin - pred * label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


class LogisticLoss(Loss):
    r""":math:`L = \log(1 + \exp(-pred \cdot label))`, labels -1/1 (``label_format=
    'signed'``) or 0/1 (``'binary'``)."""

    def __init__(self, weight=None, batch_axis=0, label_format='signed', **kwargs):
        # MXNet draws the name first, then checks label_format: keep its order
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format
        if self._label_format not in ["signed", "binary"]:
            raise ValueError("label_format can only be signed or binary, recieved %s."
                             % label_format)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        if self._label_format == 'signed':
            label = (label + 1.0) / 2.0  # Transform label to be either 0 or 1
        loss = F.relu(pred) - pred * label + \
            F.Activation(-F.abs(pred), act_type='softrelu')
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return _mean_over_samples(F, loss, self._batch_axis)


# -- sequences ------------------------------------------------------------------------------
class CTCLoss(Loss):
    r"""Connectionist Temporal Classification loss, MXNet's conventions: ``pred`` is
    ``layout`` 'NTC' or 'TNC' activations before softmax whose *last* channel
    (``alphabet_size - 1``) is the blank; ``label`` ('NT' or 'TN') is zero-based and
    padded with -1; optional ``pred_lengths`` and ``label_lengths`` of shape
    ``(batch_size,)``. A label too long for its sequence costs 0. Returns
    ``(batch_size,)``."""

    def __init__(self, layout='NTC', label_layout='NT', weight=None, **kwargs):
        assert layout in ['NTC', 'TNC'],\
            "Only 'NTC' and 'TNC' layouts for pred are supported. Got: %s" % layout
        assert label_layout in ['NT', 'TN'],\
            "Only 'NT' and 'TN' layouts for label are supported. Got: %s" % label_layout
        self._layout = layout
        self._label_layout = label_layout
        batch_axis = label_layout.find('N')
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label,
                       pred_lengths=None, label_lengths=None, sample_weight=None):
        if self._layout == 'NTC':
            pred = F.swapaxes(pred, 0, 1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, 0, 1)
        loss = F.CTCLoss(pred, label, pred_lengths, label_lengths,
                         use_data_lengths=pred_lengths is not None,
                         use_label_lengths=label_lengths is not None,
                         blank_label='last')
        return _apply_weighting(F, loss, self._weight, sample_weight)


# -- metric learning ------------------------------------------------------------------------
class TripletLoss(Loss):
    r""":math:`L = \max(\|pos - pred\|^2 - \|neg - pred\|^2 + margin, 0)` per sample
    (no ``sample_weight``)."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, positive, negative):
        positive = _reshape_like(F, positive, pred)
        negative = _reshape_like(F, negative, pred)
        loss = F.sum(F.square(positive - pred) - F.square(negative - pred),
                     axis=self._batch_axis, exclude=True)
        loss = F.relu(loss + self._margin)
        return _apply_weighting(F, loss, self._weight, None)


class CosineEmbeddingLoss(Loss):
    r"""``1 - cos_sim(input1, input2)`` for label 1, ``max(0, cos_sim - margin)`` for
    label -1 (cosine along the last axis). Returns shape ``(batch_size, 1)``, as MXNet."""

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, input1, input2, label, sample_weight=None):
        input1 = _reshape_like(F, input1, input2)
        label = _as_column(label)
        cos_sim = self._cosine_similarity(F, input1, input2)
        y_1 = label == 1
        y_minus_1 = label == -1
        cos_sim_a = (1 - cos_sim) * y_1
        z_array = F.array([0])
        cos_sim_b = F.broadcast_maximum(z_array, y_minus_1 * (cos_sim - self._margin))
        loss = cos_sim_a + cos_sim_b
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return loss

    def _cosine_similarity(self, F, x, y, axis=-1):
        """The cosine similarity of ``x`` and ``y`` along ``axis``, as a column."""
        x_norm = _norm_column(F, x, axis)
        y_norm = _norm_column(F, y, axis)
        x_dot_y = _as_column(F.sum(x * y, axis=axis))
        eps_arr = F.array([1e-12])
        return x_dot_y / F.broadcast_maximum(x_norm * y_norm, eps_arr)


class SDMLLoss(Loss):
    r"""Batchwise Smoothed Deep Metric Learning loss (Bonadiman et al., 2019): the KL
    divergence between the softmax of negative squared distances of ``x1``'s rows to
    ``x2``'s and a smoothed identity. ``x1``, ``x2``: ``(batch_size, dim)``, row i of
    each a positive pair. Returns ``(batch_size,)``. It also runs hybridized (MXNet's
    cannot: its ``x1.shape`` is a Symbol's)."""

    def __init__(self, smoothing_parameter=0.3, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.kl_loss = KLDivLoss(from_logits=True)
        self.smoothing_parameter = smoothing_parameter  # Smoothing probability mass

    def _compute_distances(self, x1, x2):
        """Squared euclidean distances between every row of ``x1`` and of ``x2``."""
        assert x1.shape == x2.shape
        batch_size, dim = x1.shape
        x1_ = x1.expand_dims(1).broadcast_to([batch_size, batch_size, dim])
        x2_ = x2.expand_dims(0).broadcast_to([batch_size, batch_size, dim])
        squared_diffs = (x1_ - x2_) ** 2
        return squared_diffs.sum(axis=2)

    def _compute_labels(self, F, batch_size):
        """The smoothed identity: ``1 - s`` on the diagonal, ``s / (batch_size - 1)``
        elsewhere."""
        gold = F.eye(batch_size)
        labels = gold * (1 - self.smoothing_parameter) + \
            (1 - gold) * self.smoothing_parameter / (batch_size - 1)
        return labels

    def _loss(self, F, x1, x2):
        if not _is_static(x1, x2):  # traced with an unknown batch size (TF's hybridize)
            labels = apply(_sdml_labels_t, x1, smoothing=self.smoothing_parameter)
            distances = F.sum(F.square(x1.expand_dims(1) - x2.expand_dims(0)), axis=2)
            log_probabilities = F.log_softmax(-distances, axis=1)
            return self.kl_loss(log_probabilities, labels)
        batch_size = x1.shape[0]
        labels = self._compute_labels(F, batch_size)
        distances = self._compute_distances(x1, x2)
        log_probabilities = F.log_softmax(-distances, axis=1)
        return self.kl_loss(log_probabilities, labels.as_in_context(distances.context))

    def hybrid_forward(self, F, x1, x2):
        return self._loss(F, x1, x2)
