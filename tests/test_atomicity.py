"""Half-done work is undone: a first pass or an ``initialize()`` that fails part-way
leaves every parameter and block as it was, and a retry performs exactly the
initializer calls of a fresh net, in the same order, none twice."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from keras_defer import ShapeMismatchError, init, nd
from keras_defer.gluon import nn
from tests.robustness_helpers import FAST, Recorder, assert_same_state, mlp, state

WIDTHS = (8, 7, 6, 5, 4, 3)


def _fresh_calls(widths, in_units, batch):
    """Initializer calls a fresh net makes on its first pass (names without prefix)."""
    recorder = Recorder()
    net = mlp(widths, in_units=in_units, recorder=recorder, prefix="net_")
    net.initialize(recorder)
    net(nd.ones(batch))
    return recorder.calls


def _fifth_layer_net(recorder):
    """Four Dense(flatten=False) layers, then a Dense that insists on 2 x 5 = 10
    flattened features: inputs (batch, 2, 10) fit, (batch, 3, 10) fail in layer 5."""
    net = nn.Sequential(prefix="net_")
    with net.name_scope():
        for width in (8, 7, 6, 5):
            net.add(nn.Dense(width, flatten=False, activation="tanh",
                             bias_initializer=recorder))
        net.add(nn.Dense(3, in_units=10, bias_initializer=recorder))
    net.initialize(recorder)
    return net


def test_shape_error_in_the_fifth_layer_rolls_back_and_retry_is_a_fresh_first_pass():
    recorder = Recorder()
    net = _fifth_layer_net(recorder)
    eager = list(recorder.calls)  # biases and layer 5's weight: known shapes
    before = state(net)
    with pytest.raises(ShapeMismatchError, match=r"net_dense4.*net_dense4_weight.*"
                       r"\(3, 10\).*\(3, 15\)"):
        net(nd.ones((2, 3, 10)))
    assert recorder.calls == eager  # shapes are inferred before any initializer runs
    assert_same_state(before, state(net))
    assert all(not b.built for b in net._iter_blocks())

    recorder.calls.clear()
    out = net(nd.ones((2, 2, 10)))  # the right input
    fresh_recorder = Recorder()
    fresh = _fifth_layer_net(fresh_recorder)
    fresh_recorder.calls.clear()
    fresh(nd.ones((2, 2, 10)))
    assert recorder.calls == fresh_recorder.calls == [
        "net_dense%d_weight" % i for i in range(4)]
    assert out.shape == (2, 3)


@pytest.mark.parametrize("fail_at", [1, 3, 6])
def test_initializer_raising_part_way_is_undone_and_retry_matches_a_fresh_net(fail_at):
    recorder = Recorder()
    net = mlp(WIDTHS, recorder=recorder, prefix="net_")
    net.initialize(recorder)  # biases: known shapes, initialized now
    recorder.arm(fail_at)  # the fail_at-th deferred weight raises
    before = state(net)
    with pytest.raises(RuntimeError, match="injected failure"):
        net(nd.ones((2, 10)))
    assert_same_state(before, state(net))
    recorder.calls.clear()
    out = net(nd.ones((2, 10)))
    fresh = [c for c in _fresh_calls(WIDTHS, None, (2, 10)) if c.endswith("weight")]
    assert recorder.calls == fresh == ["net_dense%d_weight" % i for i in range(6)]
    assert out.shape == (2, 3)
    recorder.calls.clear()
    net(nd.ones((5, 10)))
    assert recorder.calls == []  # later passes never initialize


def test_shape_error_half_way_then_right_input_initializes_once():
    recorder = Recorder()
    net = mlp(WIDTHS, in_units={3: 6}, recorder=recorder, prefix="net_")
    net.initialize(recorder)
    recorder.calls.clear()
    # rank too low is refused before anything is initialized
    before = state(net)
    with pytest.raises(ShapeMismatchError, match="rank >= 2"):
        net(nd.ones((10,)))
    assert_same_state(before, state(net))
    assert recorder.calls == []
    out = net(nd.ones((2, 10)))
    fresh = _fresh_calls(WIDTHS, {3: 6}, (2, 10))
    weights = [c for c in fresh if c.endswith("weight") and "dense3" not in c]
    assert recorder.calls == weights
    assert out.shape == (2, 3)


@FAST
@given(fail_at=st.integers(1, 6), layer=st.integers(1, 5), batch=st.integers(1, 4))
def test_any_failure_point_then_retry_equals_fresh(fail_at, layer, batch):
    """A contradicting ``in_units`` in layer ``layer``, or an initializer failure at
    deferred weight ``fail_at``: state unchanged, and the retry's calls are a fresh
    net's (in forward order, each once)."""
    in_units = {layer: WIDTHS[layer - 1] + 1}  # contradicts the previous layer
    recorder = Recorder()
    net = mlp(WIDTHS, in_units=in_units, recorder=recorder, prefix="net_")
    net.initialize(recorder)
    recorder.calls.clear()
    before = state(net)
    with pytest.raises(ShapeMismatchError):
        net(nd.ones((batch, 10)))
    assert not net.built
    assert_same_state(before, state(net))

    recorder = Recorder()
    net = mlp(WIDTHS, recorder=recorder, prefix="net_")
    net.initialize(recorder)
    recorder.arm(fail_at)
    before = state(net)
    with pytest.raises(RuntimeError, match="injected"):
        net(nd.ones((batch, 10)))
    assert_same_state(before, state(net))
    recorder.calls.clear()
    net(nd.ones((batch + 1, 10)))
    assert recorder.calls == ["net_dense%d_weight" % i for i in range(len(WIDTHS))]


def test_parameter_dict_initialize_is_all_or_nothing():
    recorder = Recorder(fail_at=4)
    net = mlp((4, 3, 2), in_units={0: 5, 1: 4, 2: 3}, recorder=recorder)
    before = state(net)
    with pytest.raises(RuntimeError, match="injected"):
        net.initialize(recorder)
    assert_same_state(before, state(net))
    net.initialize(recorder)
    assert all(p.variable is not None for p in net.collect_params().values())
    values = state(net)
    recorder.arm(2)
    with pytest.raises(RuntimeError, match="injected"):
        net.initialize(recorder, force_reinit=True)
    assert_same_state(values, state(net))


def test_failed_forward_on_a_built_net_changes_nothing():
    net = mlp((4, 3))
    net.initialize()
    net(nd.ones((2, 5)))
    before = state(net)
    for bad in (nd.ones((2, 6)), np.ones((2, 5), "int32"), nd.ones((5,))):
        with pytest.raises((ShapeMismatchError, TypeError)):
            net(bad)
        assert_same_state(before, state(net))


def test_a_fresh_dense_failing_in_set_data_keeps_its_pending_init():
    dense = nn.Dense(3)
    dense.initialize(init.One())
    before = state(dense)
    with pytest.raises(ValueError):
        dense.weight.set_data(np.ones((4, 2)))
    assert_same_state(before, state(dense))


@pytest.mark.parametrize("lam", ["Lambda", "HybridLambda"])
def test_a_lambda_in_the_chain_does_not_hide_a_later_shape_error(lam):
    """Lambdas have no compute_output_shape: the first pass traces them symbolically,
    so a contradiction after one is found before any initializer runs."""
    recorder = Recorder()
    net = nn.Sequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(4), getattr(nn, lam)("tanh"), nn.Dense(2, in_units=3))
    net.initialize(recorder)
    before, calls = state(net), list(recorder.calls)
    with pytest.raises(ShapeMismatchError):
        net(nd.ones((2, 5)))
    assert recorder.calls == calls  # dense0's weight was not initialized, not even undone
    assert_same_state(before, state(net))
    net = nn.Sequential(prefix="ok_")
    with net.name_scope():
        net.add(nn.Dense(3), getattr(nn, lam)("tanh"), nn.Dense(2, in_units=3))
    net.initialize(recorder)
    assert tuple(net(nd.ones((2, 5))).shape) == (2, 2)


def test_a_hybrid_lambda_inside_a_hybrid_sequential_followed_by_a_layer():
    inner = nn.HybridSequential()
    inner.add(nn.HybridLambda("tanh"))
    net = nn.Sequential()
    net.add(inner, nn.Dense(1))
    net.initialize()
    assert tuple(net(nd.ones((1, 1, 2))).shape) == (1, 1)
    assert net[1].weight.shape == (1, 2)


@pytest.mark.parametrize("hybridize", [False, True])
def test_a_rolled_back_net_accepts_new_state_deepcopy_and_new_children(hybridize):
    # Keras locks a layer's state when build() ends; the rollback must unlock it again,
    # or copy.deepcopy and Sequential.add fail on the "unbuilt" net (found by the kit).
    import copy

    net = nn.Sequential()
    first = nn.Dense(1, activation="sigmoid")
    net.add(first, nn.Dense(1, params=first.params), nn.Dense(1))
    net.initialize()
    if hybridize:
        net.hybridize()
    with pytest.raises(ShapeMismatchError):
        net(nd.ones((1, 5)))   # the shared weight is (1, 5) for an input of 1 feature
    before = [(n, p.shape) for n, p in net.collect_params().items()]
    assert [s for _, s in before] == [(1, 0), (1,), (1, 0), (1,)]
    twin = copy.deepcopy(net)
    assert [(n, p.shape) for n, p in twin.collect_params().items()] == before
    assert tuple(twin(nd.ones((1, 1))).shape) == (1, 1)   # one feature fits the tie
    assert [(n, p.shape) for n, p in net.collect_params().items()] == before  # untouched
    last = nn.Dense(3)
    net.add(last)
    last.initialize()
    assert tuple(net(nd.ones((2, 1))).shape) == (2, 3)
