"""Runs clause groups against an implementation and collects a verdict per clause.

`run` runs groups one after the other on each device; `run_group` runs one group's
machine (again without a clause that failed, until every wanted clause has a verdict).
A run of selected clauses (`--clauses`) runs only the groups that exercise them, each
with a share of its example budget (`selection_share`), and a display (progress.py)
sees every example finish.
"""

import fnmatch
import math
import os
import sys
import time

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance import clauses as C
from conformance import machine as M
from conformance import progress as P
from conformance.checks.common import ClauseFailure

# Groups whose steps are cheap (arrays, not nets) run this many times the profile's
# examples: the same order of time as a parameter group, a wider spread of inputs.
EXAMPLE_SCALE = {"ndarray": 4, "autograd": 4, "loss": 4, "trainer": 6, "file_format": 3,
                 "values": 2}
# Groups whose steps are dear (a loss's gradient is central differences over every
# input element; a trainer step runs an optimizer; a file_format step may build, run and
# save a net and load a fresh one): at most this many steps an example.
STEP_LIMIT = {"loss": 4, "trainer": 8, "file_format": 5}

# Seconds hypothesis may spend shrinking one failure (its internal default is 300).
SHRINK_SECONDS = {"ci": 20, "dev": 60, "thorough": 300}

PROFILES = {
    # fast, derandomized (same examples every run), no deadlines: used by CI
    "ci": dict(max_examples=30, stateful_step_count=12, derandomize=True),
    "dev": dict(max_examples=60, stateful_step_count=15),
    "thorough": dict(max_examples=250, stateful_step_count=25),
}

# What a whole run of each profile costs (keras_defer on TensorFlow, every group, one
# device, a 2-core machine; CPU time of whole runs on 2026-11-30: ci 88 s, dev 203 s;
# thorough is the sum of its groups' thorough runs and, for groups not run so, their ci
# time scaled by examples times steps): said by --help.
PROFILE_COST = {
    "ci": "about 1.5 min (derandomized: the same examples every run)",
    "dev": "about 4 min",
    "thorough": "about 20 min (random each run)",
}

# Seconds each group took in the ci profile (keras_defer on TensorFlow, a busy 2-core
# machine, 2026-11-30): a group's expected time before its first examples tell.
CI_SECONDS = {"lifecycle": 2.3, "naming": 1.0, "reinit": 1.6, "in_units": 1.8, "errors": 2.9,
              "set_data": 1.9, "sharing": 1.1, "hybridize": 1.6, "save_load": 1.9,
              "blocks": 2.8, "values": 6.0, "ndarray": 5.1, "autograd": 4.3, "loss": 8.3,
              "trainer": 22.4, "file_format": 10.7}

# A run of selected clauses gives a group at least this share of its example budget.
MIN_SHARE = 1 / 3


def hypothesis_settings(profile="ci", max_examples=None, steps=None, quiet=True, shrink=True):
    kwargs = dict(PROFILES[profile])
    _limit_shrinking(SHRINK_SECONDS[profile])
    if not shrink:
        kwargs["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    if quiet:
        kwargs["verbosity"] = Verbosity.quiet
    if max_examples is not None:
        kwargs["max_examples"] = max_examples
    if steps is not None:
        kwargs["stateful_step_count"] = steps
    return settings(deadline=None, database=None, print_blob=False, report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck), **kwargs)


def _limit_shrinking(seconds):
    """Bound the time spent shrinking a failure (hypothesis has no public setting)."""
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:
        return
    if hasattr(engine, "MAX_SHRINKING_SECONDS"):
        engine.MAX_SHRINKING_SECONDS = seconds


def register_profiles():
    for name in PROFILES:
        settings.register_profile("conformance-" + name, hypothesis_settings(name))


def read_expected_failures(path):
    """Clause ids or fnmatch patterns, one per line; '#' starts a comment."""
    if not path or not os.path.exists(path):
        return []
    out = []
    with open(path) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def default_expected_failures(impl):
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected_failures")
    return os.path.join(here, "%s.txt" % impl)


def is_expected(clause, patterns):
    return any(fnmatch.fnmatch(clause, p) for p in patterns)


class Run:
    """One run of a group's machine: what it tests, and what its examples saw.

    A clause listed as an expected failure is checked like any other, but its first
    failure is only recorded (`known_failures`, the example's script unshrunk) and ends
    that example's checking: a known bug costs neither shrinking nor a re-run."""

    def __init__(self, adapter, device="cpu(0)", enabled=None, expected=()):
        self.adapter = adapter
        self.device = device
        self.enabled = set(enabled) if enabled is not None else None
        self.expected = list(expected)
        self.known_failures = {}   # clause -> (message, script)
        self.examples = {}      # clause -> examples that exercised it
        self.steps = 0
        self.examples_run = 0   # examples this run of the machine has ended
        self.examples_before = 0   # ... and the group's earlier runs, for the display
        self.last_failure = None
        self.script = []        # the script of the example running now (for a crash)

    def expects_failure(self, clause):
        return is_expected(clause, self.expected)


class Verdicts:
    """Per clause and device: examples that exercised it and the failure if any."""

    def __init__(self):
        self.examples = {}   # (clause, device) -> int
        self.failures = {}   # (clause, device) -> (message, script)
        self.steps = {}      # (group, device) -> state-machine steps
        self.seconds = {}    # (group, device) -> float
        self.runs = {}       # (group, device) -> examples run (shrinking included)


def group_settings(group, hyp_settings, share=1.0):
    """The settings of `group`'s run: the profile's examples times the group's scale
    (EXAMPLE_SCALE) and `share` (at least MIN_SHARE of them, and one), its steps capped
    (STEP_LIMIT)."""
    examples = hyp_settings.max_examples * EXAMPLE_SCALE.get(group, 1)
    if share < 1:
        examples = max(1, math.ceil(examples * max(share, MIN_SHARE)))
    steps = min(hyp_settings.stateful_step_count, STEP_LIMIT.get(group, 10 ** 6))
    if (examples, steps) == (hyp_settings.max_examples, hyp_settings.stateful_step_count):
        return hyp_settings
    return settings(hyp_settings, max_examples=examples, stateful_step_count=steps)


def selection_share(group, wanted):
    """The share of `group`'s own clauses (every DI clause for 'blocks', which has none)
    among the `wanted` ones: a run of a few clauses runs a group that long."""
    own = {c.id for c in C.CLAUSES if c.group == group} or M.clauses_checked_by(group)
    if not own:
        return 1.0
    return len(own & set(wanted)) / len(own)


def expected_seconds(group, hyp_settings):
    """A guess of the seconds `group` runs under `hyp_settings` (its own: group_settings),
    from its ci time (CI_SECONDS): proportional to examples times steps."""
    ci = PROFILES["ci"]
    ci_examples = ci["max_examples"] * EXAMPLE_SCALE.get(group, 1)
    ci_steps = min(ci["stateful_step_count"], STEP_LIMIT.get(group, 10 ** 6))
    return (CI_SECONDS.get(group, 3.0) * hyp_settings.max_examples / ci_examples
            * hyp_settings.stateful_step_count / ci_steps)


def _crash_clause(group, wanted):
    """The clause a crash of `group`'s machine is charged to: the group's (C.default_clause)
    when it is wanted, else the first wanted clause (a selection reports only its own: a
    crash must not vanish from the report)."""
    clause = C.default_clause(group)
    if clause in wanted or not wanted:
        return clause
    return sorted(wanted)[0]


def _counting(machine, run, progress, steps_before):
    """`machine` that tells `progress` when each example ends (shrinking ones too)."""
    def teardown(self):
        try:
            machine.teardown(self)
        finally:
            run.examples_run += 1
            phase = None
            if run.last_failure is not None:
                phase = "shrinking a failure of %s" % run.last_failure[0]
            progress.example_done(run.examples_run + run.examples_before,
                                  steps_before + run.steps, phase)
    return type(machine.__name__, (machine,), {"teardown": teardown})


def _as_progress(progress):
    """A Progress from what callers give: None, a Progress, or a function of a line."""
    if progress is None:
        return P.Progress()
    if isinstance(progress, P.Progress):
        return progress
    return P.Lines(progress)


def run_group(adapter, group, device, wanted, hyp_settings, verdicts, progress=None,
              rerun=True, expected=(), share=1.0, index=1, count=1):
    """Run one group's machine until every wanted clause has a verdict (rerun=False:
    stop at the first failure); `expected`: clause patterns expected to fail; `share`:
    the share of the group's example budget to run (selection_share); `progress`: a
    progress.Progress (or a function of a line), told of every example; index/count:
    the group's place in the run, for the display."""
    started = time.time()
    progress = _as_progress(progress)
    hyp_settings = group_settings(group, hyp_settings, share)
    progress.group_started(device, group, index, count, hyp_settings.max_examples,
                           hyp_settings.stateful_step_count,
                           expected_seconds(group, hyp_settings))
    disabled = set()
    candidates = set(wanted)
    examples_before = 0
    for attempt in range(len(C.CLAUSES)):
        enabled = candidates - disabled
        if not enabled:
            break
        if attempt:
            progress.more_examples(hyp_settings.max_examples)
        run = Run(adapter, device, enabled, expected)
        run.examples_before = examples_before
        steps_before = verdicts.steps.get((group, device), 0)
        failure = None
        try:
            machine = _counting(M.make_machine(group, run), run, progress, steps_before)
            run_state_machine_as_test(machine, settings=hyp_settings)
        except ClauseFailure as exc:
            failure = (exc.clause, exc.message, exc.script)
        except Flaky as exc:
            last = run.last_failure
            if last:
                failure = (last[0], "flaky: %s" % exc, last[2])
            else:  # no check failed: the examples themselves did not replay alike
                failure = (_crash_clause(group, candidates),
                           "flaky, with no failed check to name: the group's examples did not "
                           "replay alike (state left behind by one example changed a later "
                           "one's draws), charged here to be reported. hypothesis: %s" % exc,
                           "")
        except Exception as exc:  # noqa: BLE001 - a crash is a failure of the group's clause
            last = run.last_failure
            script = last[2] if last else "\n".join(
                run.script + ["# crashed: %s: %s" % (type(exc).__name__, exc)])
            failure = (_crash_clause(group, candidates), "%s: %s" % (type(exc).__name__, exc),
                       script)
        examples_before += run.examples_run
        for clause, n in run.examples.items():
            key = (clause, device)
            verdicts.examples[key] = verdicts.examples.get(key, 0) + n
        for clause, known in run.known_failures.items():
            verdicts.failures.setdefault((clause, device), known)
        verdicts.steps[(group, device)] = steps_before + run.steps
        if failure is None:
            break
        clause = failure[0]
        verdicts.failures.setdefault((clause, device), failure[1:])
        if clause in disabled or not rerun:
            break
        disabled.add(clause)
        if enabled - disabled:
            progress.note("%s fails in group %s; re-running without it" % (clause, group))
    verdicts.seconds[(group, device)] = time.time() - started
    verdicts.runs[(group, device)] = examples_before
    progress.group_finished(verdicts.seconds[(group, device)],
                            verdicts.steps.get((group, device), 0), examples_before)


def run(adapter, wanted, devices, hyp_settings, groups=None, progress=None, expected=(),
        scale_to_selection=False):
    """Run `groups` (default: every group) on each device; scale_to_selection: each group
    runs its share of `wanted` (selection_share) of its example budget."""
    verdicts = Verdicts()
    groups = groups or list(M.GROUPS)
    for device in devices:
        for i, group in enumerate(groups):
            share = selection_share(group, wanted) if scale_to_selection else 1.0
            run_group(adapter, group, device, wanted, hyp_settings, verdicts, progress,
                      expected=expected, share=share, index=i + 1, count=len(groups))
    return verdicts


def expected_run_seconds(groups, hyp_settings, wanted=None, devices=1):
    """The guess of a run's seconds (expected_seconds of each group, scaled as `run`
    scales them when `wanted` is given)."""
    total = 0.0
    for group in groups:
        share = selection_share(group, wanted) if wanted is not None else 1.0
        total += expected_seconds(group, group_settings(group, hyp_settings, share))
    return total * devices


def stderr_progress(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
