"""Parameter's lifecycle and ParameterDict, outside any block."""

import warnings

import keras
import numpy as np
import pytest

from keras_defer import DeferredInitializationError, ShapeMismatchError, init, nd
from keras_defer.parameter import Parameter, ParameterDict, finish_pending_inits


def test_unknown_dims_read_zero_and_repr_is_gluons():
    p = Parameter("w", shape=(3, 0), dtype="float32", allow_deferred_init=True)
    assert p.shape == (3, 0)
    assert repr(p) == "Parameter w (shape=(3, 0), dtype=float32)"
    assert repr(Parameter("v", shape=4)) == "Parameter v (shape=(4,), dtype=<class 'numpy.float32'>)"


def test_lifecycle_uninitialized_pending_initialized():
    p = Parameter("w", shape=(2, 0), allow_deferred_init=True)
    with pytest.raises(RuntimeError, match="has not been initialized") as info:
        p.data()
    assert not isinstance(info.value, DeferredInitializationError)
    p.initialize(init=init.One())
    with pytest.raises(DeferredInitializationError, match="first forward pass"):
        p.data()
    assert p.list_ctx() == p.pending.ctx
    p.shape = (2, 5)
    finish_pending_inits([p])
    assert isinstance(p.variable, keras.Variable)
    assert isinstance(p.data(), nd.NDArray) and p.data() is p.data()  # as Gluon's
    np.testing.assert_array_equal(np.asarray(p.data()), np.ones((2, 5)))
    p.data()[:] += 1  # writes through to the variable
    np.testing.assert_array_equal(np.asarray(p.variable), np.full((2, 5), 2.0))
    assert repr(p.list_ctx()[0]) in ("cpu(0)", "gpu(0)")


def test_unknown_shape_without_deferral_is_refused():
    p = Parameter("w", shape=(2, 0))
    with pytest.raises(ValueError, match="invalid shape"):
        p.initialize()
    assert p.pending is None and p.variable is None


def test_shape_setter_fills_unknown_dims_only():
    p = Parameter("w", shape=(2, 0), allow_deferred_init=True)
    p.shape = (2, 7)
    assert p.shape == (2, 7)
    with pytest.raises(ShapeMismatchError, match="incompatible"):
        p.shape = (2, 8)
    assert p.shape == (2, 7)


def test_reinitialize_writes_into_the_same_variable_with_fresh_numbers():
    p = Parameter("w", shape=(50, 40))
    p.initialize()
    variable = p.variable
    first = np.asarray(variable).copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p.initialize()
    assert [str(w.message) for w in caught] == [
        "Parameter 'w' is already initialized, ignoring. Set force_reinit=True to re-initialize."
    ]
    np.testing.assert_array_equal(np.asarray(variable), first)
    p.initialize(force_reinit=True)
    assert p.variable is variable
    assert not np.allclose(np.asarray(variable), first)
    np.testing.assert_array_equal(np.asarray(p.data()), np.asarray(variable))
    assert np.abs(np.asarray(variable)).max() <= 0.07  # Gluon's default Uniform(0.07)


def test_optimizer_keeps_working_after_force_reinit():
    p = Parameter("w", shape=(3,))
    p.initialize(init=init.One())
    opt = keras.optimizers.SGD(learning_rate=1.0)
    opt.apply_gradients([(keras.ops.ones((3,)), p.variable)])
    p.initialize(init=init.One(), force_reinit=True)
    opt.apply_gradients([(keras.ops.ones((3,)), p.variable)])
    np.testing.assert_allclose(np.asarray(p.data()), np.zeros(3))


def test_set_data_before_initialize_raises_and_changes_nothing():
    p = Parameter("w", shape=(2, 0), allow_deferred_init=True)
    with pytest.raises(RuntimeError, match="not been initialized"):
        p.set_data(nd.ones((2, 3)))
    assert p.shape == (2, 0)  # MXNet 1.9.1 would have changed it (documented divergence)


def test_set_data_when_pending_fixes_shape_and_skips_initializer():
    calls = []

    class Recorder(init.Initializer):
        def _init_weight(self, name, data):
            calls.append(name)

    p = Parameter("w", shape=(2, 0), allow_deferred_init=True)
    p.initialize(init=Recorder())
    p.set_data(nd.ones((2, 3)) * 4)
    assert p.shape == (2, 3)
    finish_pending_inits([p])
    assert calls == []
    np.testing.assert_array_equal(np.asarray(p.data()), np.full((2, 3), 4.0))


def test_grad_buffer_and_grad_req_null():
    p = Parameter("w", shape=(2,))
    p.initialize()
    np.testing.assert_array_equal(np.asarray(p.grad()), np.zeros(2))
    p.grad_req = "null"
    assert not p.variable.trainable
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    with pytest.raises(ValueError, match="grad_req"):
        p.grad_req = "sometimes"


def test_parameter_dict_get_shares_and_merges_shapes():
    d = ParameterDict("net_")
    w = d.get("weight", shape=(3, 0), allow_deferred_init=True)
    assert w.name == "net_weight"
    assert d.get("weight", shape=(3, 5)) is w and w.shape == (3, 5)
    with pytest.raises(ValueError, match="does not match"):
        d.get("weight", shape=(4, 5))
    shared = ParameterDict("net_", shared=d)
    assert shared.get("weight") is w
    assert list(shared.keys()) == ["net_weight"]


def test_parameter_dict_repr_update_setattr_and_initialize():
    d = ParameterDict("p_")
    d.get("a", shape=(2,))
    d.get("b", shape=(1, 2))
    assert repr(d) == (
        "p_ (\n  Parameter p_a (shape=(2,), dtype=<class 'numpy.float32'>)\n"
        "  Parameter p_b (shape=(1, 2), dtype=<class 'numpy.float32'>)\n)"
    )
    other = ParameterDict("p_")
    other.get("a", shape=(2,))
    with pytest.raises(ValueError, match="different Parameters with the same name"):
        d.update(other)
    d.setattr("lr_mult", 0.5)
    assert [p.lr_mult for p in d.values()] == [0.5, 0.5]
    d.initialize(init.Constant(3.0))
    np.testing.assert_array_equal(np.asarray(d["p_b"].data()), np.full((1, 2), 3.0))
    d.zero_grad()


def test_initialize_is_all_or_nothing_when_an_initializer_fails():
    class Fails(init.Initializer):
        def _init_weight(self, name, data):
            if name == "p_b":
                raise RuntimeError("boom")
            data[:] = 1

    d = ParameterDict("p_")
    d.get("a", shape=(2,))
    d.get("b", shape=(2,))
    with pytest.raises(RuntimeError, match="boom"):
        d.initialize(Fails())
    assert all(p.variable is None and p.pending is None for p in d.values())
