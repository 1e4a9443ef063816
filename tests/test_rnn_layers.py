"""RNN, LSTM and GRU against MXNet 1.9.1 (recorded: names, reprs, outputs and states
with the same weights), deferred input_size, states API, training with fit."""

import keras
import numpy as np
import pytest

from keras_defer import ShapeMismatchError, init
from keras_defer.gluon import nn, rnn
from tests import block_parity
from tests.mxnet_reference import block_cases


@pytest.mark.parametrize("name", block_cases.cases_in("rnn"))
def test_matches_mxnet(name):
    block_parity.check_case(name)


def test_gluon_rnn_namespace():
    assert rnn.LSTM is nn.LSTM and rnn.GRU is nn.GRU and rnn.RNN is nn.RNN


def test_input_size_is_deferred_for_the_first_layer_only(fresh_names):
    lstm = nn.LSTM(5, num_layers=2, bidirectional=True)
    shapes = {n: p.shape for n, p in lstm.collect_params().items()}
    assert shapes["lstm0_l0_i2h_weight"] == (20, 0)
    assert shapes["lstm0_r0_i2h_weight"] == (20, 0)
    assert shapes["lstm0_l1_i2h_weight"] == (20, 10)  # known: 2 directions x 5
    lstm.initialize()
    assert lstm.l1_i2h_weight.data().shape == (20, 10)  # initialized at once
    out = lstm(np.zeros((7, 3, 4), "float32"))
    assert tuple(out.shape) == (7, 3, 10)
    assert lstm.l0_i2h_weight.shape == (20, 4) == lstm.r0_i2h_weight.shape


def test_wrong_input_size_names_the_parameter(fresh_names):
    gru = nn.GRU(3, input_size=2)
    gru.initialize()
    with pytest.raises(ShapeMismatchError, match="gru0_l0_i2h_weight"):
        gru(np.zeros((4, 2, 5), "float32"))
    assert tuple(gru(np.zeros((4, 2, 2), "float32")).shape) == (4, 2, 3)


def test_states_in_and_out(fresh_names):
    lstm = nn.LSTM(3, layout="NTC")
    lstm.initialize()
    states = lstm.begin_state(batch_size=2)
    assert [tuple(s.shape) for s in states] == [(1, 2, 3), (1, 2, 3)]
    out, new_states = lstm(np.ones((2, 6, 4), "float32"), states)
    assert tuple(out.shape) == (2, 6, 3)
    np.testing.assert_allclose(np.asarray(new_states[0][0]), np.asarray(out[:, -1]),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="Invalid recurrent state shape"):
        lstm(np.ones((2, 6, 4), "float32"), [states[0][:, :1], states[1]])


def test_hybridized_gives_same_output(fresh_names):
    gru = nn.GRU(4, num_layers=2)
    gru.initialize()
    x = np.random.RandomState(0).uniform(-1, 1, (5, 3, 2)).astype("float32")
    eager = np.asarray(gru(x))
    gru.hybridize()
    np.testing.assert_allclose(np.asarray(gru(x)), eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_recurrent_net_trains_with_fit(layer, fresh_names):
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = rs.uniform(-1, 1, (64, 6, 2)).astype("float32")  # NTC
    y = x[:, :, 0].sum(axis=1, keepdims=True)
    net = nn.Sequential()
    net.add(getattr(nn, layer)(8, layout="NTC"), nn.Dense(1))
    net.initialize(init.Xavier())
    block_parity.fit_lowers_loss(net, x, y, "mse", epochs=4)
    assert net[0].l0_i2h_weight.shape[1] == 2


# What MXNet 1.9.1 prints for list(layer._collect_params_with_prefix()) (run in its side
# environment): its recurrent layers name their parameters in save_parameters files by the
# old unfused cells' paths, so files go both ways only under these names.
MXNET_FILE_NAMES = {
    ("LSTM", 2, True): [
        "_unfused.%d.%s_cell.%s" % (layer, d, kind)
        for layer in (0, 1) for d in "lr"
        for kind in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")],
    ("GRU", 1, False): ["_unfused.0.i2h_weight", "_unfused.0.h2h_weight",
                        "_unfused.0.i2h_bias", "_unfused.0.h2h_bias"],
}


@pytest.mark.parametrize("cls, layers, bidirectional", sorted(MXNET_FILE_NAMES))
def test_parameter_file_names_are_mxnets_unfused_names(tmp_path, cls, layers, bidirectional):
    from keras_defer import nd

    layer = getattr(rnn, cls)(3, num_layers=layers, bidirectional=bidirectional, input_size=2)
    layer.initialize()
    assert list(layer._collect_params_with_prefix()) == MXNET_FILE_NAMES[
        (cls, layers, bidirectional)]
    path = str(tmp_path / "rnn.params")
    layer.save_parameters(path)
    assert sorted(nd.load(path)) == sorted(MXNET_FILE_NAMES[(cls, layers, bidirectional)])
    other = getattr(rnn, cls)(3, num_layers=layers, bidirectional=bidirectional)
    other.load_parameters(path)
    for name, param in layer.collect_params().items():
        mine = other.collect_params()[other.prefix + name[len(layer.prefix):]]
        np.testing.assert_array_equal(mine.data().asnumpy(), param.data().asnumpy())
