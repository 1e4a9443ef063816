"""The lifecycle clauses (DI-01..03, 06..10, 13, 26..28): build, initialize, forward, and
the structure (names, shapes, reprs, values, devices) compared after every move."""

import math

import numpy as np
from hypothesis import note

from conformance import arch as A
from conformance import recording, strategies
from conformance.checks import errors, in_units, naming, reinit, sharing
from conformance.checks import values  # VA-01..06
from conformance.checks import identity, randomness
from conformance.model import UNIFORM


def build(t, design, then_initialize):
    """Build `design` on both sides; most users initialize right away, so that the first
    pass is reached often."""
    arch, width = design
    t.arch, t.width = arch, width
    for text in A.source_lines(arch):
        t.line(text)
    note("built %r" % (arch,))
    t.net = build_implementation(t, arch, "DI-01", "building the net raises nothing (got %s)")
    t.model = t.world.build(arch)
    t.passed_once = False
    t.moves_on_net = 0
    t.context = "DI-01"
    structure(t, "DI-01")
    if then_initialize:
        initialize(t, "recording", False)


def build_implementation(t, arch, clause, message):
    net, kind, _ = t.call(t.adapter.build, arch)
    t.check(clause, kind is None, message % kind)
    return net


def initialize(t, initializer, force_reinit):
    args = ["init=Recording()"] if initializer == "recording" else []
    if force_reinit:
        args.append("force_reinit=True")
    t.line("net.initialize(%s)" % ", ".join(args))
    before = {n: (p.data is not None) for n, p in t.model.params.items()}
    start = len(recording.CALLS)
    expected = t.model.initialize(initializer, force_reinit, t.device)
    _, kind, seen = t.call(t.adapter.initialize, t.net, initializer, force_reinit, t.device)
    calls = t.new_calls(start)
    again = any(before.values())
    clause = reinit.initialize_clause(force_reinit, again)
    t.context = clause
    t.check(clause, kind is None, "initialize() raises nothing (got %s)" % kind)
    unknown = [c for c in calls if 0 in c[1]]
    t.check("DI-07", not unknown, "no initializer call on an unknown shape; got %s" % unknown)
    in_units.known_shapes_initialize_at_once(t, calls, expected, again)
    t.check(clause, calls == expected.calls,
            "initialize() calls %s, got %s" % (expected.calls, calls))
    reinit.warnings_match(t, clause, force_reinit, seen, expected)


def forward_clause(expected, had_pass, pending, given):
    """The clause a forward pass exercises."""
    if expected.error == "not_initialized":
        return "DI-18"
    if expected.error == "shape_mismatch":
        return in_units.shape_mismatch_clause(had_pass)
    if pending:
        # data given by set_data() before the first pass replaces the initializer: that
        # pass is where DI-19 shows
        return "DI-19" if given else "DI-09"
    return "DI-10"


def forward(t, data):
    if isinstance(t.width, A.Input):
        shape = data.draw(strategies.stem_inputs(t.design_input()[1:], t.width.axis),
                          label="input shape")
    else:
        first = t.first_dense()
        flatten = first.node.flatten if first else True
        shape = data.draw(strategies.input_shapes(t.expected_features(), flatten),
                          label="input shape")
    t.line("y = net(%s)" % t.input_source(shape))
    pending = any(p.deferred for p in t.model.params.values())
    given = any(p.deferred and p.deferred[1] is not None for p in t.model.params.values())
    had_pass = t.passed_once
    start = len(recording.CALLS)
    expected = t.model.forward(shape)
    out, kind, _ = t.call(t.adapter.forward, t.net, shape, t.device, t.indices())
    calls = t.new_calls(start)
    clause = forward_clause(expected, had_pass, pending, given)
    t.context = clause
    t.check(clause, kind == expected.error,
            "net(x) with x.shape=%s raises %s; got %s" % (shape, expected.error, kind))
    if expected.error:
        clause = "DI-28"  # what a failing pass leaves behind
        t.context = clause
    t.check(clause, calls == expected.calls,
            "net(x) calls the initializer %s; got %s" % (expected.calls, calls))
    if expected.error is None:
        t.passed_once = True
        t.line("print(y.shape)  # %s" % (expected.output_shape,))
        out_shape, out_device = out
        t.check("DI-27", out_shape == expected.output_shape,
                "output shape %s; got %s" % (expected.output_shape, out_shape))
        t.check("DI-26", out_device == t.device,
                "the output lives on %s; got %s" % (t.device, out_device))
        if pending:
            structure(t, "DI-08")
        values.after_forward(t)   # VA-01..04: the output's values


def after_move(t):
    """The invariant: the implementation still matches the model."""
    if t.net is None:
        return
    structure(t, t.context)
    t.moves_on_net += 1
    t.run.steps += 1


def structure(t, context):
    """Names, order, shapes, reprs, and per parameter its error, value and device; a
    mismatch of shapes or errors belongs to `context`, the clause of the last move."""
    model, adapter = t.model, t.adapter
    table, kind, _ = t.call(adapter.param_table, t.net)
    want = model.param_table()
    if kind is not None:
        t.check(context, False, "collect_params() raises nothing; got %s" % kind)
    names, want_names = [n for n, _ in table], [n for n, _ in want]
    naming.names_match(t, names, want_names)
    sharing.order_matches(t, names, want_names)
    t.check(context, table == want, "parameter shapes %s; got %s" % (want, table))
    text, _, _ = t.call(adapter.block_repr, t.net)
    t.check("DI-02", text == model.block_repr(),
            "repr(net):\n%s\ngot:\n%s" % (model.block_repr(), text))
    text, _, _ = t.call(adapter.params_repr, t.net)
    t.check("DI-03", text == model.params_repr(),
            "repr(net.collect_params()):\n%s\ngot:\n%s" % (model.params_repr(), text))
    for name in want_names:
        p = model.params[name]
        expected = model.data(name)
        value, kind, _ = t.call(adapter.data, t.net, name, t.device)
        errors.data_raises(t, context, name, expected, kind)
        errors.grad_req_kept(t, name, p)
        if expected is None:
            identity.same_array(t, name, p)
            randomness.drawn(t, context, name, p, value)
        if expected is None and p.data != UNIFORM:
            ok = value is not None and np.asarray(value).size == math.prod(p.shape) and \
                bool(np.all(np.asarray(value) == p.data))
            got = None if value is None else np.unique(np.asarray(value))[:4]
            t.check("DI-13" if context in ("DI-06", "DI-01") else context, ok,
                    "%s holds %s everywhere; got %s" % (name, p.data, got))
        if expected is None:
            where, kind, _ = t.call(adapter.data_device, t.net, name, t.device)
            t.check("DI-26", where == p.ctx, "%s.data() lives on %s; got %s"
                    % (name, p.ctx, where if kind is None else kind))
        if expected is None or expected == "deferred":
            ctx, kind, _ = t.call(adapter.list_ctx, t.net, name)
            t.check("DI-26", ctx == [p.ctx], "%s.list_ctx() is %s; got %s"
                    % (name, [p.ctx], ctx if kind is None else kind))
