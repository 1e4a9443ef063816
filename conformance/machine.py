"""The stateful test: the user's moves as rules, implementation vs model after each.

`make_machine(group, run)` gives a RuleBasedStateMachine for one clause group and one
run (runner.Run: the adapter, the device, the selected clauses, the tallies).  The
machine only draws moves; what a move does and which clause each comparison verifies
live in `conformance.checks`, one module per clause group, on the example's trial
(checks.common.Trial).
"""

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conformance import checks, strategies
from conformance.checks.common import Trial, guarded

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

# Groups whose architectures lean towards what their clauses are about.
DESIGNS = {
    "lifecycle": strategies.architectures(min_layers=2),
    "set_data": strategies.architectures(min_layers=2),
    "sharing": strategies.architectures(sharing=True),
    "in_units": strategies.architectures(modes=("some", "all", "wrong")),
    "naming": strategies.architectures(prefixes=True, max_layers=6),
    "blocks": strategies.architectures(families=("conv", "conv", "rnn", "embedding")),
}
ANY_DESIGN = strategies.architectures()
THEN_INITIALIZE = st.sampled_from([True, True, False])


class ConformanceMachine(RuleBasedStateMachine):
    run = None               # runner.Run, set by make_machine
    group = "lifecycle"
    moves = frozenset()

    def __init__(self):
        super().__init__()
        self.trial = Trial(self.run)

    # a group with designs of its own (DESIGNS) overrides these two (make_machine)
    @initialize(design=ANY_DESIGN, then_initialize=THEN_INITIALIZE)
    @guarded
    def build_first(self, design, then_initialize):
        checks.lifecycle.build(self.trial, design, then_initialize)

    @precondition(lambda self: self.trial.moves_on_net >= 4)
    @rule(design=ANY_DESIGN, then_initialize=THEN_INITIALIZE)
    @guarded
    def rebuild(self, design, then_initialize):
        checks.lifecycle.build(self.trial, design, then_initialize)

    @rule(initializer=st.sampled_from(["recording", "recording", "default"]),
          force_reinit=st.booleans())
    @guarded
    def initialize(self, initializer, force_reinit):
        checks.lifecycle.initialize(self.trial, initializer, force_reinit)

    @rule(data=st.data())
    @guarded
    def forward(self, data):
        checks.lifecycle.forward(self.trial, data)

    # the first pass is where most clauses live: make it twice as likely as other moves
    forward_again = forward

    @rule(data=st.data(), what=st.sampled_from(["data", "data", "grad", "list_ctx"]))
    @guarded
    def read(self, data, what):
        checks.errors.read(self.trial, data, what)

    @precondition(lambda self: "set_data" in self.moves)
    @rule(data=st.data(), fits=st.sampled_from([True, True, False]))
    @guarded
    def set_data(self, data, fits):
        checks.set_data.set_data(self.trial, data, fits)

    # the set_data group's subject: twice as likely as the other moves there
    set_data_again = set_data

    @precondition(lambda self: "select" in self.moves)
    @rule(data=st.data())
    @guarded
    def select(self, data):
        checks.naming.select(self.trial, data)

    @precondition(lambda self: "hybridize" in self.moves)
    @rule()
    @guarded
    def hybridize(self):
        checks.hybridize.hybridize(self.trial)

    @precondition(lambda self: "save_load" in self.moves)
    @rule()
    @guarded
    def save_load(self):
        checks.save_load.save_load(self.trial)

    @precondition(lambda self: "deepcopy" in self.moves)
    @rule(data=st.data())  # unused, but hypothesis orders rules by their arguments:
    @guarded                # dropping it would change every example the profiles draw
    def deepcopy(self, data):
        checks.save_load.deepcopy(self.trial)

    @invariant()
    @guarded
    def matches_model(self):
        checks.lifecycle.after_move(self.trial)

    def teardown(self):
        self.trial.finish()


def make_machine(group, run):
    """The machine class of `group` for `run`; it builds nets drawn from the group's
    designs when it has its own (a first one, and later new ones)."""
    attrs = {"run": run, "group": group, "moves": frozenset(GROUP_RULES[group])}
    designs = DESIGNS.get(group)
    if designs is not None:
        @guarded
        def build(self, design, then_initialize):
            checks.lifecycle.build(self.trial, design, then_initialize)

        attrs["build_first"] = initialize(design=designs, then_initialize=THEN_INITIALIZE)(build)
        attrs["rebuild"] = precondition(lambda self: self.trial.moves_on_net >= 4)(
            rule(design=designs, then_initialize=THEN_INITIALIZE)(build))
    return type("Conformance_%s" % group, (ConformanceMachine,), attrs)
