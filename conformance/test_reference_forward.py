"""The numpy reference forward (reference_forward.py) against MXNet 1.9.1's own outputs,
recorded by tests/mxnet_reference/record_reference_forward.py: every block family the kit
generates, random weights, every layout the kit draws, BatchNorm in both modes.  Needs
neither MXNet nor any framework."""

import json
import os

import numpy as np
import pytest

from conformance import arch as A
from conformance import reference_forward as R

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "tests", "mxnet_reference", "data", "reference_forward")

with open(DATA + ".json") as _handle:
    CASES = json.load(_handle)["cases"]
_ARRAYS = np.load(DATA + ".npz")
_NODES = {name: getattr(A, name) for name in A.__all__}


def _case(name):
    entry = CASES[name]
    node = eval(entry["node"], {}, dict(_NODES))  # noqa: S307 - the recorder's repr
    params = {attr: _ARRAYS["%s/param/%s" % (name, attr)] for attr in entry["params"]}
    return node, params, _ARRAYS["%s/input" % name], entry["training"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_matches_mxnet(name):
    node, params, x, training = _case(name)
    got, stats = R.net([(node, params)], x, training=training)
    want = _ARRAYS["%s/output" % name]
    assert got.shape == want.shape
    assert R.close(got, want), np.max(np.abs(got - want))
    if training:
        # MXNet moves the running statistics in backward, not in the forward pass
        for attr in ("running_mean", "running_var"):
            np.testing.assert_array_equal(_ARRAYS["%s/after_forward/%s" % (name, attr)],
                                          params[attr])
        (_, mean, var), = stats
        moved = R.moved_statistics(params["running_mean"], params["running_var"], mean, var)
        for attr, value in zip(("running_mean", "running_var"), moved):
            assert R.close(_ARRAYS["%s/after_backward/%s" % (name, attr)], value), attr


def test_every_family_and_layout_is_recorded():
    kinds = {type(_case(n)[0]).__name__ for n in CASES}
    assert kinds >= {"Dense", "Conv", "Pool", "Norm", "Embedding", "Recurrent", "Activation",
                     "Lambda", "Flatten", "Dropout"}
    layouts = {getattr(_case(n)[0], "layout", None) for n in CASES}
    assert {"NWC", "NHWC", "NDHWC", "TNC", "NTC"} <= layouts


@pytest.mark.parametrize("planted", ["gru_gates", "lstm_gates", "transpose_offset"])
def test_the_reference_tells_planted_formulas_apart(planted, monkeypatch):
    """A wrong formula in the reference itself disagrees with MXNet's numbers."""
    if planted == "transpose_offset":
        names = [n for n in CASES if "transpose" in n]
        original = R.conv_transpose

        def wrong(x, weight, bias=None, stride=1, padding=0, act=None):
            return original(x, weight, bias, stride, max(padding - 1, 0) if padding else 0,
                            act)[(slice(None), slice(None)) + (slice(1, None),) * (x.ndim - 2)]
        monkeypatch.setattr(R, "conv_transpose", wrong)
    else:
        mode = planted.split("_")[0]
        names = [n for n in CASES if n.startswith(mode + "_")]
        original = R._cell

        def wrong(m, x_t, h, c, wi, wh, bi, bh, noise=None):
            # the first two gates' rows swapped (z, r for GRU; f, i for LSTM)
            n = wi.shape[0] // (3 if m == "gru" else 4)
            order = np.r_[n:2 * n, 0:n, 2 * n:wi.shape[0]]
            return original(m, x_t, h, c, wi[order], wh[order], bi[order], bh[order], noise)
        monkeypatch.setattr(R, "_cell", wrong)
    mismatched = 0
    for name in names:
        node, params, x, training = _case(name)
        try:
            got, _ = R.net([(node, params)], x, training=training)
        except R.NotPredicted:
            mismatched += 1
            continue
        mismatched += not R.close(got, _ARRAYS["%s/output" % name])
    assert mismatched == len(names)


# Observed in MXNet 1.9.1 (a thorough run of the kit's blocks group): a LayerNorm after a
# bidirectional LSTM of constant weights, then a Dense of equal weights that sums its
# outputs to ~0.  MXNet's output is the rounding of LayerNorm's mean, shared by the row.
CANCELLING_NET = [
    (A.Embedding(2, 3), {"weight": np.ones((2, 3))}),
    (A.Recurrent("lstm", 3, bidirectional=True), {
        "l0_i2h_weight": np.full((12, 3), 4.0), "l0_h2h_weight": np.full((12, 3), 2.0),
        "l0_i2h_bias": np.full(12, 146.0), "l0_h2h_bias": np.zeros(12),
        "r0_i2h_weight": np.full((12, 3), 5.0), "r0_h2h_weight": np.full((12, 3), 3.0),
        "r0_i2h_bias": np.zeros(12), "r0_h2h_bias": np.zeros(12)}),
    (A.Norm("layer"), {"gamma": np.ones(6), "beta": np.zeros(6)}),
    (A.Dense(3), {"weight": np.full((3, 12), 6.0), "bias": np.zeros(3)}),
]
CANCELLING_INPUT = np.array([[1, 0], [1, 0], [0, 1], [1, 0]], dtype=np.float32)
CANCELLING_MXNET = np.array([1.71661376953125e-05, 0.00013446807861328125,
                             0.00027179718017578125, 1.71661376953125e-05])[:, None] * np.ones(3)


def test_a_normalization_s_rounding_is_shared_by_its_row(monkeypatch):
    want, _, slack = R.reference(CANCELLING_NET, CANCELLING_INPUT)
    assert np.max(np.abs(want)) < 1e-9                 # exactly, the sum cancels
    assert R.close(CANCELLING_MXNET, want, slack=slack)
    assert slack < 0.1                                 # a bug moving outputs by O(1) still fails
    # independent perturbations of each value average away in the Dense's sum: too tight
    monkeypatch.setattr(R, "_statistics", lambda x, axes, noise=None, keepdims=False: (
        x.mean(axis=axes, keepdims=keepdims), x.var(axis=axes, keepdims=keepdims)))
    want, _, slack = R.reference(CANCELLING_NET, CANCELLING_INPUT)
    assert not R.close(CANCELLING_MXNET, want, slack=slack)
