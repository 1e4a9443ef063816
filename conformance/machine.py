"""The stateful test: the user's moves as rules, implementation vs model after each.

`make_machine(group, run)` gives a RuleBasedStateMachine for one clause group and one
run (runner.Run: the adapter, the device, the selected clauses, the tallies).  The
machine only draws moves; what a move does and which clause each comparison verifies
live in `conformance.checks`, one module per clause group, on the example's trial
(checks.common.Trial; Arrays, Graphs, Losses, Training and FileFormats for the ndarray,
autograd, loss, trainer and file_format groups).

The parameter groups (GROUP_RULES) share one machine of net moves; the ndarray,
autograd, loss, trainer and file_format groups (ARRAY_MACHINES) have their own.  GROUPS
lists them all, in run order.
"""

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conformance import array_strategies, checks, strategies
from conformance import clauses as C
from conformance.checks.autograd import Graphs
from conformance.checks.common import Trial, guarded
from conformance.checks.loss import Losses
from conformance.checks.trainer import Training
from conformance.checks.ndarray import Arrays
from conformance.checks.file_format import FileFormats

# Which moves each group's machine makes (build, initialize, forward, read are always on).
GROUP_RULES = {
    "lifecycle": set(),
    "naming": {"select"},
    "reinit": {"seeded", "redraw"},             # seeded builds replay, re-draws (DI-30..32)
    "in_units": set(),
    "errors": {"save"},                         # save_parameters of deferred nets (DI-35)
    "set_data": {"set_data", "deepcopy", "copy_change"},  # pending values copied; copies set
    "sharing": {"select"},
    "hybridize": {"hybridize", "deepcopy"},     # copies of hybridized deferred nets
    "save_load": {"save_load", "deepcopy", "save", "load_initialized", "copy_change"},
    # no clauses of its own: every clause, on nets that always have a conv/pool/norm
    # stem or recurrent/embedding layers (elsewhere they are half of the draws)
    "blocks": {"hybridize", "set_data", "deepcopy", "copy_change"},
    # VA-01..06 (checked after every pass of every group): random weights, training passes
    "values": {"randomize", "train", "hybridize", "set_data"},
}

# Groups whose architectures lean towards what their clauses are about.
DESIGNS = {
    "lifecycle": strategies.architectures(min_layers=2),
    "set_data": strategies.architectures(min_layers=2),
    "sharing": strategies.architectures(sharing=True),
    "in_units": strategies.architectures(modes=("some", "all", "wrong")),
    "naming": strategies.architectures(prefixes=True, max_layers=6),
    "blocks": strategies.architectures(families=("conv", "conv", "rnn", "embedding")),
    # every net holds BatchNorm's running statistics (grad_req='null', DI-33)
    "errors": strategies.with_batchnorm(strategies.architectures()),
    "values": strategies.with_trailing_dropout(strategies.architectures(
        families=("rnn", "conv", "dense", "embedding", "rnn", "conv", "rnn"),
        modes=("none", "some", "all"), norms=True, layouts=True)),
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

    @precondition(lambda self: "randomize" in self.moves and self.trial.passed_once)
    @rule(data=st.data())
    @guarded
    def randomize(self, data):
        checks.values.randomize(self.trial, data)

    # the recording initializer's constant fills hide swapped gates and flipped kernels:
    # the values group's nets are randomized (and run) three times as often as other moves
    randomize_again = randomize
    randomize_once_more = randomize

    @precondition(lambda self: "train" in self.moves and self.trial.passed_once)
    @rule(data=st.data())
    @guarded
    def train(self, data):
        checks.values.train(self.trial, data)

    train_again = train   # the values group's subject with forward: as likely

    @precondition(lambda self: "save" in self.moves)
    @rule()
    @guarded
    def save(self):
        checks.save_load.save_alone(self.trial)

    @precondition(lambda self: "load_initialized" in self.moves)
    @rule()
    @guarded
    def load_initialized(self):
        checks.save_load.load_into_initialized(self.trial)

    # it needs a net whose every parameter has data (most nets lack it): twice as likely
    load_initialized_again = load_initialized

    @precondition(lambda self: "copy_change" in self.moves)
    @rule(data=st.data())
    @guarded
    def copy_and_change(self, data):
        checks.save_load.copy_and_change(self.trial, data)

    # force_reinit with the default initializer: re-draws are the reinit group's subject
    @precondition(lambda self: "redraw" in self.moves)
    @rule()
    @guarded
    def redraw(self):
        checks.lifecycle.initialize(self.trial, "default", True)

    @precondition(lambda self: "seeded" in self.moves)
    @rule(data=st.data())
    @guarded
    def seeded(self, data):
        checks.randomness.seeded(self.trial, data)

    @invariant()
    @guarded
    def matches_model(self):
        checks.lifecycle.after_move(self.trial)

    def teardown(self):
        self.trial.finish()


class NDArrayMachine(RuleBasedStateMachine):
    """Arrays made, indexed, written, reshaped, reduced, compared, combined, cast."""
    run = None

    def __init__(self):
        super().__init__()
        self.trial = Arrays(self.run)

    @initialize(data=st.data())
    @guarded
    def first_array(self, data):
        checks.ndarray.create(self.trial, data)

    @rule(data=st.data())
    @guarded
    def create(self, data):
        checks.ndarray.create(self.trial, data)

    @rule(data=st.data())
    @guarded
    def index(self, data):
        checks.ndarray.index(self.trial, data)

    index_again = index   # views are what later writes test: make them often

    @rule(data=st.data())
    @guarded
    def write(self, data):
        checks.ndarray.write(self.trial, data)

    @rule(data=st.data())
    @guarded
    def augment(self, data):
        checks.ndarray.augment(self.trial, data)

    @rule(data=st.data())
    @guarded
    def reshape(self, data):
        checks.ndarray.reshape(self.trial, data)

    @rule(data=st.data())
    @guarded
    def reduce(self, data):
        checks.ndarray.reduce(self.trial, data)

    @rule(data=st.data())
    @guarded
    def compare(self, data):
        checks.ndarray.compare_move(self.trial, data)

    @rule(data=st.data())
    @guarded
    def arith(self, data):
        checks.ndarray.arith(self.trial, data)

    @rule(data=st.data())
    @guarded
    def astype_or_copy(self, data):
        checks.ndarray.astype_or_copy(self.trial, data)

    @rule(data=st.data())
    @guarded
    def numpy_operand(self, data):
        checks.ndarray.numpy_operand(self.trial, data)

    @invariant()
    @guarded
    def matches_model(self):
        if self.trial.names:
            checks.ndarray.after_move(self.trial)

    def teardown(self):
        self.trial.finish()


class AutogradMachine(RuleBasedStateMachine):
    """Variables attached, programs recorded and differentiated, scopes nested."""
    run = None

    def __init__(self):
        super().__init__()
        self.trial = None

    @initialize(sides=array_strategies.dims(), data=st.data())
    def first_variable(self, sides, data):
        self.trial = Graphs(self.run, sides)
        self._first(data)

    @guarded
    def _first(self, data):
        checks.autograd.attach(self.trial, data)

    @rule(data=st.data())
    @guarded
    def attach(self, data):
        checks.autograd.attach(self.trial, data)

    @rule(data=st.data())
    @guarded
    def backward(self, data):
        checks.autograd.backward(self.trial, data)

    backward_again = backward   # the subject of most clauses: twice as likely

    @rule(data=st.data())
    @guarded
    def gradients(self, data):
        checks.autograd.gradients(self.trial, data)

    @rule(data=st.data())
    @guarded
    def not_in_graph(self, data):
        checks.autograd.not_in_graph(self.trial, data)

    @rule(data=st.data())
    @guarded
    def switches(self, data):
        checks.autograd.switches(self.trial, data)

    @invariant()
    def matches_model(self):
        if self.trial is not None:
            self._after()

    @guarded
    def _after(self):
        checks.autograd.after_move(self.trial)

    def teardown(self):
        if self.trial is not None:
            self.trial.finish()


class LossMachine(RuleBasedStateMachine):
    """Losses built with drawn options, called on drawn inputs, differentiated."""
    run = None

    def __init__(self):
        super().__init__()
        self.trial = Losses(self.run)

    @rule(data=st.data())
    @guarded
    def evaluate(self, data):
        checks.loss.evaluate(self.trial, data)

    @invariant()
    @guarded
    def counted(self):
        checks.loss.after_move(self.trial)

    def teardown(self):
        self.trial.finish()


class TrainerMachine(RuleBasedStateMachine):
    """Parameters, a Trainer with a drawn optimizer; gradients, steps, learning rates,
    multipliers, saved and loaded states; every weight compared after every move."""
    run = None

    def __init__(self):
        super().__init__()
        self.trial = Training(self.run)

    @initialize(data=st.data())
    @guarded
    def build(self, data):
        checks.trainer.build(self.trial, data)

    @rule(data=st.data())
    @guarded
    def rebuild(self, data):
        """New parameters and another trainer (another optimizer) in the same example."""
        checks.trainer.build(self.trial, data)

    @rule(data=st.data())
    @guarded
    def train(self, data):
        checks.trainer.train(self.trial, data)

    # the training loop's iteration is the subject of most clauses: three times as likely
    train_again = train
    train_once_more = train

    @rule(data=st.data())
    @guarded
    def partial(self, data):
        checks.trainer.partial(self.trial, data)

    @rule(data=st.data())
    @guarded
    def gradients(self, data):
        checks.trainer.gradients(self.trial, data)

    @rule(data=st.data())
    @guarded
    def step(self, data):
        checks.trainer.step(self.trial, data)

    @rule(data=st.data())
    @guarded
    def set_learning_rate(self, data):
        checks.trainer.set_learning_rate(self.trial, data)

    @rule(data=st.data())
    @guarded
    def multipliers(self, data):
        checks.trainer.multipliers(self.trial, data)

    @rule(data=st.data())
    @guarded
    def states(self, data):
        checks.trainer.states(self.trial, data)

    @invariant()
    @guarded
    def matches_model(self):
        checks.trainer.after_move(self.trial)

    def teardown(self):
        self.trial.finish()


class FileFormatMachine(RuleBasedStateMachine):
    """MXNet's NDArray list file: arrays saved and loaded, files as MXNet writes them,
    damaged files, nets' parameters saved under each naming style and loaded into fresh
    nets, files that do not fit, a net exported and imported (checks/file_format.py)."""
    run = None

    def __init__(self):
        super().__init__()
        self.trial = FileFormats(self.run)

    @rule(data=st.data())
    @guarded
    def save_and_load(self, data):
        checks.file_format.save_and_load(self.trial, data)

    save_and_load_again = save_and_load   # every dtype, every form: as often as nets

    @rule(data=st.data())
    @guarded
    def reference_file(self, data):
        checks.file_format.reference_file(self.trial, data)

    @rule(data=st.data())
    @guarded
    def damaged_file(self, data):
        checks.file_format.damaged_file(self.trial, data)

    @rule(data=st.data())
    @guarded
    def parameters(self, data):
        checks.file_format.parameters(self.trial, data)

    parameters_again = parameters   # the naming styles are the group's subject

    @rule(data=st.data())
    @guarded
    def mismatch(self, data):
        checks.file_format.mismatch(self.trial, data)

    # an export compiles the net and then its imported copy: once an example
    @precondition(lambda self: not self.trial.exported)
    @rule(data=st.data())
    @guarded
    def export(self, data):
        checks.file_format.export(self.trial, data)

    @invariant()
    @guarded
    def counted(self):
        self.trial.run.steps += 1

    def teardown(self):
        self.trial.finish()


# Groups with machines of their own: arrays, losses, optimizers, not nets.
ARRAY_MACHINES = {"ndarray": NDArrayMachine, "autograd": AutogradMachine,
                  "loss": LossMachine, "trainer": TrainerMachine,
                  "file_format": FileFormatMachine}
GROUPS = list(GROUP_RULES) + list(ARRAY_MACHINES)


def clauses_checked_by(group):
    """The clause ids `group`'s machine checks: every DI and VA clause for a parameter
    group (each move's checks run in every one), its own clauses for an array group."""
    if group in ARRAY_MACHINES:
        return {c.id for c in C.CLAUSES if c.group == group}
    return {c.id for c in C.CLAUSES if c.id.startswith(("DI-", "VA-"))}


def groups_for(clause_ids):
    """The groups to run for a selection of clauses: a parameter group for its own DI
    clauses ('blocks', which has none, for any DI clause), an array group for its own."""
    wanted = {C.BY_ID[c].group for c in clause_ids}
    any_di = any(c.startswith("DI-") for c in clause_ids)
    return [g for g in GROUPS if g in wanted or (g == "blocks" and any_di)]


def make_machine(group, run):
    """The machine class of `group` for `run`; a parameter group's builds nets drawn from
    the group's designs when it has its own (a first one, and later new ones)."""
    if group in ARRAY_MACHINES:
        return type("Conformance_%s" % group, (ARRAY_MACHINES[group],), {"run": run})
    attrs = {"run": run, "group": group, "moves": frozenset(GROUP_RULES[group])}
    designs = DESIGNS.get(group)
    if designs is not None:
        @guarded
        def build(self, design, then_initialize):
            checks.lifecycle.build(self.trial, design, then_initialize)

        attrs["build_first"] = initialize(design=designs, then_initialize=THEN_INITIALIZE)(build)
        attrs["rebuild"] = precondition(lambda self: self.trial.moves_on_net >= 4)(
            rule(design=designs, then_initialize=THEN_INITIALIZE)(build))
    if "randomize" in GROUP_RULES[group]:
        # the values group: every net is initialized, run, given random weights and run
        # again as soon as it is built (checks.values.warm_up), so that each example's
        # nets are compared with weights that tell gates and taps apart
        @guarded
        def build_and_run(self, design, data):
            checks.lifecycle.build(self.trial, design, True)
            checks.values.warm_up(self.trial, data)

        designs = ANY_DESIGN if designs is None else designs
        attrs["build_first"] = initialize(design=designs, data=st.data())(build_and_run)
        attrs["rebuild"] = precondition(lambda self: self.trial.moves_on_net >= 4)(
            rule(design=designs, data=st.data())(build_and_run))
    return type("Conformance_%s" % group, (ConformanceMachine,), attrs)
