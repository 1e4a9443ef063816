"""The error clauses (DI-17, DI-18): reading a parameter before it has data.

DI-18 (a forward pass before initialize()) is the clause lifecycle.forward_clause gives
such a pass."""

from hypothesis import strategies as st


def read(t, data, what):
    """data(), grad() or list_ctx() of a drawn parameter."""
    names = t.model.collect_params()
    if what == "grad":   # grad_req='null' parameters are rare and telling: thrice as likely
        names = names + [n for n in names if t.model.params[n].grad_req == "null"] * 2
    name = data.draw(st.sampled_from(names), label="param")
    t.line("net.collect_params()[%r].%s()" % (name, what))
    expected = t.model.grad(name) if what == "grad" else t.model.data(name)
    if what == "list_ctx" and expected == "deferred":
        expected = None
    fn = {"data": t.adapter.data, "grad": t.adapter.grad,
          "list_ctx": lambda net, name, device: t.adapter.list_ctx(net, name)}[what]
    result, kind, _ = t.call(fn, t.net, name, t.device)
    t.check("DI-17", kind == expected, "%s.%s() raises %s; got %s" % (name, what, expected, kind))
    if what == "list_ctx" and expected is None:
        want = t.model.list_ctx(name)
        t.check("DI-26", result == want, "%s.list_ctx() is %s; got %s" % (name, want, result))


def data_raises(t, context, name, expected, kind):
    """data() raises what the model expects: DI-17 right after building, else the clause
    of the last move (the move changed what data() does)."""
    clause = "DI-17" if context == "DI-01" else context
    t.check(clause, kind == expected, "%s.data() raises %s; got %s" % (name, expected, kind))


def grad_req_kept(t, name, p):
    """After every move: grad_req is the declared one, and grad() of a 'null' parameter
    raises what the model says in the parameter's state (DI-33)."""
    req, kind, _ = t.call(t.adapter.grad_req, t.net, name)
    t.check("DI-33", kind is None and req == p.grad_req,
            "%s.grad_req is %r; got %r" % (name, p.grad_req, req if kind is None else kind))
    if p.grad_req != "null":
        return
    expected = t.model.grad(name)
    _, kind, _ = t.call(t.adapter.grad, t.net, name, t.device)
    t.check("DI-33", kind == expected, "%s.grad() (grad_req='null') raises %s; got %s"
            % (name, expected, kind))
