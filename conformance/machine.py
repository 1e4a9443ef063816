"""The stateful test: the user's moves as rules, implementation vs model after each.

`make_machine(group)` gives a RuleBasedStateMachine for one clause group.  Every check
names the clause it verifies (clauses.py); a failing check raises ClauseFailure with the
clause id and a pasteable script of the moves so far.  Checks of clauses outside
RUN.enabled end the example's checking instead (the rest of its moves are skipped), so a
selection of clauses is judged only on its own clauses and a known failure does not hide
the others.
"""

import functools
import math
import warnings

import numpy as np
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conformance import arch as A
from conformance import recording, strategies
from conformance.model import UNIFORM, World


class ClauseFailure(AssertionError):
    def __init__(self, clause, message, script):
        super().__init__("%s: %s" % (clause, message))
        self.clause = clause
        self.message = message
        self.script = script


class _Disabled(Exception):
    """A clause outside the selection failed: stop checking this example."""


def guarded(move):
    @functools.wraps(move)
    def wrapper(self, *args, **kwargs):
        if self.tainted:
            return None
        try:
            return move(self, *args, **kwargs)
        except _Disabled:
            self.tainted = True
            return None
    return wrapper


class Run:
    """What the current run tests, and what it has seen (shared with the runner)."""

    def __init__(self, adapter, device="cpu(0)", enabled=None):
        self.adapter = adapter
        self.device = device
        self.enabled = set(enabled) if enabled is not None else None
        self.examples = {}      # clause -> examples that exercised it
        self.steps = 0
        self.last_failure = None


RUN = None

# Which moves each group's machine makes (build, initialize, forward, read are always on).
GROUP_RULES = {
    "lifecycle": set(),
    "naming": {"select"},
    "reinit": set(),
    "in_units": set(),
    "errors": set(),
    "set_data": {"set_data", "deepcopy"},       # a pending set_data value is copied too
    "sharing": {"select"},
    "hybridize": {"hybridize", "deepcopy"},     # copies of hybridized deferred nets
    "save_load": {"save_load", "deepcopy"},
    # no clauses of its own: every clause, on nets that always have a conv/pool/norm
    # stem or recurrent/embedding layers (elsewhere they are half of the draws)
    "blocks": {"hybridize", "set_data", "deepcopy"},
}


def _kind(adapter, exc):
    kind = adapter.classify(exc)
    return kind if kind else "unexpected %s: %s" % (type(exc).__name__, str(exc)[:200])


class ConformanceMachine(RuleBasedStateMachine):
    group = "lifecycle"
    moves = frozenset()
    sharing = None

    def __init__(self):
        super().__init__()
        self.adapter = RUN.adapter
        self.adapter.ensure_loaded()
        self.device = RUN.device
        self.world = World(self.adapter.divergences)
        self.adapter.reset_names()
        recording.reset()
        self.exercised = set()
        self.script = self.adapter.script_header()
        self.context = "DI-01"
        self.passed_once = False
        self.net = self.model = None
        self.moves_on_net = 0
        self.tainted = False
        self.arch = None
        self.width = 1

    # -- helpers ----------------------------------------------------------------------------
    def line(self, text):
        self.script.append(text)

    def check(self, clause, ok, message):
        self.exercised.add(clause)
        if ok:
            return
        if RUN.enabled is not None and clause not in RUN.enabled:
            raise _Disabled(clause)
        script = "\n".join(self.script + ["# expected: " + message.replace("\n", "\n# ")])
        RUN.last_failure = (clause, message, script)
        raise ClauseFailure(clause, message, script)

    def call(self, fn, *args):
        """(result, error kind or None, warnings) of an implementation call."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result, kind = fn(*args), None
            except Exception as exc:  # noqa: BLE001 - every error is an observable
                result, kind = None, _kind(self.adapter, exc)
        seen = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
        return result, kind, seen

    def new_calls(self, start):
        return recording.CALLS[start:]

    def _build(self, arch):
        net, kind, _ = self.call(self.adapter.build, arch)
        self.check("DI-01", kind is None, "building the net raises nothing (got %s)" % kind)
        return net

    # -- moves ------------------------------------------------------------------------------
    @initialize(design=st.deferred(lambda: strategies.architectures()),
                then_initialize=st.sampled_from([True, True, False]))
    @guarded
    def build_first(self, design, then_initialize):
        self.build(design)
        if then_initialize:  # most users initialize right away: reach the first pass often
            self.initialize("recording", False)

    def build(self, design):
        arch, width = design
        if self.sharing is not None and self.arch is None:
            pass
        self.arch, self.width = arch, width
        for text in A.source_lines(arch):
            self.line(text)
        note("built %r" % (arch,))
        self.net = self._build(arch)
        self.model = self.world.build(arch)
        self.passed_once = False
        self.moves_on_net = 0
        self.context = "DI-01"
        self.compare_structure("DI-01")

    @precondition(lambda self: self.moves_on_net >= 4)
    @rule(design=st.deferred(lambda: strategies.architectures()),
          then_initialize=st.sampled_from([True, True, False]))
    @guarded
    def rebuild(self, design, then_initialize):
        self.build_first(design, then_initialize)

    @rule(initializer=st.sampled_from(["recording", "recording", "default"]),
          force_reinit=st.booleans())
    @guarded
    def initialize(self, initializer, force_reinit):
        args = ["init=Recording()"] if initializer == "recording" else []
        if force_reinit:
            args.append("force_reinit=True")
        self.line("net.initialize(%s)" % ", ".join(args))
        before = {n: (p.data is not None) for n, p in self.model.params.items()}
        start = len(recording.CALLS)
        expected = self.model.initialize(initializer, force_reinit, self.device)
        _, kind, seen = self.call(self.adapter.initialize, self.net, initializer,
                                  force_reinit, self.device)
        calls = self.new_calls(start)
        again = any(before.values())
        clause = "DI-12" if force_reinit else ("DI-11" if again else "DI-06")
        self.context = clause
        self.check(clause, kind is None, "initialize() raises nothing (got %s)" % kind)
        unknown = [c for c in calls if 0 in c[1]]
        self.check("DI-07", not unknown, "no initializer call on an unknown shape; got %s" % unknown)
        if any(self.model.params[n].shape[1:2] != (0,) and n.endswith("weight")
               for n in self.model.params) and not again:
            self.check("DI-14", calls == expected.calls,
                       "initialize() calls %s, got %s" % (expected.calls, calls))
        self.check(clause, calls == expected.calls,
                   "initialize() calls %s, got %s" % (expected.calls, calls))
        self.check("DI-11" if not force_reinit else clause, seen == expected.warnings,
                   "initialize() warns %s, got %s" % (expected.warnings, seen))

    @rule(data=st.data())
    @guarded
    def forward(self, data):
        if isinstance(self.width, A.Input):
            shape = data.draw(strategies.stem_inputs(self.design_input()[1:], self.width.axis),
                              label="input shape")
        else:
            first = self.first_dense()
            flatten = first.flatten if first else True
            features = self.expected_features()
            shape = data.draw(strategies.input_shapes(features, flatten), label="input shape")
        self.line("y = net(%s)" % self.input_source(shape))
        pending = any(p.deferred for p in self.model.params.values())
        # data given by set_data() before the first pass replaces the initializer: that
        # pass is where DI-19 shows
        given = any(p.deferred and p.deferred[1] is not None for p in self.model.params.values())
        had_pass = self.passed_once
        start = len(recording.CALLS)
        expected = self.model.forward(shape)
        out, kind, _ = self.call(self.adapter.forward, self.net, shape, self.device,
                                 self.indices())
        calls = self.new_calls(start)
        if expected.error == "not_initialized":
            clause = "DI-18"
        elif expected.error == "shape_mismatch":
            clause = "DI-16" if had_pass else "DI-15"
        elif pending:
            clause = "DI-19" if given else "DI-09"
        else:
            clause = "DI-10"
        self.context = clause
        self.check(clause, kind == expected.error,
                   "net(x) with x.shape=%s raises %s; got %s" % (shape, expected.error, kind))
        if expected.error:
            clause = "DI-28"  # what a failing pass leaves behind
            self.context = clause
        self.check(clause, calls == expected.calls,
                   "net(x) calls the initializer %s; got %s" % (expected.calls, calls))
        if expected.error is None:
            self.passed_once = True
            self.line("print(y.shape)  # %s" % (expected.output_shape,))
            out_shape, out_device = out
            self.check("DI-27", out_shape == expected.output_shape,
                       "output shape %s; got %s" % (expected.output_shape, out_shape))
            self.check("DI-26", out_device == self.device,
                       "the output lives on %s; got %s" % (self.device, out_device))
            if pending:
                self.compare_structure("DI-08")

    # the first pass is where most clauses live: make it twice as likely as other moves
    forward_again = forward

    @rule(data=st.data(), what=st.sampled_from(["data", "data", "grad", "list_ctx"]))
    @guarded
    def read(self, data, what):
        name = data.draw(st.sampled_from(self.model.collect_params()), label="param")
        self.line("net.collect_params()[%r].%s()" % (name, what))
        expected = self.model.grad(name) if what == "grad" else self.model.data(name)
        if what == "list_ctx" and expected == "deferred":
            expected = None
        fn = {"data": self.adapter.data, "grad": self.adapter.grad,
              "list_ctx": lambda net, name, device: self.adapter.list_ctx(net, name)}[what]
        result, kind, _ = self.call(fn, self.net, name, self.device)
        self.check("DI-17", kind == expected, "%s.%s() raises %s; got %s"
                   % (name, what, expected, kind))
        if what == "list_ctx" and expected is None:
            want = self.model.list_ctx(name)
            self.check("DI-26", result == want, "%s.list_ctx() is %s; got %s" % (name, want, result))

    @precondition(lambda self: "set_data" in self.moves)
    @rule(data=st.data(), fits=st.sampled_from([True, True, False]))
    @guarded
    def set_data(self, data, fits):
        name = data.draw(st.sampled_from(self.model.collect_params()), label="param")
        known = self.model.params[name].shape
        if fits:
            # mostly the shape the first pass will infer, so that the pass can use the data
            inferred = self.inferred_shape(name)
            if inferred is not None and 0 in known and data.draw(st.integers(0, 3), label="infer") < 3:
                shape = inferred
            else:
                shape = tuple(d if d else data.draw(st.integers(1, 6), label="dim") for d in known)
        else:
            shape = tuple(d + 1 for d in known)
        value = 100.0 + len(self.script)
        self.line("net.collect_params()[%r].set_data(nd.ones(%r) * %r)" % (name, shape, value))
        expected = self.model.set_data(name, shape, value)
        _, kind, _ = self.call(self.adapter.set_data, self.net, name, shape, value, self.device)
        clause = {"shape_mismatch": "DI-21", "not_initialized": "DI-20"}.get(expected.error, "DI-19")
        self.context = clause
        self.check(clause, kind == expected.error,
                   "set_data(%s) on %s raises %s; got %s" % (shape, name, expected.error, kind))
        self.compare_structure(clause)

    # the set_data group's subject: twice as likely as the other moves there
    set_data_again = set_data

    @precondition(lambda self: "select" in self.moves)
    @rule(data=st.data())
    @guarded
    def select(self, data):
        names = self.model.collect_params()
        pattern = data.draw(st.sampled_from(
            [".*weight", ".*bias", names[0][:6] + ".*", ".*_dense1_.*", "dense0_.*"]), label="select")
        self.line("print(net.collect_params(%r))" % pattern)
        table, kind, _ = self.call(self.adapter.param_table, self.net, pattern)
        want = self.model.param_table(pattern)
        self.check("DI-05", kind is None and table == want,
                   "collect_params(%r) is %s; got %s" % (pattern, want, table if kind is None else kind))
        text, _, _ = self.call(self.adapter.params_repr, self.net, pattern)
        want_text = self.model.params_repr(pattern)
        self.check("DI-03", text == want_text, "repr:\n%s\ngot:\n%s" % (want_text, text))

    @precondition(lambda self: "hybridize" in self.moves)
    @rule()
    @guarded
    def hybridize(self):
        self.line("net.hybridize()")
        expected = self.model.hybridize()
        _, kind, seen = self.call(self.adapter.hybridize, self.net)
        self.context = "DI-23"
        self.check("DI-23", kind is None, "hybridize() raises nothing; got %s" % kind)
        self.check("DI-23", seen == expected.warnings,
                   "hybridize() warns %s; got %s" % (expected.warnings, seen))

    @precondition(lambda self: "save_load" in self.moves)
    @rule()
    @guarded
    def save_load(self):
        self.line("net.save_parameters('net.params')")
        expected = self.model.save()
        fresh_model = None
        if expected.error is None:
            fresh_model = self.world.build(self.arch)
        fresh, kind, _ = self.call(self.adapter.build, self.arch)
        self.check("DI-24", kind is None, "building a fresh net raises nothing; got %s" % kind)
        start = len(recording.CALLS)
        _, kind, _ = self.call(self.adapter.save_load, self.net, fresh, self.device)
        self.context = "DI-24"
        if expected.error is not None:
            # the fresh net still consumed names: mirror it in the model
            self.world.build(self.arch)
            self.check("DI-24", kind is not None,
                       "save_parameters() of a net with %s parameters raises" % expected.error)
            return
        for text in A.source_lines(self.arch):
            self.line(text)
        self.line("net.load_parameters('net.params')")
        self.check("DI-24", kind is None, "save/load raises nothing; got %s" % kind)
        load = fresh_model.load(expected.saved, self.device)
        self.check("DI-24", load.error is None and not self.new_calls(start),
                   "loading calls no initializer; got %s" % self.new_calls(start))
        self.net, self.model = fresh, fresh_model
        self.compare_structure("DI-24")

    @precondition(lambda self: "deepcopy" in self.moves)
    @rule(data=st.data())
    @guarded
    def deepcopy(self, data):
        if all(p.data is not None for p in self.model.params.values()):
            return  # no first pass left to do: not what DI-25 is about
        self.line("twin = copy.deepcopy(net)")
        expected, twin_model = self.model.deepcopy()
        twin, kind, _ = self.call(self.adapter.deepcopy, self.net)
        self.check("DI-25", kind == expected.error,
                   "deepcopy raises %s; got %s" % (expected.error, kind))
        if twin_model is None or kind is not None:
            return
        table, _, _ = self.call(self.adapter.param_table, twin)
        self.check("DI-25", table == twin_model.param_table(),
                   "the copy's table is %s; got %s" % (twin_model.param_table(), table))
        first = self.first_dense()
        if isinstance(self.width, A.Input):
            shape = self.design_input()
        else:
            shape = (2, self.expected_features()) if first and first.flatten else None
        if shape is None:
            return
        self.line("twin(%s)" % self.input_source(shape))
        start = len(recording.CALLS)
        expected = twin_model.forward(shape)
        _, kind, _ = self.call(self.adapter.forward, twin, shape, self.device, self.indices())
        self.check("DI-25", kind == expected.error and self.new_calls(start) == expected.calls,
                   "the copy's first pass raises %s and calls %s; got %s and %s"
                   % (expected.error, expected.calls, kind, self.new_calls(start)))
        self.context = "DI-25"

    # -- the invariant ------------------------------------------------------------------------
    @invariant()
    @guarded
    def matches_model(self):
        if self.net is None:
            return
        self.compare_structure(self.context)
        self.moves_on_net += 1
        RUN.steps += 1

    def compare_structure(self, context):
        model, adapter = self.model, self.adapter
        table, kind, _ = self.call(adapter.param_table, self.net)
        want = model.param_table()
        if kind is not None:
            self.check(context, False, "collect_params() raises nothing; got %s" % kind)
        names, want_names = [n for n, _ in table], [n for n, _ in want]
        self.check("DI-04", sorted(names) == sorted(want_names),
                   "parameter names %s; got %s" % (want_names, names))
        self.check("DI-22" if self.shares() else "DI-05", names == want_names,
                   "collect_params order %s; got %s" % (want_names, names))
        shape_clause = "DI-01" if context == "DI-01" else context
        self.check(shape_clause, table == want, "parameter shapes %s; got %s" % (want, table))
        text, _, _ = self.call(adapter.block_repr, self.net)
        self.check("DI-02", text == model.block_repr(),
                   "repr(net):\n%s\ngot:\n%s" % (model.block_repr(), text))
        text, _, _ = self.call(adapter.params_repr, self.net)
        self.check("DI-03", text == model.params_repr(),
                   "repr(net.collect_params()):\n%s\ngot:\n%s" % (model.params_repr(), text))
        for name in want_names:
            p = model.params[name]
            expected = model.data(name)
            value, kind, _ = self.call(adapter.data, self.net, name, self.device)
            clause = "DI-17" if context in ("DI-01",) else context
            self.check(clause, kind == expected, "%s.data() raises %s; got %s" % (name, expected, kind))
            if expected is None and p.data != UNIFORM:
                ok = value is not None and np.asarray(value).size == math.prod(p.shape) and \
                    bool(np.all(np.asarray(value) == p.data))
                got = None if value is None else np.unique(np.asarray(value))[:4]
                self.check("DI-13" if context in ("DI-06", "DI-01") else context, ok,
                           "%s holds %s everywhere; got %s" % (name, p.data, got))
            if expected is None:
                where, kind, _ = self.call(adapter.data_device, self.net, name, self.device)
                self.check("DI-26", where == p.ctx, "%s.data() lives on %s; got %s"
                           % (name, p.ctx, where if kind is None else kind))
            if expected is None or expected == "deferred":
                ctx, kind, _ = self.call(adapter.list_ctx, self.net, name)
                self.check("DI-26", ctx == [p.ctx], "%s.list_ctx() is %s; got %s"
                           % (name, [p.ctx], ctx if kind is None else kind))

    def inferred_shape(self, name):
        """The shape the first pass on the designed input would give `name` (None if it fails)."""
        probe = self.model.clone()  # shares the world: it must not run "recording"
        for p in probe.params.values():
            if p.data is None:
                p.deferred = ("zeros", p.deferred[1] if p.deferred else None)
        if probe.forward(self.design_input()).error is not None:
            return None
        inferred = probe.params[name].shape
        return None if 0 in inferred else tuple(inferred)

    def shares(self):
        return any(isinstance(n, A.Reuse) or (isinstance(n, A.Dense) and n.share is not None)
                   for n in A.walk(self.arch))

    def first_dense(self):
        units = self.model._units(self.model.root, False)
        for unit in units:
            for i in unit:
                if isinstance(self.model.layers[i].node, A.Dense):
                    return self.model.layers[i]
        return None

    def indices(self):
        """The bound of integer inputs (Embedding first), 0 for real-valued inputs."""
        return self.width.indices if isinstance(self.width, A.Input) else 0

    def input_source(self, shape):
        if self.indices():
            return "nd.random.randint(0, %d, shape=%r).astype('float32')" % (self.indices(), shape)
        return "nd.random.uniform(shape=%r)" % (shape,)

    def design_input(self, batch=2):
        """The input the net was designed for, its channel/feature size following what
        the first layer reading it already knows (as a user feeds a built net)."""
        if not isinstance(self.width, A.Input):
            return (batch, self.expected_features())
        dims = list(self.width.dims)
        for unit in self.model._units(self.model.root, False):
            for i in unit:
                layer = self.model.layers[i]
                node = layer.node
                if isinstance(node, (A.Conv, A.Recurrent)):
                    w = self.model.params[layer.params[
                        "weight" if isinstance(node, A.Conv) else "l0_i2h_weight"]].shape
                    known = w[0] if getattr(node, "transpose", False) else w[1]
                    if known and isinstance(node, A.Conv) == (self.width.axis == 1):
                        dims[self.width.axis - 1] = known
                    return (batch,) + tuple(dims)
                if layer.params or isinstance(node, A.Flatten):
                    return (batch,) + tuple(dims)
        return (batch,) + tuple(dims)

    def expected_features(self):
        first = self.first_dense()
        if first is None:
            return self.width
        known = self.model.params[first.weight].shape[1]
        return known or self.width

    def teardown(self):
        for clause in self.exercised:
            RUN.examples[clause] = RUN.examples.get(clause, 0) + 1


# Groups whose architectures lean towards what their clauses are about.
DESIGNS = {
    "lifecycle": strategies.architectures(min_layers=2),
    "set_data": strategies.architectures(min_layers=2),
    "sharing": strategies.architectures(sharing=True),
    "in_units": strategies.architectures(modes=("some", "all", "wrong")),
    "naming": strategies.architectures(prefixes=True, max_layers=6),
    "blocks": strategies.architectures(families=("conv", "conv", "rnn", "embedding")),
}


@guarded
def _build_first(self, design, then_initialize):
    self.build(design)
    if then_initialize:
        self.initialize("recording", False)


def make_machine(group):
    moves = frozenset(GROUP_RULES[group])
    sharing = True if group == "sharing" else None
    name = "Conformance_%s" % group
    attrs = {"group": group, "moves": moves, "sharing": sharing}
    designs = DESIGNS.get(group)
    if designs is not None:
        attrs["build_first"] = initialize(design=designs, then_initialize=st.sampled_from([True, True, False]))(
            _build_first)
        attrs["rebuild"] = precondition(lambda self: self.moves_on_net >= 4)(
            rule(design=designs, then_initialize=st.sampled_from([True, True, False]))(
                _build_first))
    return type(name, (ConformanceMachine,), attrs)
