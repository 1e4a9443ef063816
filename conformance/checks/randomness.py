"""The random-value clauses (DI-30..32): what can be checked without a fixed stream.

The model gives every draw of the default initializer (Uniform(0.07)) a number
(model.Param.draw); the trial keeps the values each draw read first.  After every move:
values in the initializer's support, not constant, with its moments (DI-30); a draw
reads the values it read before, and differs from every other draw of the same shape
(DI-31).  Draws too small for their moments are pooled: independent samples of
the same law.  `seeded` replays a seeded build (DI-32)."""

import numpy as np
from hypothesis import strategies as st

from conformance import arch as A
from conformance.model import UNIFORM

SCALE = 0.07                    # Gluon's default initializer: Uniform(scale=0.07)
SUPPORT = float(np.float32(SCALE))
MOMENTS_FROM = 64               # values needed before mean and variance are compared
SIGMAS = 6.0                    # standard errors allowed


def moments_fit(values):
    """(ok, what): mean 0 and variance scale**2/3 within SIGMAS standard errors."""
    v = values.astype(np.float64).ravel()
    n = v.size
    var = SCALE ** 2 / 3
    mean_err = SIGMAS * np.sqrt(var / n)
    # the variance estimator's standard error: sqrt((mu4 - var**2) / n), mu4 = scale**4 / 5
    var_err = SIGMAS * np.sqrt((SCALE ** 4 / 5 - var ** 2) / n)
    ok = abs(v.mean()) <= mean_err and abs(v.var() - var) <= var_err
    return ok, "mean %.5f (0 +- %.5f), variance %.6f (%.6f +- %.6f)" % (
        v.mean(), mean_err, v.var(), var, var_err)


def drawn(t, context, name, p, value):
    """After a move, `name` holds the model's draw p.draw (a UNIFORM value)."""
    if value is None or p.data != UNIFORM or not p.draw:
        return
    v = np.asarray(value)
    if not hasattr(t, "draws"):
        t.draws = {}       # draw number -> (name, values read first, seed epoch)
    epoch = getattr(t, "seed_epoch", 0)
    seen = t.draws.get(p.draw)
    if seen is not None:
        clause = context if context in ("DI-24", "DI-34", "DI-36") else "DI-31"
        t.check(clause, v.shape == seen[1].shape and bool(np.array_equal(v, seen[1])),
                "%s keeps the values it was drawn with (first read from %s); got others"
                % (name, seen[0]))
        return
    t.check("DI-30", bool(np.all(np.abs(v) <= SUPPORT)),
            "%s's Uniform(0.07) draw lies in [-0.07, 0.07]; got values in [%s, %s]"
            % (name, v.min(), v.max()))
    if v.size >= 4:
        t.check("DI-30", bool(np.any(v != v.flat[0])),
                "%s's %d drawn values are not all equal; got %s everywhere"
                % (name, v.size, v.flat[0]))
    if v.size >= MOMENTS_FROM:
        ok, what = moments_fit(v)
        t.check("DI-30", ok, "%s's draw has Uniform(0.07)'s moments; got %s" % (name, what))
    # small draws are independent samples of the same law: pooled, they show its moments
    pool = getattr(t, "draw_pool", []) + [v.ravel()]
    t.draw_pool = pool
    pooled = np.concatenate(pool)
    if v.size < MOMENTS_FROM <= pooled.size:
        ok, what = moments_fit(pooled)
        t.check("DI-30", ok, "the %d values drawn so far (%s) have Uniform(0.07)'s moments; "
                "got %s" % (pooled.size, ", ".join(t.draws[d][0] for d in sorted(t.draws))
                            + ", " + name, what))
    if v.size >= 2:
        for other, (other_name, w, when) in t.draws.items():
            if when != epoch:
                continue   # a seed came between: the stream may legitimately replay
            t.check("DI-31", w.shape != v.shape or not np.array_equal(v, w),
                    "%s's draw differs from %s's (another draw of the same shape); got the "
                    "same values" % (name, other_name))
    t.draws[p.draw] = (name, np.array(v, copy=True), epoch)


def seeded(t, data):
    """Seed, build the net's architecture, initialize with the default initializer, run
    the designed input; again with the same seed: the same values (DI-32)."""
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    t.seed_epoch = getattr(t, "seed_epoch", 0) + 1   # later draws may replay earlier ones
    runs = []
    for _ in range(2):
        t.line("import %s as mx; mx.random.seed(%d)" % (t.adapter.module, seed))
        for text in A.source_lines(t.arch):
            t.line(text)
        t.line("net.initialize()")
        t.call(t.adapter.seed, seed)
        model = t.world.build(t.arch)     # the same names as the net built next
        net, kind, _ = t.call(t.adapter.build, t.arch)
        t.check("DI-32", kind is None, "building the net raises nothing; got %s" % kind)
        model.initialize("default", False, t.device)
        _, kind, _ = t.call(t.adapter.initialize, net, "default", False, t.device)
        t.check("DI-32", kind is None, "initialize() raises nothing; got %s" % kind)
        shape = t.design_input() if isinstance(t.width, A.Input) else \
            (2, _features(model, t.width))
        if shape[1:] and all(shape) and model.clone().forward(shape).error is None:
            model.forward(shape)
            t.line("net(%s)" % t.input_source(shape))
            _, kind, _ = t.call(t.adapter.forward, net, shape, t.device, t.indices())
            t.check("DI-32", kind is None, "net(x) raises nothing; got %s" % kind)
        values = []
        for name in model.collect_params():
            if model.params[name].data is not None:
                value, kind, _ = t.call(t.adapter.data, net, name, t.device)
                values.append((name, None if kind else np.asarray(value)))
        runs.append(values)
    first, second = runs
    same = len(first) == len(second) and all(
        a is not None and b is not None and np.array_equal(a, b)
        for (_, a), (_, b) in zip(first, second))
    t.check("DI-32", same, "the same seed gives the same values; got different ones for %s"
            % [n for (n, a), (_, b) in zip(first, second)
               if a is None or b is None or not np.array_equal(a, b)])
    t.context = "DI-32"


def _features(model, width):
    """The input size of the first Dense of a fresh `model` (the designed width if unknown)."""
    for layer in model.layers_in_forward_order():
        if isinstance(layer.node, A.Dense):
            known = model.params[layer.params["weight"]].shape[1]
            return known or width
    return width
