"""The save/load clauses (DI-24, DI-25): save_parameters into a fresh net, deepcopy."""

from conformance import arch as A
from conformance import recording
from conformance.checks import lifecycle


def save_load(t):
    """Save the net's parameters and load them into a fresh net, which replaces it."""
    t.line("net.save_parameters('net.params')")
    expected = t.model.save()
    fresh_model = None
    if expected.error is None:
        fresh_model = t.world.build(t.arch)
    fresh = lifecycle.build_implementation(t, t.arch, "DI-24",
                                           "building a fresh net raises nothing; got %s")
    start = len(recording.CALLS)
    _, kind, _ = t.call(t.adapter.save_load, t.net, fresh, t.device)
    t.context = "DI-24"
    if expected.error is not None:
        # the fresh net still consumed names: mirror it in the model
        t.world.build(t.arch)
        t.check("DI-24", kind is not None,
                "save_parameters() of a net with %s parameters raises" % expected.error)
        return
    for text in A.source_lines(t.arch):
        t.line(text)
    t.line("net.load_parameters('net.params')")
    t.check("DI-24", kind is None, "save/load raises nothing; got %s" % kind)
    load = fresh_model.load(expected.saved, t.device)
    t.check("DI-24", load.error is None and not t.new_calls(start),
            "loading calls no initializer; got %s" % t.new_calls(start))
    t.net, t.model = fresh, fresh_model
    lifecycle.structure(t, "DI-24")


def deepcopy(t):
    """copy.deepcopy of a net with a first pass still to do, then the copy's first pass."""
    if all(p.data is not None for p in t.model.params.values()):
        return  # no first pass left to do: not what DI-25 is about
    t.line("twin = copy.deepcopy(net)")
    expected, twin_model = t.model.deepcopy()
    twin, kind, _ = t.call(t.adapter.deepcopy, t.net)
    t.check("DI-25", kind == expected.error,
            "deepcopy raises %s; got %s" % (expected.error, kind))
    if twin_model is None or kind is not None:
        return
    table, _, _ = t.call(t.adapter.param_table, twin)
    t.check("DI-25", table == twin_model.param_table(),
            "the copy's table is %s; got %s" % (twin_model.param_table(), table))
    first = t.first_dense()
    if isinstance(t.width, A.Input):
        shape = t.design_input()
    else:
        shape = (2, t.expected_features()) if first and first.node.flatten else None
    if shape is None:
        return
    t.line("twin(%s)" % t.input_source(shape))
    start = len(recording.CALLS)
    expected = twin_model.forward(shape)
    _, kind, _ = t.call(t.adapter.forward, twin, shape, t.device, t.indices())
    t.check("DI-25", kind == expected.error and t.new_calls(start) == expected.calls,
            "the copy's first pass raises %s and calls %s; got %s and %s"
            % (expected.error, expected.calls, kind, t.new_calls(start)))
    t.context = "DI-25"
