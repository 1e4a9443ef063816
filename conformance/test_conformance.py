"""The kit as a pytest suite: one test per clause and device (`test_clause[DI-09-cpu(0)]`).

A test fails when its clause fails and is not listed in the implementation's
expected-failures file; the message names the clause and carries the shrunk example as a
script that runs as printed.  A listed clause that fails is an xfail, one that passes an
unexpected pass (a warning); a clause no example exercised is skipped as 'not exercised'.
The items share the group runs (plugin.GroupRuns): each group's machine runs once per
device, on the first item that needs it.
"""

import warnings

import pytest

from conformance import adapters
from conformance import clauses as C
from conformance import runner
from conformance import scripts
from conformance.plugin import group_runs, implementation, profile, selected_clauses


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
    if "clause" in metafunc.fixturenames:
        metafunc.parametrize("clause", selected_clauses(metafunc.config))
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _devices(metafunc.config))


def test_clause(adapter, clause, device, request):
    config = request.config
    path = config.getoption("--conformance-expected-failures", None) or \
        runner.default_expected_failures(adapter.name)
    expected = runner.read_expected_failures(path)
    failure, examples = group_runs(config).verdict(
        adapter, clause, device,
        runner.hypothesis_settings(profile(config),
                                   config.getoption("--conformance-max-examples", None)),
        expected)
    listed = runner.is_expected(clause, expected)
    if failure is not None:
        if listed:
            pytest.xfail("expected failure (%s): %s" % (path, failure[0]))
        message, script = failure
        pytest.fail("%s (%s) FAILED on %s against %s: %s\n%s\n--- reproduction script ---\n%s\n"
                    % (clause, C.BY_ID[clause].statement, device,
                       scripts.implementation_label(adapter), message, C.BY_ID[clause].source,
                       scripts.reproduction(adapter, clause, device, message, script)),
                    pytrace=False)
    if examples == 0:
        pytest.skip("%s not exercised: no example of the groups run reached it" % clause)
    if listed:
        warnings.warn("unexpected pass: %s is listed in %s" % (clause, path))
