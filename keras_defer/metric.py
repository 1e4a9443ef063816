"""``mx.metric`` (also ``gluon.metric``): MXNet 1.9.1's evaluation metrics.

A metric accumulates ``sum_metric`` and ``num_inst`` over ``update(labels, preds)``
calls; ``get()`` answers ``(name, sum_metric / num_inst)`` (``nan`` before any update).
The formulas, the accumulation (per batch or per example, float64 on the host) and the
errors are MXNet's: a ported training loop prints the same numbers.

Metrics run on the host, as MXNet's do (it calls ``asnumpy()`` on every input): each
label and prediction is read once as a numpy array, and everything else is numpy.
Where MXNet's numpy 1.x promoted a float32 batch value to a float64 sum
(``0.0 + numpy.float32``), the values are taken as Python floats, so the accumulation
is float64 under numpy 2 too and ``str(metric)`` prints plain numbers, as MXNet's.

Inputs: a list of arrays, or one array, for labels and for predictions, each an
``NDArray``, a numpy array or a tensor of the active Keras backend (MXNet takes
``NDArray`` only; see docs/divergences.md).
"""

import json
import math
import warnings
from collections import OrderedDict

import numpy

from keras_defer import backend
from keras_defer.errors import MXNetError
from keras_defer.nd.ndarray import NDArray

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC",
           "Perplexity", "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood",
           "PearsonCorrelation", "PCC", "Loss", "Torch", "Caffe", "CustomMetric", "np",
           "create", "register", "alias", "check_label_shapes"]

_NUMERIC = (int, float, numpy.generic)


# -- inputs ---------------------------------------------------------------------------
def _is_array(value):
    """One array (not a list of them): an NDArray, a numpy array or a backend tensor."""
    return isinstance(value, (NDArray, numpy.ndarray)) or backend.is_tensor(value)


def _host(value):
    """``value`` as a numpy array (MXNet's ``asnumpy()``), whatever array type it is."""
    if isinstance(value, NDArray):
        return value.asnumpy()
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return numpy.asarray(value)
    if backend.is_tensor(value):
        return numpy.asarray(backend.to_numpy(value))
    raise TypeError("metric inputs must be NDArrays, numpy arrays or tensors (or lists "
                    "of them), got %r of type %s" % (value, type(value).__name__))


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """MXNet's check: as many labels as predictions (``shape=False``: ``len()``, the
    first dim of a single array) or equal shapes (``shape=True``); ``ValueError``
    otherwise. ``wrap=True`` makes a single array a list of one."""
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = labels.shape, preds.shape
    if label_shape != pred_shape:
        raise ValueError("Shape of labels {} does not match shape of "
                         "predictions {}".format(label_shape, pred_shape))
    if wrap:
        if _is_array(labels):
            labels = [labels]
        if _is_array(preds):
            preds = [preds]
    return labels, preds


def _pairs(labels, preds):
    """``check_label_shapes(labels, preds, True)``, each pair read to the host."""
    labels, preds = check_label_shapes(labels, preds, True)
    return [(_host(label), _host(pred)) for label, pred in zip(labels, preds)]


def _number(value):
    """A numpy scalar as a Python number (float64 arithmetic, plain reprs)."""
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray) and value.ndim == 0:
        return value.item()
    return value


# -- the base class and the registry --------------------------------------------------
class EvalMetric:
    """Base class of the metrics: ``update``, ``get``, ``reset``, as in MXNet.

    ``has_global_stats=True`` keeps a second pair of sums (``global_sum_metric``,
    ``global_num_inst``) that ``reset_local()`` leaves alone (``get_global()``)."""

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return "EvalMetric: {}".format(dict(self.get_name_value()))

    def get_config(self):
        """The metric's constructor arguments (``create(config)`` rebuilds it)."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """``update`` from dicts of named labels and outputs (``label_names`` and
        ``output_names`` select and order them; all values otherwise)."""
        if self.output_names is not None:
            pred = [pred[name] for name in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            label = [label[name] for name in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        """Add one batch: ``labels`` and ``preds``, lists of arrays (or one each)."""
        raise NotImplementedError()

    def reset(self):
        """Forget everything, the global sums too."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Forget the local sums; ``get_global()`` still sees every update."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def _add(self, value, count):
        """Add ``value`` to both sums and ``count`` to both counts."""
        value, count = _number(value), _number(count)
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def get(self):
        """``(name, value)``; ``value`` is ``nan`` before the first update."""
        if self.num_inst == 0:
            return self.name, float("nan")
        return self.name, _number(self.sum_metric / self.num_inst)

    def get_global(self):
        """``get()`` over every update since ``reset()`` (ignores ``reset_local``)."""
        if self._has_global_stats:
            if self.global_num_inst == 0:
                return self.name, float("nan")
            return self.name, _number(self.global_sum_metric / self.global_num_inst)
        return self.get()

    def get_name_value(self):
        """``[(name, value), ...]``: ``get()`` as a list of pairs."""
        name, value = self.get()
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))

    def get_global_name_value(self):
        """``[(name, value), ...]``: ``get_global()`` as a list of pairs."""
        if self._has_global_stats:
            name, value = self.get_global()
            if not isinstance(name, list):
                name = [name]
            if not isinstance(value, list):
                value = [value]
            return list(zip(name, value))
        return self.get_name_value()


_REGISTRY = {}


def register(klass, name=None):
    """Register an ``EvalMetric`` subclass with ``create`` under its lower-cased name
    (or ``name``); registering a taken name warns, as MXNet does, and replaces it."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise AssertionError("Can only register subclass of EvalMetric")
    name = (klass.__name__ if name is None else name).lower()
    if name in _REGISTRY:
        warnings.warn(
            "\033[91mNew metric %s.%s registered with name %s is"
            "overriding existing metric %s.%s\033[0m" % (
                klass.__module__, klass.__name__, name,
                _REGISTRY[name].__module__, _REGISTRY[name].__name__),
            UserWarning, stacklevel=2)
    _REGISTRY[name] = klass
    return klass


def alias(*aliases):
    """Class decorator: register the class under each of ``aliases`` too."""
    def reg(klass):
        for name in aliases:
            register(klass, name)
        return klass
    return reg


def _create(*args, **kwargs):
    """MXNet's registry ``create``: a name, an instance, a config dict or JSON text."""
    if args:
        name, args = args[0], args[1:]
    else:
        name = kwargs.pop("metric")
    if isinstance(name, EvalMetric):
        if args or kwargs:
            raise AssertionError("metric is already an instance. Additional arguments "
                                 "are invalid")
        return name
    if isinstance(name, dict):
        return _create(**name)
    if not isinstance(name, str):
        raise AssertionError("metric must be of string type")
    if name.startswith("["):
        if args or kwargs:
            raise AssertionError("a JSON list config takes no further arguments")
        name, kwargs = json.loads(name)
        return _create(name, **kwargs)
    if name.startswith("{"):
        if args or kwargs:
            raise AssertionError("a JSON dict config takes no further arguments")
        return _create(**json.loads(name))
    name = name.lower()
    if name not in _REGISTRY:
        raise AssertionError("%s is not registered. Please register with metric.register "
                             "first" % name)
    return _REGISTRY[name](*args, **kwargs)


def create(metric, *args, **kwargs):
    """A metric from a name ('acc', 'f1', ...), a function (``CustomMetric``), a list
    of those (``CompositeEvalMetric``) or an instance (returned as it is)."""
    if callable(metric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite_metric = CompositeEvalMetric()
        for child_metric in metric:
            composite_metric.add(create(child_metric, *args, **kwargs))
        return composite_metric
    return _create(metric, *args, **kwargs)


# -- composite ------------------------------------------------------------------------
@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get()`` lists their names and values."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if metrics is None:
            metrics = []
        self.metrics = [create(i) for i in metrics]

    def add(self, metric):
        """Add a child metric (anything ``create`` takes)."""
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child at ``index``; out of range, MXNet *returns* a ValueError."""
        try:
            return self.metrics[index]
        except IndexError:
            return ValueError("Metric index {} is out of range 0 and {}".format(
                index, len(self.metrics)))

    def update_dict(self, labels, preds):
        if self.label_names is not None:
            labels = OrderedDict([i for i in labels.items() if i[0] in self.label_names])
        if self.output_names is not None:
            preds = OrderedDict([i for i in preds.items() if i[0] in self.output_names])
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds):
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self):
        for metric in getattr(self, "metrics", ()):  # none yet while __init__ runs
            metric.reset()

    def reset_local(self):
        for metric in self.metrics:
            metric.reset_local()

    def _collect(self, method):
        names, values = [], []
        for metric in self.metrics:
            name, value = getattr(metric, method)()
            if isinstance(name, str):
                name = [name]
            if isinstance(value, _NUMERIC):
                value = [value]
            names.extend(name)
            values.extend(value)
        return names, values

    def get(self):
        return self._collect("get")

    def get_global(self):
        return self._collect("get_global")

    def get_config(self):
        config = super().get_config()
        config.update({"metrics": [i.get_config() for i in self.metrics]})
        return config


# -- classification -------------------------------------------------------------------
@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of correct predictions; a prediction with more dims than its label
    is read as scores and its argmax along ``axis`` is the predicted class."""

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds):
        for label, pred_label in _pairs(labels, preds):
            if pred_label.shape != label.shape:
                if not -pred_label.ndim <= self.axis < pred_label.ndim:
                    # MXNet's argmax operator refuses so (MXNetError)
                    raise MXNetError(
                        "Accuracy: axis %d exceeds the input dimension of %d: predictions "
                        "of shape %s do not match labels of shape %s; pass scores with a "
                        "class axis %d, or class predictions shaped as the labels"
                        % (self.axis, pred_label.ndim, pred_label.shape, label.shape,
                           self.axis))
                pred_label = numpy.argmax(pred_label, axis=self.axis)
            pred_label = pred_label.astype("int32").flat
            label = label.astype("int32").flat
            check_label_shapes(label, pred_label)
            self._add((pred_label == label).sum(), len(pred_label))


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of labels among the ``top_k`` highest scores (``top_k`` > 1)."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if not self.top_k > 1:
            raise AssertionError("Please use Accuracy if top_k is no more than 1")
        self.name += "_%d" % self.top_k

    def update(self, labels, preds):
        for label, pred_label in _pairs(labels, preds):
            if not len(pred_label.shape) <= 2:
                raise AssertionError("Predictions should be no more than 2 dims")
            pred_label = numpy.argpartition(pred_label.astype("float32"), -self.top_k)
            label = label.astype("int32")
            check_label_shapes(label, pred_label)
            num_samples = pred_label.shape[0]
            if pred_label.ndim == 1:
                # MXNet adds to the local sum only here (its global sum misses it)
                self.sum_metric += _number((pred_label.flat == label.flat).sum())
            elif pred_label.ndim == 2:
                num_classes = pred_label.shape[1]
                top_k = min(num_classes, self.top_k)
                for j in range(top_k):
                    num_correct = (pred_label[:, num_classes - 1 - j].flat == label.flat).sum()
                    self._add(num_correct, 0)
            self.num_inst += num_samples
            self.global_num_inst += num_samples


class _BinaryClassificationMetrics:
    """Counts of true/false positives/negatives of a binary classifier (local and
    global), for ``F1`` and ``MCC``."""

    _COUNTS = ("true_positives", "false_negatives", "false_positives", "true_negatives")

    def __init__(self):
        self.reset_stats()

    def update_binary_stats(self, label, pred):
        """Count one batch: ``pred`` holds two scores per example (argmax 1 is
        positive), ``label`` 0 or 1."""
        label = label.astype("int32")
        pred_label = numpy.argmax(pred, axis=1)
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError("%s currently only supports binary classification."
                             % self.__class__.__name__)
        pred_true = pred_label == 1
        pred_false = 1 - pred_true
        label_true = label == 1
        label_false = 1 - label_true
        counts = {"true_positives": (pred_true * label_true).sum(),
                  "false_positives": (pred_true * label_false).sum(),
                  "false_negatives": (pred_false * label_true).sum(),
                  "true_negatives": (pred_false * label_false).sum()}
        for key, value in counts.items():
            value = int(value)
            setattr(self, key, getattr(self, key) + value)
            setattr(self, "global_" + key, getattr(self, "global_" + key) + value)

    @staticmethod
    def _ratio(hits, misses):
        return float(hits) / (hits + misses) if hits + misses > 0 else 0.0

    @property
    def precision(self):
        return self._ratio(self.true_positives, self.false_positives)

    @property
    def global_precision(self):
        return self._ratio(self.global_true_positives, self.global_false_positives)

    @property
    def recall(self):
        return self._ratio(self.true_positives, self.false_negatives)

    @property
    def global_recall(self):
        return self._ratio(self.global_true_positives, self.global_false_negatives)

    @property
    def fscore(self):
        if self.precision + self.recall > 0:
            return 2 * self.precision * self.recall / (self.precision + self.recall)
        return 0.0

    @property
    def global_fscore(self):
        if self.global_precision + self.global_recall > 0:
            return (2 * self.global_precision * self.global_recall
                    / (self.global_precision + self.global_recall))
        return 0.0

    def matthewscc(self, use_global=False):
        """Matthews correlation coefficient; zero factors of the denominator count 1."""
        prefix = "global_" if use_global else ""
        if not getattr(self, prefix + "total_examples"):
            return 0.0
        true_pos, false_pos, false_neg, true_neg = (
            float(getattr(self, prefix + key)) for key in
            ("true_positives", "false_positives", "false_negatives", "true_negatives"))
        terms = [true_pos + false_pos, true_pos + false_neg,
                 true_neg + false_pos, true_neg + false_neg]
        denom = 1.0
        for t in filter(lambda t: t != 0.0, terms):
            denom *= t
        return (true_pos * true_neg - false_pos * false_neg) / math.sqrt(denom)

    @property
    def total_examples(self):
        return sum(getattr(self, key) for key in self._COUNTS)

    @property
    def global_total_examples(self):
        return sum(getattr(self, "global_" + key) for key in self._COUNTS)

    def local_reset_stats(self):
        for key in self._COUNTS:
            setattr(self, key, 0)

    def reset_stats(self):
        for key in self._COUNTS:
            setattr(self, key, 0)
            setattr(self, "global_" + key, 0)


@register
class F1(EvalMetric):
    """F1 score of a binary classifier; ``average='macro'`` averages the per-batch
    scores, ``'micro'`` scores all examples at once."""

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        self.average = average
        self.metrics = _BinaryClassificationMetrics()
        EvalMetric.__init__(self, name=name, output_names=output_names,
                            label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            self.metrics.update_binary_stats(label, pred)
        if self.average == "macro":
            self.sum_metric += self.metrics.fscore
            self.global_sum_metric += self.metrics.global_fscore
            self.num_inst += 1
            self.global_num_inst += 1
            self.metrics.reset_stats()
        else:
            self.sum_metric = self.metrics.fscore * self.metrics.total_examples
            self.global_sum_metric = (self.metrics.global_fscore
                                      * self.metrics.global_total_examples)
            self.num_inst = self.metrics.total_examples
            self.global_num_inst = self.metrics.global_total_examples

    def reset(self):
        self.sum_metric = 0.0
        self.num_inst = 0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0
        self.metrics.reset_stats()

    def reset_local(self):
        self.sum_metric = 0.0
        self.num_inst = 0
        self.metrics.local_reset_stats()


@register
class MCC(EvalMetric):
    """Matthews correlation coefficient of a binary classifier; ``average`` as F1's."""

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        self._average = average
        self._metrics = _BinaryClassificationMetrics()
        EvalMetric.__init__(self, name=name, output_names=output_names,
                            label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            self._metrics.update_binary_stats(label, pred)
        if self._average == "macro":
            self.sum_metric += self._metrics.matthewscc()
            self.global_sum_metric += self._metrics.matthewscc(use_global=True)
            self.num_inst += 1
            self.global_num_inst += 1
            self._metrics.reset_stats()
        else:
            self.sum_metric = self._metrics.matthewscc() * self._metrics.total_examples
            self.global_sum_metric = (self._metrics.matthewscc(use_global=True)
                                      * self._metrics.global_total_examples)
            self.num_inst = self._metrics.total_examples
            self.global_num_inst = self._metrics.global_total_examples

    def reset(self):
        self.sum_metric = 0.0
        self.num_inst = 0.0
        self.global_sum_metric = 0.0
        self.global_num_inst = 0.0
        self._metrics.reset_stats()

    def reset_local(self):
        self.sum_metric = 0.0
        self.num_inst = 0.0
        self._metrics.local_reset_stats()


@register
class PCC(EvalMetric):
    """Multi-class Matthews correlation from a confusion matrix that grows with the
    classes seen (MXNet's PCC)."""

    def __init__(self, name="pcc", output_names=None, label_names=None,
                 has_global_stats=True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc):
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant", constant_values=0)
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant", constant_values=0)
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat):
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = numpy.sum(x * (n - x))
        cov_yy = numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        i = cmat.diagonal()
        cov_xy = numpy.sum(i * n - x * y)
        return float(cov_xy / (cov_xx * cov_yy) ** 0.5)

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            label = label.astype("int32", copy=False)
            if pred.shape != label.shape:
                pred = pred.argmax(axis=1)
            else:
                pred = pred.astype("int32", copy=False)
            n = max(pred.max(), label.max())
            if n >= self.k:
                self._grow(int(n) + 1 - self.k)
            bcm = numpy.zeros((self.k, self.k))
            for i, j in zip(pred, label):
                bcm[i, j] += 1
            self.lcm += bcm
            self.gcm += bcm
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self):
        return self._calc_mcc(self.lcm) * self.num_inst

    @property
    def global_sum_metric(self):
        return self._calc_mcc(self.gcm) * self.global_num_inst

    def reset(self):
        self.global_num_inst = 0.0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0.0
        self.lcm = numpy.zeros((self.k, self.k))


@register
class Perplexity(EvalMetric):
    """exp(mean negative log-likelihood) of the labels' probabilities; positions
    whose label is ``ignore_label`` count neither loss nor instance. Computed in the
    predictions' dtype, as MXNet's ``nd`` operations do."""

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None,
                 label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise AssertionError("Perplexity: %d labels for %d predictions"
                                 % (len(labels), len(preds)))
        # no wrapping: MXNet iterates a single array's rows (so a (batch, time)
        # label pairs with a (batch, time, classes) prediction row by row)
        if _is_array(labels):
            labels = list(_host(labels))
        if _is_array(preds):
            preds = list(_host(preds))
        loss = 0.0
        num = 0
        for label, pred in zip(labels, preds):
            label, pred = _host(label), _host(pred)
            if not label.size == pred.size / pred.shape[-1]:
                raise AssertionError("shape mismatch: %s vs. %s" % (label.shape, pred.shape))
            label = label.reshape((label.size,))
            pred = self._pick(pred, label.astype("int32"))
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(pred.dtype)
                num -= _number(ignore.sum(dtype=pred.dtype))
                pred = pred * (1 - ignore) + ignore
            loss -= _number(numpy.log(numpy.maximum(pred.dtype.type(1e-10), pred))
                            .sum(dtype=pred.dtype))
            num += pred.size
        self._add(loss, num)

    def _pick(self, pred, index):
        """MXNet's ``nd.pick(pred, index, axis)`` (mode 'clip')."""
        axis = self.axis % pred.ndim
        expected = pred.shape[:axis] + pred.shape[axis + 1:] or (1,)  # MXNet has no ()
        if index.shape != expected:
            raise MXNetError("Perplexity: Shape inconsistent, Provided = %s, inferred "
                             "shape=%s: the labels (flattened) must have the predictions' "
                             "shape without axis %d" % (list(index.shape), list(expected),
                                                        self.axis))
        index = numpy.clip(index, 0, pred.shape[axis] - 1)
        if pred.ndim == 1:
            return pred[index]
        return numpy.take_along_axis(pred, numpy.expand_dims(index, axis), axis).squeeze(axis)

    def get(self):
        if self.num_inst == 0:
            return self.name, float("nan")
        return self.name, math.exp(self.sum_metric / self.num_inst)

    def get_global(self):
        if self.global_num_inst == 0:
            return self.name, float("nan")
        return self.name, math.exp(self.global_sum_metric / self.global_num_inst)


# -- regression -----------------------------------------------------------------------
def _as_columns(label, pred):
    """MXNet's regression metrics read a 1-D array as one column."""
    if len(label.shape) == 1:
        label = label.reshape(label.shape[0], 1)
    if len(pred.shape) == 1:
        pred = pred.reshape(pred.shape[0], 1)
    return label, pred


@register
class MAE(EvalMetric):
    """Mean absolute error, averaged per batch."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            label, pred = _as_columns(label, pred)
            self._add(numpy.abs(label - pred).mean(), 1)


@register
class MSE(EvalMetric):
    """Mean squared error, averaged per batch."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            label, pred = _as_columns(label, pred)
            self._add(((label - pred) ** 2.0).mean(), 1)


@register
class RMSE(EvalMetric):
    """Root mean squared error of each batch, averaged over batches."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            label, pred = _as_columns(label, pred)
            self._add(numpy.sqrt(((label - pred) ** 2.0).mean()), 1)


@register
@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of -log(p[label] + eps) over examples (``pred``: probabilities)."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            label = label.ravel()
            if not label.shape[0] == pred.shape[0]:
                raise AssertionError("CrossEntropy: %d labels for %d predictions"
                                     % (label.shape[0], pred.shape[0]))
            prob = pred[numpy.arange(label.shape[0]), numpy.int64(label)]
            self._add((-numpy.log(prob + self.eps)).sum(), label.shape[0])


@register
@alias("nll_loss")
class NegativeLogLikelihood(EvalMetric):
    """Mean of -log(p[label] + eps) over examples (MXNet's 'nll-loss')."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        for label, pred in _pairs(labels, preds):
            label = label.ravel()
            num_examples = pred.shape[0]
            if not label.shape[0] == num_examples:
                raise AssertionError((label.shape[0], num_examples))
            prob = pred[numpy.arange(num_examples, dtype=numpy.int64), numpy.int64(label)]
            self._add((-numpy.log(prob + self.eps)).sum(), num_examples)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels: per batch, averaged
    (``average='macro'``), or over all values seen (``'micro'``, streaming)."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None,
                 average="macro"):
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if self.average == "micro":
            self.reset_micro()

    def reset_micro(self):
        self._sse_p = 0
        self._mean_p = 0
        self._sse_l = 0
        self._mean_l = 0
        self._pred_nums = 0
        self._label_nums = 0
        self._conv = 0

    def reset(self):
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0
        if self.average == "micro":
            self.reset_micro()

    @staticmethod
    def update_variance(new_values, *aggregate):
        """Welford's update of (count, mean, sum of squared deviations)."""
        count, mean, m_2 = aggregate
        count += len(new_values)
        delta = new_values - mean
        mean += numpy.sum(delta / count)
        delta_2 = new_values - mean
        m_2 += numpy.sum(delta * delta_2)
        return count, mean, m_2

    def update_cov(self, label, pred):
        self._conv = self._conv + numpy.sum((label - self._mean_l) * (pred - self._mean_p))

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _host(label), _host(pred)
            check_label_shapes(label, pred, False, True)
            label = label.ravel().astype(numpy.float64)
            pred = pred.ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(numpy.corrcoef(pred, label)[0, 1], 1)
            else:
                self.global_num_inst += 1
                self.num_inst += 1
                self._label_nums, self._mean_l, self._sse_l = self.update_variance(
                    label, self._label_nums, self._mean_l, self._sse_l)
                self.update_cov(label, pred)
                self._pred_nums, self._mean_p, self._sse_p = self.update_variance(
                    pred, self._pred_nums, self._mean_p, self._sse_p)

    def get(self):
        if self.num_inst == 0:
            return self.name, float("nan")
        if self.average == "macro":
            return self.name, _number(self.sum_metric / self.num_inst)
        n = self._label_nums
        pearsonr = self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1))
                                 * numpy.sqrt(self._sse_l / (n - 1)))
        return self.name, _number(pearsonr)


# -- losses and user functions --------------------------------------------------------
@register
class Loss(EvalMetric):
    """Mean of the values of ``preds`` (a loss's outputs); ``labels`` is ignored."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds):
        if _is_array(preds):
            preds = [preds]
        for pred in preds:
            pred = _host(pred)
            self._add(pred.sum(dtype=pred.dtype), pred.size)


@register
class Torch(Loss):
    """``Loss`` under the name 'torch' (MXNet's dummy metric for its torch plugin)."""

    def __init__(self, name="torch", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """``Loss`` under the name 'caffe' (MXNet's dummy metric for its caffe plugin)."""

    def __init__(self, name="caffe", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on numpy arrays, called per pair; it
    returns a value (one instance) or ``(sum_metric, num_inst)``."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None,
                 label_names=None):
        if name is None:
            name = feval.__name__
            if name.find("<") != -1:
                name = "custom(%s)" % name
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        elif _is_array(labels) or _is_array(preds):
            labels = [labels] if _is_array(labels) else labels
            preds = [preds] if _is_array(preds) else preds
        for pred, label in zip(preds, labels):
            reval = self._feval(_host(label), _host(pred))
            if isinstance(reval, tuple):
                sum_metric, num_inst = reval
                self._add(sum_metric, num_inst)
            else:
                self._add(reval, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval, name=None, allow_extra_outputs=False):
    """A ``CustomMetric`` from ``numpy_feval(label, pred)`` on numpy arrays."""

    def feval(label, pred):
        return numpy_feval(label, pred)

    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
