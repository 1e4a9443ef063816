"""Nets nested deeper than Python's recursion limit (issue 15, row 11).

Gluon's whole-net methods recurse; keras_defer's walk the tree with their own stack
(``keras_defer.tree_walk``): repr, collect_params, initialize, apply, cast, hybridize,
copy.deepcopy, save/load work at any depth memory allows. A forward pass calls its
children, so it cannot iterate: deeper than the recursion limit allows, it raises
``NestingDepthError`` (a RecursionError) naming the depth, the limit and a limit that
works, and a failed first pass leaves the net as it was.
"""

import copy
import re
import sys

import numpy as np
import pytest

import keras_defer as mx
from keras_defer import nd
from keras_defer.gluon import nn
from keras_defer.tree_walk import NestingDepthError

DEEP = 1100  # past the default recursion limit (1000) for every recursive form


def chain(depth, leaf=None, kind=nn.Sequential):
    """``depth`` containers around ``leaf`` (a Dense(2, in_units=3) by default)."""
    net = leaf if leaf is not None else nn.Dense(2, in_units=3)
    for _ in range(depth):
        outer = kind()
        outer.add(net)
        net = outer
    return net


def leaf_of(net):
    while isinstance(net, (nn.Sequential, nn.HybridSequential)):
        net = net[0]
    return net


@pytest.fixture(scope="module")
def deep():
    return chain(DEEP)


def test_repr_of_a_deep_net_is_gluons_nested_text(deep):
    text = repr(deep)
    lines = text.split("\n")
    assert len(lines) == 2 * DEEP + 1
    assert lines[0] == "Sequential("
    assert lines[1] == "  (0): Sequential("
    assert lines[DEEP - 1].lstrip() == "(0): Sequential("
    assert lines[DEEP] == " " * (2 * DEEP - 2) + "  (0): Dense(3 -> 2, linear)"
    assert lines[-1] == ")" and lines[-2] == "  )"
    assert str(deep) == text


def test_collect_params_initialize_save_load_at_depth(deep, tmp_path):
    params = deep.collect_params()
    assert list(params.keys()) == [leaf_of(deep).weight.name, leaf_of(deep).bias.name]
    deep.initialize(mx.init.Constant(0.5), force_reinit=True)
    path = str(tmp_path / "deep.params")
    deep.save_parameters(path)
    leaf_of(deep).weight.set_data(nd.zeros((2, 3)))
    deep.load_parameters(path)
    np.testing.assert_array_equal(leaf_of(deep).weight.data().asnumpy(), np.full((2, 3), 0.5))


def test_apply_visits_children_first_at_depth(deep):
    seen = []
    assert deep.apply(seen.append) is deep
    assert len(seen) == DEEP + 1
    assert seen[0] is leaf_of(deep) and seen[-1] is deep


def test_cast_reaches_every_parameter_and_overrides_keep_theirs():
    inner = nn.HybridSequential()
    inner.add(nn.Dense(2, in_units=2), nn.BatchNorm(in_channels=2))
    net = chain(DEEP, leaf=inner)
    net.initialize()
    net.cast("float16")
    dense, norm = inner[0], inner[1]
    assert dense.weight.data().dtype == np.float16
    # as Gluon: BatchNorm's own cast keeps its parameters float32
    assert {p.data().dtype for p in norm.collect_params().values()} == {np.float32}


def test_hybridize_reaches_every_block_in_gluons_order():
    order = []

    class Noting(nn.HybridSequential):
        def hybridize(self, active=True, **kwargs):
            order.append(self)
            super().hybridize(active, **kwargs)

    net = chain(DEEP, kind=Noting)
    net.hybridize()
    assert len(order) == DEEP
    assert order[0] is net and order[1] is net[0] and order[-1][0] is leaf_of(net)
    assert leaf_of(net)._active is True


def test_deepcopy_at_depth_is_independent_and_linked_to_its_own_parents():
    net = chain(DEEP)
    net.initialize(mx.init.Constant(1.0))
    twin = copy.deepcopy(net)
    assert repr(twin) == repr(net)
    mine, theirs = leaf_of(net), leaf_of(twin)
    assert theirs is not mine and theirs.weight is not mine.weight
    theirs.weight.set_data(nd.zeros((2, 3)))
    np.testing.assert_array_equal(mine.weight.data().asnumpy(), np.ones((2, 3)))
    # the copy's blocks name the copy's parents (what compiled-state invalidation follows)
    parents = [ref() for ref in theirs.__dict__["_parents"]]
    assert parents == [twin_parent(twin)]


def twin_parent(net):
    while isinstance(net[0], nn.Sequential):
        net = net[0]
    return net


def test_forward_too_deep_for_the_limit_says_so_and_changes_nothing():
    depth = 400
    net = chain(depth, leaf=nn.Dense(2))
    net.initialize()
    net.hybridize()  # compiled children: the deepest Python stack per level
    old, limit = sys.getrecursionlimit(), stack_depth() + 300
    sys.setrecursionlimit(limit)
    try:
        with pytest.raises(NestingDepthError) as info:
            net(nd.ones((1, 3)))
    finally:
        sys.setrecursionlimit(old)
    message = str(info.value)
    assert isinstance(info.value, RecursionError)
    assert "nests blocks %d deep" % (depth + 1) in message
    assert "sys.getrecursionlimit() = %d" % limit in message
    assert leaf_of(net).weight.shape == (2, 0)  # the first pass was rolled back
    suggested = int(re.search(r"sys\.setrecursionlimit\((\d+)\)", message).group(1))
    assert suggested > limit
    sys.setrecursionlimit(max(old, suggested))
    try:
        out = net(nd.ones((1, 3)))
        out = net(nd.ones((1, 3)))  # the compiled calls, after the first pass
    finally:
        sys.setrecursionlimit(old)
    assert out.shape == (1, 2)
    assert leaf_of(net).weight.shape == (2, 3)


def stack_depth():
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_an_error_inside_a_deep_forward_is_not_mistaken_for_depth():
    net = chain(20, leaf=nn.Dense(2, in_units=4))
    net.initialize()
    with pytest.raises(Exception) as info:
        net(nd.ones((1, 3)))
    assert not isinstance(info.value, RecursionError)
