"""Hypothesis strategies: random small architectures and user inputs.

Hypothesis shrinks towards 0 / the first choice, so the common case is always the
small value (`integers(0, n) == n` marks a rare branch).  Kept small on purpose (widths 1-8, at most 5 Dense layers, nesting depth <= 3) so a
`ci` run of every clause group stays within minutes on two CPU cores.

A net is a Dense tree (the `dense` family) optionally preceded by a stem of other
blocks: `conv` (Conv1D/2D/3D, Conv*Transpose, Max/Avg/Global pooling, BatchNorm,
InstanceNorm, LayerNorm, Activation, Dropout, (Hybrid)Lambda, Flatten; NCW/NCHW/NCDHW
inputs; one stem in four channels-last, NWC/NHWC/NDHWC: pooling and LayerNorm only),
`rnn` (rnn.RNN/LSTM/GRU, layout TNC or NTC) or `embedding` (integer indices).  The
Dense part also draws Activation, Dropout, (Hybrid)Lambda, LayerNorm and BatchNorm.

Some inputs are never drawn because MXNet 1.9.1 does not define them (the model could not
predict them): BatchNorm/InstanceNorm see only a channel axis fixed by a layer before them
(MXNet's BatchNorm silently accepts a channel count contradicting its parameters,
InstanceNorm fails asynchronously), InstanceNorm only rank >= 3, pooling windows and
kernels never exceed the (fixed) spatial sizes.
"""

from hypothesis import strategies as st

from conformance import arch as A

ACTIVATIONS = [None, None, "relu", "tanh", "sigmoid"]
FUNCTIONS = ["tanh", "relu", "sigmoid"]
WIDTHS = st.integers(1, 8)
FAMILIES = ("dense", "dense", "dense", "conv", "rnn", "embedding")


def _in_dim(draw, mode, right, state, may_be_wrong):
    """in_channels / input_size: 0, the right one or (once, mode 'wrong') a wrong one."""
    if mode == "all" or (mode == "some" and draw(st.booleans())):
        return right
    if mode == "wrong" and may_be_wrong and not state["wrong_done"] and draw(st.booleans()):
        state["wrong_done"] = True
        return right + draw(st.integers(1, 3))
    return 0


def _simple(draw, hybrid):
    """A shape-preserving block without parameters."""
    kind = draw(st.sampled_from(["act", "dropout", "lambda"]))
    if kind == "act":
        return A.Activation(draw(st.sampled_from(["relu", "tanh", "sigmoid"])))
    if kind == "dropout":
        return A.Dropout(draw(st.sampled_from([0.5, 0.25])))
    return A.Lambda(draw(st.sampled_from(FUNCTIONS)), hybrid=hybrid or draw(st.booleans()))


CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _conv_stem(draw, mode, hybrid, state):
    dims = draw(st.integers(1, 3))
    top = {1: 7, 2: 5, 3: 3}[dims]
    channels = draw(st.integers(1, 3))
    spatial = [draw(st.integers(2, top)) for _ in range(dims)]
    # a channels-last stem (VA-04): pooling and LayerNorm only, MXNet 1.9.1's CPU
    # convolutions refusing those layouts (arch/conv.py)
    layout = CHANNELS_LAST[dims] if draw(st.integers(0, 3)) >= 3 - state.get("layouts", 0) \
        else ""
    if layout:
        inp = A.Input(dims=tuple(spatial) + (channels,), axis=dims + 1)
    else:
        inp = A.Input(dims=(channels,) + tuple(spatial), axis=1)
    blocks, fixed = [], False   # fixed: the channel count comes from a conv, not the input
    kinds = ["pool", "pool", "norm", "simple"] if layout else \
        ["conv", "conv", "pool", "norm", "norm", "simple"]
    if state.get("norms") and not layout:
        kinds = kinds + ["norm", "norm"]
    for i in range(draw(st.integers(1, 4))):
        # a channels-first stem mostly opens with a convolution (its first block is the
        # one every example has)
        if i == 0 and not layout and draw(st.integers(0, 1)) == 0:
            kind = "conv"
        else:
            kind = draw(st.sampled_from(kinds))
        if kind == "conv":
            transpose = draw(st.integers(0, 3)) == 3
            pad = 0 if transpose else draw(st.sampled_from([0, 0, 1]))
            kmax = 2 if transpose else min(3, min(spatial) + 2 * pad)
            # a transposed kernel of 1 hides which way its taps run: mostly 2
            kernel = draw(st.sampled_from([2, 2, 1])) if transpose else draw(st.integers(1, kmax))
            strides = draw(st.integers(1, 2))
            out = draw(st.integers(1, 4))
            node = A.Conv(dims, out, kernel, strides=strides, padding=pad,
                          use_bias=draw(st.integers(0, 4)) < 4,
                          in_channels=_in_dim(draw, mode, channels, state, fixed),
                          activation=draw(st.sampled_from(ACTIVATIONS)), transpose=transpose)
            if transpose:
                spatial = [(n - 1) * strides + kernel for n in spatial]
            else:
                spatial = [(n + 2 * pad - kernel) // strides + 1 for n in spatial]
            channels, fixed = out, True
        elif kind == "pool":
            if draw(st.integers(0, 3)) == 3:
                node = A.Pool(dims, draw(st.sampled_from(["max", "avg"])), global_pool=True,
                              layout=layout)
                spatial = [1] * dims
            else:
                size = draw(st.integers(1, min(2, min(spatial))))
                node = A.Pool(dims, draw(st.sampled_from(["max", "avg"])), size, layout=layout)
                spatial = [(n - size) // size + 1 for n in spatial]
        elif kind == "norm":
            # BatchNorm's running statistics are the stem's most distinctive parameters
            kinds = ["batch", "batch", "instance", "layer"] if fixed else ["layer"]
            if fixed and state.get("norms"):
                kinds = kinds + ["batch", "batch"]
            norm = draw(st.sampled_from(kinds))
            right = spatial[-1] if norm == "layer" and not layout else channels
            node = A.Norm(norm, in_channels=_in_dim(draw, mode, right, state, False),
                          scale=norm == "instance" and draw(st.booleans()))
        else:
            node = _simple(draw, hybrid)
        blocks.append(node)
    end = draw(st.sampled_from(["none", "flatten", "global"]))
    if end == "global":
        blocks += [A.Pool(dims, draw(st.sampled_from(["max", "avg"])), global_pool=True,
                          layout=layout), A.Flatten()]
        return blocks, inp, (channels,), fixed
    if end == "flatten":
        blocks.append(A.Flatten())
    size = channels
    for n in spatial:
        size *= n
    if end == "flatten":
        return blocks, inp, (size,), False
    return blocks, inp, (tuple(spatial) + (channels,) if layout
                         else (channels,) + tuple(spatial)), False


def _recurrent(draw, mode, features, state, may_be_wrong):
    node = A.Recurrent(draw(st.sampled_from(["lstm", "gru", "rnn"])), draw(st.integers(1, 3)),
                       num_layers=1 + (draw(st.integers(0, 3)) == 3),
                       bidirectional=draw(st.integers(0, 3)) == 3,
                       input_size=_in_dim(draw, mode, features, state, may_be_wrong),
                       layout=draw(st.sampled_from(["TNC", "NTC"] if state.get("layouts")
                                                   else ["TNC", "TNC", "NTC"])))
    return node, node.hidden * (2 if node.bidirectional else 1)


def _sequence_stem(draw, mode, hybrid, state, family):
    blocks = []
    if family == "embedding":
        steps, high = draw(st.integers(1, 3)), draw(st.integers(2, 6))
        inp = A.Input(dims=(steps,), axis=1, indices=high)
        blocks.append(A.Embedding(high, draw(st.integers(1, 4))))
        dims, count = (steps, blocks[0].output_dim), draw(st.integers(0, 2))
    else:
        dims = (draw(st.integers(1, 2)), draw(st.integers(1, 4)))
        inp = A.Input(dims=dims, axis=2)
        count = draw(st.integers(1, 3))
    rnn_seen = False
    for _ in range(count):
        kind = draw(st.sampled_from(["rnn", "rnn", "layer", "simple"]))
        if kind == "rnn":
            node, out = _recurrent(draw, mode, dims[1], state, rnn_seen)
            dims, rnn_seen = (dims[0], out), True
        elif kind == "layer":
            node = A.Norm("layer")
        else:
            node = _simple(draw, hybrid)
        blocks.append(node)
    return blocks, inp, dims, False


@st.composite
def architectures(draw, max_layers=5, max_depth=3, sharing=None, prefixes=True,
                  modes=("none", "none", "some", "all", "wrong"), min_layers=1,
                  families=FAMILIES, extras=True, norms=False, layouts=False):
    """(arch, width): a Sequential tree and the input it was designed for: the feature
    size (an int) of a Dense net, an `arch.Input` of a net with a stem (`families`).

    in_units modes: none, some, all (consistent with the design width), wrong (one off);
    `sharing` forces (True) or forbids (False) shared layers; None draws it;
    `min_layers` Dense layers at least (appended to the root), so that order-sensitive
    clauses see several parameters initialized by one pass; `norms`: BatchNorm wherever
    it may stand is several times as likely (the values group's training passes);
    `layouts`: channels-last stems and NTC recurrent layers twice as likely (VA-04).
    """
    mode = draw(st.sampled_from(modes))
    family = draw(st.sampled_from(families))
    width = draw(WIDTHS)
    share_ok = draw(st.booleans()) if sharing is None else sharing
    state = {"layers": [], "prev": width, "dense": 0, "wrong_done": False, "seq": 0,
             "inputs": [], "flatten": False, "bn_ok": False, "norms": norms,
             "layouts": int(layouts)}
    root_hybrid = draw(st.booleans())
    stem = []
    if family != "dense":
        wrap = draw(st.booleans())
        stem_hybrid = root_hybrid or (wrap and draw(st.booleans()))
        make = _conv_stem if family == "conv" else (
            lambda d, m, h, s: _sequence_stem(d, m, h, s, family))
        stem, width, out, state["bn_ok"] = make(draw, mode, stem_hybrid, state)
        features = 1
        for n in out:
            features *= n
        state["prev"], state["flatten"] = features, len(out) > 1

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
        # after a stem of rank > 2 the first Dense flattens (the model knows either way;
        # this keeps the designed input size meaningful)
        flatten = draw(st.integers(0, 3)) < 3 or state["flatten"]
        state["flatten"] = False
        state["bn_ok"] = flatten
        node = A.Dense(
            units=units,
            activation=draw(st.sampled_from(ACTIVATIONS)),
            use_bias=draw(st.integers(0, 4)) < 4,
            flatten=flatten,
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
        state["bn_ok"] = src.flatten
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

    def extra(hybrid):
        # a block without Dense's parameters between Dense layers; BatchNorm only where
        # its channel axis is fixed by the layer before (a flattening Dense)
        kind = draw(st.sampled_from(["simple", "simple", "layer", "batch"]
                                    + ["batch"] * (3 if norms else 0)))
        if kind == "batch" and state["bn_ok"]:
            return A.Norm("batch")
        if kind == "layer":
            return A.Norm("layer")
        return _simple(draw, hybrid)

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
            if extras:
                kinds.append("extra")
            kind = draw(st.sampled_from(kinds))
            if kind == "extra":
                children.append(extra(hybrid))
            elif kind == "dense":
                children.append(dense())
                if norms and state["bn_ok"] and draw(st.booleans()):
                    children.append(A.Norm("batch"))
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

    root = container(1, root_hybrid)
    if stem:
        lead = tuple(stem)
        if wrap:
            lead = (A.Sequential(children=lead, hybrid=stem_hybrid,
                                 scoped=draw(st.integers(0, 2)) == 2),)
        root = A.Sequential(children=lead + root.children, hybrid=root.hybrid,
                            prefix=root.prefix, scoped=root.scoped)
    if state["dense"] < min_layers:
        extra = []
        while state["dense"] < min_layers:
            extra.append(dense())
        root = A.Sequential(children=root.children + tuple(extra), hybrid=root.hybrid,
                            prefix=root.prefix, scoped=root.scoped)
    if share_ok and sharing and not A.shares(root):
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


@st.composite
def stem_inputs(draw, dims, axis):
    """An input for a net with a stem: (batch,) + dims, the axis `axis` (channels,
    features, time steps) sometimes of another size (wrong); the batch size varies."""
    dims = list(dims)
    if draw(st.integers(0, 4)) == 4:
        dims[axis - 1] += draw(st.integers(1, 3))
    return (draw(st.integers(1, 4)),) + tuple(dims)


@st.composite
def with_batchnorm(draw, designs):
    """A design from `designs` ending in a flattening Dense and a BatchNorm: nets whose
    running statistics (grad_req='null') every move meets (DI-33)."""
    root, width = draw(designs)
    tail = (A.Dense(units=draw(WIDTHS)), A.Norm("batch"))
    return A.Sequential(children=root.children + tail, hybrid=root.hybrid,
                        prefix=root.prefix, scoped=root.scoped), width


# Dropout rates of a net's last block (VA-07): MXNet 1.9.1 runs p = 0 as the identity in
# training too; p = 1 (all NaN in MXNet, refused by keras_defer: docs/divergences.md) is not
# drawn
TRAILING_DROPOUT_RATES = [0.5, 0.25, 0.75, 0.0]


@st.composite
def with_trailing_dropout(draw, designs):
    """A design from `designs`, one in two ending in a Dropout (the values group's training
    passes see it last: VA-07 compares its output with the net's output before it)."""
    root, width = draw(designs)
    if draw(st.booleans()):
        return root, width
    tail = (A.Dropout(draw(st.sampled_from(TRAILING_DROPOUT_RATES))),)
    return A.Sequential(children=root.children + tail, hybrid=root.hybrid,
                        prefix=root.prefix, scoped=root.scoped), width
