"""Symbol graphs and exported nets that MXNet 1.9.1 and keras_defer both build.

Each case is a function of ``mx`` (``mxnet`` under ``record_symbol.py``, ``keras_defer``
in ``tests/test_symbol.py`` / ``tests/test_export.py``): the same source runs on both
sides, so the recorded ``tojson()`` text is what ours must write byte for byte.
"""

# -- symbol graphs (mx.sym) --------------------------------------------------------------


def _mlp(mx):
    x = mx.sym.var("data")
    h = mx.sym.FullyConnected(x, num_hidden=8, name="fc1")
    h = mx.sym.Activation(h, act_type="relu")
    return mx.sym.FullyConnected(h, num_hidden=3)


def _auto_vars(mx):
    x = mx.sym.var("x", shape=(2, 3), lr_mult=2.0)
    return mx.sym.FullyConnected(x, num_hidden=3)


def _arith(mx):
    x, y = mx.sym.var("x"), mx.sym.var("y")
    z = (x + 1) * y - x / 2
    z = 2 - z
    z = 1 / z + x ** 2
    z = -z + (x * y) / y
    z = 3.5 * z
    return z ** y


def _conv_bn(mx):
    x = mx.sym.var("data")
    c = mx.sym.Convolution(x, kernel=(3, 3), num_filter=4, pad=(1, 1))
    b = mx.sym.BatchNorm(c, fix_gamma=False, eps=1e-5)
    r = mx.sym.relu(b)
    p = mx.sym.Pooling(r, kernel=(2, 2), stride=(2, 2), pool_type="max")
    g = mx.sym.Pooling(p, kernel=(1, 1), global_pool=True, pool_type="avg")
    return mx.sym.Flatten(g)


def _shapes(mx):
    x, y = mx.sym.var("x"), mx.sym.var("y")
    a = mx.sym.Reshape(x, shape=(0, -1))
    b = mx.sym.transpose(a, axes=(1, 0))
    c = mx.sym.expand_dims(b, axis=1)
    d = mx.sym.squeeze(c, axis=1)
    e = mx.sym.concat(d, d, dim=1)
    f = mx.sym.Concat(e, y, y, dim=0)
    g = mx.sym.slice(f, begin=(0, 0), end=(2, 2))
    h = mx.sym.slice_axis(g, axis=0, begin=0, end=1)
    i = mx.sym.clip(h, a_min=-1.0, a_max=1.0)
    j = mx.sym.softmax(i, axis=-1)
    k = mx.sym.log_softmax(j)
    return mx.sym.sum(k, axis=1, keepdims=True) + mx.sym.mean(k) + mx.sym.max(k, axis=0)


def _elementwise(mx):
    x, y = mx.sym.var("x"), mx.sym.var("y")
    a = mx.sym.sigmoid(x) + mx.sym.tanh(y)
    b = mx.sym.exp(a) * mx.sym.log(a) - mx.sym.sqrt(a)
    c = mx.sym.broadcast_add(b, y) + mx.sym.broadcast_mul(b, y)
    d = mx.sym.broadcast_sub(c, x) / mx.sym.broadcast_div(c, x)
    e = mx.sym.elemwise_add(d, mx.sym.zeros_like(d)) + mx.sym.ones_like(d)
    f = mx.sym.dot(e, y) + mx.sym.batch_dot(e, y, transpose_b=True)
    g = mx.sym.LeakyReLU(f, act_type="leaky", slope=0.1)
    h = mx.sym.Dropout(g, p=0.3)
    return mx.sym.square(h) + mx.sym.abs(h)


def _group_split(mx):
    x = mx.sym.var("x")
    parts = mx.sym.split(x, num_outputs=3, axis=1)
    s = mx.sym.SliceChannel(x, num_outputs=2, squeeze_axis=True)
    return mx.sym.Group([parts[0], parts[2], s[1], x])


def _rnn_lstm(mx):
    x = mx.sym.var("data")
    e = mx.sym.Embedding(x, input_dim=10, output_dim=4)
    r = mx.sym.RNN(e, state_size=5, num_layers=2, mode="lstm", state_outputs=True)
    return mx.sym.Group([mx.sym.FullyConnected(r[0], num_hidden=10, flatten=False), r[1]])


def _rnn_gru(mx):
    x = mx.sym.var("data")
    return mx.sym.RNN(x, state_size=3, num_layers=1, mode="gru", bidirectional=True, p=0.2)


def _softmax_output(mx):
    x = mx.sym.var("data")
    fc = mx.sym.FullyConnected(x, num_hidden=4, no_bias=True)
    lrn = mx.sym.LRN(fc, nsize=3)
    return mx.sym.SoftmaxOutput(lrn, name="softmax")


def _deconv(mx):
    x = mx.sym.var("data")
    d = mx.sym.Deconvolution(x, kernel=(2, 2), num_filter=3, stride=(2, 2), no_bias=False)
    return mx.sym.LayerNorm(d, axis=1)


def _shared_batchnorm(mx):
    x = mx.sym.var("data")
    mean, var = mx.sym.var("mean"), mx.sym.var("var")
    g, b = mx.sym.var("g"), mx.sym.var("b")
    y = mx.sym.BatchNorm(x, g, b, mean, var, name="bn_a")
    z = mx.sym.BatchNorm(y, g, b, mean, var, name="bn_b")
    return z + mean


def _many_inputs(mx):
    xs = [mx.sym.var("x%d" % i) for i in range(12)]
    return mx.sym.add_n(*xs) + mx.sym.concat(*xs, dim=0)


def _methods(mx):
    x = mx.sym.var("x")
    a = x.reshape((2, -1)).transpose().expand_dims(0)
    b = a.flatten().sum(axis=1)
    return b.exp() + x.sqrt().mean()


def _scoped(mx):
    with mx.name.Prefix("net_"):
        x = mx.sym.var("data")
        y = mx.sym.FullyConnected(x, num_hidden=2)
        y = mx.sym.FullyConnected(y, num_hidden=2, name="out")
    return mx.sym.Activation(y, act_type="tanh")


def _var_attrs(mx):
    w = mx.sym.var("w", shape=(3, 4), dtype="float16", lr_mult=0.5, wd_mult=0.0,
                   init="zeros", stype="default", __mine__="1")
    v = mx.sym.Variable("v", attr={"k": "val"})
    return mx.sym.Group([w, v])


def _initializers(mx):
    inits = [mx.init.Xavier(), mx.init.Xavier(rnd_type="gaussian", magnitude=2.0),
             mx.init.Normal(0.5), mx.init.Uniform(), mx.init.Constant(0.25), mx.init.One(),
             mx.init.Zero(), mx.init.MSRAPrelu(), mx.init.Orthogonal()]
    return mx.sym.Group([mx.sym.var("w%d" % i, init=init) for i, init in enumerate(inits)])


SYMBOL_CASES = {
    "mlp": _mlp, "auto_vars": _auto_vars, "arith": _arith, "conv_bn": _conv_bn,
    "shapes": _shapes, "elementwise": _elementwise, "group_split": _group_split,
    "rnn_lstm": _rnn_lstm, "rnn_gru": _rnn_gru, "softmax_output": _softmax_output,
    "deconv": _deconv, "shared_batchnorm": _shared_batchnorm, "many_inputs": _many_inputs,
    "methods": _methods, "scoped": _scoped, "var_attrs": _var_attrs,
    "initializers": _initializers,
}


def describe(symbol):
    """What both sides must agree on for one symbol."""
    return {
        "json": symbol.tojson(),
        "repr": repr(symbol),
        "name": symbol.name,
        "arguments": symbol.list_arguments(),
        "outputs": symbol.list_outputs(),
        "aux": symbol.list_auxiliary_states(),
        "inputs": symbol.list_inputs(),
        "internals": symbol.get_internals().list_outputs(),
    }


# -- exported nets (HybridBlock.export) --------------------------------------------------


def _lenet(mx):
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, kernel_size=5, padding=2, activation="sigmoid"),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Conv2D(16, kernel_size=5, activation="sigmoid"),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation="sigmoid"), nn.Dense(84, activation="sigmoid"),
            nn.Dense(10))
    return net, [(2, 1, 28, 28)]


def _lenet_bn(mx):
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, kernel_size=5), nn.BatchNorm(), nn.Activation("sigmoid"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(16, kernel_size=5), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(pool_size=2, strides=2), nn.Flatten(),
            nn.Dense(120), nn.BatchNorm(), nn.Activation("relu"),
            nn.Dropout(0.5), nn.Dense(10))
    return net, [(2, 1, 28, 28)]


def _nin(mx):
    nn = mx.gluon.nn

    def nin_block(num_channels, kernel_size, strides, padding):
        blk = nn.HybridSequential()
        blk.add(nn.Conv2D(num_channels, kernel_size, strides, padding, activation="relu"),
                nn.Conv2D(num_channels, kernel_size=1, activation="relu"),
                nn.Conv2D(num_channels, kernel_size=1, activation="relu"))
        return blk

    net = nn.HybridSequential()
    net.add(nin_block(8, kernel_size=5, strides=2, padding=0),
            nn.MaxPool2D(pool_size=3, strides=2), nin_block(10, 3, 1, 1),
            nn.GlobalAvgPool2D(), nn.Flatten())
    return net, [(1, 1, 32, 32)]


def _residual(mx):
    nn = mx.gluon.nn

    class Residual(nn.HybridBlock):
        def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
            super().__init__(**kwargs)
            self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
            self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
            self.conv3 = (nn.Conv2D(num_channels, kernel_size=1, strides=strides)
                          if use_1x1conv else None)
            self.bn1 = nn.BatchNorm()
            self.bn2 = nn.BatchNorm()

        def hybrid_forward(self, F, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            return F.relu(Y + X)

    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
            Residual(4), Residual(8, use_1x1conv=True, strides=2),
            nn.GlobalAvgPool2D(), nn.Dense(10))
    return net, [(2, 3, 16, 16)]


def _inception(mx):
    nn = mx.gluon.nn
    contrib = mx.gluon.contrib.nn
    net = nn.HybridSequential()
    branches = contrib.HybridConcurrent(axis=1)
    branches.add(nn.Conv2D(2, kernel_size=1, activation="relu"),
                 nn.Conv2D(3, kernel_size=3, padding=1, activation="relu"),
                 nn.MaxPool2D(pool_size=3, strides=1, padding=1), contrib.Identity())
    net.add(nn.Conv2D(4, kernel_size=3, in_channels=1), branches,
            nn.GlobalMaxPool2D(), nn.Dense(5, in_units=13, use_bias=False))
    return net, [(1, 1, 10, 10)]


def _custom_two_inputs(mx):
    nn = mx.gluon.nn

    class TwoTower(nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.left = nn.Dense(4, activation="tanh")
                self.right = nn.Dense(4)
                self.scale = self.params.get("scale", shape=(1, 4), init="ones")

        def hybrid_forward(self, F, a, b, scale):
            left = self.left(a)
            right = self.right(b)
            joined = F.broadcast_mul(left + right, scale)
            return joined, F.softmax(left)

    return TwoTower(), [(2, 3), (2, 5)]


def _activations(mx):
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Dense(6), nn.LeakyReLU(0.2), nn.PReLU(), nn.ELU(), nn.SELU(), nn.GELU(),
            nn.Swish(), nn.Dropout(0.0), nn.LayerNorm(), nn.Dense(3, flatten=False))
    return net, [(2, 4)]


def _embedding_lm(mx):
    nn = mx.gluon.nn
    rnn = mx.gluon.rnn

    class RNNModel(nn.HybridBlock):
        def __init__(self, vocab_size, num_hiddens, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.embedding = nn.Embedding(vocab_size, 6)
                self.rnn = rnn.LSTM(num_hiddens, num_layers=2)
                self.dense = nn.Dense(vocab_size)

        def hybrid_forward(self, F, inputs):
            X = self.embedding(inputs)
            Y = self.rnn(X)
            return self.dense(Y.reshape((-1, 0)))

    return RNNModel(12, 5), [(4, 2)]


def _gru_states(mx):
    nn = mx.gluon.nn
    rnn = mx.gluon.rnn
    net = nn.HybridSequential()
    net.add(rnn.GRU(4, layout="NTC", bidirectional=True, input_size=3),
            rnn.RNN(3, activation="tanh", num_layers=1))
    return net, [(2, 5, 3)]


def _conv_variants(mx):
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2DTranspose(4, 3, strides=2, output_padding=1, in_channels=3),
                nn.BatchNorm(in_channels=4, scale=False),
                nn.AvgPool2D(3, 2, 1, ceil_mode=True, count_include_pad=False),
                nn.InstanceNorm(),
                nn.Conv2D(2, 3, dilation=2, groups=2, use_bias=False),
                nn.GlobalMaxPool2D(), nn.Flatten(), nn.Dropout(0.2, axes=(1,)))
    return net, [(2, 3, 6, 6)]


def _conv1d(mx):
    nn = mx.gluon.nn
    net = nn.HybridSequential(prefix="seq_")
    with net.name_scope():
        net.add(nn.Conv1D(4, 3, activation="tanh"), nn.MaxPool1D(2), nn.AvgPool1D(2),
                nn.Conv1D(3, 1), nn.GlobalAvgPool1D())
    return net, [(2, 2, 16)]


EXPORT_CASES = {
    "lenet": _lenet, "lenet_bn": _lenet_bn, "nin": _nin, "residual": _residual,
    "inception": _inception, "custom_two_inputs": _custom_two_inputs,
    "activations": _activations, "embedding_lm": _embedding_lm, "gru_states": _gru_states,
    "conv_variants": _conv_variants, "conv1d": _conv1d,
}


TOKEN_INPUTS = {"embedding_lm": 12}
"""Cases whose input is token ids (below the given vocabulary size)."""


def export_input(case, shape, index):
    """A fixed input: a smooth ramp, or token ids for a language model."""
    import numpy as np

    n = int(np.prod(shape))
    ramp = np.sin(np.arange(n, dtype=np.float64) * 0.37 + index)
    if case in TOKEN_INPUTS:
        return np.floor(np.abs(ramp) * (TOKEN_INPUTS[case] - 1)).reshape(shape).astype(
            "float32")
    return (ramp * 0.9).reshape(shape).astype("float32")
