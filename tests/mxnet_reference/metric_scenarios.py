"""Metric scenarios: one metric, a sequence of moves (updates, resets), what every
move leaves (``get``, ``get_global``, ``str``, the sums), run under MXNet 1.9.1 by
``record_metric_utils_layers.py`` and under keras_defer by ``tests/test_metric.py``.

Pure numpy and stdlib: the same code runs in both environments. ``run(mx, scenario,
to_array)`` plays a scenario on the ``mx`` module given (``mxnet`` or
``keras_defer``), ``to_array`` turning each numpy input into that library's array.
"""

import math

import numpy as np


# -- inputs ---------------------------------------------------------------------------
def probs(seed, n, c):
    """``n`` rows of ``c`` class probabilities (float32, no ties)."""
    rs = np.random.RandomState(seed)
    p = rs.rand(n, c).astype("float32") + 0.05
    return (p / p.sum(axis=1, keepdims=True)).astype("float32")


def classes(seed, n, c):
    return np.random.RandomState(seed).randint(0, c, size=n).astype("float32")


def values(seed, *shape):
    return np.random.RandomState(seed).normal(size=shape).astype("float32")


def binary_scores(seed, n):
    """Two scores per example; argmax 1 means positive."""
    return probs(seed, n, 2)


def f_abs_err(label, pred):
    return float(np.abs(label - pred.reshape(label.shape)).sum()), label.size


def f_first_value(label, pred):
    return float(pred.ravel()[0])


# -- the scenarios --------------------------------------------------------------------
# a move: ("update", labels, preds) (lists), ("update_single", label, pred) (one array
# each), ("update_dict", {name: label}, {name: pred}), ("reset_local",), ("reset",),
# ("get_metric", index) for composites
def _scenarios():
    s = {}
    s["accuracy_scores"] = (("create", ("acc",), {}), [
        ("update", [classes(1, 6, 3)], [probs(2, 6, 3)]),
        ("update", [classes(3, 5, 3), classes(4, 2, 3)], [probs(5, 5, 3), probs(6, 2, 3)]),
        ("reset_local",),
        ("update", [classes(7, 4, 3)], [probs(8, 4, 3)]),
        ("reset",),
        ("update_single", classes(9, 4, 4), probs(10, 4, 4)),
    ])
    s["accuracy_class_predictions"] = (("create", ("Accuracy",), {}), [
        ("update", [np.array([0, 1, 2, 1], "float32")], [np.array([0, 2, 2, 1], "float32")]),
        ("update", [np.array([[1, 0], [1, 1]], "int32")], [np.array([[1, 1], [1, 1]], "int32")]),
    ])
    s["accuracy_axis_last"] = (("create", ("acc",), {"axis": -1}), [
        ("update", [classes(11, 6, 3).reshape(2, 3)], [probs(12, 6, 3).reshape(2, 3, 3)]),
    ])
    s["accuracy_wrong_count"] = (("create", ("acc",), {}), [
        ("update", [classes(1, 4, 3)], [probs(2, 4, 3), probs(3, 4, 3)]),
        ("update_single", classes(1, 3, 3), probs(2, 4, 3)),
        ("update", [classes(1, 3, 3)], [np.zeros((4,), "float32")]),
    ])
    s["top_k_accuracy"] = (("create", ("top_k_accuracy",), {"top_k": 3}), [
        ("update", [classes(13, 8, 5)], [probs(14, 8, 5)]),
        ("update", [classes(15, 4, 5)], [probs(16, 4, 5)]),
        ("reset_local",),
        ("update_single", classes(17, 3, 2), probs(18, 3, 2)),  # top_k > classes
    ])
    s["top_k_accuracy_one_dim"] = (("create", ("top_k_acc",), {"top_k": 2}), [
        ("update", [np.array([2, 0, 1], "float32")], [np.array([0.1, 0.7, 0.2], "float32")]),
    ])
    s["top_k_accuracy_of_one"] = (("create", ("TopKAccuracy",), {"top_k": 1}), [])
    s["f1_macro"] = (("create", ("f1",), {}), [
        ("update", [classes(19, 10, 2)], [binary_scores(20, 10)]),
        ("update", [classes(21, 7, 2), classes(22, 5, 2)],
         [binary_scores(23, 7), binary_scores(24, 5)]),
        ("reset_local",),
        ("update", [np.array([0, 0, 0], "float32")], [binary_scores(25, 3)]),
    ])
    s["f1_micro"] = (("create", ("F1",), {"average": "micro"}), [
        ("update", [classes(19, 10, 2)], [binary_scores(20, 10)]),
        ("update", [classes(21, 7, 2)], [binary_scores(23, 7)]),
        ("reset_local",),
        ("update", [classes(26, 6, 2)], [binary_scores(27, 6)]),
    ])
    s["f1_multiclass"] = (("create", ("f1",), {}), [
        ("update", [np.array([0, 1, 2], "float32")], [probs(28, 3, 2)]),
    ])
    s["mcc_macro"] = (("create", ("mcc",), {}), [
        ("update", [classes(29, 12, 2)], [binary_scores(30, 12)]),
        ("update", [classes(31, 9, 2)], [binary_scores(32, 9)]),
        ("reset_local",),
        ("update", [np.array([1, 1], "float32")], [np.array([[0.2, 0.8], [0.3, 0.7]], "float32")]),
    ])
    s["mcc_micro"] = (("create", ("MCC",), {"average": "micro"}), [
        ("update", [classes(29, 12, 2)], [binary_scores(30, 12)]),
        ("update", [classes(31, 9, 2)], [binary_scores(32, 9)]),
    ])
    s["pcc"] = (("create", ("pcc",), {}), [
        ("update", [classes(33, 12, 4)], [probs(34, 12, 4)]),
        ("update", [classes(35, 6, 3)], [classes(36, 6, 3)]),
        ("reset_local",),
        ("update", [classes(37, 8, 6)], [probs(38, 8, 6)]),
    ])
    s["perplexity"] = (("create", ("perplexity",), {"ignore_label": None}), [
        ("update", [classes(39, 6, 4)], [probs(40, 6, 4)]),
        ("update", [classes(41, 4, 4), classes(42, 3, 4)], [probs(43, 4, 4), probs(44, 3, 4)]),
        ("reset_local",),
        ("update_single", classes(45, 5, 4), probs(46, 5, 4)),
    ])
    s["perplexity_ignore_label"] = (("create", ("Perplexity",), {"ignore_label": 1}), [
        ("update", [classes(47, 8, 3)], [probs(48, 8, 3)]),
        ("update", [classes(49, 2, 3).reshape(2, 1)], [probs(50, 2, 3)]),
    ])
    s["perplexity_out_of_range_labels"] = (("create", ("perplexity",), {"ignore_label": None}), [
        ("update", [np.array([5, -1, 2], "float32")], [probs(51, 3, 4)]),
    ])
    s["perplexity_single_sequences"] = (("create", ("perplexity",), {"ignore_label": 0}), [
        ("update_single", classes(120, 6, 4).reshape(2, 3), probs(121, 6, 4).reshape(2, 3, 4)),
        ("update", [classes(122, 6, 4).reshape(2, 3)], [probs(123, 6, 4).reshape(2, 3, 4)]),
    ])
    s["perplexity_mismatch"] = (("create", ("perplexity",), {"ignore_label": None}), [
        ("update", [classes(52, 5, 4)], [probs(53, 4, 4)]),
    ])
    for name, cls in (("mae", "mae"), ("mse", "MSE"), ("rmse", "rmse")):
        s[name] = (("create", (cls,), {}), [
            ("update", [values(54, 6)], [values(55, 6)]),
            ("update", [values(56, 4, 2), values(57, 3)], [values(58, 4, 2), values(59, 3, 1)]),
            ("reset_local",),
            ("update_single", values(60, 5, 3), values(61, 5, 3)),
        ])
    s["cross_entropy"] = (("create", ("ce",), {}), [
        ("update", [classes(62, 6, 4)], [probs(63, 6, 4)]),
        ("update", [classes(64, 3, 4).reshape(3, 1)], [probs(65, 3, 4)]),
        ("reset_local",),
        ("update_single", classes(66, 2, 4), probs(67, 2, 4)),
    ])
    s["cross_entropy_eps"] = (("create", ("CrossEntropy",), {"eps": 0.5}), [
        ("update", [classes(62, 6, 4)], [probs(63, 6, 4)]),
    ])
    s["nll_loss"] = (("create", ("nll_loss",), {}), [
        ("update", [classes(68, 7, 5)], [probs(69, 7, 5)]),
        ("update", [classes(70, 2, 5)], [probs(71, 2, 5)]),
    ])
    s["pearsonr_macro"] = (("create", ("pearsonr",), {}), [
        ("update", [values(72, 8)], [values(73, 8)]),
        ("update", [values(74, 3, 3)], [values(75, 3, 3)]),
        ("reset_local",),
        ("update_single", values(76, 6), values(77, 6)),
    ])
    s["pearsonr_micro"] = (("create", ("PearsonCorrelation",), {"average": "micro"}), [
        ("update", [values(72, 8)], [values(73, 8)]),
        ("update", [values(74, 3, 3)], [values(75, 3, 3)]),
    ])
    s["pearsonr_shape_mismatch"] = (("create", ("pearsonr",), {}), [
        ("update", [values(78, 4)], [values(79, 4, 1)]),
    ])
    s["loss"] = (("create", ("loss",), {}), [
        ("update", None, [values(80, 4)]),
        ("update", None, [values(81, 2, 3), values(82, 5)]),
        ("update_single", None, values(83, 3, 2)),
        ("reset_local",),
        ("update", None, [values(84, 1)]),
    ])
    s["composite_from_list"] = (("create", (["acc", "ce", "f1"],), {}), [
        ("update", [classes(85, 6, 2)], [probs(86, 6, 2)]),
        ("update", [classes(87, 4, 2)], [probs(88, 4, 2)]),
        ("reset_local",),
        ("update", [classes(89, 3, 2)], [probs(90, 3, 2)]),
        ("get_metric", 1),
        ("get_metric", 7),
        ("reset",),
    ])
    s["composite_class"] = (("class", "CompositeEvalMetric", {"metrics": ["mae", "rmse"]}), [
        ("update", [values(91, 5)], [values(92, 5)]),
        ("add", "mse"),
        ("update", [values(93, 4)], [values(94, 4)]),
    ])
    s["update_dict"] = (("create", ("acc",), {"output_names": ["out"], "label_names": ["lab"]}), [
        ("update_dict", {"lab": classes(95, 5, 3), "other": classes(96, 5, 3)},
         {"out": probs(97, 5, 3), "junk": probs(98, 5, 3)}),
    ])
    s["composite_update_dict"] = (("class", "CompositeEvalMetric",
                                   {"metrics": ["acc", "ce"], "output_names": ["out"],
                                    "label_names": ["lab"]}), [
        ("update_dict", {"lab": classes(95, 5, 3), "other": classes(96, 5, 3)},
         {"out": probs(97, 5, 3), "junk": probs(98, 5, 3)}),
    ])
    s["custom_tuple"] = (("np", "f_abs_err", {}), [
        ("update", [values(99, 4)], [values(100, 4)]),
        ("update_single", values(101, 3), values(102, 3)),
    ])
    s["custom_value"] = (("custom", "f_first_value", {"name": "first"}), [
        ("update", [values(103, 4), values(104, 2)], [values(105, 4), values(106, 2)]),
    ])
    s["custom_lambda"] = (("create_lambda", None, {}), [
        ("update", [values(107, 3)], [values(108, 3)]),
    ])
    s["create_from_json_list"] = (("create", ('["acc", {"axis": 1, "name": "a"}]',), {}), [
        ("update", [classes(109, 4, 3)], [probs(110, 4, 3)]),
    ])
    s["create_from_json_dict"] = (("create", ('{"metric": "top_k_acc", "top_k": 2}',), {}), [
        ("update", [classes(111, 4, 3)], [probs(112, 4, 3)]),
    ])
    s["create_from_dict"] = (("create", ({"metric": "MAE", "name": "abs"},), {}), [])
    s["create_unknown"] = (("create", ("no_such_metric",), {}), [])
    s["create_instance_with_arguments"] = (("create_instance_with_arguments", None, {}), [])
    s["before_any_update"] = (("create", (["acc", "mae"],), {}), [])
    return s


SCENARIOS = _scenarios()


# -- playing a scenario ---------------------------------------------------------------
def plain(value):
    """A JSON-able copy: numpy scalars as Python numbers, tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _error(exc):
    return [type(exc).__name__, str(exc)]


def _make(mx, how):
    kind, args, kwargs = how
    if kind == "create":
        return mx.metric.create(*args, **kwargs)
    if kind == "class":
        return getattr(mx.metric, args)(**kwargs)
    if kind == "np":
        return mx.metric.np(globals()[args], **kwargs)
    if kind == "custom":
        return mx.metric.CustomMetric(globals()[args], **kwargs)
    if kind == "create_lambda":
        return mx.metric.create(lambda label, pred: float(np.mean(label == pred)))
    if kind == "create_instance_with_arguments":
        return mx.metric.create(mx.metric.Accuracy(), axis=0)
    raise ValueError(kind)


def snapshot(metric):
    """What a user can read off ``metric`` now."""
    state = {"get": plain(metric.get()), "str": str(metric),
             "name_value": plain(metric.get_name_value())}
    if hasattr(metric, "get_global"):
        state["get_global"] = plain(metric.get_global())
        state["global_name_value"] = plain(metric.get_global_name_value())
    if not hasattr(metric, "metrics") or not isinstance(metric.metrics, list):
        state["num_inst"] = plain(metric.num_inst)
        state["sum_metric"] = plain(metric.sum_metric)
    try:
        state["config"] = plain({k: v for k, v in metric.get_config().items()
                                 if k != "metrics"})
    except NotImplementedError as exc:
        state["config"] = _error(exc)
    return state


def run(mx, scenario, to_array):
    """Play ``scenario`` (a value of SCENARIOS) on ``mx``: a list of records, the
    construction's first, then one per move."""
    how, moves = scenario
    try:
        metric = _make(mx, how)
    except Exception as exc:  # noqa: BLE001 - recorded, compared
        return [{"error": _error(exc)}]
    records = [{"class": type(metric).__name__, "name": metric.name, **snapshot(metric)}]
    for move in moves:
        record = {"move": move[0]}
        try:
            if move[0] == "update":
                labels = None if move[1] is None else [to_array(a) for a in move[1]]
                metric.update(labels, [to_array(a) for a in move[2]])
            elif move[0] == "update_single":
                metric.update(None if move[1] is None else to_array(move[1]),
                              to_array(move[2]))
            elif move[0] == "update_dict":
                metric.update_dict({k: to_array(v) for k, v in move[1].items()},
                                   {k: to_array(v) for k, v in move[2].items()})
            elif move[0] == "get_metric":
                got = metric.get_metric(move[1])
                record["got"] = type(got).__name__ + ": " + (
                    got.name if hasattr(got, "name") else str(got))
            elif move[0] == "add":
                metric.add(move[1])
            else:
                getattr(metric, move[0])()
        except Exception as exc:  # noqa: BLE001 - recorded, compared
            record["error"] = _error(exc)
        record.update(snapshot(metric))
        records.append(record)
    return records


def same_number(a, b, rtol):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)
    return a == b
