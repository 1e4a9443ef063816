"""Initializers: Gluon's dispatch, the in-place data contract, built-ins, Keras bridge."""

import keras
import numpy as np
import pytest

from keras_defer import init, nd
from keras_defer.gluon import nn
from keras_defer.parameter import Parameter, ParameterDict


def value_of(initializer, shape=(64, 32), name="w"):
    p = Parameter(name, shape=shape)
    p.initialize(init=initializer)
    return np.asarray(p.data())


def test_user_init_weight_sees_name_and_full_shape_and_writes_in_place():
    seen = []

    class MyInit(init.Initializer):
        def _init_weight(self, name, data):
            seen.append((str(name), data.shape))
            data[:] = nd.random.uniform(low=-10, high=10, shape=data.shape)
            data *= data.abs() >= 5

    v = value_of(MyInit(), shape=(20, 30), name="dense9_weight")
    assert seen == [("dense9_weight", (20, 30))]
    assert np.all((v == 0) | (np.abs(v) >= 5))
    assert np.abs(v).max() <= 10 and (v != 0).any()


def test_global_initializer_runs_for_every_parameter_without_its_own():
    names = []

    class Recorder(init.Initializer):
        def _init_weight(self, name, data):
            names.append(str(name))

    net = nn.Sequential()
    net.add(nn.Dense(2, in_units=3, bias_initializer=None), nn.Dense(2, in_units=2))
    net.initialize(Recorder())
    assert names == [net[0].weight.name, net[0].bias.name, net[1].weight.name]


def test_builtin_statistics():
    u = value_of(init.Uniform(0.5), shape=(200, 100))
    assert -0.5 <= u.min() < -0.45 and 0.45 < u.max() <= 0.5
    n = value_of(init.Normal(2.0), shape=(200, 100))
    assert abs(n.std() - 2.0) < 0.1
    x = value_of(init.Xavier(), shape=(100, 300))
    bound = np.sqrt(3.0 / ((100 + 300) / 2))
    assert np.abs(x).max() <= bound and np.abs(x).max() > 0.9 * bound
    m = value_of(init.MSRAPrelu(), shape=(100, 300))
    assert abs(m.std() - np.sqrt(2.0 / (1 + 0.25**2) / 200)) < 0.01
    o = value_of(init.Orthogonal(scale=1.0), shape=(8, 8))
    np.testing.assert_allclose(o @ o.T, np.eye(8), atol=1e-5)
    np.testing.assert_array_equal(value_of(init.Constant(1.5), (2, 2)), np.full((2, 2), 1.5))
    np.testing.assert_array_equal(value_of("zeros", (3,)), np.zeros(3))
    np.testing.assert_array_equal(value_of("ones", (3,)), np.ones(3))


def test_xavier_refuses_vectors():
    with pytest.raises(ValueError, match="at least 2D"):
        value_of(init.Xavier(), shape=(5,))


def test_mixed_picks_by_pattern():
    mixed = init.Mixed([".*bias", ".*"], [init.One(), init.Zero()])
    assert value_of(mixed, (2,), name="d_bias").tolist() == [1, 1]
    assert value_of(mixed, (2,), name="d_weight").tolist() == [0, 0]


def test_keras_initializers_are_accepted_and_redraw_each_time():
    p = Parameter("w", shape=(30, 30))
    p.initialize(init=keras.initializers.RandomUniform(-1, 1))
    first = np.asarray(p.data()).copy()
    p.initialize(init=keras.initializers.RandomUniform(-1, 1), force_reinit=True)
    assert not np.allclose(first, np.asarray(p.data()))
    assert value_of("glorot_uniform", (4, 4)).shape == (4, 4)


def test_gluon_initializers_work_as_keras_initializers():
    layer = keras.layers.Dense(3, kernel_initializer=init.Constant(0.25))
    layer.build((None, 2))
    np.testing.assert_array_equal(np.asarray(layer.kernel), np.full((2, 3), 0.25))
    assert keras.initializers.get(init.One()) is not None


def test_unknown_initializer_names_fail_at_construction():
    with pytest.raises(ValueError, match="Unknown initializer 'nope'"):
        nn.Dense(3, weight_initializer="nope")
    with pytest.raises(TypeError, match="Expected an initializer"):
        init.create(42)


def test_random_seed_makes_initialization_reproducible():
    nd.random.seed(7)
    a = value_of(init.Uniform(), (5,))
    nd.random.seed(7)
    b = value_of(init.Uniform(), (5,))
    np.testing.assert_array_equal(a, b)


def test_zero_initialized_parameters_never_share_storage():
    # Zeros are cheap to share as an initial value (TensorFlow reuses one tensor for
    # small shapes); the variables made from it must still be independent.
    first, second = nn.Dense(4, in_units=3), nn.Dense(4, in_units=3)
    first.initialize()
    second.initialize()
    first.bias.variable.assign_add(keras.ops.ones((4,)))
    net = nn.Dense(4, in_units=3)
    net.initialize()
    net.bias.variable.assign_sub(keras.ops.full((4,), 2.0))
    later = nn.Dense(4, in_units=3)
    later.initialize(init.Zero())
    np.testing.assert_array_equal(np.asarray(first.bias.data()), np.ones(4))
    np.testing.assert_array_equal(np.asarray(second.bias.data()), np.zeros(4))
    np.testing.assert_array_equal(np.asarray(net.bias.data()), np.full(4, -2.0))
    np.testing.assert_array_equal(np.asarray(later.bias.data()), np.zeros(4))
    np.testing.assert_array_equal(np.asarray(later.weight.data()), np.zeros((4, 3)))


@pytest.mark.parametrize("initializer", [init.Uniform(), init.Normal(), init.Xavier()])
def test_random_initializers_replay_under_set_random_seed_and_draw_fresh_numbers(initializer):
    def values():
        net = nn.Sequential()
        net.add(nn.Dense(6, activation="relu"), nn.Dense(6))
        net.initialize(initializer)
        net(nd.ones((2, 6)))
        first = [np.asarray(net[i].weight.data()).copy() for i in (0, 1)]
        net.initialize(initializer, force_reinit=True)
        return first, [np.asarray(net[i].weight.data()) for i in (0, 1)]

    keras.utils.set_random_seed(11)
    first, again = values()
    keras.utils.set_random_seed(11)
    replay_first, replay_again = values()
    for a, b in zip(first + again, replay_first + replay_again):
        np.testing.assert_array_equal(a, b)          # the same seed replays every draw
    assert not np.array_equal(first[0], first[1])    # two parameters, two draws
    assert not np.array_equal(first[0], again[0])    # force_reinit draws fresh numbers
    keras.utils.set_random_seed(12)
    assert not np.array_equal(values()[0][0], first[0])


# -- many parameters at once (init.Draws) --------------------------------------------
def deferred_mlp(widths, initializer, in_features=5):
    net = nn.Sequential()
    for units in widths:
        net.add(nn.Dense(units))
    net.initialize(initializer)
    net(nd.ones((2, in_features)))
    return net


def test_a_deep_first_pass_draws_each_parameter_from_its_own_initializer_scale():
    widths = [3, 40, 7, 40, 3, 12]
    net = deferred_mlp(widths, init.Xavier())
    fan_ins = [5] + widths[:-1]
    for layer, units, fan_in in zip(net, widths, fan_ins):
        w = np.asarray(layer.weight.data())
        bound = np.sqrt(3.0 / ((fan_in + units) / 2.0))
        assert w.shape == (units, fan_in)
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.5 * bound  # spread over its own range, not a neighbour's
    weights = [np.asarray(layer.weight.data()) for layer in net]
    assert len({w.tobytes() for w in weights}) == len(weights)


def test_values_drawn_together_are_as_uniform_as_values_drawn_alone():
    net = deferred_mlp([16] * 30, init.Uniform(0.5), in_features=16)
    values = np.concatenate([np.asarray(layer.weight.data()).ravel() for layer in net])
    assert values.min() >= -0.5 and values.max() <= 0.5
    histogram, _ = np.histogram(values, bins=10, range=(-0.5, 0.5))
    expected = values.size / 10
    assert np.all(np.abs(histogram - expected) < 5 * np.sqrt(expected))
    for layer in net:  # no piece repeats another (each weight is its own slice)
        assert np.unique(np.asarray(layer.weight.data())).size > 200


def test_an_initializer_that_changes_generate_is_still_asked_for_every_parameter():
    seen = []

    class Recorded(init.Uniform):
        def _generate(self, shape, dtype):
            seen.append(shape)
            return super()._generate(shape, dtype)

    deferred_mlp([4, 6, 2], Recorded())  # the biases have their own initializer (zeros)
    assert seen == [(4, 5), (6, 4), (2, 6)]  # one call per weight, in forward order


def test_draws_groups_small_builtin_draws_and_bounds_each_group(monkeypatch):
    calls = []
    real = init._random_draws

    def spy(kind, shapes, scale, shift, dtype):
        calls.append((kind, [tuple(s) for s in shapes], scale, dtype))
        return real(kind, shapes, scale, shift, dtype)

    monkeypatch.setattr(init, "_random_draws", spy)
    monkeypatch.setattr(init.Draws, "_SMALL", 100)
    monkeypatch.setattr(init.Draws, "_GROUP_ELEMENTS", 250)
    u, n = init.Uniform(0.1), init.Normal(0.2)
    requests = [
        ("a", u, u, (10, 10), "float32"),   # 100: grouped
        ("b", n, n, (50,), "float32"),      # another kind: its own group
        ("c", u, u, (101,), "float32"),     # larger than _SMALL: alone, not grouped
        ("d", u, u, (10, 10), "float32"),
        ("e", u, u, (10, 10), "float32"),   # would exceed 250: starts a new group
        ("f", u, u, (5,), "float16"),       # another dtype: its own group
        ("g", init.Zero(), init.Zero(), (10,), "float32"),  # not a draw
        ("h", u, u, (7,), "float32"),       # joins e's group
        ("i", n, n, (3,), "float32"),       # joins b's group
    ]
    draws = init.Draws(requests)
    values = [draws.value(i) for i in range(len(requests))]
    for (name, _, _, shape, dtype), value in zip(requests, values):
        assert tuple(value.shape) == shape, name
        assert keras.backend.standardize_dtype(value.dtype) == dtype, name
    assert sorted(c[1] for c in calls) == sorted([
        [(10, 10), (10, 10)], [(50,), (3,)], [(10, 10), (7,)]])
    assert np.abs(np.asarray(values[0])).max() <= 0.1
    assert np.all(np.asarray(values[6]) == 0)
    assert not np.array_equal(np.asarray(values[0]), np.asarray(values[3]))


def test_an_initializer_error_among_grouped_draws_leaves_every_parameter_as_it_was():
    params = ParameterDict("net_")
    for name, shape, initializer in [("a", (3, 3), init.Uniform()), ("b", (4,), init.Xavier()),
                                     ("c", (3, 3), init.Uniform())]:
        params.get(name, shape=shape, init=initializer)
    with pytest.raises(ValueError, match="2D"):
        params.initialize()
    assert not any(p.is_initialized for p in params.values())
    params["net_b"].init = init.Normal()
    params.initialize()
    assert all(p.is_initialized for p in params.values())


def test_a_value_set_before_the_first_pass_is_kept_among_grouped_draws():
    net = nn.Sequential()
    net.add(nn.Dense(4), nn.Dense(4), nn.Dense(4))
    net.initialize(init.Uniform(0.5))
    net[1].weight.set_data(np.full((4, 4), 9.0, "float32"))
    net(nd.ones((2, 4)))
    np.testing.assert_array_equal(np.asarray(net[1].weight.data()), np.full((4, 4), 9.0))
    for i in (0, 2):
        w = np.asarray(net[i].weight.data())
        assert np.abs(w).max() <= 0.5 and np.unique(w).size == 16
