"""pytest plugin of the conformance kit (entry point `pytest11: conformance = conformance.plugin`).

Options: --impl (or env CONFORMANCE_IMPL; default keras_defer), --conformance-device
(repeatable; default every device the backend reports), --conformance-clauses,
--conformance-expected-failures.  Hypothesis profiles `ci` (fast, derandomized, no
deadline), `dev` and `thorough` are registered; pick one with `--hypothesis-profile` or
env CONFORMANCE_PROFILE (default ci).
"""

import os

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
