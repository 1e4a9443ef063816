"""Convolution and pooling layers against MXNet 1.9.1 (recorded), plus what MXNet's
CPU cannot show: channels-last layouts, error messages, training with fit."""

import keras
import numpy as np
import pytest

from keras_defer import ShapeMismatchError, init, naming
from keras_defer.gluon import nn
from tests import block_parity
from tests.mxnet_reference import block_cases


@pytest.mark.parametrize("name", block_cases.cases_in("conv") + block_cases.cases_in("pool"))
def test_matches_mxnet(name):
    block_parity.check_case(name)


def test_conv_weight_is_deferred_until_first_pass(fresh_names):
    conv = nn.Conv2D(8, kernel_size=(3, 5), strides=2)
    assert conv.weight.shape == (8, 0, 3, 5)
    conv.initialize()
    assert conv.bias.data().shape == (8,)  # known shapes initialize at once
    y = conv(np.zeros((2, 3, 11, 11), "float32"))
    assert conv.weight.shape == (8, 3, 3, 5)
    assert tuple(y.shape) == (2, 8, 5, 4) == conv.compute_output_shape((2, 3, 11, 11))
    assert sorted(v.path for v in conv.trainable_weights) == ["conv0/bias", "conv0/weight"]


def test_wrong_channels_after_first_pass_names_the_layer(fresh_names):
    conv = nn.Conv2D(4, 3, in_channels=3)
    conv.initialize()
    with pytest.raises(ShapeMismatchError, match="conv0_weight"):
        conv(np.zeros((1, 5, 6, 6), "float32"))
    assert tuple(conv(np.zeros((1, 3, 6, 6), "float32")).shape) == (1, 4, 4, 4)


def test_groups_must_divide_channels(fresh_names):
    conv = nn.Conv2D(4, 3, groups=2)
    conv.initialize()
    with pytest.raises(ShapeMismatchError, match="groups=2"):
        conv(np.zeros((1, 3, 6, 6), "float32"))


@pytest.mark.parametrize("make, shape", [
    (lambda layout: nn.Conv2D(4, 3, padding=1, strides=2, groups=2, layout=layout),
     (2, 4, 7, 6)),
    (lambda layout: nn.Conv1D(3, 2, dilation=2, layout=layout), (2, 2, 9)),
    (lambda layout: nn.Conv3D(2, 2, layout=layout), (1, 2, 3, 4, 3)),
    (lambda layout: nn.Conv2DTranspose(3, 3, strides=2, padding=1, output_padding=1,
                                       layout=layout), (2, 2, 4, 5)),
    (lambda layout: nn.MaxPool2D(3, 2, 1, ceil_mode=True, layout=layout), (2, 2, 8, 7)),
    (lambda layout: nn.AvgPool2D(3, 2, 1, count_include_pad=False, layout=layout),
     (2, 2, 7, 6)),
    (lambda layout: nn.GlobalAvgPool1D(layout=layout), (2, 3, 5)),
])
def test_channels_last_layout_computes_the_same(make, shape, fresh_names):
    """MXNet's CPU has no NHWC kernels to record; channels-last must equal
    channels-first on transposed inputs and weights."""
    rank = len(shape)
    layouts = {3: ("NCW", "NWC"), 4: ("NCHW", "NHWC"), 5: ("NCDHW", "NDHWC")}[rank]
    first, last = make(layouts[0]), make(layouts[1])
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype("float32")
    to_last = (0,) + tuple(range(2, rank)) + (1,)
    for block in (first, last):
        block.initialize()
    y_first = np.asarray(first(x))
    last(np.transpose(x, to_last))
    for p_first, p_last in zip(first.collect_params().values(),
                               last.collect_params().values()):
        value = np.asarray(p_first.data())
        if p_first.name.endswith("weight") and not isinstance(first, nn.Conv2DTranspose):
            value = np.moveaxis(value, 1, -1)  # (out, in, *k) -> (out, *k, in)
        assert p_last.shape == value.shape
        p_last.set_data(value)
    y_last = np.asarray(last(np.transpose(x, to_last)))
    np.testing.assert_allclose(np.transpose(y_last, (0, rank - 1) + tuple(range(1, rank - 1))),
                               y_first, rtol=1e-5, atol=1e-5)


def test_transposed_conv_inverts_conv_shape(fresh_names):
    down = nn.Conv2D(4, 3, strides=2, padding=1)
    up = nn.Conv2DTranspose(3, 3, strides=2, padding=1, output_padding=1)
    net = nn.HybridSequential()
    net.add(down, up)
    net.initialize()
    assert tuple(net(np.zeros((1, 3, 8, 8), "float32")).shape) == (1, 3, 8, 8)
    assert up.weight.shape == (4, 3, 3, 3)


def test_hybridized_conv_net_gives_same_output(fresh_names):
    net = block_parity.build("lenet_like")
    net.initialize()
    x = block_cases.make_input(block_cases.CASES["lenet_like"])
    eager = np.asarray(net(x))
    net.hybridize()
    np.testing.assert_allclose(np.asarray(net(x)), eager, rtol=1e-5, atol=1e-6)


def test_conv_net_trains_with_fit(fresh_names):
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = rs.normal(size=(64, 1, 8, 8)).astype("float32")
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype("int32")
    net = nn.Sequential()
    net.add(nn.Conv2D(4, 3, padding=1, activation="relu"), nn.AvgPool2D(2),
            nn.Conv2D(4, 2, groups=2), nn.GlobalMaxPool2D(),
            nn.Flatten(), nn.Dense(2))
    net.initialize(init.Xavier())
    block_parity.fit_lowers_loss(
        net, x, y, keras.losses.SparseCategoricalCrossentropy(from_logits=True), epochs=4)
    assert net.collect_params()["conv0_weight"].shape == (4, 1, 3, 3)


def test_pool_rejects_wrong_rank(fresh_names):
    pool = nn.MaxPool2D()
    with pytest.raises(ShapeMismatchError, match="NCHW"):
        pool(np.zeros((2, 3, 4), "float32"))


def test_bad_arguments_fail_at_construction():
    with pytest.raises(ValueError, match="layout"):
        nn.Conv2D(4, 3, layout="NCW")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv2D(4, 3, groups=2, in_channels=3)
    naming.reset_counters()
