"""The naming clauses (DI-04, DI-05): names, collect_params order and select."""

from hypothesis import strategies as st


def names_match(t, names, want_names):
    t.check("DI-04", sorted(names) == sorted(want_names),
            "parameter names %s; got %s" % (want_names, names))


def select(t, data):
    """collect_params(select) with a drawn regular expression, and its repr."""
    names = t.model.collect_params()
    pattern = data.draw(st.sampled_from(
        [".*weight", ".*bias", names[0][:6] + ".*", ".*_dense1_.*", "dense0_.*"]), label="select")
    t.line("print(net.collect_params(%r))" % pattern)
    table, kind, _ = t.call(t.adapter.param_table, t.net, pattern)
    want = t.model.param_table(pattern)
    t.check("DI-05", kind is None and table == want,
            "collect_params(%r) is %s; got %s" % (pattern, want, table if kind is None else kind))
    text, _, _ = t.call(t.adapter.params_repr, t.net, pattern)
    want_text = t.model.params_repr(pattern)
    t.check("DI-03", text == want_text, "repr:\n%s\ngot:\n%s" % (want_text, text))
