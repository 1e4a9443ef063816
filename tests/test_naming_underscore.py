"""Blocks whose Gluon name Keras (or TensorFlow, or PyTorch) would refuse.

Gluon names a block after its class: ``class _ScaledL1`` gives ``_scaledl10``, which
TensorFlow refuses as a root name scope (a hybridized call's graph), and a user's
``prefix='a/b_'`` gives ``a/b``, which Keras refuses as a layer name. The block keeps
MXNet's name, prefix and parameter names (recorded by
``mxnet_reference/record_naming_underscore.py``); Keras gets a name it takes.
"""

import json
import os

import numpy as np
import pytest

from keras_defer import gluon, nd
from keras_defer.gluon import nn
from keras_defer.naming import keras_name

with open(os.path.join(os.path.dirname(__file__), "mxnet_reference", "data",
                       "naming_underscore.json")) as _f:
    MXNET = json.load(_f)


class _ScaledL1(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = nn.Dense(2)

    def hybrid_forward(self, F, x):
        return F.abs(self.dense(x))


class __Twice(gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return x * 2


def _describe(block):
    return {"name": block.name, "prefix": block.prefix,
            "params": sorted(block.collect_params().keys())}


@pytest.fixture
def blocks(fresh_names):
    first, second, twice = _ScaledL1(), _ScaledL1(), __Twice()
    with first.name_scope():
        inner = _ScaledL1()
    prefixed = __Twice(prefix="a/b_")
    return {"first": first, "second": second, "dunder": twice, "nested": inner,
            "slash_prefix": prefixed}


@pytest.mark.parametrize("key", ["first", "second", "dunder", "nested", "slash_prefix"])
def test_gluon_names_are_mxnets(blocks, key):
    assert _describe(blocks[key]) == MXNET[key]


def test_keras_gets_a_name_it_takes(blocks):
    assert keras_name("_scaledl10") == "gluon-_scaledl10"
    assert keras_name("a/b") == "gluon-a_b"
    assert keras_name("dense0") == "dense0"  # every usual name goes unchanged
    assert repr(blocks["first"]).startswith("_ScaledL1(")


def test_underscore_block_runs_hybridized_at_two_batch_sizes(blocks):
    block = blocks["first"]
    block.initialize()
    inputs = [nd.array(np.arange(n * 3, dtype="float32").reshape(n, 3) / 7) for n in (2, 5)]
    eager = [block(x).asnumpy() for x in inputs]
    block.hybridize()
    got = [block(x) for x in inputs]
    assert [list(g.shape) for g in got] == MXNET["hybridized_shapes"]
    for g, want in zip(got, eager):
        np.testing.assert_allclose(g.asnumpy(), want, rtol=1e-6)
    assert block.name == "_scaledl10"  # still Gluon's after the Keras calls


def test_slash_prefix_block_runs_hybridized(blocks):
    block = blocks["slash_prefix"]
    block.initialize()
    block.hybridize()
    for n in (2, 3):
        np.testing.assert_allclose(block(nd.ones((n, 2))).asnumpy(), 2 * np.ones((n, 2)))


def test_a_keras_name_given_by_the_user_is_kept(fresh_names):
    block = _ScaledL1(name="scaled")
    assert block.name == "scaled" and block.prefix == "_scaledl10_"
