"""The loss cases that record_loss.py runs under MXNet 1.9.1 and test_loss.py replays.

A case is a loss class (``gluon.loss.<cls>``), its constructor arguments, its
positional inputs (numpy arrays, or None where MXNet takes None), and which inputs
are differentiated (``attach_grad`` before ``record()``, then ``l.backward()``).
Inputs are drawn here once, by the recorder, and stored with the results, so the
tests need neither MXNet nor this module's random draws.
"""

import numpy as np


def _case(cls, kwargs, inputs, grad=(0,), dtypes=None):
    """``dtypes``: one per input (default: every array float32)."""
    dtypes = dtypes or ["float32"] * len(inputs)
    arrays = [None if a is None else np.asarray(a).astype(d) for a, d in zip(inputs, dtypes)]
    return {"cls": cls, "kwargs": kwargs, "inputs": arrays, "grad": list(grad)}


def _probs(rs, shape, axis=-1):
    e = np.exp(rs.randn(*shape))
    return e / e.sum(axis=axis, keepdims=True)


def _log_probs(rs, shape, axis=-1):
    return np.log(_probs(rs, shape, axis))


def _signs(rs, shape):
    return np.where(rs.rand(*shape) < 0.5, -1.0, 1.0)


def make_cases():
    """{case id: case}; every array float32 unless the case says otherwise."""
    rs = np.random.RandomState(20260130)
    n = rs.randn
    u = rs.rand
    c = {}
    # -- L2 / L1 / Huber -----------------------------------------------------------------
    c["l2_basic"] = _case("L2Loss", {}, [n(4, 3), n(4, 3)], grad=(0, 1))
    c["l2_d2l_label_vector"] = _case("L2Loss", {}, [n(5, 1), n(5)], grad=(0, 1))
    c["l2_sample_weight"] = _case("L2Loss", {}, [n(4, 3), n(4, 3), u(4, 1)], grad=(0, 1, 2))
    c["l2_weight"] = _case("L2Loss", {"weight": 0.25}, [n(4, 3), n(4, 3)])
    c["l2_batch_axis1"] = _case("L2Loss", {"batch_axis": 1}, [n(3, 4, 2), n(3, 4, 2)])
    c["l2_3d_weight_broadcast"] = _case("L2Loss", {"weight": 3.0},
                                        [n(2, 3, 4), n(2, 3, 4), u(1, 3, 1)], grad=(0, 2))
    c["l2_float64"] = _case("L2Loss", {}, [n(3, 2), n(3, 2)], dtypes=["float64"] * 2)
    c["l1_basic"] = _case("L1Loss", {}, [n(4, 3), n(4, 3)], grad=(0, 1))
    c["l1_weight_sw"] = _case("L1Loss", {"weight": 2.0}, [n(4, 3), n(4, 3), u(4, 1)])
    c["l1_batch_axis1"] = _case("L1Loss", {"batch_axis": 1}, [n(3, 5), n(15)])
    c["huber_rho1"] = _case("HuberLoss", {}, [2 * n(5, 4), 2 * n(5, 4)], grad=(0, 1))
    c["huber_rho_half_sw"] = _case("HuberLoss", {"rho": 0.5, "weight": 1.5},
                                   [n(5, 4), n(5, 4), u(5, 1)])
    # -- sigmoid binary cross-entropy -----------------------------------------------------
    c["bce_logits"] = _case("SigmoidBinaryCrossEntropyLoss", {},
                            [n(4, 5), (u(4, 5) < 0.5).astype("float32")], grad=(0, 1))
    c["bce_large_logits"] = _case(
        "SigmoidBinaryCrossEntropyLoss", {},
        [np.array([[50., -50., 100., -100.], [30., -30., 0.5, -0.5], [88., -88., 1e-3, 20.]]),
         np.array([[1., 0., 0., 1.], [0., 1., 1., 0.], [1., 1., 0., 0.]])])
    c["bce_soft_labels_sw"] = _case("SigmoidBinaryCrossEntropyLoss", {"weight": 0.5},
                                    [n(4, 3), u(4, 3), u(4, 1)])
    c["bce_pos_weight"] = _case("SigmoidBinaryCrossEntropyLoss", {},
                                [3 * n(4, 3), (u(4, 3) < 0.5).astype("float32"), None,
                                 1 + 2 * u(1, 3)], grad=(0, 3))
    c["bce_pos_weight_large"] = _case(
        "SigmoidBinaryCrossEntropyLoss", {},
        [np.array([[60., -60., 0.3], [-40., 40., 15.]]), np.array([[1., 1., 0.], [0., 1., 1.]]),
         np.ones((2, 1)), np.array([[0.5, 2.0, 3.0]])])
    c["bce_from_sigmoid"] = _case("SigmoidBinaryCrossEntropyLoss", {"from_sigmoid": True},
                                  [0.05 + 0.9 * u(4, 3), (u(4, 3) < 0.5).astype("float32")],
                                  grad=(0, 1))
    c["bce_from_sigmoid_extremes"] = _case(
        "SigmoidBinaryCrossEntropyLoss", {"from_sigmoid": True},
        [np.array([[1e-7, 1 - 1e-7, 1e-4, 0.9999], [0.0, 1.0, 0.5, 1e-6]]),
         np.array([[1., 0., 1., 0.], [0., 1., 1., 1.]])])
    c["bce_from_sigmoid_pos_weight"] = _case(
        "SigmoidBinaryCrossEntropyLoss", {"from_sigmoid": True},
        [0.05 + 0.9 * u(3, 4), (u(3, 4) < 0.5).astype("float32"), u(3, 1), 1 + u(1, 4)],
        grad=(0, 3))
    c["bce_batch_axis1"] = _case("SigmoidBinaryCrossEntropyLoss", {"batch_axis": 1},
                                 [n(3, 4), (u(3, 4) < 0.5).astype("float32")])
    # -- softmax cross-entropy ------------------------------------------------------------
    c["sce_sparse"] = _case("SoftmaxCrossEntropyLoss", {},
                            [n(6, 5), rs.randint(0, 5, (6,)).astype("float32")])
    c["sce_sparse_int_label"] = _case("SoftmaxCrossEntropyLoss", {},
                                      [n(4, 3), rs.randint(0, 3, (4,))],
                                      dtypes=["float32", "int32"])
    c["sce_large_logits"] = _case(
        "SoftmaxCrossEntropyLoss", {},
        [np.array([[1000., -1000., 0.], [-500., 500., 499.], [80., 90., 100.]]),
         np.array([1., 1., 0.])])
    c["sce_axis1_3d"] = _case("SoftmaxCrossEntropyLoss", {"axis": 1},
                              [n(2, 4, 3), rs.randint(0, 4, (2, 3)).astype("float32")])
    c["sce_sample_weight_weight"] = _case(
        "SoftmaxCrossEntropyLoss", {"weight": 0.7},
        [n(5, 4), rs.randint(0, 4, (5,)).astype("float32"), u(5, 1)], grad=(0, 2))
    c["sce_dense_labels"] = _case("SoftmaxCrossEntropyLoss", {"sparse_label": False},
                                  [n(4, 5), _probs(rs, (4, 5))], grad=(0, 1))
    c["sce_from_logits"] = _case("SoftmaxCrossEntropyLoss", {"from_logits": True},
                                 [_log_probs(rs, (4, 5)), rs.randint(0, 5, (4,)).astype("float32")])
    c["sce_from_logits_dense"] = _case("SoftmaxCrossEntropyLoss",
                                       {"from_logits": True, "sparse_label": False},
                                       [_log_probs(rs, (3, 4)), _probs(rs, (3, 4))], grad=(0, 1))
    c["sce_batch_axis1"] = _case("SoftmaxCrossEntropyLoss", {"axis": 0, "batch_axis": 1},
                                 [n(5, 3), rs.randint(0, 5, (3,)).astype("float32")])
    # -- KL divergence --------------------------------------------------------------------
    c["kl_from_logits"] = _case("KLDivLoss", {}, [_log_probs(rs, (4, 5)), _probs(rs, (4, 5))],
                                grad=(0, 1))
    c["kl_softmax_axis"] = _case("KLDivLoss", {"from_logits": False, "axis": 1},
                                 [n(2, 4, 3), _probs(rs, (2, 4, 3), axis=1)], grad=(0, 1))
    c["kl_sample_weight"] = _case("KLDivLoss", {"from_logits": False, "weight": 2.0},
                                  [n(4, 5), _probs(rs, (4, 5)), u(4, 1)])
    c["kl_zero_label"] = _case("KLDivLoss", {}, [_log_probs(rs, (2, 3)),
                                                 np.array([[0., 0.5, 0.5], [1., 0., 0.]])],
                               grad=(0,))
    # -- hinge, squared hinge, logistic ---------------------------------------------------
    c["hinge"] = _case("HingeLoss", {}, [n(5, 3), _signs(rs, (5, 3))], grad=(0, 1))
    c["hinge_margin_sw"] = _case("HingeLoss", {"margin": 2.0, "weight": 0.5},
                                 [n(5, 3), _signs(rs, (5, 3)), u(5, 1)])
    c["sq_hinge"] = _case("SquaredHingeLoss", {}, [n(5, 3), _signs(rs, (5, 3))], grad=(0, 1))
    c["sq_hinge_margin"] = _case("SquaredHingeLoss", {"margin": 0.5, "batch_axis": 1},
                                 [n(3, 4), _signs(rs, (3, 4))])
    c["logistic_signed"] = _case("LogisticLoss", {}, [n(4, 3), _signs(rs, (4, 3))], grad=(0, 1))
    c["logistic_binary"] = _case("LogisticLoss", {"label_format": "binary"},
                                 [n(4, 3), (u(4, 3) < 0.5).astype("float32"), u(4, 1)])
    c["logistic_large"] = _case("LogisticLoss", {},
                                [np.array([[80., -80., 200.], [-200., 1e-4, 30.]]),
                                 np.array([[1., 1., -1.], [-1., 1., -1.]])])
    # -- triplet ---------------------------------------------------------------------------
    c["triplet"] = _case("TripletLoss", {}, [n(4, 3), n(4, 3), n(4, 3)], grad=(0, 1, 2))
    c["triplet_margin_3d"] = _case("TripletLoss", {"margin": 0.5, "weight": 2.0},
                                   [n(3, 2, 2), n(3, 2, 2), n(3, 4)], grad=(0, 1, 2))
    # -- cosine embedding ------------------------------------------------------------------
    c["cosine"] = _case("CosineEmbeddingLoss", {}, [n(5, 4), n(5, 4), _signs(rs, (5,))],
                        grad=(0, 1))
    c["cosine_margin_sw"] = _case("CosineEmbeddingLoss", {"margin": 0.2, "weight": 3.0},
                                  [n(4, 6), n(4, 6), _signs(rs, (4,)), u(4, 1)], grad=(0, 1))
    # -- Poisson ---------------------------------------------------------------------------
    c["poisson_logits"] = _case("PoissonNLLLoss", {},
                                [n(4, 3), rs.poisson(2.0, (4, 3)).astype("float32")])
    c["poisson_rates_sw"] = _case("PoissonNLLLoss", {"from_logits": False, "weight": 0.5},
                                  [0.1 + 3 * u(4, 3), rs.poisson(2.0, (4, 3)).astype("float32"),
                                   u(4, 1)])
    c["poisson_full"] = _case("PoissonNLLLoss", {"compute_full": True},
                              [n(3, 4), 1 + rs.poisson(3.0, (3, 4)).astype("float32")])
    c["poisson_full_zero_target_nan"] = _case(
        "PoissonNLLLoss", {"compute_full": True},
        [n(2, 3), np.array([[0., 1., 2.], [3., 4., 5.]])], grad=())
    # -- SDML ------------------------------------------------------------------------------
    c["sdml"] = _case("SDMLLoss", {}, [n(4, 5), n(4, 5)], grad=(0, 1))
    c["sdml_smoothing"] = _case("SDMLLoss", {"smoothing_parameter": 0.1}, [n(3, 2), n(3, 2)])
    # -- CTC -------------------------------------------------------------------------------
    c["ctc_ntc"] = _case("CTCLoss", {},
                         [n(3, 6, 5), np.array([[0, 1, 2], [3, 3, -1], [1, -1, -1]])])
    c["ctc_tnc_tn"] = _case("CTCLoss", {"layout": "TNC", "label_layout": "TN"},
                            [n(7, 2, 4), np.array([[2, 0], [1, 0], [1, -1], [-1, -1]])])
    c["ctc_lengths"] = _case("CTCLoss", {},
                             [n(3, 6, 5), np.array([[0, 1, 2, 3], [3, 3, 1, 0], [2, 2, 2, 2]]),
                              np.array([6., 4., 5.]), np.array([2., 3., 1.])])
    c["ctc_pred_lengths_only"] = _case("CTCLoss", {},
                                       [n(2, 5, 4), np.array([[0, 1], [2, -1]]),
                                        np.array([3., 5.])])
    c["ctc_label_lengths_only"] = _case("CTCLoss", {},
                                        [n(2, 5, 4), np.array([[0, 1, 2], [2, 1, 0]]), None,
                                         np.array([2., 3.])])
    c["ctc_infeasible"] = _case("CTCLoss", {},
                                [n(2, 3, 4), np.array([[0, 1, 2], [1, 1, 1]])])
    c["ctc_empty_label"] = _case("CTCLoss", {},
                                 [n(3, 4, 3), np.array([[0, 1], [-1, -1], [1, -1]]), None,
                                  None])
    c["ctc_empty_label_lengths"] = _case("CTCLoss", {"layout": "TNC"},
                                         [n(4, 2, 3), np.array([[1, 0], [0, 1]]),
                                          np.array([3., 4.]), np.array([0., 2.])])
    c["ctc_weight_sample_weight"] = _case("CTCLoss", {"weight": 0.5},
                                          [n(2, 5, 4), np.array([[0, 1], [2, -1]]), None, None,
                                           np.array([1.0, 3.0])])
    c["ctc_large_activations"] = _case("CTCLoss", {},
                                       [20 * n(2, 6, 4), np.array([[0, 1, 1], [2, -1, -1]])])
    return c


#: constructors and calls MXNet refuses, and what it raises: (id, cls, kwargs, input shapes)
ERROR_CASES = [
    ("l2_label_too_small", "L2Loss", {}, [(2, 3), (3,)]),
    ("l2_label_too_large", "L2Loss", {}, [(2, 3), (12,)]),
    ("l2_sample_weight_unbroadcastable", "L2Loss", {}, [(2, 3), (2, 3), (3, 1)]),
    ("sce_sparse_label_wrong_shape", "SoftmaxCrossEntropyLoss", {}, [(2, 3), (3,)]),
    ("sce_dense_label_too_small", "SoftmaxCrossEntropyLoss", {"sparse_label": False},
     [(2, 3), (2,)]),
    ("triplet_negative_wrong_size", "TripletLoss", {}, [(2, 3), (2, 3), (2, 2)]),
    ("cosine_input_wrong_size", "CosineEmbeddingLoss", {}, [(2, 3), (2, 4), (2,)]),
    ("sdml_shapes_differ", "SDMLLoss", {}, [(2, 3), (3, 3)]),
]

CONSTRUCTOR_ERRORS = [
    ("logistic_bad_label_format", "LogisticLoss", {"label_format": "zero_one"}),
    ("ctc_bad_layout", "CTCLoss", {"layout": "NCT"}),
    ("ctc_bad_label_layout", "CTCLoss", {"label_layout": "TT"}),
]


def make_net_cases():
    """Small nets trained one step's worth: ``l = loss(net(X), y, *extra); l.backward()``.

    ``layers``: Dense layers as (units, activation, flatten); every weight and bias is
    given (drawn here), so MXNet and keras_defer start from the same values."""
    rs = np.random.RandomState(7)
    n = rs.randn
    nets = {}

    def net_case(layers, in_units, cls, kwargs, x, label, extra=(), dtype_label="float32"):
        params = []
        fan_in = in_units
        for units, _, _ in layers:
            params.append((0.5 * n(units, fan_in)).astype("float32"))
            params.append((0.1 * n(units)).astype("float32"))
            fan_in = units
        return {"layers": [list(layer) for layer in layers], "in_units": in_units,
                "cls": cls, "kwargs": kwargs, "params": params,
                "x": np.asarray(x, "float32"), "label": np.asarray(label).astype(dtype_label),
                "extra": [np.asarray(e, "float32") for e in extra]}

    nets["d2l_linear_regression"] = net_case([(1, None, True)], 2, "L2Loss", {},
                                             n(10, 2), n(10))
    nets["d2l_softmax_regression"] = net_case([(3, None, True)], 4, "SoftmaxCrossEntropyLoss",
                                              {}, n(8, 4), rs.randint(0, 3, (8,)))
    nets["mlp_softmax_sample_weight"] = net_case(
        [(5, "relu", True), (3, None, True)], 4, "SoftmaxCrossEntropyLoss", {"weight": 0.5},
        n(6, 4), rs.randint(0, 3, (6,)), extra=[rs.rand(6, 1)])
    nets["logistic_regression_bce"] = net_case([(1, None, True)], 3, "SigmoidBCELoss", {},
                                               n(8, 3), (rs.rand(8, 1) < 0.5))
    nets["mlp_huber"] = net_case([(4, "tanh", True), (2, None, True)], 3, "HuberLoss",
                                 {"rho": 0.5}, 2 * n(6, 3), 2 * n(6, 2))
    nets["sequence_ctc"] = net_case([(5, None, False)], 3, "CTCLoss", {},
                                    n(2, 6, 3), np.array([[0, 1, 1], [3, 2, -1]]))
    nets["kl_student"] = net_case([(4, None, True)], 3, "KLDivLoss", {"from_logits": False},
                                  n(5, 3), _probs(rs, (5, 4)))
    return nets
