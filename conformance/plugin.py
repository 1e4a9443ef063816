"""pytest plugin of the conformance kit (entry point `pytest11: conformance = conformance.plugin`).

Options: --impl (or env CONFORMANCE_IMPL; default keras_defer), --conformance-device
(repeatable; default every device the backend reports), --conformance-clauses,
--conformance-expected-failures.  Hypothesis profiles `ci` (fast, derandomized, no
deadline), `dev` and `thorough` are registered; pick one with `--hypothesis-profile` or
env CONFORMANCE_PROFILE (default ci).

The suite (conformance/test_conformance.py) has one item per clause and device, so
`-k DI-09`, `--lf` and JUnit reports work clause by clause.  The items of a session share
the group runs (`GroupRuns`): a group's machine runs once per device, for every clause
the session selected, when the first item needing it runs; a clause's verdict is the
same as `python -m conformance --clauses <the session's clauses>` (the full budgets).
"""

import os

import pytest

from conformance import clauses as C
from conformance import machine as M
from conformance import runner

runner.register_profiles()


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "Gluon parameter-semantics conformance kit")
    group.addoption("--impl", default=None,
                    help="implementation under test: keras_defer, mxnet or module:Adapter "
                         "(default: env CONFORMANCE_IMPL or keras_defer)")
    group.addoption("--conformance-device", action="append", default=None,
                    help="device such as cpu(0) (repeatable; default: every device)")
    group.addoption("--conformance-clauses", default=None,
                    help="comma-separated clause ids or prefixes")
    group.addoption("--conformance-max-examples", type=int, default=None,
                    help="examples per clause group instead of the profile's (a quick look)")
    group.addoption("--conformance-expected-failures", default=None,
                    help="file of clause ids/patterns expected to fail "
                         "(default: conformance/expected_failures/<impl>.txt)")


def implementation(config):
    return config.getoption("--impl", None) or os.environ.get("CONFORMANCE_IMPL") or "keras_defer"


def profile(config):
    name = config.getoption("hypothesis_profile", None)
    return name if name in runner.PROFILES else os.environ.get("CONFORMANCE_PROFILE", "ci")


def pytest_report_header(config):
    return "conformance: implementation %s, profile %s" % (implementation(config), profile(config))


def selected_clauses(config):
    """The clause ids --conformance-clauses names (all by default); a usage error naming
    the known ones for an unknown id."""
    try:
        return C.select(config.getoption("--conformance-clauses", None))
    except ValueError as exc:
        raise pytest.UsageError("--conformance-clauses: %s (known: %s)"
                                % (exc, " ".join(c.id for c in C.CLAUSES))) from None


class GroupRuns:
    """The group runs of a pytest session, shared by its clause items.

    `selection[device]`: the clauses of the items collected for that device (after -k,
    --lf, deselection); each group of M.groups_for(selection) runs at most once per
    device, with every selected clause enabled, into one runner.Verdicts per device."""

    def __init__(self):
        self.selection = {}   # device -> set of clause ids
        self.verdicts = {}    # device -> runner.Verdicts
        self.ran = set()      # (group, device)

    def groups_needed(self, clause, device):
        """The groups whose runs decide `clause` on `device`: those of the session's
        selection that check it (as the command line's run of the same selection)."""
        selection = self.selection.get(device) or {clause}
        return [g for g in M.groups_for(sorted(selection))
                if g == C.BY_ID[clause].group or clause in M.clauses_checked_by(g)]

    def verdict(self, adapter, clause, device, hyp_settings, expected):
        """(failure or None, examples) of `clause` on `device`, running the groups it
        needs that have not run yet."""
        verdicts = self.verdicts.setdefault(device, runner.Verdicts())
        wanted = sorted(self.selection.get(device) or {clause})
        for group in self.groups_needed(clause, device):
            if (group, device) in self.ran:
                continue
            self.ran.add((group, device))
            runner.run_group(adapter, group, device, wanted, hyp_settings, verdicts,
                             expected=expected)
        return (verdicts.failures.get((clause, device)),
                verdicts.examples.get((clause, device), 0))


_RUNS = pytest.StashKey() if hasattr(pytest, "StashKey") else None


def group_runs(config):
    """The session's GroupRuns."""
    if _RUNS is not None:
        if _RUNS not in config.stash:
            config.stash[_RUNS] = GroupRuns()
        return config.stash[_RUNS]
    if not hasattr(config, "_conformance_group_runs"):
        config._conformance_group_runs = GroupRuns()
    return config._conformance_group_runs


def pytest_collection_finish(session):
    """Note which clauses the session's items select, per device (items left after -k,
    --lf and deselection): the group runs check those."""
    runs = group_runs(session.config)
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) != "test_clause" or callspec is None:
            continue
        params = callspec.params
        if "clause" in params and "device" in params:
            runs.selection.setdefault(params["device"], set()).add(params["clause"])


def run_sets(clauses):
    """``{clause: name}``: the clauses whose group runs overlap share a name (the groups
    each needs, joined transitively), so each set's groups run in one place."""
    groups = M.groups_for(sorted(clauses))
    root = {g: g for g in groups}

    def find(g):
        while root[g] != g:
            g = root[g]
        return g

    needs = {c: [g for g in groups
                 if g == C.BY_ID[c].group or c in M.clauses_checked_by(g)] for c in clauses}
    for gs in needs.values():
        for g in gs[1:]:
            root[find(g)] = find(gs[0])
    return {c: find(gs[0]) if gs else C.BY_ID[c].group for c, gs in needs.items()}


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist's ``--dist loadgroup`` the clause items whose group runs
    overlap (DI and VA clauses share 'blocks' and 'values'; ndarray, autograd, loss,
    trainer and file_format stand alone) go to one worker per device: they share their
    group runs (GroupRuns), which split over workers would each run again."""
    clause_items = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) == "test_clause" and callspec is not None \
                and "clause" in callspec.params:
            clause_items.append((item, callspec.params))
    if not clause_items:
        return
    sets = run_sets({params["clause"] for _, params in clause_items})
    for item, params in clause_items:
        item.add_marker(pytest.mark.xdist_group(
            name="conformance-%s-%s" % (params.get("device", ""), sets[params["clause"]])))
