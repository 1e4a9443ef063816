"""Hypothesis strategies: random small architectures and user inputs.

Hypothesis shrinks towards 0 / the first choice, so the common case is always the
small value (`integers(0, n) == n` marks a rare branch).  Kept small on purpose (widths 1-8, at most 5 Dense layers, nesting depth <= 3) so a
`ci` run of every clause group stays within minutes on two CPU cores.
"""

from hypothesis import strategies as st

from conformance import arch as A

ACTIVATIONS = [None, None, "relu", "tanh", "sigmoid"]
WIDTHS = st.integers(1, 8)


@st.composite
def architectures(draw, max_layers=5, max_depth=3, sharing=None, prefixes=True,
                  modes=("none", "none", "some", "all", "wrong"), min_layers=1):
    """(arch, width): a Sequential tree and the input feature size it was designed for.

    in_units modes: none, some, all (consistent with the design width), wrong (one off);
    `sharing` forces (True) or forbids (False) shared layers; None draws it;
    `min_layers` Dense layers at least (appended to the root), so that order-sensitive
    clauses see several parameters initialized by one pass.
    """
    mode = draw(st.sampled_from(modes))
    width = draw(WIDTHS)
    share_ok = draw(st.booleans()) if sharing is None else sharing
    state = {"layers": [], "prev": width, "dense": 0, "wrong_done": False, "seq": 0,
             "inputs": []}

    def dense():
        units = draw(WIDTHS)
        right = state["prev"]
        if mode == "all" or (mode == "some" and draw(st.booleans())):
            in_units = right
        elif mode == "wrong" and not state["wrong_done"] and draw(st.booleans()):
            in_units = right + draw(st.integers(1, 3))
            state["wrong_done"] = True
        else:
            in_units = 0
        prefix = None
        if prefixes and draw(st.integers(0, 5)) == 5:
            prefix = "layer%d_" % state["dense"]
        node = A.Dense(
            units=units,
            activation=draw(st.sampled_from(ACTIVATIONS)),
            use_bias=draw(st.integers(0, 4)) < 4,
            flatten=draw(st.integers(0, 3)) < 3,
            in_units=in_units,
            weight_initializer=draw(st.sampled_from([None, None, None, "ones"])),
            bias_initializer=draw(st.sampled_from(["zeros", "zeros", None, "ones"])),
            prefix=prefix,
        )
        state["layers"].append(node)
        state["inputs"].append(right)
        state["dense"] += 1
        state["prev"] = units
        return node

    def shared():
        # params=<earlier>.params (same units/bias/initializers), or the same block again;
        # mostly one whose input size matches here, so that the net can run
        fits = [i for i, w in enumerate(state["inputs"]) if w == state["prev"]]
        if fits and draw(st.integers(0, 3)) < 3:
            ref = draw(st.sampled_from(fits))
        elif draw(st.booleans()):
            return dense()
        else:
            ref = draw(st.integers(0, state["dense"] - 1))
        src = state["layers"][ref]
        if draw(st.booleans()):
            state["prev"] = src.units
            return A.Reuse(ref)
        node = A.Dense(units=src.units, activation=draw(st.sampled_from(ACTIVATIONS)),
                       use_bias=src.use_bias, flatten=src.flatten,
                       weight_initializer=src.weight_initializer,
                       bias_initializer=src.bias_initializer, share=ref)
        state["layers"].append(node)
        state["inputs"].append(state["prev"])
        state["dense"] += 1
        state["prev"] = src.units
        return node

    def container(depth, hybrid):
        n = draw(st.integers(1, 3))
        children = []
        for _ in range(n):
            if state["dense"] >= max_layers:
                break
            kinds = ["dense", "dense", "dense"]
            if depth < max_depth:
                kinds.append("seq")
            if share_ok and state["dense"] > 0:
                kinds += ["shared", "shared"]
            kind = draw(st.sampled_from(kinds))
            if kind == "dense":
                children.append(dense())
            elif kind == "shared":
                children.append(shared())
            else:
                children.append(container(depth + 1, hybrid or draw(st.booleans())))
        if not children:
            children.append(dense())
        prefix = None
        if prefixes and draw(st.integers(0, 6)) == 6:
            prefix = "block%d_" % state["seq"]
        state["seq"] += 1
        return A.Sequential(children=tuple(children), hybrid=hybrid, prefix=prefix,
                            scoped=draw(st.integers(0, 2)) == 2)

    root = container(1, draw(st.booleans()))
    if state["dense"] < min_layers:
        extra = []
        while state["dense"] < min_layers:
            extra.append(dense())
        root = A.Sequential(children=root.children + tuple(extra), hybrid=root.hybrid,
                            prefix=root.prefix, scoped=root.scoped)
    if share_ok and sharing and not any(
            isinstance(n, A.Reuse) or (isinstance(n, A.Dense) and n.share is not None)
            for n in A.walk(root)):
        root = A.Sequential(children=root.children + (A.Reuse(0),), hybrid=root.hybrid,
                            prefix=root.prefix, scoped=root.scoped)
    return root, width


def split_features(draw, features, rank, flatten):
    """Non-batch dims of a given rank whose flattened (or last) size is `features`."""
    if rank == 2:
        return (features,)
    if not flatten:
        return tuple(draw(st.integers(1, 3)) for _ in range(rank - 2)) + (features,)
    divisors = [d for d in range(1, features + 1) if features % d == 0]
    first = draw(st.sampled_from(divisors))
    rest = split_features(draw, features // first, rank - 1, True)
    return (first,) + rest


@st.composite
def input_shapes(draw, features, flatten):
    """An input for a first layer expecting `features` (right) or another size (wrong)."""
    wrong = draw(st.integers(0, 4)) == 4
    if wrong:
        features = features + draw(st.integers(1, 3))
    rank = draw(st.integers(2, 4))
    batch = draw(st.integers(1, 4))
    return (batch,) + split_features(draw, features, rank, flatten)
