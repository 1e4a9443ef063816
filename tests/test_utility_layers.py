"""Flatten, Dropout, Lambda and HybridLambda against MXNet 1.9.1 (recorded), and
their part in deferred initialization and training."""

import keras
import numpy as np
import pytest

from keras_defer import init
from keras_defer.gluon import nn
from tests import block_parity
from tests.mxnet_reference import block_cases


@pytest.mark.parametrize("name", block_cases.cases_in("utility"))
def test_matches_mxnet(name):
    block_parity.check_case(name)


def test_flatten_lets_the_next_dense_infer_before_running(fresh_names):
    net = nn.HybridSequential()
    net.add(nn.Flatten(), nn.Dropout(0.5), nn.Dense(3))
    net.initialize()
    net.build((None, 2, 5))  # shapes chain through Flatten and Dropout
    assert net.collect_params()["dense0_weight"].shape == (3, 10)


def test_dropout_is_identity_in_inference_and_scales_in_training():
    keras.utils.set_random_seed(0)
    drop = nn.Dropout(0.25)
    x = np.ones((200, 50), "float32")
    np.testing.assert_array_equal(np.asarray(drop(x)), x)
    y = np.asarray(drop(x, training=True))
    assert np.all(np.isclose(y, 0.0) | np.isclose(y, 1 / 0.75))
    assert 0.2 < (y == 0).mean() < 0.3


def test_dropout_axes_share_the_mask():
    keras.utils.set_random_seed(1)
    drop = nn.Dropout(0.5, axes=(1,))
    y = np.asarray(drop(np.ones((4, 6, 3), "float32"), training=True))
    assert (y == y[:, :1, :]).all()  # one mask value along axis 1


def test_dropout_rate_is_checked():
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(1.5)


def test_lambda_rejects_unknown_names():
    with pytest.raises(ValueError, match="not_a_function"):
        nn.Lambda("not_a_function")
    with pytest.raises(ValueError, match="Unrecognized"):
        nn.HybridLambda(3)


def test_net_with_lambdas_and_dropout_trains(fresh_names):
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = rs.normal(size=(64, 2, 3)).astype("float32")
    y = x.sum(axis=(1, 2), keepdims=False)[:, None]
    net = nn.Sequential()
    net.add(nn.Flatten(), nn.Dense(16), nn.HybridLambda(lambda F, v: F.tanh(v)),
            nn.Dropout(0.1), nn.Lambda(lambda v: v * 2.0), nn.Dense(1))
    net.initialize(init.Xavier())
    block_parity.fit_lowers_loss(net, x, y, "mse", epochs=5)
