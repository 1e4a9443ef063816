"""The save/load clauses (DI-24, DI-25, DI-34..36): save_parameters into a fresh net,
deepcopy; save_parameters on its own, loading into an initialized deferred net and its
first pass, a copy changed afterwards."""

import os
import shutil
import tempfile

import numpy as np
from hypothesis import strategies as st

from conformance import arch as A
from conformance import recording
from conformance.checks import identity, lifecycle


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
    load = fresh_model.load(expected.saved, t.device, expected.draws)
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


def save_alone(t):
    """save_parameters on its own (DI-35): a net with a parameter lacking data raises
    that parameter's error and writes nothing; otherwise the file is written (the
    invariant then checks that nothing in the net changed)."""
    t.line("net.save_parameters('net.params')")
    expected = t.model.save()
    folder = tempfile.mkdtemp(prefix="conformance-")
    path = os.path.join(folder, "net.params")
    try:
        _, kind, _ = t.call(t.adapter.save_parameters, t.net, path)
        written = os.path.exists(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    t.context = "DI-35"
    t.check("DI-35", kind == expected.error,
            "save_parameters() raises %s; got %s" % (expected.error, kind))
    if expected.error is not None:
        t.check("DI-35", not written, "a refused save_parameters() writes no file; got one")
    else:
        t.check("DI-35", written, "save_parameters() writes the file; got none")


def designed_input(t):
    """The input the net was designed for, or None where the model cannot tell it."""
    if isinstance(t.width, A.Input):
        return t.design_input()
    first = t.first_dense()
    if first is not None and not first.node.flatten and \
            t.model.params[first.params["weight"]].shape[1] == 0:
        return None
    return (2, t.expected_features())


def load_into_initialized(t):
    """Save the net, build it again, initialize it (its unknown shapes stay deferred),
    load the file, then run the first pass (DI-34): the loaded values survive it."""
    expected = t.model.save()
    if expected.error is not None:
        return   # save_alone's subject
    t.line("net.save_parameters('net.params')")
    folder = tempfile.mkdtemp(prefix="conformance-")
    path = os.path.join(folder, "net.params")
    try:
        _, kind, _ = t.call(t.adapter.save_parameters, t.net, path)
        t.check("DI-34", kind is None, "save_parameters() raises nothing; got %s" % kind)
        for text in A.source_lines(t.arch):
            t.line(text)
        fresh_model = t.world.build(t.arch)
        fresh = lifecycle.build_implementation(t, t.arch, "DI-34",
                                               "building a fresh net raises nothing; got %s")
        t.line("net.initialize(init=Recording())")
        start = len(recording.CALLS)
        init = fresh_model.initialize("recording", False, t.device)
        _, kind, _ = t.call(t.adapter.initialize, fresh, "recording", False, t.device)
        t.check("DI-34", kind is None and t.new_calls(start) == init.calls,
                "initialize() raises nothing and calls %s; got %s and %s"
                % (init.calls, kind, t.new_calls(start)))
        t.line("net.load_parameters('net.params')")
        start = len(recording.CALLS)
        _, kind, _ = t.call(t.adapter.load_parameters, fresh, path, t.device)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    t.check("DI-34", kind is None and not t.new_calls(start),
            "load_parameters() raises nothing and calls no initializer; got %s and %s"
            % (kind, t.new_calls(start)))
    fresh_model.load(expected.saved, t.device, expected.draws)
    t.net, t.model = fresh, fresh_model
    t.context = "DI-34"
    lifecycle.structure(t, "DI-34")
    shape = designed_input(t)
    if shape is None:
        return
    t.line("y = net(%s)" % t.input_source(shape))
    start = len(recording.CALLS)
    passed = t.model.forward(shape)
    _, kind, _ = t.call(t.adapter.forward, t.net, shape, t.device, t.indices())
    t.check("DI-34", kind == passed.error and t.new_calls(start) == passed.calls,
            "the first pass after loading raises %s and calls %s; got %s and %s"
            % (passed.error, passed.calls, kind, t.new_calls(start)))
    t.passed_once = t.passed_once or passed.error is None
    lifecycle.structure(t, "DI-34")


def copy_and_change(t, data):
    """copy.deepcopy, then set_data, force_reinit or a training step on the copy: the
    original's values and arrays do not move, and the copy's arrays are its own (DI-36)."""
    expected, twin_model = t.model.deepcopy()
    if twin_model is None:
        return   # Gluon refuses the copy: DI-25's subject
    before = _values(t, t.net, t.model)
    arrays = identity.arrays_of(t, t.net, t.model)
    t.line("twin = copy.deepcopy(net)")
    twin, kind, _ = t.call(t.adapter.deepcopy, t.net)
    t.context = "DI-36"
    t.check("DI-36", kind is None, "deepcopy raises nothing; got %s" % kind)
    theirs = identity.arrays_of(t, twin, twin_model)
    shared = [n for n, a in theirs.items() if any(a is b for b in arrays.values())]
    t.check("DI-36", not shared, "the copy's arrays are its own; got the original's for %s"
            % shared)
    ready = [n for n in twin_model.collect_params() if twin_model.params[n].data is not None]
    change = data.draw(st.sampled_from(["set_data", "force_reinit", "train"]), label="change")
    shape = designed_input(t)
    if change == "train" and (
            len(ready) < len(twin_model.params) or shape is None or t.adapter.ag_available()
            or twin_model.clone().forward(shape).error is not None):
        change = "force_reinit"
    if change == "set_data" and not ready:
        change = "force_reinit"
    if change == "set_data":
        name = data.draw(st.sampled_from(ready), label="param")
        shape = twin_model.params[name].shape
        value = 100.0 + len(t.script)
        t.line("twin.collect_params()[%r].set_data(nd.ones(%r) * %r)" % (name, shape, value))
        twin_model.set_data(name, shape, value)
        _, kind, _ = t.call(t.adapter.set_data, twin, name, shape, value, t.device)
    elif change == "force_reinit":
        t.line("twin.initialize(force_reinit=True)")
        twin_model.initialize("default", True, t.device)
        _, kind, _ = t.call(t.adapter.initialize, twin, "default", True, t.device)
    else:
        t.line("from %s import autograd, gluon" % t.adapter.module)
        t.line("trainer = gluon.Trainer(twin.collect_params(), 'sgd', {'learning_rate': 0.5})")
        t.line("with autograd.record():\n    loss = twin(%s).sum()" % t.input_source(shape))
        t.line("loss.backward(); trainer.step(%d, ignore_stale_grad=True)" % shape[0])
        _, kind, _ = t.call(t.adapter.train_step, twin, shape, t.device, t.indices())
    refused = (None,)
    if change == "train" and "copy_trains" not in t.world.divergences:
        # MXNet 1.9.1: a copy's arrays have no gradient attached (until force_reinit), so
        # its backward raises (either of AG-05's texts)
        refused = ("not_in_graph", "no_inputs")
    t.check("DI-36", kind in refused, "%s on the copy raises %s; got %s"
            % (change, " or ".join(map(str, refused)), kind))
    after = _values(t, t.net, t.model)
    moved = [n for n in before if not np.array_equal(before[n], after.get(n))]
    t.check("DI-36", not moved, "%s on the copy leaves the original's values; %s moved"
            % (change, moved))
    now = identity.arrays_of(t, t.net, t.model)
    swapped = [n for n in arrays if now.get(n) is not arrays[n]]
    t.check("DI-36", not swapped, "%s on the copy leaves the original's arrays; %s changed"
            % (change, swapped))


def _values(t, net, model):
    """name -> values (numpy) of every initialized parameter of `net`."""
    out = {}
    for name in model.collect_params():
        if model.params[name].data is not None:
            value, kind, _ = t.call(t.adapter.data, net, name, t.device)
            out[name] = None if kind else np.array(value, copy=True)
    return out
