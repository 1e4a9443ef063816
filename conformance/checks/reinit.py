"""The re-initialization clauses (DI-11, DI-12): initialize() again, with and without
force_reinit."""


def initialize_clause(force_reinit, again):
    """The clause an initialize() exercises: DI-06 the first time."""
    return "DI-12" if force_reinit else ("DI-11" if again else "DI-06")


def warnings_match(t, clause, force_reinit, seen, expected):
    """A second initialize() warns once per initialized parameter (DI-11)."""
    t.check("DI-11" if not force_reinit else clause, seen == expected.warnings,
            "initialize() warns %s, got %s" % (expected.warnings, seen))
