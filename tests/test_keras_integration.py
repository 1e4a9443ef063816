"""keras_defer blocks as Keras citizens: configs, .keras files, Keras models, summary."""

import copy
import warnings

import keras
import numpy as np
import pytest

from keras_defer import init, nd
from keras_defer.gluon import nn


class Recorder(init.Initializer):
    def __init__(self):
        super().__init__()
        self.calls = []

    def _init_weight(self, name, data):
        self.calls.append(str(name))
        data[:] = 0.25


def built_net():
    net = nn.Sequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize(init.Xavier())
    net(nd.ones((3, 5)))
    return net


def test_config_round_trip_keeps_gluon_names(fresh_names):
    net = nn.Sequential()
    net.add(nn.Dense(4, activation="tanh", weight_initializer=init.Normal(0.5)), nn.Dense(2))
    clone = nn.Sequential.from_config(net.get_config())
    assert repr(clone) == repr(net)
    assert list(clone.collect_params().keys()) == list(net.collect_params().keys())
    assert isinstance(clone[0].weight.init, init.Normal) and clone[0].weight.init.sigma == 0.5


def test_dot_keras_round_trip_keeps_names_shapes_and_values(tmp_path):
    net = built_net()
    x = np.random.RandomState(0).rand(6, 5).astype("float32")
    expected = np.asarray(net(x))
    path = str(tmp_path / "net.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is nn.Sequential
    assert str(loaded.collect_params()) == str(net.collect_params())
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6)


def test_dot_keras_round_trip_of_a_partly_deferred_net(tmp_path):
    net = nn.Sequential()
    net.add(nn.Dense(3, in_units=2), nn.Dense(2))
    net.initialize(init.One())
    path = str(tmp_path / "deferred.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    params = list(loaded.collect_params().values())
    assert [p.shape for p in params] == [(3, 2), (3,), (2, 0), (2,)]
    np.testing.assert_array_equal(np.asarray(params[0].data()), np.ones((3, 2)))
    out = loaded(nd.ones((1, 2)))  # the pending initializer (One) was kept
    np.testing.assert_array_equal(np.asarray(params[2].data()), np.ones((2, 3)))
    assert out.shape == (1, 2)


def test_blocks_inside_keras_sequential_fit_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((5,)), nn.Dense(8, activation="relu"), nn.Dense(1)])
    x = np.random.RandomState(2).rand(64, 5).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    hist = model.fit(x, y, epochs=10, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    path = str(tmp_path / "keras_seq.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def _continue_fit_after_reload(model, path, x, y):
    """Save ``model`` mid-training, reload it, and train both one more epoch."""
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = keras.models.load_model(path)
    skipped = [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]
    assert skipped == []
    assert int(again.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    assert ([v.path for v in again.trainable_variables]
            == [v.path for v in model.trainable_variables])
    for mine, theirs in zip(again.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    for net in (model, again):
        net.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for mine, theirs in zip(again.trainable_variables, model.trainable_variables):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-6, atol=1e-7)


def test_optimizer_state_survives_a_dot_keras_reload_of_a_keras_sequential(tmp_path):
    # Keras builds the optimizer before it restores variables: the blocks must
    # already hold theirs (in declared order), or Adam's m and v are skipped.
    model = keras.Sequential([keras.Input((5,)), nn.Dense(8, activation="relu"), nn.Dense(1)])
    x = np.random.RandomState(2).rand(64, 5).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    _continue_fit_after_reload(model, str(tmp_path / "seq.keras"), x, y)


def test_optimizer_state_survives_a_dot_keras_reload_of_a_gluon_sequential(tmp_path):
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="tanh"), nn.Dense(3, in_units=8), nn.Dense(1))
    net.initialize(init.Xavier())
    x = np.random.RandomState(3).rand(64, 5).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    net.compile(keras.optimizers.Adam(0.01), "mse")
    net.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    _continue_fit_after_reload(net, str(tmp_path / "gluon_seq.keras"), x, y)


def test_variables_are_listed_in_declared_order_whatever_the_creation_order():
    # In a symbolic Keras model the bias (known shape) is created before the weight.
    dense = nn.Dense(4)
    keras.Sequential([keras.Input((3,)), dense])
    assert [v.name for v in dense.trainable_weights] == ["weight", "bias"]


def test_a_config_copy_of_a_built_block_is_built_and_initialized_as_keras_layers_are():
    dense = nn.Dense(4, weight_initializer=init.One())
    dense.initialize()
    dense(nd.ones((2, 3)))
    copy_ = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(dense))
    assert copy_.built and copy_.weight.shape == (4, 3)
    np.testing.assert_array_equal(np.asarray(copy_.weight.data()), np.ones((4, 3)))
    assert copy_(nd.ones((2, 3))).shape == (2, 4)


def test_callbacks_run_during_fit():
    net = built_net()
    seen = []
    net.compile("sgd", "mse")
    net.fit(np.ones((8, 5)), np.ones((8, 2)), epochs=2, verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
    assert seen == [0, 1]


def test_summary_and_count_params_answer_before_the_first_pass(capsys):
    net = nn.Sequential()
    net.add(nn.Dense(4, in_units=3), nn.Dense(2))
    assert net.count_params() == 4 * 3 + 4 + 2  # the deferred weight counts 0 for now
    assert net.deferred_param_names() == [net[1].weight.name]
    net.summary()
    net.initialize()
    net(nd.ones((1, 3)))
    assert net.count_params() == 4 * 3 + 4 + 2 * 4 + 2
    assert net.deferred_param_names() == []


def test_summary_uses_gluon_names(capsys):
    net = built_net()
    net.summary()
    out = capsys.readouterr().out
    assert net[0].name in out and net[1].name in out


def test_clone_model_and_deepcopy_of_a_deferred_net():
    net = nn.Sequential()
    net.add(nn.Dense(3), nn.Dense(1))
    net.initialize(init.One())
    clone = keras.models.clone_model(net)
    assert type(clone) is nn.Sequential and clone[0].weight.shape == (3, 0)
    twin = copy.deepcopy(net)
    twin(nd.ones((2, 7)))
    assert twin[0].weight.shape == (3, 7) and net[0].weight.shape == (3, 0)


def test_mixed_precision_policy_computes_in_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        net = nn.Sequential()
        net.add(nn.Dense(3))
        net.initialize()
        out = net(np.ones((2, 4), "float32"))
        assert keras.backend.standardize_dtype(out.dtype) == "float16"
        assert net[0].weight.data().dtype == np.float32  # as MXNet's
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("make", [lambda: nn.Dense(3), lambda: nn.Activation("relu")])
def test_blocks_are_registered_with_keras(make):
    block = make()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(block))
    assert type(restored) is type(block) and restored.prefix == block.prefix


def test_a_class_sharing_a_gluon_name_does_not_take_its_keras_registration(tmp_path):
    """``gluon.data.vision.transforms.HybridSequential`` (MXNet's name for what Compose
    groups) registers under its module-qualified name: a ``.keras`` file of an
    ``nn.HybridSequential`` still loads as one, whatever was imported before."""
    import keras_defer.gluon.data.vision.transforms as transforms

    assert keras.saving.get_registered_object("keras_defer>HybridSequential") is nn.HybridSequential
    assert keras.saving.get_registered_name(transforms.HybridSequential) != \
        keras.saving.get_registered_name(nn.HybridSequential)
    net = nn.HybridSequential()
    net.add(nn.Dense(3, in_units=4))
    net.initialize()
    net.compile("sgd", "mse")
    path = str(tmp_path / "net.keras")
    net.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is nn.HybridSequential


def test_a_gluon_loss_compiles_as_gluon_calls_it():
    """``compile(loss=gluon.loss.X())`` on a keras_defer model: Keras's value is the
    batch mean of ``loss(pred, label)`` (not of the swapped ``loss(label, pred)``), fit
    trains, and the loss block does not become a child of the net."""
    from keras_defer import gluon

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = rng.integers(0, 3, 64).astype("float32")
    net = nn.Sequential()
    net.add(nn.Dense(3))
    net.initialize()
    softmax_ce = gluon.loss.SoftmaxCrossEntropyLoss()
    net.compile(optimizer=keras.optimizers.SGD(0.1), loss=softmax_ce)
    before = net.evaluate(x, y, batch_size=64, verbose=0)
    expected = softmax_ce(net(nd.array(x)), nd.array(y)).mean().asscalar()
    assert abs(before - expected) < 1e-5
    assert list(net._children) == ["0"]
    net.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert net.evaluate(x, y, batch_size=64, verbose=0) < before
    assert list(net._children) == ["0"]


def test_a_net_compiled_with_a_gluon_loss_reloads_compiled(tmp_path):
    """A ``.keras`` file of a keras_defer net compiled with a Gluon loss loads compiled
    (optimizer state, the same loss value)."""
    from keras_defer import gluon

    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = rng.integers(0, 3, 32).astype("float32")
    net = nn.HybridSequential()
    net.add(nn.Dense(3))
    net.initialize()
    net.compile(keras.optimizers.Adam(0.01), gluon.loss.SoftmaxCrossEntropyLoss())
    net.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "net.keras")
    net.save(path)
    again = keras.models.load_model(path)
    assert int(again.optimizer.iterations.numpy()) == int(net.optimizer.iterations.numpy())
    assert abs(again.evaluate(x, y, batch_size=32, verbose=0)
               - net.evaluate(x, y, batch_size=32, verbose=0)) < 1e-6
