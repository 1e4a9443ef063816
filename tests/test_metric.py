"""``mx.metric`` against MXNet 1.9.1 (recorded by record_metric_utils_layers.py): every
scenario of metric_scenarios.py replayed with NDArrays, numpy arrays and backend
tensors, compared move by move (values, names, ``str``, sums, configs, errors)."""

import json
import math
import os
import warnings

import keras
import numpy as np
import pytest

import keras_defer as mx
from keras_defer import nd
from keras_defer.errors import MXNetError
from tests.mxnet_reference import metric_scenarios

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "mxnet_reference", "data", "metric_utils.json")) as _handle:
    RECORDED = json.load(_handle)["metrics"]

INPUTS = {
    "ndarray": lambda a: nd.array(a, dtype=a.dtype),
    "numpy": lambda a: a,
    "tensor": lambda a: keras.ops.convert_to_tensor(a),
}

# values that come from float32 sums (MXNet's nd.sum, numpy's pairwise sum) may
# differ in the last bits; counts and float64 arithmetic agree exactly
RTOL = 1e-6


def _same(ours, theirs, where):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (where, ours, theirs)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, "%s[%d]" % (where, i))
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), (where, ours, theirs)
        for key in theirs:
            _same(ours[key], theirs[key], "%s.%s" % (where, key))
    else:
        assert metric_scenarios.same_number(ours, theirs, RTOL), (where, ours, theirs)


def _numbers_out(text):
    import re

    pattern = r"-?\d+\.\d+(?:e[-+]?\d+)?|nan"
    return re.sub(pattern, "#", text), [float(n) for n in re.findall(pattern, text)]


def _same_error(ours, theirs, where):
    if theirs[0] == "MXNetError":  # MXNet's C++ texts: the class is what we keep
        assert ours[0] == "MXNetError", (where, ours, theirs)
        return
    assert ours[0] == theirs[0], (where, ours, theirs)
    assert ours[1].startswith(theirs[1]), (where, ours, theirs)


@pytest.mark.parametrize("kind", sorted(INPUTS))
@pytest.mark.parametrize("name", sorted(metric_scenarios.SCENARIOS))
def test_scenario_matches_mxnet(name, kind):
    ours = metric_scenarios.run(mx, metric_scenarios.SCENARIOS[name], INPUTS[kind])
    theirs = RECORDED[name]
    assert len(ours) == len(theirs), name
    for step, (a, b) in enumerate(zip(ours, theirs)):
        where = "%s, record %d (%s)" % (name, step, b.get("move", "created"))
        assert sorted(a) == sorted(b), (where, sorted(a), sorted(b))
        for key in b:
            if key == "error":
                _same_error(a[key], b[key], where)
            elif key == "str":
                text_a, numbers_a = _numbers_out(a[key])
                text_b, numbers_b = _numbers_out(b[key])
                assert text_a == text_b, (where, a[key], b[key])
                _same(numbers_a, numbers_b, where + " str")
            elif key in ("class", "name", "move", "got", "config"):
                assert a[key] == b[key], (where, key, a[key], b[key])
            else:
                _same(a[key], b[key], "%s %s" % (where, key))


def test_values_are_python_floats_and_str_prints_them_plainly():
    acc = mx.metric.Accuracy()
    assert acc.get()[0] == "accuracy" and math.isnan(acc.get()[1])
    acc.update([nd.array([0, 1, 1])], [nd.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])])
    name, value = acc.get()
    assert type(value) is float and value == pytest.approx(2 / 3)
    assert str(acc) == "EvalMetric: {'accuracy': %r}" % value
    mae = mx.metric.MAE()
    mae.update([nd.array([1.0, 2.0])], [nd.array([1.5, 2.5])])
    assert type(mae.sum_metric) is float and str(mae) == "EvalMetric: {'mae': 0.5}"


def test_batch_values_accumulate_in_float64():
    """MXNet (numpy 1.x) adds each float32 batch value to a float64 sum: under
    numpy 2 a float32 sum would round after every batch."""
    mse = mx.metric.MSE()
    label = nd.array([0.0])
    for _ in range(300):
        mse.update([label], [nd.array([0.1])])
    assert mse.sum_metric == pytest.approx(300 * float(np.float32(0.1) ** 2), rel=1e-12)


def test_gluon_metric_is_mx_metric():
    from keras_defer.gluon import metric

    assert metric.Accuracy is mx.metric.Accuracy and metric.create is mx.metric.create


def test_register_alias_and_create():
    @mx.metric.register
    @mx.metric.alias("halves_kd_test")
    class HalvesKdTest(mx.metric.EvalMetric):
        def __init__(self, name="halves"):
            super().__init__(name)

        def update(self, labels, preds):
            self.sum_metric += 0.5
            self.num_inst += 1

    assert type(mx.metric.create("halveskdtest")) is HalvesKdTest
    assert type(mx.metric.create("HALVES_KD_TEST")) is HalvesKdTest
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mx.metric.register(HalvesKdTest)
    assert "overriding existing metric" in str(caught[0].message)  # MXNet: "isoverriding"
    with pytest.raises(AssertionError, match="Can only register subclass of EvalMetric"):
        mx.metric.register(int)
    metric = mx.metric.create(HalvesKdTest())
    metric.update(None, None)
    assert metric.get() == ("halves", 0.5)


def test_create_from_a_function_and_np():
    def mean_abs(label, pred):
        return float(np.abs(label - pred).mean())

    metric = mx.metric.create(mean_abs)
    assert isinstance(metric, mx.metric.CustomMetric) and metric.name == "mean_abs"
    assert mx.metric.np(mean_abs).name == "mean_abs"
    with pytest.raises(NotImplementedError, match="cannot be serialized"):
        metric.get_config()


def test_config_round_trip():
    metric = mx.metric.CompositeEvalMetric(["acc", mx.metric.TopKAccuracy(top_k=3)])
    config = metric.get_config()
    assert config["metric"] == "CompositeEvalMetric"
    copy = mx.metric.create(config["metrics"][1])
    assert isinstance(copy, mx.metric.TopKAccuracy) and copy.top_k == 3
    assert copy.name == "top_k_accuracy_3_3"  # MXNet appends the suffix again


def test_reset_local_keeps_the_global_values():
    acc = mx.metric.Accuracy()
    acc.update([nd.array([1, 1])], [nd.array([1, 0])])
    acc.reset_local()
    acc.update([nd.array([1, 1])], [nd.array([1, 1])])
    assert acc.get() == ("accuracy", 1.0)
    assert acc.get_global() == ("accuracy", 0.75)
    assert acc.get_global_name_value() == [("accuracy", 0.75)]


def test_model_outputs_feed_the_metric(fresh_names):
    """A Gluon loop: labels from numpy, predictions of a net called with NDArrays
    and of a Keras call with backend tensors."""
    from keras_defer.gluon import nn

    net = nn.Dense(3)
    net.initialize()
    x = np.random.RandomState(0).normal(size=(8, 4)).astype("float32")
    y = np.arange(8) % 3
    acc_nd, acc_tensor = mx.metric.Accuracy(), mx.metric.Accuracy()
    acc_nd.update(nd.array(y), net(nd.array(x)))
    acc_tensor.update([y], [net(keras.ops.convert_to_tensor(x))])
    expected = float((np.asarray(net(x)).argmax(axis=1) == y).mean())
    assert acc_nd.get()[1] == acc_tensor.get()[1] == pytest.approx(expected)


def test_wrong_inputs_say_what_came():
    with pytest.raises(TypeError, match="NDArrays, numpy arrays or tensors"):
        mx.metric.MAE().update(["a"], ["b"])
    with pytest.raises(MXNetError, match="axis 1 exceeds"):
        mx.metric.Accuracy().update([nd.array([0, 1, 1])], [nd.array([0.0, 1.0])])
