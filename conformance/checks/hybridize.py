"""The hybridize clause (DI-23).  That hybridize() changes nothing else is checked by
every other check after it (the model predicts a hybridized net as it does any other)."""


def hybridize(t):
    t.line("net.hybridize()")
    expected = t.model.hybridize()
    _, kind, seen = t.call(t.adapter.hybridize, t.net)
    t.context = "DI-23"
    t.check("DI-23", kind is None, "hybridize() raises nothing; got %s" % kind)
    t.check("DI-23", seen == expected.warnings,
            "hybridize() warns %s; got %s" % (expected.warnings, seen))
