"""Runs clause groups against an implementation and collects a verdict per clause."""

import fnmatch
import os
import sys
import time

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance import clauses as C
from conformance import machine as M
from conformance.checks.common import ClauseFailure

# Groups whose steps are cheap (arrays, not nets) run this many times the profile's
# examples: the same order of time as a parameter group, a wider spread of inputs.
EXAMPLE_SCALE = {"ndarray": 4, "autograd": 4, "loss": 4, "trainer": 6, "file_format": 3}
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


def run_group(adapter, group, device, wanted, hyp_settings, verdicts, progress=None,
              rerun=True, expected=()):
    """Run one group's machine until every wanted clause has a verdict (rerun=False:
    stop at the first failure); `expected`: clause patterns expected to fail."""
    started = time.time()
    scale = EXAMPLE_SCALE.get(group, 1)
    if scale != 1:
        hyp_settings = settings(hyp_settings, max_examples=hyp_settings.max_examples * scale)
    if group in STEP_LIMIT and hyp_settings.stateful_step_count > STEP_LIMIT[group]:
        hyp_settings = settings(hyp_settings, stateful_step_count=STEP_LIMIT[group])
    disabled = set()
    candidates = set(wanted)
    for _ in range(len(C.CLAUSES)):
        enabled = candidates - disabled
        if not enabled:
            break
        run = Run(adapter, device, enabled, expected)
        failure = None
        try:
            run_state_machine_as_test(M.make_machine(group, run), settings=hyp_settings)
        except ClauseFailure as exc:
            failure = (exc.clause, exc.message, exc.script)
        except Flaky as exc:
            last = run.last_failure
            failure = (last[0] if last else C.default_clause(group), "flaky: %s" % exc,
                       last[2] if last else "")
        except Exception as exc:  # noqa: BLE001 - a crash is a failure of the group's clause
            last = run.last_failure
            script = last[2] if last else "\n".join(
                run.script + ["# crashed: %s: %s" % (type(exc).__name__, exc)])
            failure = (C.default_clause(group), "%s: %s" % (type(exc).__name__, exc), script)
        for clause, n in run.examples.items():
            key = (clause, device)
            verdicts.examples[key] = verdicts.examples.get(key, 0) + n
        for clause, known in run.known_failures.items():
            verdicts.failures.setdefault((clause, device), known)
        verdicts.steps[(group, device)] = verdicts.steps.get((group, device), 0) + run.steps
        if failure is None:
            break
        clause = failure[0]
        verdicts.failures.setdefault((clause, device), failure[1:])
        if clause in disabled or not rerun:
            break
        disabled.add(clause)
        if progress:
            progress("    %s fails in group %s; re-running without it" % (clause, group))
    verdicts.seconds[(group, device)] = time.time() - started


def run(adapter, wanted, devices, hyp_settings, groups=None, progress=None, expected=()):
    verdicts = Verdicts()
    groups = groups or list(M.GROUPS)
    for device in devices:
        for i, group in enumerate(groups):
            if progress:
                progress("[%s] group %d/%d %-10s ..." % (device, i + 1, len(groups), group))
            run_group(adapter, group, device, wanted, hyp_settings, verdicts, progress,
                      expected=expected)
            if progress:
                progress("[%s]   %-10s %5.1f s, %d steps" % (
                    device, group, verdicts.seconds[(group, device)],
                    verdicts.steps.get((group, device), 0)))
    return verdicts


def stderr_progress(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
