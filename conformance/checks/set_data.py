"""The set_data clauses (DI-19..21).

DI-19's other half, the first pass keeping the value given, is the clause
lifecycle.forward_clause gives that pass."""

from hypothesis import strategies as st

from conformance.checks import lifecycle


def set_data(t, data, fits):
    """set_data on a drawn parameter: a shape that fits it (mostly the one the first pass
    will infer, so that the pass can use the data) or one that contradicts it."""
    name = data.draw(st.sampled_from(t.model.collect_params()), label="param")
    known = t.model.params[name].shape
    if fits:
        inferred = t.inferred_shape(name)
        if inferred is not None and 0 in known and data.draw(st.integers(0, 3), label="infer") < 3:
            shape = inferred
        else:
            shape = tuple(d if d else data.draw(st.integers(1, 6), label="dim") for d in known)
    else:
        shape = tuple(d + 1 for d in known)
    value = 100.0 + len(t.script)
    t.line("net.collect_params()[%r].set_data(nd.ones(%r) * %r)" % (name, shape, value))
    expected = t.model.set_data(name, shape, value)
    _, kind, _ = t.call(t.adapter.set_data, t.net, name, shape, value, t.device)
    clause = {"shape_mismatch": "DI-21", "not_initialized": "DI-20"}.get(expected.error, "DI-19")
    t.context = clause
    t.check(clause, kind == expected.error,
            "set_data(%s) on %s raises %s; got %s" % (shape, name, expected.error, kind))
    lifecycle.structure(t, clause)
