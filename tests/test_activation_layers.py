"""``nn.LeakyReLU``, ``PReLU``, ``ELU``, ``SELU``, ``GELU``, ``Swish`` and
``gluon.contrib.nn`` (``Concurrent``, ``HybridConcurrent``, ``Identity``) against
MXNet 1.9.1 (recorded by record_metric_utils_layers.py: names, reprs, parameter
tables, outputs, gradients, hybridized outputs), and their part in deferred
initialization and in Keras models."""

import copy
import json
import os

import keras
import numpy as np
import pytest

from keras_defer import autograd, backend, init, naming, nd
from keras_defer.errors import ShapeMismatchError
from keras_defer.gluon import nn
from keras_defer.gluon.contrib import nn as contrib_nn
from tests.mxnet_reference import layers_extra_cases

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "mxnet_reference", "data")
with open(os.path.join(DATA, "layers_extra.json")) as _handle:
    RECORDED = json.load(_handle)["cases"]
ARRAYS = dict(np.load(os.path.join(DATA, "layers_extra.npz")))

RECORDS = backend.NAME in ("tensorflow", "torch")
needs_recording = pytest.mark.skipif(
    not RECORDS, reason="autograd.record() refuses on %s" % backend.NAME)


def _build(name):
    naming.reset_counters()
    build, shape = layers_extra_cases.CASES[name]
    return build(nn, contrib_nn, init), shape


def _param_table(net):
    return [[name, list(p.shape)] for name, p in net.collect_params().items()]


def _close(ours, key, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(ours), ARRAYS[key], rtol=rtol, atol=atol,
                               err_msg=key)


def _prepared(name):
    """The case's net after its first pass, holding MXNet's parameter values."""
    rec = RECORDED[name]
    net, shape = _build(name)
    assert (net.name, net.prefix) == (rec["name"], rec["prefix"]), name
    assert repr(net) == rec["repr_before"], name
    assert _param_table(net) == rec["params_before"], name
    assert str(net.collect_params()) == rec["param_dict_before"], name
    net.initialize()
    x = layers_extra_cases.grid_input(shape)
    first = net(nd.array(x))
    params = net.collect_params()
    if all(p.endswith("alpha") for p in params.keys()):  # no random initializer ran
        _close(first.asnumpy(), name + "/out_init")
    assert repr(net) == rec["repr_after"], name
    assert _param_table(net) == rec["params_after"], name
    assert str(params) == rec["param_dict_after"], name
    for pname, param in params.items():
        if pname.endswith("alpha"):
            _close(param.data().asnumpy(), "%s/init/%s" % (name, pname))
        else:
            param.set_data(nd.array(ARRAYS["%s/param/%s" % (name, pname)]))
    return net, x


@pytest.mark.parametrize("name", sorted(layers_extra_cases.CASES))
def test_matches_mxnet(name):
    net, x = _prepared(name)
    _close(net(nd.array(x)).asnumpy(), name + "/out")
    net.hybridize()
    _close(net(nd.array(x)).asnumpy(), name + "/out_hybrid")


# MXNet 1.9.1's SELU backward computes lambda * (out + alpha) for x <= 0, where the
# derivative is out + lambda * alpha (docs/divergences.md): cases holding a SELU are
# compared with the true derivative, and MXNet's recorded one with its formula.
_SELU_CASES = ("selu", "identity_branches")
_SELU_ALPHA, _SELU_LAMBDA = 1.6732632423543772, 1.0507009873554805


def _selu_derivatives(x):
    """(true derivative, MXNet 1.9.1's) of selu at ``x``."""
    out = np.where(x > 0, _SELU_LAMBDA * x, _SELU_LAMBDA * _SELU_ALPHA * np.expm1(x))
    true = np.where(x > 0, _SELU_LAMBDA, _SELU_LAMBDA * _SELU_ALPHA * np.exp(x))
    mxnet = np.where(x > 0, _SELU_LAMBDA, _SELU_LAMBDA * (out + _SELU_ALPHA))
    return true, mxnet


def _selu_case_gradients(name, x):
    """(true, MXNet's) input gradients of the SELU cases, from the formulas."""
    head = layers_extra_cases.head(RECORDED[name]["output_shape"]).astype("float64")
    true, mxnet = _selu_derivatives(x)
    if name == "selu":
        return true * head, mxnet * head
    # identity_branches: concat(x, swish(x, beta=0.5), selu(x)) on axis 1
    c = x.shape[1]
    s = 1 / (1 + np.exp(-0.5 * x))
    rest = head[:, :c] + (s + 0.5 * x * s * (1 - s)) * head[:, c:2 * c]
    return rest + true * head[:, 2 * c:], rest + mxnet * head[:, 2 * c:]


def _input_gradient(net, x_value):
    x = nd.array(x_value)
    x.attach_grad()
    with autograd.record():
        y = net(x)
        loss = (y * nd.array(layers_extra_cases.head(y.shape))).sum()
    loss.backward()
    return x.grad.asnumpy()


@pytest.mark.parametrize("name", sorted(layers_extra_cases.CASES))
def test_summary_matches_mxnet(name, capsys):
    net, shape = _build(name)
    net.initialize()
    net.summary(nd.array(layers_extra_cases.grid_input(shape)))
    assert capsys.readouterr().out == RECORDED[name]["summary"]


@needs_recording
@pytest.mark.parametrize("name", sorted(layers_extra_cases.CASES))
def test_gradients_match_mxnet(name):
    net, x_value = _prepared(name)
    grad = _input_gradient(net, x_value)
    if name in _SELU_CASES:
        true, theirs = _selu_case_gradients(name, x_value.astype("float64"))
        np.testing.assert_allclose(ARRAYS[name + "/grad/input"], theirs, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(grad, true, rtol=1e-4, atol=1e-5)
    else:
        _close(grad, name + "/grad/input", rtol=1e-4, atol=1e-5)
    for pname, param in net.collect_params().items():
        _close(param.grad().asnumpy(), "%s/grad/%s" % (name, pname), rtol=1e-4, atol=1e-5)


def test_prelu_alpha_is_known_at_construction_in_a_deferred_net(fresh_names):
    net = nn.HybridSequential()
    net.add(nn.Dense(4), nn.PReLU(), nn.Dense(2))
    assert net.deferred_param_names() == ["dense0_weight", "dense1_weight"]
    net.initialize()
    alpha = net.collect_params()["prelu0_alpha"]
    np.testing.assert_array_equal(alpha.data().asnumpy(), [0.25])  # drawn at initialize()
    net.build((None, 3))  # shapes chain through the PReLU before anything runs
    assert net.collect_params()["dense1_weight"].shape == (2, 4)


def test_prelu_in_a_deferred_net_runs_its_first_pass(fresh_names):
    net = nn.HybridSequential()
    net.add(nn.Dense(4), nn.PReLU(alpha_initializer=init.Constant(0.5)), nn.Dense(2))
    net.initialize()
    assert net(nd.ones((5, 3))).shape == (5, 2)
    assert net.collect_params()["dense0_weight"].shape == (4, 3)
    np.testing.assert_array_equal(net.collect_params()["prelu0_alpha"].data().asnumpy(), [0.5])


def test_concurrent_infers_every_branch_before_running(fresh_names):
    net = nn.HybridSequential()
    branches = contrib_nn.HybridConcurrent(axis=1)
    branches.add(nn.Dense(3), contrib_nn.Identity(), nn.Dense(2, activation="relu"))
    net.add(branches, nn.Dense(1))
    net.initialize()
    net.build((None, 4))
    assert _param_table(net) == [  # made outside name_scope(): global names, as in Gluon
        ["dense0_weight", [3, 4]], ["dense0_bias", [3]],
        ["dense1_weight", [2, 4]], ["dense1_bias", [2]],
        ["dense2_weight", [1, 9]], ["dense2_bias", [1]]]
    assert branches.compute_output_shape((None, 4)) == (None, 9)


def test_concurrent_is_a_sequential_and_keeps_its_axis(fresh_names):
    net = contrib_nn.Concurrent(axis=0)
    net.add(contrib_nn.Identity(), nn.LeakyReLU(0.5))
    net.initialize()
    out = net(nd.array([[1.0, -2.0]]))
    np.testing.assert_allclose(out.asnumpy(), [[1.0, -2.0], [1.0, -1.0]])
    assert isinstance(net, nn.Sequential) and len(net) == 2
    with pytest.warns(UserWarning, match="HybridSequential"):
        net.hybridize()  # as MXNet's Sequential.hybridize


def test_prelu_channels_must_match(fresh_names):
    prelu = nn.PReLU(in_channels=3)
    prelu.initialize()
    with pytest.raises(ShapeMismatchError, match="prelu0_alpha"):
        prelu(nd.ones((2, 4, 5)))


def test_constructor_arguments_are_checked_before_a_name_is_drawn(fresh_names):
    recorded = RECORDED["_errors"]["leakyrelu_negative"]  # MXNet: AssertionError
    with pytest.raises(ValueError, match="alpha"):
        nn.LeakyReLU(-0.1)
    assert recorded[0] == "AssertionError"
    with pytest.raises(TypeError, match="beta"):
        nn.Swish("2")
    with pytest.raises(ValueError, match="in_channels"):
        nn.PReLU(in_channels=0)
    with pytest.raises(TypeError, match="axis"):
        contrib_nn.HybridConcurrent(axis=1.5)
    assert nn.LeakyReLU(0.1).name == "leakyrelu0"


def _activation_stack():
    return [nn.Dense(6), nn.LeakyReLU(0.1), nn.PReLU(), nn.ELU(0.5), nn.SELU(), nn.GELU(),
            nn.Swish(1.5), nn.Dense(1)]


def test_inside_a_keras_model_fit_and_dot_keras_round_trip(fresh_names, tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,))] + _activation_stack())
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    x = np.random.RandomState(0).normal(size=(32, 4)).astype("float32")
    y = x[:, :1] * 2.0 - x[:, 1:2]
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    prelu = model.layers[2]
    assert prelu.alpha.data().asnumpy()[0] != 0.25  # alpha trained too
    path = str(tmp_path / "activations.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5,
                               atol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert loaded.layers[6]._beta == 1.5 and loaded.layers[3]._alpha == 0.5


def test_a_gluon_net_with_concurrent_branches_fits(fresh_names):
    keras.utils.set_random_seed(1)
    net = nn.HybridSequential()
    branches = contrib_nn.HybridConcurrent(axis=1)
    branches.add(nn.Dense(4), contrib_nn.Identity(), nn.PReLU())
    net.add(branches, nn.Dense(1))
    net.initialize()
    x = np.random.RandomState(1).normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    net(nd.array(x))
    clone = copy.deepcopy(net)  # an independent copy, same values
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(net(x)), rtol=1e-6)
    net.collect_params()["prelu0_alpha"].set_data(nd.array([0.75]))
    assert clone.collect_params()["prelu0_alpha"].data().asnumpy()[0] == 0.25
    net.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    before = net.evaluate(x, y, verbose=0)
    net.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert net.evaluate(x, y, verbose=0) < before


def test_large_inputs_give_finite_gradients_through_keras(fresh_names):
    """The unselected exp branch of ELU/SELU must not turn a gradient into nan."""
    layers = [nn.ELU(), nn.SELU(), nn.Swish(), nn.GELU(), nn.PReLU()]
    for layer in layers:
        layer.initialize()
    x = keras.ops.convert_to_tensor(np.array([[-100.0, -1.0, 0.0, 1.0, 100.0]], "float32"))
    for layer in layers:
        out = np.asarray(layer(x))
        assert np.isfinite(out).all(), layer
    if RECORDS:
        for layer in layers:
            xs = nd.array([[-100.0, -1.0, 0.0, 1.0, 100.0]])
            xs.attach_grad()
            with autograd.record():
                y = layer(xs)
            y.backward()
            assert np.isfinite(xs.grad.asnumpy()).all(), layer


def test_nd_leakyrelu_prelu_form_in_a_users_hybrid_forward(fresh_names):
    """MXNet's own PReLU is ``F.LeakyReLU(x, gamma=alpha, act_type='prelu')``: a
    user's block written so computes what ``nn.PReLU`` does (values from MXNet)."""
    from keras_defer.gluon import HybridBlock

    class MyPReLU(HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.alpha = self.params.get("alpha", shape=(3,), init=init.Constant(0.25))

        def hybrid_forward(self, F, x, alpha):
            return F.LeakyReLU(x, gamma=alpha, act_type="prelu")

    name = "prelu_channels"
    x = layers_extra_cases.grid_input(layers_extra_cases.CASES[name][1])
    mine = MyPReLU()
    mine.initialize()
    _close(mine(nd.array(x)).asnumpy(), name + "/out_init")


def test_gluon_contrib_is_reached_as_in_mxnet():
    import keras_defer as mx

    assert mx.gluon.contrib.nn.HybridConcurrent is contrib_nn.HybridConcurrent
    assert mx.gluon.nn.PReLU is nn.PReLU and mx.gluon.utils.split_and_load


def test_concurrent_in_the_keras_functional_api_and_dot_keras(fresh_names, tmp_path):
    branches = contrib_nn.HybridConcurrent(axis=1)
    branches.add(nn.Dense(3), contrib_nn.Identity(), nn.PReLU())
    inputs = keras.Input((4,))
    model = keras.Model(inputs, nn.Dense(1)(branches(inputs)))
    assert tuple(branches.compute_output_shape((None, 4))) == (None, 11)
    x = np.random.RandomState(2).uniform(-1, 1, size=(5, 4)).astype("float32")
    path = str(tmp_path / "concurrent.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
    assert loaded.layers[1].axis == 1 and repr(loaded.layers[1]) == repr(branches)
