"""Block cases, written once for MXNet Gluon and keras_defer.

Each case builds one block (or a small net) from a framework's ``nn`` namespace and
says what input it takes. ``record_blocks.py`` runs every case under MXNet 1.9.1:

1. record the repr and the parameter table (names, shapes) before the first pass;
2. ``initialize()`` and run one inference pass on ``input``: the deferred shapes
   resolve; record the repr and the table again (only this, for a case with
   ``numerics=False``: MXNet's CPU cannot compute it);
3. overwrite every parameter with values drawn from a seeded ``RandomState`` (so both
   frameworks compute with the same weights), run ``input`` again (in training mode
   when ``train`` is set, followed by a backward pass of the outputs' sum: a training
   step) and record the outputs and the parameters after it (BatchNorm's running
   statistics move in a training step).

The test modules replay the cases under keras_defer and compare. This file imports
no framework: ``nn`` is the only thing a case touches.
"""

import numpy as np

SEED = 1234


def _case(build, input_shape, kind="float", train=False, call="plain", group=None,
          high=None, numerics=True):
    return {"build": build, "input": input_shape, "kind": kind, "train": train,
            "call": call, "group": group, "high": high, "numerics": numerics}


CASES = {
    # -- convolutions ------------------------------------------------------------
    "conv2d_default": _case(lambda nn: nn.Conv2D(4, 3), (2, 3, 7, 7), group="conv"),
    "conv2d_full": _case(
        lambda nn: nn.Conv2D(4, (3, 2), strides=(2, 1), padding=(1, 2), dilation=(1, 2),
                             groups=2, activation="relu"),
        (2, 4, 9, 8), group="conv"),
    "conv2d_nobias_in_channels": _case(
        lambda nn: nn.Conv2D(5, 3, use_bias=False, in_channels=3), (2, 3, 6, 6),
        group="conv"),
    # MXNet's CPU has no NHWC convolution: names, shapes and reprs only.
    "conv2d_nhwc": _case(lambda nn: nn.Conv2D(4, 3, padding=1, layout="NHWC"),
                         (2, 6, 5, 3), group="conv", numerics=False),
    "conv1d": _case(lambda nn: nn.Conv1D(3, 3, strides=2, padding=1), (2, 2, 9),
                    group="conv"),
    "conv3d": _case(lambda nn: nn.Conv3D(2, 2, padding=1, activation="tanh"),
                    (1, 2, 4, 4, 3), group="conv"),
    "conv2d_transpose": _case(
        lambda nn: nn.Conv2DTranspose(3, 3, strides=2, padding=1, output_padding=1),
        (2, 2, 4, 5), group="conv"),
    "conv2d_transpose_groups": _case(
        lambda nn: nn.Conv2DTranspose(4, (2, 3), strides=(1, 2), groups=2, in_channels=4),
        (2, 4, 3, 3), group="conv"),
    "conv1d_transpose_dilated": _case(
        lambda nn: nn.Conv1DTranspose(2, 3, strides=2, dilation=2, output_padding=1),
        (2, 3, 5), group="conv"),
    "conv3d_transpose": _case(lambda nn: nn.Conv3DTranspose(2, 2, strides=2, padding=1,
                                                            use_bias=False),
                              (1, 2, 3, 2, 3), group="conv"),
    # -- pooling -----------------------------------------------------------------
    "maxpool2d_default": _case(lambda nn: nn.MaxPool2D(), (2, 3, 6, 7), group="pool"),
    "maxpool2d_ceil": _case(lambda nn: nn.MaxPool2D(3, 2, 1, ceil_mode=True),
                            (2, 2, 8, 7), group="pool"),
    "maxpool1d": _case(lambda nn: nn.MaxPool1D(3, 2), (2, 3, 9), group="pool"),
    "maxpool3d": _case(lambda nn: nn.MaxPool3D(2), (1, 2, 4, 5, 4), group="pool"),
    "avgpool2d": _case(lambda nn: nn.AvgPool2D(3, 2, 1), (2, 2, 7, 6), group="pool"),
    "avgpool2d_exclude_pad": _case(
        lambda nn: nn.AvgPool2D(3, 2, 1, count_include_pad=False), (2, 2, 7, 6),
        group="pool"),
    "avgpool2d_ceil": _case(lambda nn: nn.AvgPool2D(2, ceil_mode=True), (2, 2, 5, 5),
                            group="pool"),
    "avgpool1d": _case(lambda nn: nn.AvgPool1D(2), (2, 3, 8), group="pool"),
    "avgpool3d": _case(lambda nn: nn.AvgPool3D(2, 1), (1, 2, 3, 4, 3), group="pool"),
    "globalmaxpool1d": _case(lambda nn: nn.GlobalMaxPool1D(), (2, 3, 5), group="pool"),
    "globalavgpool2d": _case(lambda nn: nn.GlobalAvgPool2D(), (2, 3, 4, 5), group="pool"),
    "globalmaxpool2d": _case(lambda nn: nn.GlobalMaxPool2D(), (2, 3, 4, 5), group="pool"),
    "globalavgpool3d": _case(lambda nn: nn.GlobalAvgPool3D(), (1, 2, 3, 4, 2), group="pool"),
    # -- utility -----------------------------------------------------------------
    "flatten": _case(lambda nn: nn.Flatten(), (2, 3, 4, 2), group="utility"),
    "dropout_inference": _case(lambda nn: nn.Dropout(0.5), (2, 6), group="utility"),
    "dropout_axes": _case(lambda nn: nn.Dropout(0.3, axes=(1,)), (2, 3, 4),
                          group="utility"),
    "lambda_tanh": _case(lambda nn: nn.Lambda("tanh"), (2, 5), group="utility"),
    "hybrid_lambda": _case(lambda nn: nn.HybridLambda(lambda F, x: F.relu(x)), (2, 5),
                           group="utility"),
    "hybrid_lambda_name": _case(lambda nn: nn.HybridLambda("tanh"), (2, 5),
                                group="utility"),
    # -- normalization and embedding ---------------------------------------------
    "batchnorm_inference": _case(lambda nn: nn.BatchNorm(), (4, 3, 2, 2), group="norm"),
    "batchnorm_train": _case(lambda nn: nn.BatchNorm(momentum=0.8), (4, 3, 2, 2),
                             train=True, group="norm"),
    "batchnorm_axis_last_train": _case(
        lambda nn: nn.BatchNorm(axis=-1, center=False, scale=False), (5, 4), train=True,
        group="norm"),
    "batchnorm_in_channels": _case(lambda nn: nn.BatchNorm(in_channels=3, epsilon=1e-3),
                                   (2, 3, 4), group="norm"),
    "batchnorm_global_stats": _case(lambda nn: nn.BatchNorm(use_global_stats=True),
                                    (4, 3, 2), train=True, group="norm"),
    "layernorm": _case(lambda nn: nn.LayerNorm(), (3, 2, 5), train=True, group="norm"),
    "layernorm_axis1": _case(lambda nn: nn.LayerNorm(axis=1, epsilon=1e-3), (3, 4, 2),
                             group="norm"),
    "instancenorm": _case(lambda nn: nn.InstanceNorm(), (2, 3, 5), train=True,
                          group="norm"),
    "instancenorm_scale": _case(lambda nn: nn.InstanceNorm(scale=True), (2, 3, 2, 3),
                                group="norm"),
    "embedding": _case(lambda nn: nn.Embedding(10, 4), (3, 5), kind="index", high=10,
                       group="norm"),
    # -- recurrent ---------------------------------------------------------------
    "rnn_relu": _case(lambda nn: nn.RNN(4), (5, 2, 3), group="rnn"),
    "rnn_tanh_2layers_ntc": _case(
        lambda nn: nn.RNN(3, num_layers=2, activation="tanh", layout="NTC"), (2, 4, 3),
        group="rnn"),
    "lstm": _case(lambda nn: nn.LSTM(4), (5, 2, 3), group="rnn"),
    "lstm_states": _case(lambda nn: nn.LSTM(3, num_layers=2), (4, 2, 3),
                         call="states", group="rnn"),
    "lstm_bidirectional": _case(lambda nn: nn.LSTM(3, bidirectional=True), (4, 2, 2),
                                group="rnn"),
    "gru": _case(lambda nn: nn.GRU(4), (5, 2, 3), group="rnn"),
    "gru_states_ntc": _case(lambda nn: nn.GRU(3, layout="NTC", input_size=2),
                            (2, 4, 2), call="states", group="rnn"),
    "gru_bidirectional_2layers": _case(
        lambda nn: nn.GRU(2, num_layers=2, bidirectional=True), (3, 2, 3), group="rnn"),
    # -- a small net: shapes chain through every kind of block -------------------
    "lenet_like": _case(lambda nn: _lenet(nn), (2, 1, 12, 12), group="conv"),
}


def _lenet(nn):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(), nn.MaxPool2D(2),
                nn.Conv2D(6, 2), nn.AvgPool2D(2, 1), nn.Flatten(), nn.Dropout(0.5),
                nn.Dense(5))
    return net


def make_input(case, seed=SEED):
    rs = np.random.RandomState(seed)
    if case["kind"] == "index":
        return rs.randint(0, case["high"], size=case["input"]).astype("float32")
    return rs.uniform(-1, 1, size=case["input"]).astype("float32")


def make_states(case, shapes, seed=SEED + 1):
    rs = np.random.RandomState(seed)
    return [rs.uniform(-1, 1, size=s).astype("float32") for s in shapes]


def make_param_value(name, shape, seed):
    """The value every framework writes into parameter ``name`` before comparing."""
    rs = np.random.RandomState(seed)
    if name.endswith("running_var"):
        return rs.uniform(0.5, 1.5, size=shape).astype("float32")
    return rs.uniform(-0.5, 0.5, size=shape).astype("float32")


def cases_in(group):
    return sorted(name for name, case in CASES.items() if case["group"] == group)
