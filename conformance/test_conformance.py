"""The kit as a pytest suite: one test per clause group and device.

A test fails when a clause of its group fails and is not listed in the implementation's
expected-failures file; the message names the clause and carries the shrunk example as a
script.  A listed clause that passes is reported as an unexpected pass (a warning).
"""

import warnings

import pytest

from conformance import adapters
from conformance import clauses as C
from conformance import machine as M
from conformance import runner
from conformance.plugin import implementation, profile


@pytest.fixture(scope="session")
def adapter(request):
    impl = implementation(request.config)
    try:
        a = adapters.load(impl)
        a.ensure_loaded()
    except ImportError as exc:
        pytest.skip("implementation %s is not importable here: %s" % (impl, exc))
    return a


def _devices(config):
    chosen = config.getoption("--conformance-device", None)
    if chosen:
        return chosen
    try:
        a = adapters.load(implementation(config))
        a.ensure_loaded()
        return a.devices()
    except ImportError:
        return ["cpu(0)"]


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _devices(metafunc.config))


@pytest.mark.parametrize("group", M.GROUPS)
def test_clause_group(adapter, group, device, request):
    config = request.config
    selected = C.select(config.getoption("--conformance-clauses", None))
    if any(c.group == group for c in C.CLAUSES):
        wanted = [c for c in selected if C.BY_ID[c].group == group]
    else:  # a group without clauses of its own (blocks): every selected DI clause decides
        wanted = [c for c in selected if c.startswith("DI-")]
    if not wanted:
        pytest.skip("no selected clause in group %s" % group)
    path = config.getoption("--conformance-expected-failures", None) or \
        runner.default_expected_failures(adapter.name)
    expected = runner.read_expected_failures(path)
    verdicts = runner.Verdicts()
    # every clause is checked; the group's own clauses decide this test
    runner.run_group(adapter, group, device, [c.id for c in C.CLAUSES],
                     runner.hypothesis_settings(profile(config)), verdicts, expected=expected)
    failed = {c: f for (c, d), f in verdicts.failures.items() if d == device}
    unexpected = {c: f for c, f in failed.items() if not runner.is_expected(c, expected)}
    for cid in wanted:
        if runner.is_expected(cid, expected) and cid not in failed and \
                verdicts.examples.get((cid, device), 0):
            warnings.warn("unexpected pass: %s is listed in %s" % (cid, path))
    if unexpected:
        lines = []
        for cid, (message, script) in sorted(unexpected.items()):
            lines.append("%s (%s) FAILED on %s: %s\n%s\n--- shrunk example ---\n%s\n"
                         % (cid, C.BY_ID[cid].statement, device, message, C.BY_ID[cid].source, script))
        pytest.fail("\n".join(lines), pytrace=False)
    if failed:
        pytest.xfail("expected failures: %s" % ", ".join(sorted(failed)))
