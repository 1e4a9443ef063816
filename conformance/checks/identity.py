"""The array identity clause (DI-29): Parameter.data() stays the same array object while
Gluon keeps it (optimizers, Trainers and distributed wrappers hold references to it).

The model numbers each array a parameter gets (model.Param.array); the trial remembers,
per parameter of the net under test, the number and the object (adapter.identity) seen
after the last move, and compares them after every move."""


def same_array(t, name, p):
    """After a move: `name`'s array is the object seen last time iff the model kept it."""
    if getattr(t, "arrays_of", None) is not t.model:   # another net: start again
        t.arrays_of, t.arrays = t.model, {}
    now, kind, _ = t.call(t.adapter.identity, t.net, name, t.device)
    if kind is not None or now is None:
        t.check("DI-29", False, "%s: its array cannot be read (%s)" % (name, kind))
    seen = t.arrays.get(name)
    t.arrays[name] = (p.array, now)
    if seen is None:
        return
    number, before = seen
    if number == p.array:
        t.check("DI-29", now is before,
                "%s.data() is the array it was before the last move (Gluon keeps it); got "
                "another object" % name)
    else:
        t.check("DI-29", now is not before,
                "%s.data() is a new array after the last move (Gluon made one); got the old "
                "object" % name)


def arrays_of(t, net, model):
    """name -> the array object of every initialized parameter of `net`."""
    out = {}
    for name in model.collect_params():
        if model.params[name].data is not None:
            obj, kind, _ = t.call(t.adapter.identity, net, name, t.device)
            if kind is None:
                out[name] = obj
    return out
