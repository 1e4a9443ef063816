"""BatchNorm, LayerNorm, InstanceNorm and Embedding against MXNet 1.9.1 (recorded),
plus BatchNorm's running statistics as non-trainable Keras variables in fit."""

import keras
import numpy as np
import pytest

from keras_defer import ShapeMismatchError, init
from keras_defer.gluon import nn
from tests import block_parity
from tests.mxnet_reference import block_cases


@pytest.mark.parametrize("name", block_cases.cases_in("norm"))
def test_matches_mxnet(name):
    block_parity.check_case(name)


def test_batchnorm_params_are_deferred_and_stats_non_trainable(fresh_names):
    bn = nn.BatchNorm()
    assert [p.shape for p in bn.collect_params().values()] == [(0,)] * 4
    bn.initialize()
    bn(np.zeros((2, 5, 3), "float32"))
    assert [p.shape for p in bn.collect_params().values()] == [(5,)] * 4
    assert sorted(v.name for v in bn.trainable_weights) == ["beta", "gamma"]
    assert sorted(v.name for v in bn.non_trainable_weights) == ["running_mean",
                                                               "running_var"]
    assert bn.running_mean.grad_req == "null"
    with pytest.raises(ShapeMismatchError, match="batchnorm0_gamma"):
        bn(np.zeros((2, 4, 3), "float32"))


def test_batchnorm_inference_uses_running_stats_and_fit_updates_them(fresh_names):
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = (rs.normal(size=(64, 3)) * [1.0, 2.0, 3.0] + [5.0, -1.0, 0.5]).astype("float32")
    y = (x[:, :1] - 5.0) * 2.0
    net = nn.Sequential()
    net.add(nn.BatchNorm(axis=-1), nn.Dense(1))
    net.initialize(init.Xavier())
    np.testing.assert_allclose(np.asarray(net[0](x)), x / np.sqrt(1 + 1e-5), rtol=1e-5)
    block_parity.fit_lowers_loss(net, x, y, "mse", epochs=8)
    running_mean = np.asarray(net[0].running_mean.data())
    # 8 epochs x 8 batches with momentum 0.9: the running mean is near the data mean
    np.testing.assert_allclose(running_mean, x.mean(axis=0), atol=0.3)
    assert np.asarray(net[0].running_var.data())[2] > 4.0


def test_a_hybridized_child_follows_its_parents_training_mode(fresh_names):
    # fit calls the model with training=True; a hybridized child called without
    # training= inherits it (Gluon: the CachedOp follows autograd's train mode), so
    # its Dropout drops and its BatchNorm updates the running statistics.
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = (rs.normal(size=(64, 3)) * 2.0 + 5.0).astype("float32")
    y = x[:, :1] - 5.0
    net = nn.Sequential()
    body = nn.HybridSequential()
    body.add(nn.BatchNorm(axis=-1), nn.Dropout(0.5))
    net.add(body, nn.Dense(1))
    net.initialize(init.Xavier())
    net(x[:2])
    body.hybridize()
    inference = np.asarray(net(x))
    np.testing.assert_allclose(np.asarray(net(x)), inference, rtol=1e-6)
    dropped = [np.asarray(net(x, training=True)) for _ in range(2)]
    assert not np.allclose(dropped[0], dropped[1])  # Dropout active in training
    np.testing.assert_allclose(np.asarray(net(x)), np.asarray(net(x)), rtol=1e-6)
    net.compile(keras.optimizers.SGD(0.01), "mse")
    net.fit(x, y, epochs=8, batch_size=16, verbose=0)  # 32 updates, momentum 0.9
    np.testing.assert_allclose(np.asarray(body[0].running_mean.data()), x.mean(axis=0),
                               atol=0.5)  # updated by fit, through the compiled child


def test_layernorm_and_instancenorm_in_a_trained_net(fresh_names):
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = rs.normal(size=(48, 2, 6)).astype("float32")
    y = (x[:, 0, :3].sum(axis=1) > 0).astype("int32")
    net = nn.Sequential()
    net.add(nn.InstanceNorm(scale=True), nn.LayerNorm(), nn.Dense(2))
    net.initialize(init.Xavier())
    block_parity.fit_lowers_loss(
        net, x, y, keras.losses.SparseCategoricalCrossentropy(from_logits=True), epochs=5)
    assert net[0].gamma.shape == (2,) and net[1].gamma.shape == (6,)


def test_embedding_is_initialized_at_once_and_trains(fresh_names):
    keras.utils.set_random_seed(0)
    emb = nn.Embedding(20, 4)
    net = nn.Sequential()
    net.add(emb, nn.Flatten(), nn.Dense(1))
    net.initialize(init.Xavier())
    assert emb.weight.data().shape == (20, 4)  # nothing deferred
    rs = np.random.RandomState(0)
    x = rs.randint(0, 20, size=(64, 3)).astype("int32")
    y = (x[:, 0] % 2).astype("float32")[:, None]
    block_parity.fit_lowers_loss(net, x, y, "mse", epochs=5)
