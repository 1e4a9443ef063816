"""The loss clauses (LS-01..12): every Gluon 1.9.1 loss built with drawn options and
called on drawn inputs, compared with the numpy model (loss_model): its repr, the shape
and dtype of its output, its values, and the gradient of `loss(...).sum()` with
respect to its first input under `autograd.record()`.

Tolerances (float32): a loss value within 1e-6 absolute or 1e-5 relative of the model,
plus 8 float32 ulps of the largest input, of its square for L2, SquaredHinge and Triplet
(`|got - want| <= 1e-6 + 1e-5 |want| + 8 ulp(max |input|)`: float32 cancellation, e.g.
Triplet's sum of squared differences of inputs near 30 loses 6e-5); 2e-6 instead of 1e-6
where MXNet's log_softmax is used, which is off by 1.43e-6 where the answer is 0; the
absolute part times max(1, |weight|) * max(1, max |sample_weight|) and, for KLDiv,
Triplet and SDML, which sum, the number of elements a sample sums; NaN where the model is NaN); a
gradient within
1e-4 absolute or 1e-3 relative (the model's gradient is a central difference), compared
where the model's one-sided differences agree (not on a kink).
"""

import numpy as np
from hypothesis import strategies as st

from conformance import loss_model as LM
from conformance import loss_strategies as S
from conformance.checks.common import Example

VALUE_CLAUSE = {
    "L2Loss": "LS-02", "L1Loss": "LS-02",
    "SoftmaxCrossEntropyLoss": "LS-03",
    "SigmoidBinaryCrossEntropyLoss": "LS-04",
    "KLDivLoss": "LS-05",
    "HuberLoss": "LS-06", "HingeLoss": "LS-06", "SquaredHingeLoss": "LS-06",
    "LogisticLoss": "LS-07",
    "TripletLoss": "LS-08", "CosineEmbeddingLoss": "LS-08",
    "PoissonNLLLoss": "LS-09",
    "CTCLoss": "LS-12",
    "SDMLLoss": "LS-08",
}
VALUE_RTOL, VALUE_ATOL = 1e-5, 1e-6
# MXNet 1.9.1's float32 log_softmax is off by up to 1.5e-6 where the answer is 0
# (log_softmax([0.]) is -1.43e-6): the losses using it get 2e-6 (before weighting)
LOG_SOFTMAX_ATOL = 2e-6
GRAD_RTOL, GRAD_ATOL = 1e-3, 1e-4


class Losses(Example):
    """One example of the loss group: losses built and called one after another."""

    def __init__(self, run):
        super().__init__(run, "LS-01")
        self.script = self.adapter.loss_script_header()
        self.missing = self.adapter.loss_available()
        self.can_record = "no_recording" not in self.adapter.divergences
        self.count = 0

    def available(self, clause):
        if self.missing is not None:
            self.check(clause, False, "the loss module is importable; got %s" % self.missing)
        return True


# losses that square their inputs: float32 cancellation is relative to the squares
QUADRATIC = ("L2Loss", "SquaredHingeLoss", "TripletLoss")


def input_ulps(spec, ulps=8):
    """`ulps` float32 ulps of the largest input magnitude (of its square for QUADRATIC)."""
    top = max(float(np.max(np.abs(a))) if np.size(a) else 0.0 for a in spec.inputs)
    if spec.name in QUADRATIC:
        top = top * top
    return ulps * float(np.spacing(np.float32(top)))


def weight_scale(spec):
    """The factor `weight` and `sample_weight` put on an element's error: the absolute
    tolerance is scaled by it (a log_softmax off by 1.4e-6, weighted 2 * 1.8, is off by
    5e-6)."""
    w = abs(spec.weight) if spec.weight is not None else 1.0
    sw = spec.keyword_inputs.get("sample_weight")
    top = float(np.max(np.abs(sw))) if sw is not None and np.size(sw) else 1.0
    return max(1.0, w) * max(1.0, top) * summed(spec)


def summed(spec):
    """How many elements a sample's loss sums (KLDiv and Triplet sum, the others take
    means): their errors add up."""
    if spec.name not in ("KLDivLoss", "TripletLoss", "SDMLLoss"):
        return 1
    pred = spec.inputs[0]
    if spec.name == "SDMLLoss":   # a row of the (batch, batch) distance matrix
        return pred.shape[0]
    return max(1, pred.size // pred.shape[spec.batch_axis])


def values_close(got, want, rtol=VALUE_RTOL, atol=VALUE_ATOL):
    got = np.asarray(got, np.float64)
    if got.shape != want.shape:
        return False
    nan = np.isnan(want)
    if not np.array_equal(np.isnan(got), nan):
        return False
    return bool(np.all(np.abs(got[~nan] - want[~nan]) <= atol + rtol * np.abs(want[~nan])))


def _array_text(a):
    return "nd.array(%r)" % (a.tolist(),)


def _kwargs_text(kwargs):
    return ", ".join("%s=%r" % kv for kv in kwargs.items())


def extra_texts(spec):
    """sample_weight and pos_weight, positional (Gluon 1.9.1's __call__ takes no keywords)."""
    extra = [spec.keyword_inputs.get("sample_weight"), spec.keyword_inputs.get("pos_weight")]
    while extra and extra[-1] is None:
        extra.pop()
    return ["None" if v is None else _array_text(v) for v in extra]


def call_text(spec, name):
    args = [_array_text(a) for a in spec.inputs] + extra_texts(spec)
    return "%s(%s)" % (name, ", ".join(args))


def after_move(t):
    t.run.steps += 1


def evaluate(t, data):
    """Build a drawn loss, check its repr, call it, compare its output; sometimes also
    the gradient of its sum with respect to its first input."""
    if not t.available("LS-01"):
        return
    spec = data.draw(S.specs(), label="loss")
    clause = VALUE_CLAUSE[spec.name]
    name = "loss%d" % t.count
    t.count += 1
    t.line("%s = gluon.loss.%s(%s)" % (name, spec.name, _kwargs_text(spec.kwargs)))
    t.context = "LS-01"
    block, kind, _ = t.call(t.adapter.loss_block, spec.name, spec.kwargs)
    t.check("LS-01", kind is None, "gluon.loss.%s(%s) raises nothing; got %s"
            % (spec.name, _kwargs_text(spec.kwargs), kind))
    text, kind, _ = t.call(repr, block)
    want = LM.repr_of(spec)
    t.line("print(%s)  # %s" % (name, want))
    t.check("LS-01", kind is None and text == want, "repr(%s) is %r; got %r"
            % (name, want, text if kind is None else kind))
    expected = LM.forward(spec)
    t.line("print(%s)" % call_text(spec, name))
    t.context = clause
    out, kind, _ = t.call(t.adapter.loss_call, block, spec.inputs, spec.keyword_inputs,
                          t.device)
    t.check(clause, kind is None, "the call raises nothing; got %s" % kind)
    got, kind, _ = t.call(t.adapter.nd_values, out)
    t.check(clause, kind is None, "the output reads as numpy; got %s" % kind)
    got = np.asarray(got)
    t.check("LS-10", got.shape == expected.shape and got.dtype == np.float32,
            "the output is float32 of shape %s; got %s of shape %s"
            % (expected.shape, got.dtype, got.shape))
    uses_log_softmax = spec.name == "SoftmaxCrossEntropyLoss" and not spec.option("from_logits") \
        or spec.name == "KLDivLoss" and not spec.option("from_logits") \
        or spec.name == "SDMLLoss"
    atol = ((LOG_SOFTMAX_ATOL if uses_log_softmax else VALUE_ATOL) + input_ulps(spec)) \
        * weight_scale(spec)
    t.check(clause, values_close(got, expected, atol=atol),
            "%s(...) is\n%r\ngot\n%r\n(|got - want| <= %g + %g |want|)"
            % (name, expected, got, atol, VALUE_RTOL))
    if not data.draw(st.booleans(), label="gradient"):
        return
    t.context = "LS-11"
    if not t.can_record:
        return   # divergence 'no_recording': LS-11 is not exercised
    if spec.option("compute_full"):
        # MXNet 1.9.1's PoissonNLLLoss(compute_full=True) writes in place
        # (stirling_factor *= target > 1): under record() it raises MXNetError
        # ('Assigning to NDArrays that are already in a computational graph')
        return
    want, smooth = LM.gradient(spec)
    first = LM.input_names(spec.name)[0]
    t.line("%s = %s; %s.attach_grad()" % (first, _array_text(spec.inputs[0]), first))
    t.line("with autograd.record():")
    rest = [_array_text(a) for a in spec.inputs[1:]] + extra_texts(spec)
    t.line("    s = %s(%s).sum()" % (name, ", ".join([first] + rest)))
    t.line("s.backward(); print(%s.grad)" % first)
    got, kind, _ = t.call(t.adapter.loss_grad, block, spec.inputs, spec.keyword_inputs,
                          t.device)
    t.check("LS-11", kind is None, "recording and backward raise nothing; got %s" % kind)
    got = np.asarray(got, np.float64)
    ok = got.shape == want.shape and bool(np.all(
        np.abs(got - want)[smooth] <= GRAD_ATOL + GRAD_RTOL * np.abs(want)[smooth]))
    t.check("LS-11", ok, "%s.grad is\n%r\ngot\n%r\n(compared where smooth:\n%r)"
            % (first, want, got, smooth))
