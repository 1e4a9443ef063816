"""The eager fast path (keras_defer.backend.fast_call, planned by keras_defer.fast_path)
changes speed, never behaviour."""

import keras
import numpy as np
import pytest

if keras.backend.backend() != "tensorflow":
    pytest.skip("the eager fast path is TensorFlow-only", allow_module_level=True)

import tensorflow as tf  # noqa: E402

from keras_defer import backend, errors
from keras_defer.gluon import nn


def _mlp(hybrid=False):
    net = nn.HybridSequential() if hybrid else nn.Sequential()
    net.add(nn.Dense(16, activation="relu"), nn.Dense(3))
    net.initialize()
    return net


def _slow(net, x):
    return net._keras_call(x)


def test_fast_path_is_taken_after_the_first_pass_and_matches_keras():
    net = _mlp()
    x = tf.random.uniform((4, 5))
    first = net(x)
    assert backend.fast_call(net, (x,)) is not backend.MISS
    np.testing.assert_allclose(net(x), first, rtol=1e-6)
    np.testing.assert_allclose(net(x), _slow(net, x), rtol=1e-6)
    assert net(tf.random.uniform((9, 5))).shape == (9, 3)  # batch size is free


def test_wrong_feature_size_still_raises_and_changes_nothing():
    net = _mlp()
    x = tf.random.uniform((2, 5))
    before = net(x)
    weights = [w.numpy() for w in net.weights]
    with pytest.raises(errors.ShapeMismatchError):
        net(tf.ones((2, 6)))
    assert all((w.numpy() == old).all() for w, old in zip(net.weights, weights))
    np.testing.assert_allclose(net(x), before, rtol=1e-6)


def test_wrong_feature_size_raises_under_hybridize():
    net = _mlp(hybrid=True)
    net(tf.ones((2, 5)))
    net.hybridize()
    with pytest.raises(errors.ShapeMismatchError):
        net(tf.ones((2, 6)))
    assert net(tf.ones((3, 5))).shape == (3, 3)


def test_fallbacks_kwargs_numpy_dtype_and_symbolic():
    net = _mlp()
    x = tf.random.uniform((2, 5))
    net(x)
    assert backend.fast_call(net, (np.ones((2, 5), "float32"),)) is backend.MISS
    assert backend.fast_call(net, (tf.ones((2, 5), tf.float64),)) is backend.MISS
    assert net(x, training=True).shape == (2, 3)
    assert net(np.ones((2, 5), "float32")).shape == (2, 3)
    inputs = keras.Input((5,))
    model = keras.Model(inputs, net(inputs))
    np.testing.assert_allclose(model(x), net(x), rtol=1e-6)


def test_gradients_flow_through_the_fast_path():
    net = _mlp()
    x = tf.random.uniform((2, 5))
    net(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(net(x))
    grads = tape.gradient(loss, net.trainable_weights)
    assert all(g is not None for g in grads)


def test_plan_follows_new_values_and_new_children():
    net = _mlp()
    x = tf.random.uniform((2, 5))
    net(x)
    dense = net[1]
    dense.bias.set_data(tf.ones((3,)))
    np.testing.assert_allclose(net(x), _slow(net, x), rtol=1e-6)
    extra = nn.Dense(2)
    extra.initialize()
    net.add(extra)
    assert net(x).shape == (2, 2)
    np.testing.assert_allclose(net(x), _slow(net, x), rtol=1e-6)


def test_mixed_precision_takes_the_keras_path():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        net = _mlp()
        x = tf.random.uniform((2, 5), dtype=tf.float16)
        assert net(x).dtype == tf.float16
        assert net(x).dtype == tf.float16
        assert net.__dict__.get("_fast_plan") is None
    finally:
        keras.config.set_dtype_policy(policy)


def test_dropout_in_the_stack_keeps_training_semantics():
    net = nn.Sequential()
    net.add(nn.Dense(64), nn.Dropout(0.5))
    net.initialize()
    x = tf.ones((4, 8))
    net(x)
    np.testing.assert_allclose(net(x), net(x))  # inference: no dropout
    assert not np.allclose(net(x, training=True), net(x))


def test_first_call_of_a_plannable_net_runs_its_plan_and_counts_as_called(monkeypatch):
    planned = []
    real = backend.fast_call

    def spy(block, args):
        out = real(block, args)
        planned.append((block.name, out is not backend.MISS))
        return out

    monkeypatch.setattr(backend, "fast_call", spy)
    net = nn.Sequential()
    net.add(nn.Dense(16, activation="relu"), nn.Dense(3))
    net.initialize()
    x = tf.random.uniform((4, 5))
    first = net(x)
    assert planned == [(net.name, True)]  # one plan for the net, none per child
    assert net._called  # as after Layer.__call__: keras export reads it
    np.testing.assert_allclose(first, _slow(net, x), rtol=1e-6)
    np.testing.assert_allclose(net[1](net[0](x)), first, rtol=1e-6)


def test_first_call_with_a_wrong_input_rolls_back_when_the_plan_misses():
    net = nn.Sequential()
    net.add(nn.Dense(4, in_units=5), nn.Dense(3))
    net.initialize()
    with pytest.raises(errors.ShapeMismatchError):
        net(tf.ones((2, 6)))
    assert not net[1].weight.is_initialized and not net.built
    assert net(tf.ones((2, 5))).shape == (2, 3)


def test_biases_are_added_with_biasadd_so_tf_can_fuse_them_in_graphs():
    # Graph-level, not timed: TF's remapper fuses MatMul/Conv2D + BiasAdd (+ Relu)
    # into one kernel, but not MatMul + AddV2.
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, activation="relu", layout="NHWC"), nn.Flatten(),
            nn.Dense(8, activation="relu"), nn.Dense(2))
    net.initialize()
    x = tf.random.uniform((2, 6, 6, 1))
    net(x)
    graph = tf.function(net._keras_call, autograph=False).get_concrete_function(x).graph
    ops = [op.type for op in graph.get_operations()]
    assert ops.count("BiasAdd") == 3 and "AddV2" not in ops


def test_a_subclass_that_overrides_forward_or_call_is_not_planned():
    class Doubled(nn.Dense):
        def forward(self, x):
            return 2 * super().forward(x)

    class Logged(nn.Sequential):
        def call(self, x, *args, training=None):
            return super().call(x, *args, training=training)

    class Renamed(nn.Dense):  # overrides neither: still planned
        pass

    x = tf.random.uniform((2, 5))
    for block, planned in ((Doubled(3), False), (Renamed(3), True)):
        block.initialize()
        first = block(x)
        assert (backend.fast_call(block, (x,)) is not backend.MISS) is planned
        np.testing.assert_allclose(block(x), first, rtol=1e-6)
    doubled = Doubled(3, in_units=5)
    doubled.initialize()
    np.testing.assert_allclose(doubled(x), 2 * nn.Dense.forward(doubled, x), rtol=1e-6)
    net = Logged()
    net.add(nn.Dense(3))
    net.initialize()
    net(x)
    assert backend.fast_call(net, (x,)) is backend.MISS


def test_a_block_that_says_how_to_plan_it_is_planned():
    class Relu(nn.HybridBlock):
        def forward(self, x):
            return keras.activations.relu(x)

        def _plan_step(self, planner):
            planner.step(activation=planner.activation(keras.activations.relu))

    net = nn.Sequential()
    net.add(nn.Dense(4), Relu())
    net.initialize()
    x = tf.random.uniform((2, 5)) - 0.5
    first = net(x)
    assert backend.fast_call(net, (x,)) is not backend.MISS
    np.testing.assert_allclose(net(x), _slow(net, x), rtol=1e-6)
    np.testing.assert_allclose(first, _slow(net, x), rtol=1e-6)
