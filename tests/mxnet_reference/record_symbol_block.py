"""Record exported MXNet graphs and what MXNet 1.9.1 computes with them, for
``tests/test_symbol_block.py`` (``gluon.SymbolBlock``, the symbol interpreter).

Run in the MXNet side environment, from the repository root:
    /root/.cache/mxnet-1.9.1/bin/python tests/mxnet_reference/record_symbol_block.py

Each case is a graph: either built with ``mx.sym`` to exercise one operator's
attributes, or a small Gluon net (LeNet, a residual block, NiN, recurrent layers, an
LSTM language model) hybridized and exported with ``net.export``, its JSON read back.
MXNet's own ``gluon.SymbolBlock`` runs the graph with seeded random parameters and
records, per case: the JSON text and input names (``symbol_block.json``); the
parameters, inputs, inference outputs, training-mode outputs (``autograd.record()``:
BatchNorm's batch statistics) and
the auxiliary states after that training step (forward and backward)
(``symbol_block.npz``). One small
exported pair is also kept as MXNet wrote it (``symbol_block_lenet-*``).
"""

import json
import os
import shutil
import tempfile

import mxnet as mx
import numpy as np
from mxnet import gluon, nd
from mxnet.gluon import nn, rnn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sym = mx.sym
RNG = np.random.RandomState(0)


def data(shape, low=-1.0, high=1.0):
    # multiples of 1/256: exact in float32, and the file compresses
    return (np.round(RNG.uniform(low, high, size=shape) * 256) / 256).astype("float32")


# -- operator graphs ---------------------------------------------------------------------
def x_var(name="data"):
    return sym.var(name)


def op_cases():
    """(name, symbol, {input: array}, train?) for each operator and attribute set."""
    d = x_var()
    cases = []

    def add(name, out, inputs, train=False):
        cases.append((name, out, inputs, train))

    img = {"data": data((2, 4, 7, 6))}
    add("conv2d_pad_stride", sym.Convolution(d, kernel=(3, 3), num_filter=5, pad=(1, 1),
                                             stride=(2, 2), name="c"), img)
    add("conv2d_same", sym.Convolution(d, kernel=(3, 3), num_filter=3, pad=(1, 1),
                                       name="c"), img)
    add("conv2d_groups_nobias", sym.Convolution(d, kernel=(3, 2), num_filter=6, num_group=2,
                                                no_bias=True, name="c"), img)
    add("conv2d_dilate_stride", sym.Convolution(d, kernel=(3, 3), num_filter=2, dilate=(2, 2),
                                                stride=(2, 1), pad=(2, 1), name="c"), img)
    add("conv2d_depthwise", sym.Convolution(d, kernel=(3, 3), num_filter=4, num_group=4,
                                            pad=(1, 1), stride=(2, 2), name="c"), img)
    add("conv1d", sym.Convolution(d, kernel=(3,), num_filter=3, pad=(1,), stride=(2,),
                                  name="c"), {"data": data((2, 3, 9))})
    add("conv3d", sym.Convolution(d, kernel=(2, 2, 2), num_filter=2, pad=(1, 0, 1),
                                  name="c"), {"data": data((1, 2, 4, 3, 4))})
    add("deconv2d", sym.Deconvolution(d, kernel=(3, 3), num_filter=3, stride=(2, 2),
                                      pad=(1, 1), adj=(1, 1), no_bias=False, name="dc"), img)
    add("deconv2d_groups", sym.Deconvolution(d, kernel=(2, 2), num_filter=4, num_group=2,
                                             stride=(1, 1), name="dc"), img)
    add("fc_flatten", sym.FullyConnected(d, num_hidden=5, name="fc"), img)
    add("fc_no_flatten", sym.FullyConnected(d, num_hidden=3, flatten=False, no_bias=True,
                                            name="fc"), {"data": data((2, 3, 4))})
    add("batchnorm", sym.BatchNorm(d, fix_gamma=False, eps=1e-5, momentum=0.8, name="bn"),
        img, train=True)
    add("batchnorm_fix_gamma", sym.BatchNorm(d, name="bn"), img, train=True)
    add("batchnorm_axis_last", sym.BatchNorm(d, axis=-1, fix_gamma=False, name="bn"),
        {"data": data((3, 5, 4))}, train=True)
    add("batchnorm_global_stats", sym.BatchNorm(d, use_global_stats=True, fix_gamma=False,
                                                name="bn"), img, train=True)
    for act in ("relu", "sigmoid", "tanh", "softrelu", "softsign"):
        add("activation_" + act, sym.Activation(d, act_type=act), img)
    for act in ("leaky", "elu", "selu", "gelu"):
        add("leakyrelu_" + act, sym.LeakyReLU(d, act_type=act, slope=0.3), img)
    add("leakyrelu_prelu", sym.LeakyReLU(d, act_type="prelu", name="pr"), img)
    for pool in ("max", "avg", "sum"):
        add("pool_%s" % pool, sym.Pooling(d, kernel=(3, 2), stride=(2, 2), pad=(1, 1),
                                           pool_type=pool), img)
        add("pool_%s_full" % pool, sym.Pooling(d, kernel=(3, 3), stride=(2, 2),
                                                pool_type=pool, pooling_convention="full"),
            img)
        add("pool_%s_global" % pool, sym.Pooling(d, kernel=(1, 1), global_pool=True,
                                                  pool_type=pool), img)
    add("pool_avg_exclude_pad", sym.Pooling(d, kernel=(3, 3), stride=(1, 1), pad=(1, 1),
                                            pool_type="avg", count_include_pad=False), img)
    add("pool1d_max", sym.Pooling(d, kernel=(2,), stride=(2,), pool_type="max"),
        {"data": data((2, 3, 9))})
    add("flatten", sym.Flatten(d), img)
    add("dropout_inference", sym.Dropout(d, p=0.5), img)
    for codes, reverse in (((0, -1), False), ((-2,), False), ((0, -3, 0), False),
                           ((-4, 1, 2, -2), False), ((0, 0, -1), True), ((-1, 6), False)):
        add("reshape_%s%s" % ("_".join(str(c) for c in codes).replace("-", "m"),
                              "_rev" if reverse else ""),
            sym.Reshape(d, shape=codes, reverse=reverse), img)
    add("transpose", sym.transpose(d, axes=(0, 2, 3, 1)), img)
    add("transpose_default", sym.transpose(d), img)
    add("swapaxis", sym.SwapAxis(d, dim1=1, dim2=3), img)
    add("expand_dims", sym.expand_dims(d, axis=2), img)
    add("squeeze", sym.squeeze(d, axis=1), {"data": data((2, 1, 3))})
    add("softmax", sym.softmax(d, axis=1), img)
    add("softmax_temperature", sym.softmax(d, temperature=2.0), img)
    add("log_softmax", sym.log_softmax(d, axis=-1), img)
    add("softmax_activation", sym.SoftmaxActivation(d), {"data": data((3, 5))})
    add("softmax_activation_channel", sym.SoftmaxActivation(d, mode="channel"), img)
    add("clip", sym.clip(d, a_min=-0.3, a_max=0.5), img)
    add("slice", sym.slice(d, begin=(None, 1, 0), end=(None, 3, -1)), img)
    add("slice_step", sym.slice(d, begin=(0, None, 5), end=(2, None, 0), step=(1, 2, -2)),
        img)
    add("slice_axis", sym.slice_axis(d, axis=2, begin=1, end=-1), img)
    add("slice_axis_none", sym.slice_axis(d, axis=-1, begin=2, end=None), img)
    add("slicechannel", sym.Group(list(sym.SliceChannel(d, num_outputs=2, axis=1))), img)
    add("split_squeeze", sym.Group(list(sym.split(d, num_outputs=4, axis=1,
                                                  squeeze_axis=True))), img)
    add("take", sym.take(d, sym.var("idx"), axis=1),
        {"data": data((2, 4, 3)), "idx": np.array([[0, 3], [2, 2]], "float32")})
    add("embedding", sym.Embedding(d, input_dim=7, output_dim=3, name="emb"),
        {"data": np.array([[0, 6, 2], [3, 3, 1]], "float32")})
    e = sym.var("other")
    two = {"data": data((2, 3, 4)), "other": data((2, 3, 4))}
    bc = {"data": data((2, 3, 4)), "other": data((1, 3, 1))}
    add("elemwise_add", sym.elemwise_add(d, e), two)
    add("elemwise_sub", sym.elemwise_sub(d, e), two)
    add("elemwise_mul", sym.elemwise_mul(d, e), two)
    add("elemwise_div", sym.elemwise_div(d, e + 2.0), two)
    add("plus_operator", d + e, two)
    add("add_n", sym.add_n(d, e, d), two)
    add("concat", sym.Concat(d, e, dim=1), two)
    add("concat_last", sym.concat(d, e, dim=-1), two)
    for op in ("broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
               "broadcast_maximum", "broadcast_minimum"):
        add(op, getattr(sym, op)(d, e), bc)
    add("scalar_ops", ((((d + 1.5) * 2.0 - 0.5) / 4.0).__rsub__(1.0) ** 2.0), img)
    add("scalar_rdiv_max", sym.maximum(3.0 / (sym.abs(d) + 1.0), 2.0), img)
    add("mean_axis", sym.mean(d, axis=(1, 3)), img)
    add("sum_keepdims", sym.sum(d, axis=1, keepdims=True), img)
    add("max_exclude", sym.max(d, axis=1, exclude=True), img)
    add("sum_all", sym.sum(d), img)
    add("dot", sym.dot(d, e, transpose_b=True), {"data": data((3, 4)), "other": data((5, 4))})
    add("batch_dot", sym.batch_dot(d, e, transpose_a=True),
        {"data": data((2, 4, 3)), "other": data((2, 4, 5))})
    add("zeros_ones_like", sym.zeros_like(d) + sym.ones_like(d) * 2.0, img)
    add("unary", sym.exp(d) + sym.log(sym.abs(d) + 1.0) + sym.sqrt(sym.abs(d))
        + sym.relu(d) + sym.sigmoid(d) + sym.tanh(d), img)
    add("copy_blockgrad_cast", sym.Cast(sym.BlockGrad(sym.identity(d)) * 3.0, dtype="float32"),
        img)
    add("lrn", sym.LRN(d, nsize=3, alpha=0.01, beta=0.7, knorm=1.5), img)
    # the rest of what Gluon's layers and d2l's chapters export
    seq = {"data": data((5, 3, 2)), "len": np.array([2, 5, 1], "float32")}
    add("layernorm", sym.LayerNorm(d, axis=1, eps=1e-4, name="ln"), img, train=True)
    add("instancenorm", sym.InstanceNorm(d, eps=1e-4, name="inorm"), img)
    add("groupnorm", sym.GroupNorm(d, num_groups=2, name="gn"), img)
    add("pad_constant", sym.Pad(d, mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 2, 1),
                                constant_value=0.5), img)
    add("pad_edge", sym.Pad(d, mode="edge", pad_width=(0, 0, 0, 0, 1, 1, 0, 2)), img)
    add("pad_reflect", sym.Pad(d, mode="reflect", pad_width=(0, 0, 0, 0, 2, 1, 1, 1)), img)
    add("upsampling", sym.UpSampling(d, scale=2, sample_type="nearest", num_args=1), img)
    add("comparisons", sym.broadcast_greater(d, e) + (d > 0.1) + (d <= -0.2)
        + sym.broadcast_equal(d, d) + sym.broadcast_not_equal(d, e), bc)
    add("where", sym.where(d > 0, d, e), two)
    add("mod", sym.broadcast_mod(d, sym.abs(e) + 0.5) + (d % 0.3), bc)
    add("stack", sym.stack(d, e, axis=1), two)
    add("tile_repeat_reverse", sym.reverse(sym.repeat(sym.tile(d, reps=(1, 2)), repeats=2,
                                                      axis=0), axis=1),
        {"data": two["data"]})
    add("broadcast_to_axis", sym.broadcast_axis(sym.broadcast_to(e, shape=(1, 0, 4)),
                                                axis=0, size=2),
        {"other": bc["other"]})
    add("broadcast_like", sym.broadcast_like(e, d), bc)
    add("reshape_like_slice_like", sym.slice_like(sym.reshape_like(d, e), d, axes=(1,)), two)
    add("one_hot", sym.one_hot(d, depth=5, on_value=2.0, off_value=-1.0),
        {"data": np.array([[0, 4, 2], [1, 1, 3]], "float32")})
    add("pick", sym.pick(d, sym.var("idx"), axis=1),
        {"data": data((3, 4)), "idx": np.array([0, 3, 2], "float32")})
    add("argmax_argmin", sym.Group([sym.argmax(d, axis=1), sym.argmin(d, axis=2, keepdims=True)]),
        img)
    add("norm", sym.norm(d, axis=1), img)
    add("l2normalization", sym.L2Normalization(d, mode="channel"), img)
    add("sequence_mask", sym.SequenceMask(d, sym.var("len"), use_sequence_length=True,
                                          value=-1.0), seq)
    add("sequence_last", sym.SequenceLast(d, sym.var("len"), use_sequence_length=True), seq)
    add("sequence_reverse", sym.SequenceReverse(d, sym.var("len"), use_sequence_length=True),
        seq)
    add("hard_sigmoid_smooth_l1_softmin", sym.hard_sigmoid(d) + sym.smooth_l1(d, scalar=2.0)
        + sym.softmin(d, axis=1), img)
    add("topk_sort", sym.Group([sym.topk(d, k=2, axis=1, ret_typ="value"),
                                sym.sort(d, axis=-1, is_ascend=False),
                                sym.argsort(d, axis=2)]), img)
    add("gemm2", sym.linalg.gemm2(d, e, transpose_b=True, alpha=0.5),
        {"data": data((2, 3, 4)), "other": data((2, 5, 4))})
    add("more_unary", sym.log10(sym.abs(d) + 1) + sym.log1p(sym.abs(d)) + sym.expm1(d)
        + sym.cbrt(d) + sym.sign(d) + sym.round(d * 3) + sym.trunc(d * 3) + sym.arctan(d)
        + sym.sinh(d) + sym.cosh(d) + sym.degrees(d) + sym.gammaln(sym.abs(d) + 1), img)
    # layout changes mid-graph: conv -> reshape -> conv, concat of conv and input
    c1 = sym.Activation(sym.Convolution(d, kernel=(1, 1), num_filter=4, name="c1"), "relu")
    mixed = sym.Concat(c1, d, dim=1)
    mixed = sym.BatchNorm(mixed, fix_gamma=False, name="bn")
    mixed = sym.Pooling(mixed, kernel=(2, 2), stride=(2, 2), pool_type="avg")
    mixed = sym.FullyConnected(mixed, num_hidden=3, name="fc")
    add("layout_mix", mixed, img, train=True)
    return cases


# -- Gluon nets, exported --------------------------------------------------------------------
class Residual(nn.HybridBlock):
    """d2l's residual block (chapter 7.6) with a 1x1 convolution shortcut."""

    def __init__(self, channels, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = nn.Conv2D(channels, 3, padding=1, strides=strides)
        self.conv2 = nn.Conv2D(channels, 3, padding=1)
        self.conv3 = nn.Conv2D(channels, 1, strides=strides)
        self.bn1 = nn.BatchNorm()
        self.bn2 = nn.BatchNorm()

    def hybrid_forward(self, F, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        return F.relu(Y + self.conv3(X))


class LanguageModel(nn.HybridBlock):
    """An LSTM language model: embedding, 2-layer LSTM, dense decoder (flatten=False)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = nn.Embedding(11, 6)
        self.rnn = rnn.LSTM(5, num_layers=2, layout="NTC")
        self.decoder = nn.Dense(11, flatten=False)

    def hybrid_forward(self, F, x):
        return self.decoder(self.rnn(self.embedding(x)))


class Wrapped(nn.HybridBlock):
    """A recurrent layer called without states: Gluon makes its zero begin states
    inside the graph (``_zeros`` with the batch dim left 0)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def hybrid_forward(self, F, x):
        return self.layer(x)


class StatefulRNN(nn.HybridBlock):
    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def hybrid_forward(self, F, x, h):
        out, state = self.layer(x, [h])
        return out, state[0]


def net_cases():
    """(name, build(), inputs (list of arrays), input names, train?)"""
    def lenet():
        net = nn.HybridSequential()
        net.add(nn.Conv2D(4, kernel_size=5, padding=2, activation="sigmoid"),
                nn.AvgPool2D(pool_size=2, strides=2),
                nn.Conv2D(8, kernel_size=5, activation="sigmoid"),
                nn.AvgPool2D(pool_size=2, strides=2),
                nn.Dense(24, activation="sigmoid"), nn.Dense(12, activation="sigmoid"),
                nn.Dense(10))
        return net

    def lenet_bn():
        net = nn.HybridSequential()
        net.add(nn.Conv2D(4, kernel_size=5), nn.BatchNorm(), nn.Activation("sigmoid"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Conv2D(6, kernel_size=3), nn.BatchNorm(), nn.Activation("relu"),
                nn.GlobalAvgPool2D(), nn.Dense(10))
        return net

    def residual():
        net = nn.HybridSequential()
        net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(3, 2, 1), Residual(6, strides=2), Residual(6),
                nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(5))
        return net

    def nin():
        def block(channels, kernel, strides, padding):
            b = nn.HybridSequential()
            b.add(nn.Conv2D(channels, kernel, strides, padding, activation="relu"),
                  nn.Conv2D(channels, 1, activation="relu"),
                  nn.Conv2D(channels, 1, activation="relu"))
            return b
        net = nn.HybridSequential()
        net.add(block(6, 5, 2, 0), nn.MaxPool2D(3, 2), block(8, 3, 1, 1),
                nn.MaxPool2D(3, 2, ceil_mode=True), nn.Dropout(0.5), block(5, 3, 1, 1),
                nn.GlobalAvgPool2D(), nn.Flatten())
        return net

    def lm():
        return LanguageModel()

    def gru_bi():
        return Wrapped(rnn.GRU(4, num_layers=2, bidirectional=True, input_size=3))

    def rnn_relu_states():
        return StatefulRNN(rnn.RNN(4, activation="relu", input_size=3))

    def rnn_tanh():
        return Wrapped(rnn.RNN(3, num_layers=2, activation="tanh", layout="NTC"))

    def lstm_bi():
        return Wrapped(rnn.LSTM(3, bidirectional=True))

    tokens = RNG.randint(0, 11, size=(2, 5)).astype("float32")
    return [
        ("net_lenet", lenet, [data((1, 1, 28, 28))], ["data"], False),
        ("net_lenet_bn", lenet_bn, [data((4, 1, 12, 12))], ["data"], True),
        ("net_residual", residual, [data((2, 3, 16, 16))], ["data"], True),
        ("net_nin", nin, [data((1, 3, 24, 24))], ["data"], False),
        ("net_lstm_lm", lm, [tokens], ["data"], False),
        ("net_gru_bidirectional", gru_bi, [data((4, 2, 3))], ["data"], False),
        ("net_rnn_relu_states", rnn_relu_states, [data((4, 2, 3)), data((1, 2, 4))],
         ["data0", "data1"], False),
        ("net_rnn_tanh_ntc", rnn_tanh, [data((2, 4, 5))], ["data"], False),
        ("net_lstm_bidirectional", lstm_bi, [data((3, 2, 4))], ["data"], False),
    ]


# -- recording -------------------------------------------------------------------------------
def random_params(out, input_shapes):
    arg_shapes, _, aux_shapes = out.infer_shape(**input_shapes)
    args, aux = {}, {}
    for name, shape in zip(out.list_arguments(), arg_shapes):
        if name not in input_shapes:
            args[name] = data(shape, -0.8, 0.8)
    for name, shape in zip(out.list_auxiliary_states(), aux_shapes):
        args_like = data(shape, 0.5, 1.5) if name.endswith("var") else data(shape, -0.5, 0.5)
        aux[name] = args_like
    return args, aux


def run(out, inputs, args, aux, is_train):
    """MXNet's outputs of ``gluon.SymbolBlock(out, inputs)`` holding ``args``/``aux``;
    in training (``autograd.record()``) also one backward pass, because MXNet 1.9.1's
    CPU BatchNorm moves its moving statistics there (keras_defer moves them in the
    training forward: docs/divergences.md, row 9), and the auxiliary states after."""
    block = gluon.SymbolBlock(out, [sym.var(n) for n in inputs])
    path = os.path.join(tempfile.mkdtemp(), "p.params")
    nd.save(path, {k: nd.array(v) for k, v in {**args, **aux}.items()})
    block.collect_params().load(path, mx.cpu())
    shutil.rmtree(os.path.dirname(path))
    xs = [nd.array(v) for v in inputs.values()]
    if is_train:
        with mx.autograd.record():
            outs = block(*xs)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        mx.autograd.backward(list(outs), [nd.ones_like(o) for o in outs])
    else:
        outs = block(*xs)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
    params = block.collect_params()
    after = {k: params[k].data().asnumpy() for k in aux}
    after.update({k: params[k].data().asnumpy() for k in args if k.endswith("gamma")})
    return [o.asnumpy() for o in outs], after


def record_case(name, out, inputs, input_names, args, aux, train, entries, arrays):
    infer, _ = run(out, inputs, args, aux, False)
    entry = {"json": out.tojson(), "inputs": input_names,
             "arguments": out.list_arguments(), "aux": out.list_auxiliary_states(),
             "num_outputs": len(infer), "train": bool(train),
             "param_shapes": {k: list(v.shape) for k, v in {**args, **aux}.items()}}
    for i, n in enumerate(input_names):
        arrays["%s/input/%d" % (name, i)] = inputs[n]
    for k, v in {**args, **aux}.items():
        arrays["%s/param/%s" % (name, k)] = v
    for i, o in enumerate(infer):
        arrays["%s/infer/%d" % (name, i)] = o
    if train:
        outs, aux_after = run(out, inputs, args, aux, True)
        for i, o in enumerate(outs):
            arrays["%s/train/%d" % (name, i)] = o
        for k, v in aux_after.items():
            arrays["%s/aux_after/%s" % (name, k)] = v
    entries[name] = entry


def main():
    entries, arrays = {}, {}
    for name, out, inputs, train in op_cases():
        shapes = {k: v.shape for k, v in inputs.items()}
        try:
            args, aux = random_params(out, shapes)
        except Exception:
            print("case %s failed in MXNet" % name)
            raise
        record_case(name, out, inputs, list(inputs), args, aux, train, entries, arrays)
    tmp = tempfile.mkdtemp()
    try:
        for name, build, xs, input_names, train in net_cases():
            mx.random.seed(0)
            net = build()
            net.initialize(mx.init.Uniform(0.5))
            net.hybridize()
            net(*[nd.array(x) for x in xs])
            prefix = os.path.join(tmp, name)
            net.export(prefix)
            out = sym.load(prefix + "-symbol.json")
            loaded = nd.load(prefix + "-0000.params")
            # rounded to multiples of 1/256, as data() draws: the file compresses
            args = {k[4:]: np.round(v.asnumpy() * 256) / 256 for k, v in loaded.items()
                    if k.startswith("arg:")}
            aux = {k[4:]: v.asnumpy() for k, v in loaded.items() if k.startswith("aux:")}
            for k in aux:  # moving statistics that differ from the initial 0/1
                aux[k] = data(aux[k].shape, 0.5, 1.5) if k.endswith("var") else data(
                    aux[k].shape, -0.5, 0.5)
            inputs = dict(zip(input_names, xs))
            record_case(name, out, inputs, input_names, args, aux, train, entries, arrays)
            if name == "net_lenet":  # keep one exported pair exactly as MXNet wrote it
                block = gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"],
                                                  prefix + "-0000.params")
                arrays["net_lenet/file_infer/0"] = block(nd.array(xs[0])).asnumpy()
                shutil.copy(prefix + "-symbol.json",
                            os.path.join(DATA, "symbol_block_lenet-symbol.json"))
                shutil.copy(prefix + "-0000.params",
                            os.path.join(DATA, "symbol_block_lenet-0000.params"))
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(DATA, "symbol_block.json"), "w") as handle:
        json.dump(entries, handle, sort_keys=True)
    np.savez_compressed(os.path.join(DATA, "symbol_block.npz"), **arrays)
    print("recorded %d cases" % len(entries))


if __name__ == "__main__":
    main()
