"""A hybridized block's ``hybrid_forward`` written with static-shape nd code.

On TensorFlow ``hybridize()`` traces one graph with the batch size left free (a None
dim), so ``x.shape`` inside the trace reads ``(None, 4)``. Gluon code builds shapes
from such dims all the time (MXNet's own losses: ``label.reshape(pred.shape)``,
``F.pick``, ``F.norm(x, axis=1).reshape((-1, 1))``); each op here must give the
non-hybridized result at every batch size. On JAX (``jax.jit`` retraces per shape)
and PyTorch (eager) the same tests must pass too.
"""

import keras
import numpy as np
import pytest

from keras_defer import gluon, nd
from keras_defer.errors import MXNetError
from keras_defer.nd import shape as shape_ops


def _labels(F, x):
    return F.argmax(x, axis=1)


def _column(F, x):
    return x.slice_axis(axis=1, begin=0, end=1)


#: name -> hybrid_forward body ``fn(F, x)``, ``x`` of shape (batch, 4)
CASES = {
    # MXNet's losses
    "pick": lambda F, x: F.pick(x, _labels(F, x), axis=1),
    "pick_keepdims_last_axis": lambda F, x: F.pick(x, _labels(F, x), axis=-1, keepdims=True),
    "softmax_ce_like": lambda F, x: F.mean(
        -F.pick(F.log_softmax(x, axis=-1), _labels(F, x), axis=-1, keepdims=True),
        axis=0, exclude=True),
    "norm_axis_reshape": lambda F, x: F.norm(x, axis=1).reshape((-1, 1)),
    "norm_all": lambda F, x: F.norm(x),
    "norm_keepdims_l1": lambda F, x: F.norm(x, ord=1, axis=1, keepdims=True),
    "reshape_like": lambda F, x: F.reshape_like(F.sum(x, axis=1), _column(F, x)),
    "method_reshape_other_shape": lambda F, x: F.sum(x, axis=1).reshape(_column(F, x).shape),
    "nd_reshape_other_shape": lambda F, x: F.reshape(F.sum(x, axis=1), _column(F, x).shape),
    "reshape_own_batch_dim": lambda F, x: x.reshape((x.shape[0], -1, 2)),
    # reshape codes
    "reshape_minus1": lambda F, x: x.reshape((-1, 2, 2)),
    "reshape_0_minus1": lambda F, x: F.reshape(x, (0, -1)),
    "reshape_minus2": lambda F, x: x.reshape((0, -2)),
    "reshape_minus3": lambda F, x: x.reshape((0, 2, 2)).reshape((-3, 0)),
    "reshape_minus4": lambda F, x: x.reshape((-4, 1, -1, -2)),
    "reshape_minus4_first": lambda F, x: F.reshape(x, (-4, -1, 1, -2)),
    "reshape_reverse": lambda F, x: x.reshape((-1, 2), reverse=True),
    "reshape_flat": lambda F, x: F.reshape(x, (-1,)),
    # axis ops
    "softmax_axis": lambda F, x: F.softmax(x, axis=1),
    "log_softmax_axis": lambda F, x: F.log_softmax(x, axis=-1),
    "one_hot": lambda F, x: F.one_hot(_labels(F, x), 4),
    "sum_axis": lambda F, x: F.sum(x, axis=1),
    "sum_batch_axis": lambda F, x: F.sum(x, axis=0),
    "mean_all": lambda F, x: F.mean(x),
    "mean_int_batch_axis": lambda F, x: F.mean((x * 10).astype("int32"), axis=0),
    "broadcast_like": lambda F, x: F.broadcast_like(F.sum(x, axis=1, keepdims=True), x),
    "broadcast_like_axes": lambda F, x: F.broadcast_like(
        F.sum(x, axis=1, keepdims=True), x, lhs_axes=(1,), rhs_axes=(1,)),
    "broadcast_to_zero_code": lambda F, x: F.broadcast_to(F.sum(x, axis=1, keepdims=True),
                                                          (0, 4)),
    "broadcast_axis": lambda F, x: F.broadcast_axis(F.sum(x, axis=1, keepdims=True),
                                                    axis=1, size=3),
    "expand_dims": lambda F, x: F.expand_dims(x, axis=1),
    "flatten": lambda F, x: F.flatten(x.reshape((0, 2, 2))),
    "squeeze": lambda F, x: F.squeeze(F.sum(x, axis=1, keepdims=True), axis=1),
    "slice_axis": lambda F, x: F.slice_axis(x, axis=1, begin=1, end=3),
    "slice_like": lambda F, x: F.slice_like(x, _column(F, x)),
    "split": lambda F, x: F.split(x, 2, axis=1)[1],
    "concat": lambda F, x: F.concat(x, x, dim=0),
    "stack": lambda F, x: F.stack(x, x, axis=1),
    "transpose": lambda F, x: F.transpose(x),
    "where_row_condition": lambda F, x: F.where(F.sum(x, axis=1) > 2, x, F.zeros_like(x)),
    "take_batch_axis": lambda F, x: F.take(x, nd.array([0, 1, 7]), axis=0),
    "batch_dot": lambda F, x: F.batch_dot(x.reshape((0, 2, 2)), x.reshape((0, 2, 2)),
                                          transpose_b=True),
    # basic indexing (a copy when traced)
    "index_row": lambda F, x: x[0],
    "index_element": lambda F, x: x[1, 2],
    "index_column": lambda F, x: x[:, 1],
    "index_newaxis_last": lambda F, x: x[:, None, -1],
    "index_ellipsis_step": lambda F, x: x[..., ::2],
    "index_rows_column": lambda F, x: x[1:, 1:3],
    "shape_array": lambda F, x: F.shape_array(x),
    "size_array": lambda F, x: F.size_array(x),
}


class _Body(gluon.HybridBlock):
    def __init__(self, body, **kwargs):
        super().__init__(**kwargs)
        self.body = body

    def hybrid_forward(self, F, x):
        return self.body(F, x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hybridized_block_gives_the_eager_result_at_every_batch_size(name):
    block = _Body(CASES[name])
    block.initialize()
    rng = np.random.RandomState(0)
    inputs = [nd.array(rng.uniform(-1, 1, size=(n, 4)).astype("float32")) for n in (3, 5)]
    eager = [block(x) for x in inputs]
    block.hybridize()
    for x, want in zip(inputs, eager):
        got = block(x)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6, atol=1e-6)


# -- the reshape of a shape with unknown dims, as a pure function ------------------------
@pytest.mark.parametrize("codes", [
    (0, -1), (-1, 2, 2), (0, -2), (-3, 0, 0), (2, -3, 0), (-4, 1, -1, -2), (-4, -1, 2, 0, 0),
    (-1, 6), (24,), (-2,), (0, 0, -3), (-1, 2), (4, -1, 1), (2, -1, 3),
])
@pytest.mark.parametrize("reverse", [False, True])
def test_unknown_target_agrees_with_the_static_reshape_when_dims_are_known(codes, reverse):
    dshape = (2, 3, 4)
    try:
        want = shape_ops.reshape_target(dshape, codes, reverse)
    except MXNetError:
        return  # an invalid target: the static path's error is what users see
    target, static = shape_ops.unknown_target(dshape, dshape, codes, reverse)
    assert static == want
    resolved = [d for d in target if d != -1]
    assert target.count(-1) <= 1
    if -1 in target:
        target[target.index(-1)] = int(np.prod(dshape)) // int(np.prod(resolved))
    assert tuple(target) == want


def test_unknown_target_keeps_unknown_dims_unknown():
    batch = object()  # a stand-in for the traced batch size (a scalar tensor)
    target, static = shape_ops.unknown_target((None, 4), (batch, 4), (0, 2, 2))
    assert target == [batch, 2, 2] and static == (None, 2, 2)
    target, static = shape_ops.unknown_target((None, 4), (batch, 4), (None, 1))
    assert target == [-1, 1] and static == (None, 1)  # the one None is inferred
    target, static = shape_ops.unknown_target((None, 4), (batch, 4), (None, -1))
    assert target == [batch, 4] and static == (None, 4)  # a None beside -1 copies
    target, static = shape_ops.unknown_target((None, 2, 2), (batch, 2, 2), (-1, 2))
    assert target == [-1, 2] and static == (None, 2)


def test_unknown_target_refuses_a_none_it_cannot_place():
    with pytest.raises(MXNetError, match="unknown until run time"):
        shape_ops.unknown_target((None, 4), (object(), 4), (2, None, None))


class _FlattenThenDense(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = gluon.nn.Dense(3)

    def hybrid_forward(self, F, x):
        return self.dense(x.reshape((x.shape[0], -1)))


def test_a_layer_after_a_reshape_of_a_traced_batch_sees_its_feature_dims():
    # the reshape's -1 is resolved at trace time (the batch dims cancel), so the
    # Dense checks its input against (None, 4), not (None, None)
    block = _FlattenThenDense()
    block.initialize()
    inputs = [nd.array(np.linspace(-1, 1, n * 4, dtype="float32").reshape(n, 2, 2))
              for n in (2, 6)]
    eager = [block(x).asnumpy() for x in inputs]
    block.hybridize()
    for x, want in zip(inputs, eager):
        np.testing.assert_allclose(block(x).asnumpy(), want, rtol=1e-6)


class _Indexer(gluon.HybridBlock):
    def __init__(self, key, **kwargs):
        super().__init__(**kwargs)
        self.key = key

    def hybrid_forward(self, F, x):
        return x[self.key]


@pytest.mark.parametrize("key, eager_ok", [((slice(None), 4), False),
                                           ((nd.array([0, 1]),), True)])
def test_indexing_a_traced_batch_refuses_what_it_cannot_check(key, eager_ok):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("only TensorFlow traces with an unknown batch")
    block = _Indexer(key)
    block.initialize()
    block.hybridize()
    x = nd.ones((3, 4))
    if eager_ok:
        block(x)  # the first pass runs eagerly, where the array key works
    with pytest.raises(IndexError):
        block(x)


class _Noisy(gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.random.normal(x, F.ones_like(x) * 1e-3)


@pytest.mark.skipif(keras.backend.backend() == "jax", reason=(
    "nd.random inside a jax.jit trace is refused by Keras (unseeded random ops), "
    "whatever the shapes: not a dims question"))
def test_random_draws_with_array_parameters_follow_a_traced_batch():
    # a VAE's reparameterization: samples shaped like their (traced) parameters
    block = _Noisy()
    block.initialize()
    block(nd.zeros((2, 3)))
    block.hybridize()
    first, second = block(nd.zeros((4, 3))), block(nd.zeros((4, 3)))
    assert first.shape == (4, 3) and block(nd.zeros((7, 3))).shape == (7, 3)
    assert 0 < np.abs(first.asnumpy()).max() < 0.01
    assert (first.asnumpy() != second.asnumpy()).any()  # fresh draws on every call
