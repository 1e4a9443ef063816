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

    def forward(self, x):  # Gluon's: NDArrays in, nd operations
        assert isinstance(x, nd.NDArray) and isinstance(self.weight.data(), nd.NDArray)
        return nd.dot(x, self.weight.data().T)


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
    variables = {id(p.variable) for p in net.collect_params().values()}
    assert {id(v) for v in net.trainable_weights} == variables
    assert len(net.trainable_weights) == 4


def test_late_weight_has_the_same_path_as_an_eager_one():
    eager = nn.Dense(3, in_units=4, prefix="same_")
    eager.initialize()
    late_net = nn.Sequential()
    late_net.add(nn.Dense(3, prefix="same_"))
    late_net.initialize()
    late_net(nd.ones((1, 4)))
    assert eager.weight.variable.path == late_net[0].weight.variable.path == "same/weight"


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


# -- NDArrays in, NDArrays out (MXNet's blocks), tensors in, tensors out (Keras's) -------
class Scaled(nn.Block):
    """A Gluon user block: NDArrays in its forward, nd operations, a child, a constant."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []
        with self.name_scope():
            self.dense = nn.Dense(2)
            self.scale = self.params.get_constant("scale", [[1.0, 0.0], [0.0, 2.0]])

    def forward(self, x):
        y = self.dense(x)
        self.seen.append((type(x).__name__, type(y).__name__))
        return nd.relu(nd.dot(y, self.scale.data())) + 1


class Weighted(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []
        self.weight = self.params.get("weight", shape=(0,), allow_deferred_init=True)

    def infer_shape(self, x_shape):
        self.weight.shape = x_shape[-1:]

    def hybrid_forward(self, F, x, weight):
        self.seen.append((F is nd, type(x).__name__, isinstance(weight, nd.NDArray)))
        return F.broadcast_mul(x, weight)


def _is_backend_tensor(value):
    return keras.ops.is_tensor(value) and not isinstance(value, nd.NDArray)


def test_a_block_returns_what_it_is_given_ndarrays_or_tensors():
    net = mlp(3, 2)
    net.initialize(init.One())
    x = np.ones((2, 4), "float32")
    out_nd = net(nd.array(x))
    assert type(out_nd) is nd.NDArray and out_nd.shape == (2, 2)
    out_tensor = net(keras.ops.convert_to_tensor(x))
    assert _is_backend_tensor(out_tensor)
    np.testing.assert_array_equal(out_nd.asnumpy(), np.asarray(out_tensor))
    np.testing.assert_array_equal(out_nd.asnumpy(), np.full((2, 2), 12.0))


def test_a_user_forward_computes_on_ndarrays_whatever_the_caller_passes(fresh_names):
    block = Scaled()
    block.initialize(init.One())
    out = block(nd.ones((1, 3)))
    assert type(out) is nd.NDArray
    np.testing.assert_array_equal(out.asnumpy(), [[4.0, 7.0]])  # relu([3, 6]) + 1
    out = block(keras.ops.ones((1, 3)))  # Keras's world: a tensor comes back
    assert _is_backend_tensor(out)
    np.testing.assert_array_equal(np.asarray(out), [[4.0, 7.0]])
    assert block.seen == [("NDArray", "NDArray")] * 2
    assert block._forward_on_ndarrays and not nn.Dense._forward_on_ndarrays


def test_hybrid_forward_gets_nd_and_the_parameters_data(fresh_names):
    block = Weighted()
    block.initialize(init.Constant(3.0))
    out = block(nd.ones((2, 4)))
    assert block.seen == [(True, "NDArray", True)]
    np.testing.assert_array_equal(out.asnumpy(), np.full((2, 4), 3.0))
    block.weight.data()[:] = 5  # the parameter's data() writes through to the variable
    np.testing.assert_array_equal(block(nd.ones((1, 4))).asnumpy(), np.full((1, 4), 5.0))
    np.testing.assert_array_equal(np.asarray(block.weight.variable), np.full(4, 5.0))


def test_a_class_can_keep_its_forward_on_tensors():
    class OnTensors(nn.Block):
        _forward_on_ndarrays = False

        def forward(self, x):
            assert _is_backend_tensor(x)
            return keras.ops.tanh(x)

    out = OnTensors()(nd.zeros((1, 2)))
    assert type(out) is nd.NDArray and out.asnumpy().tolist() == [[0.0, 0.0]]


def test_a_user_block_builds_and_fits_inside_keras(fresh_names):
    # Keras calls it with symbolic tensors (functional API, fit's traced step): the
    # forward gets NDArrays holding them, and its nd operations run on them.
    class Shifted(nn.Block):
        def forward(self, x):
            return nd.relu(x) + 1

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Shifted()(inputs))
    np.testing.assert_array_equal(model.predict(np.array([[-1.0, 0.0, 2.0]]), verbose=0),
                                  [[1.0, 1.0, 3.0]])
    keras.utils.set_random_seed(0)  # the initial weights: the loss target below is per draw
    net = nn.Sequential()
    net.add(Scaled(), nn.Dense(2))
    net.initialize(init.Xavier())
    rs = np.random.RandomState(0)
    x = rs.rand(64, 3).astype("float32")
    y = x @ np.array([[1.0, 2.0], [0.5, 0.0], [0.0, 1.0]], "float32")
    net(nd.array(x[:2]))
    net.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = net.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert net.predict(x[:3], verbose=0).shape == (3, 2)


def test_lambdas_take_ndarrays_and_nd_names():
    double = nn.Lambda(lambda v: v * 2)
    assert repr(double) == "Lambda(<lambda>)" and repr(nn.Lambda("tanh")) == "Lambda(tanh)"
    seen = []

    def tanh(F, v):
        seen.append((F is nd, type(v).__name__))
        return F.tanh(v)

    net = nn.Sequential()
    net.add(double, nn.HybridLambda(tanh), nn.Lambda("relu"), nn.Lambda("softplus"))
    out = net(nd.zeros((1, 2)))
    assert type(out) is nd.NDArray and set(seen) == {(True, "NDArray")}
    np.testing.assert_allclose(out.asnumpy(), np.full((1, 2), np.log(2.0)), rtol=1e-6)


def test_an_error_in_a_forward_called_with_ndarrays_is_the_original():
    class Failing(nn.Block):
        def forward(self, x):
            raise ValueError("the user's own message")

    with pytest.raises(ValueError) as info:
        Failing()(nd.ones((1, 2)))
    assert str(info.value) == "the user's own message"
    net = nn.Sequential()
    net.add(nn.Dense(2, in_units=3))
    net.initialize()
    with pytest.raises(ShapeMismatchError) as info:
        net(nd.ones((1, 4)))
    assert not str(info.value).startswith("Exception encountered")


def _dropped(out):
    return bool((np.asarray(out) == 0).any())


def test_dropout_and_batchnorm_follow_autograd_training_when_called_with_ndarrays():
    from keras_defer import autograd

    drop = nn.Dropout(0.5)
    x = nd.ones((50, 40))
    assert not _dropped(drop(x))
    with autograd.train_mode():
        assert _dropped(drop(x))
        assert not _dropped(drop(x, training=False))  # an explicit training= wins
        assert not _dropped(nn.Dropout(0.5)(keras.ops.ones((50, 40))))  # Keras's world
    with autograd.predict_mode():
        assert not _dropped(drop(x))
    norm = nn.BatchNorm(in_channels=3)
    norm.initialize()
    batch = nd.array(np.random.RandomState(0).normal(5.0, 1.0, (8, 3)))
    with autograd.predict_mode():
        norm(batch)
    np.testing.assert_array_equal(norm.running_mean.data().asnumpy(), np.zeros(3))
    with autograd.train_mode():
        norm(batch)
    assert (norm.running_mean.data().asnumpy() > 0.1).all()


def test_a_user_forward_passes_autograd_training_to_its_children():
    from keras_defer import autograd

    class Net(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(x)

    net = Net()
    x = nd.ones((50, 40))
    assert not _dropped(net(x))
    with autograd.train_mode():
        assert _dropped(net(x))


def test_keras_trains_through_the_nd_operations_of_a_user_forward():
    # Once an array has a gradient (on PyTorch autograd then runs nd operations outside
    # record() unrecorded, as MXNet does), a forward Keras calls still records its way.
    nd.ones((2,)).attach_grad()

    class Twice(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = nn.Dense(1)

        def forward(self, x):
            return self.dense(x) * 2

    net = nn.Sequential()
    net.add(Twice())
    net.initialize(init.One())
    x = np.random.RandomState(0).rand(64, 3).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    net(nd.array(x[:2]))
    net.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = net.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


def test_a_subclass_of_a_layer_with_its_own_forward_gets_ndarrays():
    seen = []

    class Summed(nn.Sequential):
        def forward(self, x):
            seen.append(type(x).__name__)
            return sum(block(x) for block in self._children.values())

    class Halved(nn.Dropout):
        def forward(self, x, training=None):
            seen.append(type(x).__name__)
            return super().forward(x, training=training) / 2

    net = Summed()
    net.add(nn.Dense(3, in_units=3), nn.Dense(3, in_units=3))
    net.initialize(init.One())
    out = net(keras.ops.ones((1, 3)))
    np.testing.assert_array_equal(np.asarray(out), [[6.0, 6.0, 6.0]])
    np.testing.assert_array_equal(Halved(0.5)(nd.ones((1, 2))).asnumpy(), [[0.5, 0.5]])
    assert seen == ["NDArray", "NDArray"]
