"""Blocks: the first pass (order, once, rollback), user blocks, training, Keras interop."""

import copy

import keras
import numpy as np
import pytest

from keras_defer import ShapeMismatchError, init, nd
from keras_defer.gluon import nn


class Recorder(init.Initializer):
    """Records every _init_weight call and fills a recognisable value."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _init_weight(self, name, data):
        self.calls.append((str(name), tuple(data.shape)))
        data[:] = 0.1


def mlp(*widths, **kwargs):
    net = nn.Sequential()
    for w in widths:
        net.add(nn.Dense(w, **kwargs))
    return net


def test_blocks_are_keras_layers_and_sequential_is_a_model():
    net = mlp(3, 2)
    assert isinstance(net[0], keras.layers.Layer)
    assert isinstance(net, keras.Model)
    assert net.name == net.prefix[:-1]


def test_first_pass_initializes_once_in_forward_order(fresh_names):
    net = mlp(5, 4, 3)
    rec = Recorder()
    net.initialize(rec)
    assert rec.calls == []
    net(nd.ones((2, 7)))
    assert rec.calls == [("dense0_weight", (5, 7)), ("dense1_weight", (4, 5)),
                         ("dense2_weight", (3, 4))]
    net(nd.ones((9, 7)))
    assert len(rec.calls) == 3


def test_failed_first_pass_changes_nothing_and_retry_is_like_new(fresh_names):
    net = nn.Sequential()
    net.add(nn.Dense(4), nn.Dense(4), nn.Dense(4), nn.Dense(4), nn.Dense(2, in_units=3))
    rec = Recorder()
    net.initialize(rec)
    before = [(p.shape, p.pending, p.variable) for p in net.collect_params().values()]
    calls_before = list(rec.calls)
    with pytest.raises(ShapeMismatchError, match="dense4_weight"):
        net(nd.ones((2, 6)))
    assert [(p.shape, p.pending, p.variable) for p in net.collect_params().values()] == before
    assert rec.calls == calls_before
    assert not any(b.built for b in net._iter_blocks())
    fixed = nn.Sequential()
    fixed.add(*list(net._children.values())[:4])
    fixed.add(nn.Dense(2))
    fixed.initialize(rec, force_reinit=True)
    rec.calls.clear()
    fixed(nd.ones((2, 6)))
    assert [c[0] for c in rec.calls] == ["dense0_weight", "dense1_weight", "dense2_weight",
                                         "dense3_weight", "dense5_weight"]


def test_an_initializer_failing_mid_pass_rolls_back():
    class FailOnce(init.Initializer):
        def __init__(self):
            super().__init__()
            self.failed = False
            self.calls = []

        def _init_weight(self, name, data):
            self.calls.append(str(name))
            if len(self.calls) == 2 and not self.failed:
                self.failed = True
                raise RuntimeError("flaky initializer")

    net = mlp(3, 3, 3)
    rec = FailOnce()
    net.initialize(rec)
    with pytest.raises(RuntimeError, match="flaky"):
        net(nd.ones((1, 2)))
    assert all(p.variable is None for p in net.collect_params().values() if p.name.endswith("weight"))
    first_attempt = list(rec.calls)
    rec.calls.clear()
    net(nd.ones((1, 2)))
    assert rec.calls == [n for n in first_attempt[:1]] + [
        p.name for p in net.collect_params().values() if p.name.endswith("weight")][1:]
    assert len(rec.calls) == 3


def test_forward_before_initialize_raises_runtime_error_and_changes_nothing():
    net = mlp(3)
    with pytest.raises(RuntimeError, match="has not been initialized"):
        net(nd.ones((2, 4)))
    assert net[0].weight.shape == (3, 0)
    assert not net.built


class UserDense(nn.Block):
    """A user block: a deferred parameter and an infer_shape hook."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, 0), allow_deferred_init=True)

    def infer_shape(self, x_shape):
        self.weight.shape = (self.weight.shape[0], x_shape[-1])

    def forward(self, x):
        return keras.ops.matmul(x, keras.ops.transpose(self.weight.data()))


def test_user_block_defers_like_a_builtin(fresh_names):
    block = UserDense(3)
    assert block.weight.name == "userdense0_weight" and block.weight.shape == (3, 0)
    rec = Recorder()
    block.initialize(rec)
    out = block(nd.ones((2, 5)))
    assert rec.calls == [("userdense0_weight", (3, 5))]
    np.testing.assert_allclose(np.asarray(out), np.full((2, 3), 0.5), rtol=1e-6)


class TwoBranch(nn.Block):
    """A container with its own forward: children are built as the forward reaches them."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.second = nn.Dense(2)
            self.first = nn.Dense(3)

    def forward(self, x):
        return self.second(self.first(x))


def test_custom_forward_initializes_in_forward_order(fresh_names):
    net = TwoBranch()
    rec = Recorder()
    net.initialize(rec)
    net(nd.ones((4, 6)))
    assert rec.calls == [("twobranch0_dense1_weight", (3, 6)), ("twobranch0_dense0_weight", (2, 3))]


def test_custom_forward_failure_rolls_back_children_built_on_the_way():
    net = TwoBranch()
    net.second.weight.shape = (2, 9)  # contradicts what `first` will produce
    net.initialize(Recorder())
    with pytest.raises(ShapeMismatchError):
        net(nd.ones((4, 6)))
    assert net.first.weight.shape == (3, 0) and net.first.weight.variable is None
    assert not net.first.built


def test_deepcopy_before_first_pass_is_independent():
    net = mlp(3)
    net.initialize(init.One())
    twin = copy.deepcopy(net)
    twin(nd.ones((1, 2)))
    net(nd.ones((1, 4)))
    assert twin[0].weight.shape == (3, 2) and net[0].weight.shape == (3, 4)
    twin[0].bias.set_data(nd.ones((3,)) * 7)
    assert np.asarray(net[0].bias.data()).tolist() == [0, 0, 0]


def test_hybridize_gives_same_numbers_and_same_errors():
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    x = nd.random.uniform(shape=(3, 5))
    eager = np.asarray(net(x))
    net.hybridize()
    np.testing.assert_allclose(np.asarray(net(x)), eager, rtol=1e-6)
    assert net(nd.ones((7, 5))).shape == (7, 2)
    with pytest.raises(ShapeMismatchError):
        net(nd.ones((2, 6)))


def test_hybridize_before_first_pass_still_defers():
    net = nn.HybridSequential()
    net.add(nn.Dense(4), nn.Dense(2))
    rec = Recorder()
    net.initialize(rec)
    net.hybridize()
    net(nd.ones((2, 3)))
    net(nd.ones((5, 3)))
    assert len(rec.calls) == 2


def test_gradient_tape_training_lowers_the_loss():
    tf = pytest.importorskip("tensorflow") if keras.backend.backend() == "tensorflow" else None
    if tf is None:
        pytest.skip("GradientTape is TensorFlow's; other backends train through model.fit")
    net = mlp(8, 1)
    net[0].act = None
    net.initialize(init.Xavier())
    x = np.random.RandomState(0).rand(64, 3).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    opt = keras.optimizers.Adam(0.05)
    losses = []
    for _ in range(30):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((net(x) - y) ** 2)
        grads = tape.gradient(loss, net.trainable_weights)
        assert all(g is not None for g in grads)
        opt.apply_gradients(zip(grads, net.trainable_weights))
        losses.append(float(loss))
    assert losses[-1] < 0.2 * losses[0]


def test_sequential_compiles_and_fits_as_a_keras_model():
    net = mlp(16, 1, activation=None)
    net.initialize(init.Xavier())
    x = np.random.RandomState(1).rand(128, 4).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    net.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = net.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert net.predict(x[:5], verbose=0).shape == (5, 1)


def test_trainable_weights_are_the_parameters_variables():
    net = mlp(3, 2)
    net.initialize()
    net(nd.ones((1, 4)))
    variables = {id(p.data()) for p in net.collect_params().values()}
    assert {id(v) for v in net.trainable_weights} == variables
    assert len(net.trainable_weights) == 4


def test_late_weight_has_the_same_path_as_an_eager_one():
    eager = nn.Dense(3, in_units=4, prefix="same_")
    eager.initialize()
    late_net = nn.Sequential()
    late_net.add(nn.Dense(3, prefix="same_"))
    late_net.initialize()
    late_net(nd.ones((1, 4)))
    assert eager.weight.data().path == late_net[0].weight.data().path == "same/weight"


def test_keras_functional_api_builds_an_uninitialized_block_with_defaults():
    inputs = keras.Input(shape=(6,))
    block = nn.Dense(3, activation="relu")
    model = keras.Model(inputs, block(inputs))
    assert block.weight.shape == (3, 6)
    assert model.predict(np.ones((2, 6), "float32"), verbose=0).shape == (2, 3)


def test_deepcopy_of_a_net_with_dropout_copies_its_seed_generator():
    """A Keras SeedGenerator holds the backend module, which deepcopy cannot copy."""
    net = nn.Sequential()
    net.add(nn.Dropout(0.5), nn.Dense(2))
    net.initialize()
    twin = copy.deepcopy(net)  # before the first pass
    assert twin[0].seed_generator is not net[0].seed_generator
    assert twin[0].seed_generator.state is not net[0].seed_generator.state
    assert twin[0].non_trainable_variables == [twin[0].seed_generator.state]
    x = nd.ones((4, 8))
    masks = [np.asarray(b[0](x, training=True)) for b in (net, twin)]
    if keras.backend.backend() != "torch":  # Keras's torch dropout ignores an unseeded
        # generator's state and draws from torch's global RNG: no replay there
        np.testing.assert_array_equal(masks[0], masks[1])  # same state, same draws
    assert tuple(twin(x).shape) == (4, 2) and net[1].weight.shape == (2, 0)
    again = copy.deepcopy(twin)  # after it
    assert again[1].weight.shape == (2, 8)


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="hybridize stays eager on torch")
def test_hybridize_compiles_python_forward_runs_once_per_input_shape():
    runs = []

    class Doubler(nn.HybridBlock):
        def forward(self, x):
            runs.append(tuple(x.shape))
            return x * 2.0

    block = Doubler()
    block.initialize()
    x = nd.ones((3, 4))
    block(x)
    block.hybridize()
    runs.clear()
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(block(x)), 2.0 * np.ones((3, 4)))
    assert len(runs) == 1  # traced once, then the compiled function runs
