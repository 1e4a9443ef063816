"""The numpy reference forward: what every block the kit generates computes, as MXNet
Gluon 1.9.1 computes it, for given weights.  Imports only numpy.

The reference model (model.py) knows shapes and calls; this module knows values.  The
values clauses (VA-*, checks/values.py) read the weights a net actually holds through
its adapter, run the net's leaves in forward order here, and compare the implementation's
output.  Everything is computed in float64 from the float32 inputs, so the comparison's
tolerance is the implementation's own float32 rounding.

A leaf is given as its arch node (conformance/arch: read by duck typing, by class name and
attributes, so this module stays framework- and kit-free) and its parameters
(attribute -> numpy array, Gluon's names: weight, bias, gamma, running_mean,
l0_i2h_weight, ...).  Formulas and orders, from MXNet 1.9.1's operators:

- Dense: x @ W.T + b (flatten=True: the non-batch axes flattened first; else the last axis).
- Conv1-3D: cross-correlation, weight (out, in, *kernel), stride, symmetric zero padding;
  ConvTranspose: the adjoint, weight (in, out, *kernel), output (n-1)*s - 2p + k.
- Max/Avg pooling (valid, stride = pool size, avg counts the padding: none here), global
  pooling over every spatial axis; layouts NCW/NCHW/NCDHW and NWC/NHWC/NDHWC.
- BatchNorm (axis 1, eps 1e-5): inference (y - running_mean) / sqrt(running_var + eps);
  training with the batch's mean and biased variance, the running statistics then moved as
  running = momentum * running + (1 - momentum) * batch (momentum 0.9; MXNet 1.9.1 moves
  them in the backward pass of a recorded training forward, see `moved_statistics`).
- InstanceNorm (axis 1): per sample and channel over the spatial axes; gamma is used even
  with scale=False (Gluon passes it, initialized to ones, with grad_req='null').
- LayerNorm (axis -1), Embedding (rows of the weight at the integer indices).
- rnn.RNN (activation relu, Gluon's default), LSTM (gates i, f, g, o in the rows of
  i2h/h2h), GRU (r, z, n: n = tanh(i2h_n + r * h2h_n), the h2h bias inside the product,
  h = (1 - z) * n + z * h_prev); zero initial states; layouts TNC and NTC; bidirectional
  outputs [forward, backward] on the feature axis; layer l reads layer l-1's outputs.
- Activation/Lambda (relu, tanh, sigmoid, softrelu, softsign), Flatten, Dropout at inference
  (identity).
"""

import numpy as np

EPS = 1e-5
MOMENTUM = 0.9


class NotPredicted(Exception):
    """The reference does not define this case (a parameter whose shape contradicts the
    input, which MXNet's BatchNorm runs on anyway; Dropout in training, which is random)."""


# -- elementwise ----------------------------------------------------------------------------
def activation(x, name):
    if name is None:
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return sigmoid(x)
    if name == "softrelu":
        return np.logaddexp(0.0, x)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    raise NotPredicted("activation %r" % name)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # no overflow for large |x|


# -- basic layers ---------------------------------------------------------------------------
def dense(x, weight, bias=None, flatten=True, act=None):
    if flatten:
        x = x.reshape(x.shape[0], -1)
    _expect(weight.shape[1] == x.shape[-1], "Dense weight %s on input %s", weight.shape, x.shape)
    y = x @ weight.T
    if bias is not None:
        y = y + bias
    return activation(y, act)


def embedding(indices, weight):
    idx = np.asarray(indices).astype(np.int64)
    _expect(idx.min(initial=0) >= 0 and idx.max(initial=0) < weight.shape[0],
            "Embedding indices beyond %d rows", weight.shape[0])
    return weight[idx]


def flatten(x):
    return x.reshape(x.shape[0], -1)


# -- convolutions and pooling ---------------------------------------------------------------
def _pad(x, padding, dims):
    if not padding:
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * dims)


def conv(x, weight, bias=None, stride=1, padding=0, act=None):
    """Cross-correlation of (N, C, *spatial) with weight (out, C, *kernel)."""
    dims = x.ndim - 2
    _expect(weight.shape[1] == x.shape[1], "conv weight %s on input %s", weight.shape, x.shape)
    x = _pad(x, padding, dims)
    kernel = weight.shape[2:]
    out_sizes = [(n - k) // stride + 1 for n, k in zip(x.shape[2:], kernel)]
    y = np.zeros((x.shape[0], weight.shape[0]) + tuple(out_sizes))
    for offset in np.ndindex(*kernel):
        window = (slice(None), slice(None)) + tuple(
            slice(o, o + stride * (m - 1) + 1, stride) for o, m in zip(offset, out_sizes))
        w = weight[(slice(None), slice(None)) + offset]            # (out, C)
        y += np.moveaxis(np.tensordot(x[window], w, axes=([1], [1])), -1, 1)
    if bias is not None:
        y += bias.reshape((1, -1) + (1,) * dims)
    return activation(y, act)


def conv_transpose(x, weight, bias=None, stride=1, padding=0, act=None):
    """The adjoint of `conv`: weight (C, out, *kernel); output (n-1)*s - 2p + k."""
    dims = x.ndim - 2
    _expect(weight.shape[0] == x.shape[1], "transposed conv weight %s on input %s",
            weight.shape, x.shape)
    kernel = weight.shape[2:]
    full = [(n - 1) * stride + k for n, k in zip(x.shape[2:], kernel)]
    y = np.zeros((x.shape[0], weight.shape[1]) + tuple(full))
    for offset in np.ndindex(*kernel):
        window = (slice(None), slice(None)) + tuple(
            slice(o, o + stride * (n - 1) + 1, stride) for o, n in zip(offset, x.shape[2:]))
        w = weight[(slice(None), slice(None)) + offset]            # (C, out)
        y[window] += np.moveaxis(np.tensordot(x, w, axes=([1], [0])), -1, 1)
    if padding:
        y = y[(slice(None), slice(None)) + tuple(slice(padding, n - padding) for n in full)]
    if bias is not None:
        y = y + bias.reshape((1, -1) + (1,) * dims)
    return activation(y, act)


def channels_first(x, layout):
    """(N, *spatial, C) -> (N, C, *spatial) for a channels-last layout ('NHWC')."""
    return np.moveaxis(x, -1, 1) if layout and layout[-1] == "C" else x


def channels_back(x, layout):
    return np.moveaxis(x, 1, -1) if layout and layout[-1] == "C" else x


def pool(x, kind, size=2, global_pool=False, layout=None):
    x = channels_first(x, layout)
    dims = x.ndim - 2
    reduce = np.max if kind == "max" else np.mean
    if global_pool:
        y = reduce(x, axis=tuple(range(2, x.ndim)), keepdims=True)
        return channels_back(y, layout)
    out_sizes = [(n - size) // size + 1 for n in x.shape[2:]]
    cut = x[(slice(None), slice(None)) + tuple(slice(0, m * size) for m in out_sizes)]
    shape = list(cut.shape[:2])
    for m in out_sizes:
        shape += [m, size]
    blocks = cut.reshape(shape)
    y = reduce(blocks, axis=tuple(3 + 2 * i for i in range(dims)))
    return channels_back(y, layout)


# -- normalization --------------------------------------------------------------------------
def _channel_shape(x, axis):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return shape


def batch_norm(x, gamma, beta, running_mean, running_var, training=False, noise=None):
    """(output, (batch mean, batch biased variance) or None)."""
    c = x.shape[1]
    for p in (gamma, beta, running_mean, running_var):
        _expect(p.shape == (c,), "BatchNorm parameter %s on input %s", p.shape, x.shape)
    shape = _channel_shape(x, 1)
    if training:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        mean, var = _statistics(x, axes, noise)
        _conditioned(x, var)
    else:
        mean, var = running_mean, running_var
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + EPS)
    y = y * gamma.reshape(shape) + beta.reshape(shape)
    return y, ((mean, var) if training else None)


def moved_statistics(running_mean, running_var, batch_mean, batch_var, momentum=MOMENTUM):
    """BatchNorm's running statistics after one training step."""
    return (momentum * running_mean + (1 - momentum) * batch_mean,
            momentum * running_var + (1 - momentum) * batch_var)


def instance_norm(x, gamma, beta, noise=None):
    c = x.shape[1]
    _expect(gamma.shape == (c,) and beta.shape == (c,), "InstanceNorm parameters %s on input %s",
            gamma.shape, x.shape)
    axes = tuple(range(2, x.ndim))
    shape = _channel_shape(x, 1)
    _conditioned(x, x.var(axis=axes))
    mean, var = _statistics(x, axes, noise, keepdims=True)
    y = (x - mean) / np.sqrt(var + EPS)
    return y * gamma.reshape(shape) + beta.reshape(shape)


def layer_norm(x, gamma, beta, noise=None):
    c = x.shape[-1]
    _expect(gamma.shape == (c,) and beta.shape == (c,), "LayerNorm parameters %s on input %s",
            gamma.shape, x.shape)
    _conditioned(x, x.var(axis=-1))
    mean, var = _statistics(x, -1, noise, keepdims=True)
    y = (x - mean) / np.sqrt(var + EPS)
    return y * gamma + beta


def _statistics(x, axes, noise=None, keepdims=False):
    """(mean, biased variance) over `axes`; with `noise` (see `net`), each as float32
    computes it: rounded once and then shared by every value it normalizes.

    Why a shared error: `net`'s noise perturbs each value on its own, and a following
    sum (a Dense or a gate whose weights are equal) averages independent errors away.
    A statistic's rounding does not average away: a mean off by d shifts every
    normalized value of its row by d / sqrt(var + eps), in the same direction.  Where the
    normalized values cancel in the sum (LayerNorm's outputs sum to zero; equal weights
    add them), the exact result is ~0 and that shift, times the sum of the weights, is all
    that float32 produces (observed on MXNet 1.9.1: 2.7e-4 where the exact value is
    -5e-13).  So the mean moves by ROUNDING * mean(|x|) and the variance by
    ROUNDING * mean(x^2) (the rounding of the sums that compute them, a one-pass
    variance's included), each with one random sign per statistic: the same size of
    error float32 makes, but correlated as float32 makes it."""
    mean = x.mean(axis=axes, keepdims=keepdims)
    var = x.var(axis=axes, keepdims=keepdims)
    if noise is not None:
        size = np.abs(x).mean(axis=axes, keepdims=keepdims)
        square = (x * x).mean(axis=axes, keepdims=keepdims)
        mean = mean + ROUNDING * size * noise.choice([-1.0, 1.0], size=np.shape(mean))
        var = np.maximum(var + ROUNDING * square * noise.choice([-1.0, 1.0], size=np.shape(var)),
                         0.0)
    return mean, var


# float32's unit roundoff, and the largest relative effect of rounding the values a
# normalization divides by sqrt(var + eps) that the reference still predicts
ULP = 2.0 ** -23
ILL_CONDITIONED = 1e-5


def _conditioned(x, var):
    """Normalizing values whose spread is below float32's rounding of them (equal units
    from constant weights, large values) leaves only rounding noise, amplified by
    1/sqrt(var + eps): each implementation's own (MXNet's one-pass variance differs from
    a two-pass one), so no reference predicts it."""
    if x.size and ULP * float(np.max(np.abs(x))) / np.sqrt(float(np.min(var)) + EPS) \
            > ILL_CONDITIONED:
        raise NotPredicted("normalization of values equal within float32 rounding")


# -- recurrent ------------------------------------------------------------------------------
def _cell(mode, x_t, h, c, wi, wh, bi, bh, noise=None):
    """One step of one direction: (h, c); `noise`: rounding of every gate (see `net`:
    1 - z of a saturated gate loses most of its float32 digits)."""
    def r_(v):
        return v if noise is None else v * (1.0 + ROUNDING * noise.uniform(-1, 1, v.shape))
    gi = x_t @ wi.T + bi
    gh = h @ wh.T + bh
    if mode == "rnn":
        return np.maximum(gi + gh, 0.0), c
    if mode == "lstm":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = r_(r_(sigmoid(f)) * c + r_(sigmoid(i)) * r_(np.tanh(g)))
        return r_(sigmoid(o)) * r_(np.tanh(c)), c
    if mode == "gru":
        ir, iz, in_ = np.split(gi, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = r_(sigmoid(ir + hr)), r_(sigmoid(iz + hz))
        n = r_(np.tanh(in_ + r * hn))
        return (r_(1 - z)) * n + z * h, c
    raise NotPredicted("recurrent mode %r" % mode)


def recurrent(x, params, mode, hidden, num_layers=1, bidirectional=False, layout="TNC",
              noise=None):
    """Gluon's fused rnn.RNN/LSTM/GRU with zero initial states; `params` by Gluon's
    attribute names (l0_i2h_weight, r0_h2h_bias, ...)."""
    seq = x if layout == "TNC" else np.swapaxes(x, 0, 1)        # (T, N, C)
    steps, batch = seq.shape[:2]
    directions = ["l", "r"] if bidirectional else ["l"]
    for layer in range(num_layers):
        outs = []
        for d in directions:
            p = {k: params["%s%d_%s" % (d, layer, k)] for k in
                 ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")}
            _expect(p["i2h_weight"].shape[1] == seq.shape[-1],
                    "%s i2h weight %s on input %s", mode, p["i2h_weight"].shape, seq.shape)
            h = np.zeros((batch, hidden))
            c = np.zeros((batch, hidden))
            order = range(steps) if d == "l" else range(steps - 1, -1, -1)
            out = np.zeros((steps, batch, hidden))
            for t in order:
                h, c = _cell(mode, seq[t], h, c, p["i2h_weight"], p["h2h_weight"],
                             p["i2h_bias"], p["h2h_bias"], noise)
                out[t] = h
            outs.append(out)
        seq = np.concatenate(outs, axis=-1)
    return seq if layout == "TNC" else np.swapaxes(seq, 0, 1)


# -- a leaf of an architecture, a net -------------------------------------------------------
def layer(node, params, x, training=False, noise=None):
    """(output, BatchNorm batch statistics or None) of one arch leaf."""
    kind = type(node).__name__
    if kind == "Dense":
        return dense(x, params["weight"], params.get("bias"), node.flatten, node.activation), None
    if kind == "Conv":
        fn = conv_transpose if node.transpose else conv
        return fn(x, params["weight"], params.get("bias"), node.strides, node.padding,
                  node.activation), None
    if kind == "Pool":
        return pool(x, node.kind, node.size, node.global_pool, getattr(node, "layout", None)), None
    if kind == "Norm":
        if node.kind == "batch":
            return batch_norm(x, params["gamma"], params["beta"], params["running_mean"],
                              params["running_var"], training, noise)
        if node.kind == "instance":
            return instance_norm(x, params["gamma"], params["beta"], noise), None
        return layer_norm(x, params["gamma"], params["beta"], noise), None
    if kind == "Embedding":
        return embedding(x, params["weight"]), None
    if kind == "Recurrent":
        return recurrent(x, params, node.mode, node.hidden, node.num_layers, node.bidirectional,
                         getattr(node, "layout", "TNC"), noise), None
    if kind == "Activation":
        return activation(x, node.activation), None
    if kind == "Lambda":
        return activation(x, node.function), None
    if kind == "Dropout":
        if training and node.rate:
            raise NotPredicted("Dropout in training is random")
        return x, None
    if kind == "Flatten":
        return flatten(x), None
    raise NotPredicted("no reference for %s" % kind)


def net(leaves, x, training=False, noise=None):
    """(output, statistics): the leaves [(node, params)] in forward order on `x`;
    `statistics` lists (leaf position, batch mean, batch variance) of each BatchNorm
    in a training pass.  `noise` (a numpy RandomState): every leaf's output is perturbed
    by a relative ROUNDING, as float32 rounds it (see `reference`)."""
    y = np.asarray(x, dtype=np.float64)
    stats = []
    for i, (node, params) in enumerate(leaves):
        params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        y, batch = layer(node, params, y, training, noise)
        if batch is not None:
            stats.append((i, batch[0], batch[1]))
        if noise is not None:
            y = y * (1.0 + ROUNDING * noise.uniform(-1.0, 1.0, size=y.shape))
    return y, stats


# Four float32 units in the last place: the relative error each block's output carries.
ROUNDING = 4.8e-7


def reference(leaves, x, training=False, runs=3):
    """(output, statistics, slack): `net`'s exact result, and how far float32 rounding
    can move it here: SLACK_FACTOR times the largest change `runs` perturbed evaluations
    show (statistics: (position, mean, variance, slack of both)).  Well-conditioned nets
    get a slack near 1e-6; saturated gates (1 - z of a GRU) and large weights after a
    normalization get the slack they need; a normalization of values equal within
    float32 rounding is not predicted at all (`_conditioned`)."""
    y, stats = net(leaves, x, training)
    rng = np.random.RandomState(0)
    slack, stat_slack = 0.0, [0.0] * len(stats)
    for _ in range(runs):
        noisy, noisy_stats = net(leaves, x, training, noise=rng)
        slack = max(slack, float(np.max(np.abs(noisy - y), initial=0.0)))
        for k, ((_, m, v), (_, nm, nv)) in enumerate(zip(stats, noisy_stats)):
            stat_slack[k] = max(stat_slack[k], float(np.max(np.abs(nm - m), initial=0.0)),
                                float(np.max(np.abs(nv - v), initial=0.0)))
    stats = [(i, m, v, SLACK_FACTOR * e) for (i, m, v), e in zip(stats, stat_slack)]
    return y, stats, SLACK_FACTOR * slack


SLACK_FACTOR = 8.0


def close(got, want, rtol=1e-4, atol=1e-5, slack=0.0):
    """float32 agreement: |got - want| <= atol * scale + rtol * |want| + slack, the
    absolute part scaled by the output's magnitude (a float32 result carries ~1e-7 of
    its largest terms, not of each element); `slack` from `reference`."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    if want.size == 0:
        return True
    scale = max(1.0, float(np.max(np.abs(want))))
    return bool(np.all(np.abs(got - want) <= atol * scale + rtol * np.abs(want) + slack))


def _expect(ok, text, *args):
    if not ok:
        raise NotPredicted(text % args)
