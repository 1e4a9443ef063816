"""The sharing clause (DI-22): a shared parameter is listed once, where first met.

Initialized once and named after its owner: the lifecycle and naming checks see that on
every net that shares (the strategies draw params= and blocks added twice)."""


def order_matches(t, names, want_names):
    """collect_params() order: DI-22 on a net that shares parameters, else DI-05."""
    t.check("DI-22" if t.shares() else "DI-05", names == want_names,
            "collect_params order %s; got %s" % (want_names, names))
