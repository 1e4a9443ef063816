"""The values clauses (VA-01..07): a net's output against the numpy reference forward.

The model (model.py) knows shapes and calls; `reference_forward` knows what each block
computes.  After every forward pass that the model expects to succeed, the trial reads
the weights the net actually holds (adapter.data), runs the net's leaves in forward order
through the reference on the pass's own input (adapter.forward_io) and compares the
output within float32 tolerance (reference_forward.close).  A mismatch is charged to the
clause of the most particular block family in the net (`family_clause`).

Two moves of the `values` group make the comparison sharp: `randomize` sets every
initialized parameter to random values (the recording initializer's constant fills hide
a swapped gate or a transposed kernel), and `train` runs a training pass (recorded, then
backward; train_mode() where nothing records) whose BatchNorm uses batch statistics and
whose backward moves the running statistics (VA-05, VA-06); one net in two ends in a
Dropout (strategies.with_trailing_dropout), whose training output is checked element by
element against the reference output before it (VA-07).
"""

import numpy as np
from hypothesis import strategies as st

from conformance import arch as A
from conformance import reference_forward as R
from conformance.model import UNIFORM

DEFAULT_LAYOUTS = ("", "TNC")


def family_clause(t):
    """VA-04 (a non-default layout), VA-03 (recurrent, Embedding), VA-02 (a convolution
    stem), else VA-01."""
    nodes = [layer.node for layer in t.model.layers_in_forward_order()]
    if any(getattr(n, "layout", "") not in DEFAULT_LAYOUTS for n in nodes):
        return "VA-04"
    if any(isinstance(n, (A.Recurrent, A.Embedding)) for n in nodes):
        return "VA-03"
    if any(isinstance(n, (A.Conv, A.Pool)) or (isinstance(n, A.Norm) and n.kind == "instance")
           for n in nodes) or isinstance(t.width, A.Input):
        return "VA-02"
    return "VA-01"


def _weights(t):
    """[(node, {attr: numpy})] in forward order, read from the net; None if any read fails."""
    cache, leaves = {}, []
    for layer in t.model.layers_in_forward_order():
        params = {}
        for attr, name in layer.params.items():
            if name not in cache:
                value, kind, _ = t.call(t.adapter.data, t.net, name, t.device)
                if kind is not None or value is None:
                    return None
                cache[name] = np.asarray(value)
            params[attr] = cache[name]
        leaves.append((layer.node, params))
    return leaves


def _reference(leaves, x, training):
    """(output, statistics, slack) or None where the reference does not predict."""
    try:
        return R.reference(leaves, x, training)
    except R.NotPredicted:
        return None


def _describe(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return "shape %s, expected %s" % (got.shape, want.shape)
    at = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
    return "max |difference| %.3g at %s (%.6g, expected %.6g)" % (
        np.max(np.abs(got - want)), tuple(int(i) for i in at), got[at], want[at])


def after_forward(t):
    """After an inference pass the model expected to succeed: the output is the
    reference's for the net's weights."""
    io = t.adapter.forward_io()
    if io is None:
        return
    leaves = _weights(t)
    if leaves is None:
        return
    x, y = io
    ref = _reference(leaves, x, False)
    if ref is None:
        return
    clause = family_clause(t)
    t.line("# the output equals the reference forward (conformance/reference_forward.py)")
    t.check(clause, R.close(y, ref[0], slack=ref[2]), "net(x) computes each block's formula "
            "for the net's weights: %s" % _describe(y, ref[0]))


def randomize(t, data):
    """Every initialized parameter set to random values (set_data): weights uniform in
    [-1, 1], BatchNorm's running_var in [0.5, 1.5]; then, on a net that has run, a
    forward pass (compared), so that every randomization is seen by one."""
    if t.net is None:
        return
    rng = np.random.RandomState(data.draw(st.integers(0, 2 ** 32 - 1), label="values seed"))
    clause = family_clause(t)
    t.context = clause
    for name in t.model.collect_params():
        p = t.model.params[name]
        if p.data is None:
            continue
        low, high = (0.5, 1.5) if name.endswith("running_var") else (-1.0, 1.0)
        values = rng.uniform(low, high, size=p.shape).astype(np.float32)
        t.line("net.collect_params()[%r].set_data(nd.random.uniform(%s, %s, shape=%r))"
               % (name, low, high, tuple(p.shape)))
        _, kind, _ = t.call(t.adapter.set_values, t.net, name, values, t.device)
        t.check(clause, kind is None, "set_data(values) of %s raises nothing; got %s"
                % (name, kind))
        p.data, p.draw = UNIFORM, 0   # values the trial set: not a constant, not a draw
    if t.passed_once:
        from conformance.checks import lifecycle   # (lifecycle imports this module)
        lifecycle.after_move(t)
        lifecycle.forward(t, data)


def warm_up(t, data):
    """A pass on a drawn input; if it ran, random weights and another pass (randomize),
    then a training pass (train).  The training pass is here, not only a move among a
    dozen: examples are short (a ci run of 30 met it in 3 of them), and VA-05/06/07 live
    in it."""
    from conformance.checks import lifecycle   # (lifecycle imports this module)
    lifecycle.after_move(t)
    lifecycle.forward(t, data)
    if t.passed_once:
        lifecycle.after_move(t)
        randomize(t, data)
        lifecycle.after_move(t)
        train(t, data)


def train(t, data):
    """A training pass on the designed input: the output uses BatchNorm's batch statistics
    (VA-05); the running statistics move in the backward pass (VA-06)."""
    if t.net is None or not t.passed_once or any(
            p.data is None for p in t.model.params.values()):
        return
    _, keep = _trailing_dropout([layer.node for layer in t.model.layers_in_forward_order()])
    batch = DROPOUT_BATCH if keep is not None and keep < 1 else \
        data.draw(st.integers(1, 4), label="batch")
    shape = t.design_input(batch=batch)
    if t.model.clone().forward(shape).error is not None:
        return
    record = "no_recording" not in t.adapter.divergences
    t.line("from %s import autograd" % t.adapter.module)
    if record:
        t.line("with autograd.record():")
        t.line("    y = net(%s)" % t.input_source(shape))
        t.line("y.backward()")
    else:
        t.line("with autograd.train_mode():")
        t.line("    y = net(%s)" % t.input_source(shape))
    before = _weights(t)
    expected = t.model.forward(shape)
    t.context = "VA-05"
    out_shape, kind, _ = t.call(t.adapter.forward_training, t.net, shape, t.device,
                                t.indices(), record)
    t.check("VA-05", kind is None, "a training pass raises nothing; got %s" % kind)
    t.check("VA-05", out_shape == expected.output_shape, "a training pass's output shape is %s; "
            "got %s" % (expected.output_shape, out_shape))
    io = t.adapter.forward_io()
    nodes = [node for node, _ in before] if before else []
    random = any(isinstance(n, A.Dropout) and n.rate for n in nodes)
    start, keep = _trailing_dropout(nodes)
    ref = None
    if before is not None and io is not None and not any(
            isinstance(n, A.Dropout) and n.rate for n in nodes[:start]):
        # the Dropouts that end the net: the reference runs them as the identity (VA-07)
        ref = _reference([(A.Dropout(0.0), p) if i >= start else (n, p)
                          for i, (n, p) in enumerate(before)], io[0], True)
    if ref is not None and not random:
        t.check("VA-05", R.close(io[1], ref[0], slack=ref[2]), "a training pass normalizes "
                "with the batch's statistics: %s" % _describe(io[1], ref[0]))
    if ref is not None and keep is not None:
        t.context = "VA-07"
        _check_dropout(t, io[1], ref[0], ref[2], keep)
    moves = record or "batchnorm_stats_at_forward" in t.adapter.divergences
    layers = t.model.layers_in_forward_order()
    for i, layer in enumerate(layers):
        if not (isinstance(layer.node, A.Norm) and layer.node.kind == "batch"):
            continue
        names = [layer.params["running_mean"], layer.params["running_var"]]
        want, slack = None, 0.0
        if before is not None and not moves:
            want = [before[i][1]["running_mean"], before[i][1]["running_var"]]
        elif ref is not None:
            stats = {pos: (mean, var, slack) for pos, mean, var, slack in ref[1]}
            if i in stats:
                mean, var, slack = stats[i]
                want = R.moved_statistics(before[i][1]["running_mean"],
                                          before[i][1]["running_var"], mean, var)
                slack *= 1 - R.MOMENTUM
        for name, value in zip(names, want or [None, None]):
            got, kind, _ = t.call(t.adapter.data, t.net, name, t.device)
            if value is not None and kind is None:
                t.check("VA-06", R.close(got, value, slack=slack if moves else 0.0),
                        "%s after the training step: %s" % (
                    name, _describe(got, value) if moves else "unchanged until a backward"))
            if moves:
                p = t.model.params[name]
                p.data, p.draw = UNIFORM, 0
    t.context = "VA-06" if any(isinstance(n, A.Norm) and n.kind == "batch" for n in nodes) \
        else "VA-05"


def _trailing_dropout(nodes):
    """(start, keep): the Dropouts that end the net (only Dropout and Flatten from the first
    of them on) start at leaf `start` and keep a share `keep`, the product of their (1 - p);
    (len(nodes), None) where the net does not end in a Dropout."""
    start, keep = len(nodes), None
    for i, node in enumerate(nodes):
        if isinstance(node, A.Dropout):
            if keep is None:
                start, keep = i, 1.0
            keep *= 1.0 - node.rate
        elif keep is not None and not isinstance(node, A.Flatten):
            start, keep = len(nodes), None
    return start, keep


# binomial standard deviations the zeroed share of a Dropout's output may stray from p
DROPOUT_SIGMAS = 5.0
# the batch of a training pass through a net ending in Dropout: enough elements (the nets
# end in Dense layers of 1-8 units) that a mask keeping a share p instead of 1 - p is seen
DROPOUT_BATCH = 64


def _check_dropout(t, got, want, slack, keep):
    """VA-07: a training pass through a net ending in Dropout(p): every element is 0 (dropped)
    or the output before the Dropout over (1 - p) (kept; MXNet's x * mask / (1 - p)), and the
    dropped share of the elements that are not 0 anyway is p within DROPOUT_SIGMAS binomial
    standard deviations (a swapped keep/drop mask passes the first test, not this one)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64) / keep
    if got.shape != want.shape:
        t.check("VA-07", False, "a training pass through Dropout: output shape %s, expected %s"
                % (got.shape, want.shape))
        return
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    tolerance = 1e-5 * scale + 1e-4 * np.abs(want) + slack / keep
    dropped = got == 0
    bad = ~(dropped | (np.abs(got - want) <= tolerance))
    t.line("# each element is 0 or the output before the Dropout over (1 - p) = %.6g" % keep)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        message = "element %s is %.6g, neither 0 nor %.6g" % (at, got[at], want[at])
    else:
        message = "every element is 0 or scaled"
    t.check("VA-07", not bad.any(), "a training pass through Dropout(p) zeroes each element "
            "or scales it by 1 / (1 - p): %s" % message)
    counted = np.abs(want) > tolerance
    n, k, p = int(counted.sum()), int((dropped & counted).sum()), 1.0 - keep
    bound = DROPOUT_SIGMAS * np.sqrt(n * p * (1 - p)) + (1.0 if 0 < p < 1 else 0.0)
    t.check("VA-07", abs(k - n * p) <= bound, "Dropout(p) zeroes a share p = %.3g of the "
            "elements: %d of %d zeroed (expected %.1f within %.1f)" % (p, k, n, n * p, bound))
