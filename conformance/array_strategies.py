"""Hypothesis strategies for the NDArray and autograd groups: shapes, dtypes, values,
index keys, reshape codes, broadcastable operands, programs.

Every value is a small integer (|v| <= 4, uint8 0..9), so float32 holds it exactly
and printing is deterministic; results that leave the integers (division, mean, exp)
are compared within float32 tolerance.  Inputs MXNet 1.9.1 rejects are never drawn
(empty selections, slices MXNet refuses, mixed dtypes, in-place writes from an
overlapping array): the model could not predict them.
"""

import numpy as np
from hypothesis import strategies as st

from conformance import ndarray_model as NM
from conformance.autograd_model import Program, Statement

SIDES = st.integers(1, 4)
ARITHMETIC_DTYPES = ("float32", "float32", "float64", "int32", "int64")


def shapes(min_dims=1, max_dims=3):
    return st.lists(SIDES, min_size=min_dims, max_size=max_dims).map(tuple)


def dtypes(allowed=NM.DTYPES):
    """float32 first (what hypothesis shrinks to) and most often."""
    return st.sampled_from(("float32", "float32") + tuple(d for d in allowed if d != "float32"))


def values(shape, dtype="float32", nonzero=False):
    """A numpy array of small integers of `shape` (uint8: 0..9; others -4..4)."""
    low, high = (0, 9) if dtype == "uint8" else (-4, 4)
    elements = st.integers(low, high)
    if nonzero:
        elements = elements.filter(lambda v: v != 0)
    size = int(np.prod(shape))
    return st.lists(elements, min_size=size, max_size=size).map(
        lambda v: np.array(v, dtype=np.int64).reshape(shape))


def scalars(dtype, nonzero=False):
    low = 0 if dtype == "uint8" else -3
    return st.integers(low, 3).filter(lambda v: v != 0 or not nonzero)


# -- index keys ----------------------------------------------------------------------------
@st.composite
def _slice(draw, n):
    """A slice of an axis of length n selecting at least one element, in the forms
    MXNet accepts (start <= stop for positive steps: MXNet refuses x[3:1])."""
    step = draw(st.sampled_from([None, None, 1, 2, -1]))
    start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
    stop = draw(st.one_of(st.none(), st.integers(-n, n)))
    if not len(range(*slice(start, stop, step).indices(n))):
        return slice(None, None, step)
    return slice(start, stop, step)


@st.composite
def index_keys(draw, shape):
    """An int, a slice, or a tuple of ints and slices (at most ndim); never empty."""
    def one(n):
        if draw(st.booleans()):
            return draw(st.integers(-n, n - 1))
        return draw(_slice(n))
    form = draw(st.sampled_from(["int", "slice", "tuple", "tuple"]))
    if form == "int":
        return draw(st.integers(-shape[0], shape[0] - 1))
    if form == "slice":
        return draw(_slice(shape[0]))
    size = draw(st.integers(1, len(shape)))
    return tuple(one(n) for n in shape[:size])


# -- operands ------------------------------------------------------------------------------
@st.composite
def broadcast_to(draw, shape, expand=False):
    """A shape that broadcasts with `shape`: leading axes dropped, some sides 1 (and,
    with expand, a side of 1 in `shape` stretched: the result is then larger)."""
    drop = draw(st.integers(0, len(shape) - 1))
    out = []
    for d in shape[drop:]:
        choice = draw(st.integers(0, 3))
        if choice == 3:
            out.append(1)
        elif choice == 2 and expand and d == 1:
            out.append(draw(st.integers(2, 3)))
        else:
            out.append(d)
    return tuple(out)


@st.composite
def reshape_codes(draw, shape):
    """MXNet reshape codes that are valid for `shape`: each input axis is copied (0 or
    its size), merged with the next (-3), split (-4 a b, one of them may be -1), or
    the rest copied (-2, last); at most one output side is -1 (inferred)."""
    codes, i, inferred = [], 0, False
    while i < len(shape):
        d = shape[i]
        moves = ["copy", "literal"]
        if i + 1 < len(shape):
            moves.append("merge")
        if d in (2, 4) or d == 1:
            moves.append("split")
        moves.append("rest")
        if not inferred:
            moves.append("infer")
        move = draw(st.sampled_from(moves))
        if move == "copy":
            codes.append(0)
        elif move == "literal":
            codes.append(d)
        elif move == "merge":
            codes.append(-3)
            i += 1
        elif move == "split":
            a = draw(st.sampled_from([f for f in (1, 2, 4) if d % f == 0]))
            b = d // a
            if not inferred and draw(st.booleans()):
                inferred = True
                a, b = (-1, b) if draw(st.booleans()) else (a, -1)
            codes.extend([-4, a, b])
        elif move == "rest":
            codes.append(-2)
            break
        else:
            codes.append(-1)
            inferred = True
        i += 1
    if draw(st.integers(0, 4)) == 4:
        codes.append(1)    # a new axis of one (a literal with no input axis left)
    return tuple(codes)


REDUCTIONS = st.sampled_from(NM.REDUCTIONS)


@st.composite
def reduction_axes(draw, shape):
    """None (everything), one axis (maybe negative) or a tuple of axes; keepdims."""
    form = draw(st.sampled_from(["none", "one", "tuple"]))
    if form == "none":
        axis = None
    elif form == "one":
        axis = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        axis = tuple(sorted(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    return axis, draw(st.booleans())


# -- autograd programs ---------------------------------------------------------------------
@st.composite
def dims(draw):
    """(m, n, p): variables are (m, n), (n, p), (n,) or (1,)."""
    return draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))


def variable_shapes(mnp):
    m, n, p = mnp
    return st.sampled_from([(m, n), (m, n), (n, p), (n,), (1,)])


class _Value:
    """What the generator knows of a name: shape, a bound on |value|, whether it holds
    integers exactly (so that relu never meets a rounding error near 0)."""

    def __init__(self, name, shape, bound, exact):
        self.name, self.shape, self.bound, self.exact = name, tuple(shape), bound, exact


@st.composite
def programs(draw, variables, max_statements=5):
    """A straight-line program over `variables` ({name: shape}); the last statement is
    the head.  Values stay below ~1e4 (exp only of small bounded values)."""
    pool = [_Value(n, s, 4.0, True) for n, s in sorted(variables.items())]
    constants = []
    statements = []
    count = draw(st.integers(1, max_statements))
    pause_at = draw(st.one_of(st.none(), st.integers(0, count - 1)))
    for k in range(count):
        out = "t%d" % k
        paused = k == pause_at
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "scale"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            choices = ["tanh", "sigmoid", "square", "negative"]
            if a.bound <= 3:
                choices.append("exp")
            if a.exact:
                choices.append("relu")
            op = draw(st.sampled_from(choices))
            bound = {"tanh": 1.0, "sigmoid": 1.0, "square": a.bound ** 2, "negative": a.bound,
                     "exp": float(np.exp(min(a.bound, 50.0))), "relu": a.bound}[op]
            if bound > 1e4:
                op, bound = "tanh", 1.0
            statements.append(Statement(out, op, (a.name,), paused))
            pool.append(_Value(out, a.shape, bound, a.exact and op in ("square", "negative",
                                                                        "relu")))
        elif kind == "scale":
            c = draw(st.sampled_from([2, -1, 3]))
            op = draw(st.sampled_from(["multiply", "add"]))
            statements.append(Statement(out, op, (a.name, c), paused))
            bound = a.bound * 3 if op == "multiply" else a.bound + 3
            pool.append(_Value(out, a.shape, bound, a.exact))
        elif kind == "reduce":
            # never mean(variable): MXNet 1.9.1's mean backward divides x.grad by the
            # count after adding to it when grad_req='add' ((g_old + g) / n; observed)
            op = draw(st.sampled_from(["sum", "sum"] + ([] if a.name.startswith("x")
                                                        else ["mean"])))
            axis = None
            if len(a.shape) == 2 and draw(st.booleans()):
                axis = draw(st.integers(0, 1))
            shape = (1,) if axis is None else tuple(d for i, d in enumerate(a.shape) if i != axis)
            size = int(np.prod(a.shape))
            statements.append(Statement(out, op, (a.name,), paused, axis))
            pool.append(_Value(out, shape, a.bound * size, a.exact and op == "sum"))
        else:
            partners = [b for b in pool if NM.broadcast_shape(a.shape, b.shape) is not None]
            dot_partners = [b for b in pool if len(a.shape) == 2 and len(b.shape) == 2
                            and a.shape[1] == b.shape[0]]
            ops = ["add", "subtract", "multiply"] + (["dot"] if dot_partners else [])
            op = draw(st.sampled_from(ops))
            if op == "dot":
                b = draw(st.sampled_from(dot_partners))
                shape, bound = (a.shape[0], b.shape[1]), a.bound * b.bound * a.shape[1]
            else:
                if draw(st.integers(0, 4)) == 4:   # sometimes a constant operand
                    cshape = draw(broadcast_to(a.shape))
                    cname = "c%d" % len(constants)
                    cvalues = draw(values(cshape))
                    constants.append((cname, cvalues))
                    b = _Value(cname, cshape, 4.0, True)
                else:
                    b = draw(st.sampled_from(partners))
                shape = NM.broadcast_shape(a.shape, b.shape)
                bound = a.bound * b.bound if op == "multiply" else a.bound + b.bound
            if bound > 1e4:
                op, b, shape, bound = "add", a, a.shape, 2 * a.bound
            args = (a.name, b.name) if draw(st.booleans()) or op == "dot" else (b.name, a.name)
            statements.append(Statement(out, op, args, paused))
            pool.append(_Value(out, shape, bound, a.exact and b.exact))
    return Program(tuple(statements), tuple(constants))


SCOPES = st.sampled_from([("record", None), ("record", False), ("record", True),
                          ("pause", None), ("pause", True), ("train_mode", None),
                          ("predict_mode", None)])


def scope_nests(max_depth=3):
    """Nested autograd scopes, outermost first."""
    return st.lists(SCOPES, min_size=1, max_size=max_depth)
