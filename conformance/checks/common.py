"""What every check module shares: the example under test and its check helpers.

An example (`Example`; `Trial` for the parameter groups, with the net under test and
its model) holds the script of the moves so far and the clauses it exercised.  `check`
names a clause: a failure raises ClauseFailure with the clause and the script (what the
runner reports); a failure of a clause outside the run's selection, or of one listed as
an expected failure (recorded, unshrunk, on the run), raises Disabled instead, which
ends the checking of the example (its remaining moves are skipped), so a selection of
clauses is judged only on its own clauses and a known failure does not hide the others.
"""

import functools
import warnings

from conformance import arch as A
from conformance import recording
from conformance.model import World


class ClauseFailure(AssertionError):
    def __init__(self, clause, message, script):
        super().__init__("%s: %s" % (clause, message))
        self.clause = clause
        self.message = message
        self.script = script


class Disabled(Exception):
    """A clause outside the selection, or one expected to fail, failed: stop checking
    this example."""


def guarded(move):
    """A state-machine move that does nothing once its trial is tainted by Disabled."""
    @functools.wraps(move)
    def wrapper(self, *args, **kwargs):
        if self.trial.tainted:
            return None
        try:
            return move(self, *args, **kwargs)
        except Disabled:
            self.trial.tainted = True
            return None
    return wrapper


def error_kind(adapter, exc):
    kind = adapter.classify(exc)
    return kind if kind else "unexpected %s: %s" % (type(exc).__name__, str(exc)[:200])


class Example:
    """One example of a group's machine: the script of its moves so far, the clauses it
    exercised, and `check`, which names the clause each comparison verifies."""

    def __init__(self, run, context):
        self.run = run
        self.adapter = run.adapter
        self.adapter.ensure_loaded()
        self.device = run.device
        self.exercised = set()
        self.context = context   # the clause a mismatch after the last move belongs to
        self.tainted = False
        self.script = []

    # -- checking ---------------------------------------------------------------------------
    def line(self, text):
        self.script.append(text)
        self.run.script = self.script
        self.line_unrun = True   # the next call is this line's (see call)

    def check(self, clause, ok, message):
        self.exercised.add(clause)
        if ok:
            return
        if self.run.enabled is not None and clause not in self.run.enabled:
            raise Disabled(clause)
        script = "\n".join(self.script + ["# expected: " + message.replace("\n", "\n# ")])
        if self.run.expects_failure(clause):   # a known bug: note it, check on without it
            self.run.known_failures.setdefault(clause, (message, script))
            raise Disabled(clause)
        self.run.last_failure = (clause, message, script)
        raise ClauseFailure(clause, message, script)

    def call(self, fn, *args):
        """(result, error kind or None, warnings) of an implementation call."""
        own_line, self.line_unrun = getattr(self, "line_unrun", False), False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result, kind = fn(*args), None
            except Exception as exc:  # noqa: BLE001 - every error is an observable
                result, kind = None, error_kind(self.adapter, exc)
                # the move's line raised: the reproduction script (conformance/scripts.py)
                # wraps it so that it runs on to the failing move
                if own_line and self.script and "# raises" not in self.script[-1]:
                    self.script[-1] += "  # raises"
        seen = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
        return result, kind, seen

    def finish(self):
        for clause in self.exercised:
            self.run.examples[clause] = self.run.examples.get(clause, 0) + 1


class Trial(Example):
    """One example of the parameter groups: a fresh world (name counters, recording
    log) and the net built last."""

    def __init__(self, run):
        super().__init__(run, "DI-01")
        self.world = World(self.adapter.divergences)
        self.adapter.reset_names()
        recording.reset()
        # Every example starts from one random state, so that what it reads (inputs from
        # nd.random.uniform, the default initializer's draws) follows from its moves alone:
        # otherwise a check on values (VA-*, DI-30) can pass in one example and fail in the
        # next that replays the same moves, and hypothesis, seeing the example end (a
        # failure, or a clause outside the selection ending its checks) where it went on
        # before, stops the run with "Inconsistent data generation" (flaky).
        self.adapter.seed(0)
        self.script = self.adapter.script_header() + [self.adapter.seed_line(0), ""]
        self.passed_once = False
        self.net = self.model = None
        self.moves_on_net = 0
        self.arch = None
        self.width = 1           # the designed input: a feature size, or an arch.Input

    def new_calls(self, start):
        return recording.CALLS[start:]

    # -- what the net reads -----------------------------------------------------------------
    def shares(self):
        return A.shares(self.arch)

    def first_dense(self):
        for layer in self.model.layers_in_forward_order():
            if isinstance(layer.node, A.Dense):
                return layer
        return None

    def expected_features(self):
        first = self.first_dense()
        if first is None:
            return self.width
        known = self.model.params[first.params["weight"]].shape[1]
        return known or self.width

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
        for layer in self.model.layers_in_forward_order():
            fixed = layer.node.fixed_input_size(
                lambda attr: self.model.params[layer.params[attr]].shape)
            if fixed is not None:
                axis, known = fixed
                if known and axis == self.width.axis:
                    dims[axis - 1] = known
                break
            if not layer.node.keeps_input_axes:
                break
        return (batch,) + tuple(dims)

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
