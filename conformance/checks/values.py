"""The values clauses (VA-01..06): a net's output against the numpy reference forward.

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
whose backward moves the running statistics (VA-05, VA-06).
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
    """A pass on a drawn input; if it ran, random weights and another pass (randomize)."""
    from conformance.checks import lifecycle   # (lifecycle imports this module)
    lifecycle.after_move(t)
    lifecycle.forward(t, data)
    if t.passed_once:
        lifecycle.after_move(t)
        randomize(t, data)


def train(t, data):
    """A training pass on the designed input: the output uses BatchNorm's batch statistics
    (VA-05); the running statistics move in the backward pass (VA-06)."""
    if t.net is None or not t.passed_once or any(
            p.data is None for p in t.model.params.values()):
        return
    shape = t.design_input(batch=data.draw(st.integers(1, 4), label="batch"))
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
    ref = None if before is None or io is None or random else _reference(before, io[0], True)
    if ref is not None:
        t.check("VA-05", R.close(io[1], ref[0], slack=ref[2]), "a training pass normalizes "
                "with the batch's statistics: %s" % _describe(io[1], ref[0]))
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
