"""The in_units clauses (DI-14..16): layers given their input size."""


def known_shapes_initialize_at_once(t, calls, expected, again):
    """DI-14: on a first initialize() of a net where some weight's input size is known,
    exactly the layers that know it initialize."""
    if any(t.model.params[n].shape[1:2] != (0,) and n.endswith("weight")
           for n in t.model.params) and not again:
        t.check("DI-14", calls == expected.calls,
                "initialize() calls %s, got %s" % (expected.calls, calls))


def shape_mismatch_clause(had_pass):
    """A pass refused for its shapes: a wrong in_units before the first pass (DI-15), an
    input contradicting inferred shapes after it (DI-16)."""
    return "DI-16" if had_pass else "DI-15"
