"""``Block.share_parameters``: Gluon 2.0's API on Gluon 1.9.1's semantics.

After sharing, the blocks hold the same Parameter (one Keras variable): it is
initialized once, trained once, listed once, and saved and loaded as one.
"""

import warnings

import keras
import numpy as np
import pytest

from keras_defer import init, nd
from keras_defer.errors import ShapeMismatchError
from keras_defer.gluon import nn


class Counting(init.Initializer):
    """Counts how often each parameter is initialized."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _init_weight(self, name, data):
        self.calls.append(str(name))
        data[:] = 0.5


def ids(block):
    return [id(v) for v in block.trainable_weights]


def values(block):
    return {n: np.asarray(p.data()).copy() for n, p in block.collect_params().items()}


def mlp(units=(4, 2), **kwargs):
    net = nn.Sequential(**kwargs)
    net.add(*[nn.Dense(u, activation="tanh") for u in units[:-1]], nn.Dense(units[-1]))
    return net


X = np.random.RandomState(0).rand(6, 3).astype("float32")


# -- two Dense ----------------------------------------------------------------------------
def test_two_deferred_dense_share_and_the_first_pass_of_either_initializes_once():
    first, second = nn.Dense(4), nn.Dense(4)
    assert second.share_parameters(first.collect_params()) is second
    assert second.weight is first.weight and second.bias is first.bias
    assert list(second.params.keys()) == [first.weight.name, first.bias.name]
    counting = Counting()
    first.initialize(counting)
    with pytest.warns(UserWarning, match="already initialized"):  # the bias, as Gluon
        second.initialize(counting)
    assert first.weight.shape == (4, 0)  # still deferred: nothing ran
    out = second(X)  # the first pass of either initializes the shared weight
    assert counting.calls == [first.weight.name]
    assert first.weight.shape == (4, 3)
    np.testing.assert_allclose(np.asarray(first(X)), np.asarray(out))
    assert counting.calls == [first.weight.name]  # not again
    assert ids(first) == ids(second) and len(ids(second)) == 2


@pytest.mark.parametrize("how", ["structural", "gluon names", "block", "param dict"])
def test_the_names_shared_may_be_given_by(how):
    first, second = nn.Dense(4, in_units=3), nn.Dense(4)
    shared = {
        "structural": {"weight": first.weight},
        "gluon names": {second.weight.name: first.weight},
        "block": first,
        "param dict": first.collect_params(),
    }[how]
    second.share_parameters(shared)
    assert second.weight is first.weight
    assert (second.bias is first.bias) == (how in ("block", "param dict"))


def test_sharing_none_or_the_same_parameters_changes_nothing():
    first = nn.Dense(4, in_units=3)
    first.initialize()
    before = ids(first)
    assert first.share_parameters(None) is first
    assert first.share_parameters(first) is first
    assert ids(first) == before and list(first.params.keys()) == [first.weight.name,
                                                                   first.bias.name]


# -- two nets -----------------------------------------------------------------------------
def test_two_nets_share_every_parameter_by_structure():
    net1, net2 = mlp(), mlp()
    net2.share_parameters(net1._collect_params_with_prefix())
    assert list(net1._collect_params_with_prefix()) == ["0.weight", "0.bias", "1.weight",
                                                        "1.bias"]
    for name, param in net1._collect_params_with_prefix().items():
        assert net2._collect_params_with_prefix()[name] is param
    assert list(net2.collect_params().keys()) == list(net1.collect_params().keys())
    net1.initialize(init.Xavier())
    with pytest.warns(UserWarning, match="already initialized"):  # the biases, as Gluon
        net2.initialize(init.Xavier())
    out1 = np.asarray(net1(X))
    np.testing.assert_allclose(np.asarray(net2(X)), out1)
    assert ids(net1) == ids(net2) and len(ids(net2)) == 4


def test_a_subset_of_a_net_shares_and_collect_params_lists_each_once():
    net = mlp((4, 4, 2))
    net.share_parameters({"1.weight": net[0].weight, "1.bias": net[0].bias})
    names = list(net.collect_params().keys())
    assert names == [net[0].weight.name, net[0].bias.name, net[2].weight.name,
                     net[2].bias.name]
    net.initialize()
    with pytest.raises(ShapeMismatchError):
        net(X)  # 3 features in, but the shared weight must also take the 4 of layer 0
    net(np.ones((2, 4), "float32"))
    assert len(net.trainable_weights) == 4 and net.count_params() == 4 * 4 + 4 + 2 * 4 + 2


def test_sharing_after_the_first_pass_uses_the_shared_variable():
    net1, net2 = mlp(), mlp()
    for net in (net1, net2):
        net.initialize(init.Xavier())
        net(X)
    old = ids(net2)
    net2.share_parameters(net1)
    assert ids(net2) == ids(net1) != old
    np.testing.assert_allclose(np.asarray(net2(X)), np.asarray(net1(X)))
    net1[0].weight.set_data(np.zeros((4, 3), "float32"))  # one variable: seen by both
    np.testing.assert_allclose(np.asarray(net2(X)), np.asarray(net1(X)))


def test_sharing_after_hybridize_and_after_the_fast_path_planned():
    net1 = nn.HybridSequential()
    net1.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net2 = nn.HybridSequential()
    net2.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    plain = nn.Sequential()  # not hybridized: the fast path plans its forward
    plain.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    for net in (net1, net2, plain):
        net.initialize(init.Xavier())
        net(X)
        net(X)
    net2.hybridize()
    net2(X)
    net2[1].share_parameters(net1[1])  # a child: its hybridized parent must follow
    net2[0].share_parameters(net1[0])
    np.testing.assert_allclose(np.asarray(net2(X)), np.asarray(net1(X)), rtol=1e-6)
    plain[1].share_parameters(net1[1])
    plain[0].share_parameters(net1[0])
    np.testing.assert_allclose(np.asarray(plain(X)), np.asarray(net1(X)), rtol=1e-6)


def test_a_pending_parameter_shared_into_a_built_block_is_initialized_now():
    built = nn.Dense(4)
    built.initialize()
    built(X)
    fresh = nn.Dense(4)
    counting = Counting()
    fresh.initialize(counting)
    built.share_parameters(fresh)
    assert counting.calls == [fresh.weight.name]
    assert fresh.weight.shape == (4, 3) and fresh.weight.is_initialized
    np.testing.assert_array_equal(np.asarray(built.weight.data()), np.full((4, 3), 0.5))
    fresh(X)
    assert counting.calls == [fresh.weight.name]


# -- what does not fit --------------------------------------------------------------------
def snapshot(*blocks):
    return [(ids(b), dict((n, p) for n, p in b._collect_params_with_prefix().items()),
             list(b.params.keys()), values(b)) for b in blocks]


def assert_same(before, after):
    for (ids1, params1, keys1, vals1), (ids2, params2, keys2, vals2) in zip(before, after):
        assert ids1 == ids2 and keys1 == keys2
        assert all(params1[n] is params2[n] for n in params1)
        for n in vals1:
            np.testing.assert_array_equal(vals1[n], vals2[n])


def test_a_shape_mismatch_names_both_and_changes_nothing():
    net1, net2 = mlp((4, 2)), mlp((4, 5))
    for net in (net1, net2):
        net.initialize()
        net(X)
    before = snapshot(net1, net2)
    with pytest.raises(ShapeMismatchError) as info:
        net2.share_parameters(net1)  # '0.*' fit, '1.weight' (2, 4) vs (5, 4) does not
    message = str(info.value)
    assert net1[1].weight.name in message and net2[1].weight.name in message
    assert "(2, 4)" in message and "(5, 4)" in message
    assert_same(before, snapshot(net1, net2))
    np.testing.assert_allclose(np.asarray(net2(X)).shape, (6, 5))


def test_a_deferred_shape_that_contradicts_also_changes_nothing():
    wide, deferred = nn.Dense(4, in_units=7), nn.Dense(4)
    wide.initialize()
    deferred.initialize()
    deferred(X)  # in_units 3 now
    before = snapshot(wide, deferred)
    with pytest.raises(ShapeMismatchError, match="incompatible"):
        deferred.share_parameters(wide)
    assert_same(before, snapshot(wide, deferred))


def test_unknown_names_wrong_values_and_dtypes_change_nothing():
    net1, net2 = mlp(), mlp()
    net2.initialize()
    net2(X)
    before = snapshot(net2)
    with pytest.raises(KeyError, match=r"'2.weight'.*'nope'.*structural"):
        net2.share_parameters({"0.weight": net1[0].weight, "2.weight": net1[1].weight,
                               "nope": net1[1].bias})
    with pytest.raises(TypeError, match="must be a Parameter"):
        net2.share_parameters({"0.weight": net1[0].weight, "0.bias": np.zeros(4)})
    with pytest.raises(TypeError, match="dict or ParameterDict"):
        net2.share_parameters([net1[0].weight])
    half = nn.Dense(4, dtype="float16")
    with pytest.raises(ValueError, match="dtype"):
        net2.share_parameters({"1.bias": net1[1].bias, "0.weight": half.weight})
    assert_same(before, snapshot(net2))


def test_an_initializer_that_raises_while_sharing_changes_nothing():
    class Broken(init.Initializer):
        def _init_weight(self, name, data):
            raise RuntimeError("broken initializer")

    built = mlp()
    built.initialize()
    built(X)
    fresh = mlp()
    fresh.initialize(Broken())
    before = snapshot(built)
    with pytest.raises(RuntimeError, match="broken"):
        built.share_parameters(fresh)
    assert_same(before, snapshot(built))
    assert not fresh[0].weight.is_initialized and fresh[0].weight.shape == (4, 0)


# -- training, saving ------------------------------------------------------------------------
def tied_net(how):
    net = nn.Sequential()
    first = nn.Dense(4, in_units=4, activation="tanh")
    second = (nn.Dense(4, in_units=4, params=first.params) if how == "params="
              else nn.Dense(4, in_units=4))
    net.add(first, second, nn.Dense(1, in_units=4))
    if how == "share_parameters":
        second.share_parameters(first)
    net.initialize(init.Constant(0.1))
    net[0].weight.set_data(np.random.RandomState(1).rand(4, 4).astype("float32") - 0.5)
    return net


def test_fit_trains_the_shared_variable_once_as_params_sharing_does():
    x = np.random.RandomState(4).rand(32, 4).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    nets = [tied_net("share_parameters"), tied_net("params=")]
    for net in nets:
        assert len(net.trainable_weights) == 4
        assert len({id(v) for v in net.trainable_weights}) == 4
        net.compile(keras.optimizers.SGD(0.05), "mse")
        net.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    ours, reference = nets
    assert ours[1].weight is ours[0].weight
    for a, b in zip(ours.trainable_weights, reference.trainable_weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="reads gradients with tf.GradientTape")
def test_the_gradient_of_a_tied_weight_is_the_sum_over_its_uses():
    import tensorflow as tf

    x = np.random.RandomState(4).rand(32, 4).astype("float32")
    net = tied_net("share_parameters")
    untied = tied_net("none")
    untied[1].weight.set_data(net[0].weight.data())
    untied[1].bias.set_data(net[0].bias.data())
    with_tape = []
    for model in (net, untied):
        with tf.GradientTape() as tape:
            loss = keras.ops.sum(model(x))
        with_tape.append(tape.gradient(loss, [model[0].weight.variable,
                                              model[1].weight.variable]))
    np.testing.assert_allclose(np.asarray(with_tape[0][0]),
                               np.asarray(with_tape[1][0]) + np.asarray(with_tape[1][1]),
                               rtol=1e-5)


def test_save_parameters_round_trip_of_a_shared_net(tmp_path):
    net = tied_net("share_parameters")
    expected = np.asarray(net(X[:, :2].repeat(2, axis=1)))
    path = str(tmp_path / "tied.params")
    net.save_parameters(path)
    again = nn.Sequential()
    again.add(nn.Dense(4, activation="tanh"), nn.Dense(4), nn.Dense(1))
    again[1].share_parameters(again[0])
    again.load_parameters(path)
    assert again[1].weight is again[0].weight
    np.testing.assert_allclose(np.asarray(again(X[:, :2].repeat(2, axis=1))), expected,
                               rtol=1e-6)
    net.save_parameters(path, deduplicate=True)
    again.load_parameters(path)


@pytest.mark.parametrize("how", ["share_parameters", "params="])
def test_dot_keras_round_trip_of_a_shared_net_keeps_the_tie(tmp_path, how):
    net = tied_net(how)
    x = X[:, :2].repeat(2, axis=1)
    expected = np.asarray(net(x))
    path = str(tmp_path / "tied.keras")
    net.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = keras.models.load_model(path)
    assert loaded[1].weight is loaded[0].weight and loaded[1].bias is loaded[0].bias
    assert len(loaded.trainable_weights) == 4
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6)
    assert [p.name for p in loaded.collect_params().values()] == [
        p.name for p in net.collect_params().values()]


def test_a_tie_survives_a_dot_keras_round_trip_of_a_compiled_trained_net(tmp_path):
    x = np.random.RandomState(4).rand(32, 4).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    net = tied_net("share_parameters")
    net.compile(keras.optimizers.Adam(0.01), "mse")
    net.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    path = str(tmp_path / "trained.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    assert loaded[1].weight is loaded[0].weight
    for model in (net, loaded):
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(net.trainable_weights, loaded.trainable_weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5)


def test_nested_containers_keep_ties_across_their_children(tmp_path):
    inner = nn.Sequential()
    inner.add(nn.Dense(3, in_units=3), nn.Dense(3, in_units=3))
    net = nn.Sequential()
    net.add(inner, nn.Dense(3, in_units=3))
    net[1].share_parameters(inner[0])
    net.initialize()
    x = X[:, :3].astype("float32")
    expected = np.asarray(net(x))
    path = str(tmp_path / "nested.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    assert loaded[1].weight is loaded[0][0].weight
    assert loaded[0][1].weight is not loaded[0][0].weight
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6)


def test_a_config_tying_positions_the_net_lacks_is_refused_by_name():
    config = tied_net("share_parameters").get_config()
    assert config["shared_parameters"] == [["0.weight", "1.weight"], ["0.bias", "1.bias"]]
    config["shared_parameters"] = [["0.weight", "7.weight"]]
    with pytest.raises(ValueError, match=r"7\.weight"):
        nn.Sequential.from_config(config)
