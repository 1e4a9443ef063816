"""Training with ``gluon.Trainer`` against MXNet 1.9.1's, step for step.

tests/mxnet_reference/record_training.py trained the same nets (a small MLP and a
small CNN) from the same initial weights on the same batches with every optimizer, and
stored the per-step losses and final weights. Here keras_defer runs the same code
(the recorder's functions, with keras_defer in place of mxnet) and must match within
1e-5 relative. On JAX, which cannot record, the Trainer is checked by writing the
gradients into ``p.grad()`` directly (recorded from MXNet too), on every backend.
"""

import os
import types

import numpy as np
import pytest

import keras_defer as mx
from keras_defer import autograd, backend, gluon, nd
from tests.mxnet_reference import record_training as rt

RECORDED = dict(np.load(rt.NPZ))
for _name in rt.NETS:
    RECORDED["%s_init" % _name] = [RECORDED[k] for k in sorted(RECORDED)
                                   if k.startswith(_name + "_init")]

RECORDS = backend.NAME in ("tensorflow", "torch")
needs_recording = pytest.mark.skipif(
    not RECORDS, reason="autograd.record() refuses on %s" % backend.NAME)

RTOL = 1e-5

FW = types.SimpleNamespace(nd=nd, autograd=autograd, optimizer=mx.optimizer, gluon=gluon)


def mark_fresh(param):
    """What a backward does to a gradient: MXNet code that writes ``p.grad()`` itself
    sets ``p.data()._fresh_grad = True`` before ``trainer.step``."""
    data = param.data()
    try:
        data._fresh_grad = True
    except AttributeError:  # until VariableNDArray has MXNet's _fresh_grad property
        param._set_fresh_grad(True)


def assert_close(actual, expected, what):
    """Within ``RTOL`` of MXNet's, relative to the array's scale (an entry near 0
    is held to ``RTOL`` times the largest entry). NaN where MXNet has NaN: its Adamax
    divides by a zero ``u_t`` where a gradient is exactly 0 (a dead ReLU unit)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(float(finite.max()) if finite.size else 0.0, 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


@needs_recording
@pytest.mark.parametrize("net_name", sorted(rt.NETS))
@pytest.mark.parametrize("opt_name", sorted(rt.OPTIMIZERS))
def test_training_matches_mxnet(opt_name, net_name):
    losses, weights = rt.train(FW, net_name, opt_name, RECORDED)
    assert_close(losses, RECORDED["%s_%s_losses" % (net_name, opt_name)],
                 "%s/%s per-step losses" % (net_name, opt_name))
    for i, w in enumerate(weights):
        assert_close(w, RECORDED["%s_%s_w%d" % (net_name, opt_name, i)],
                     "%s/%s final weight %d" % (net_name, opt_name, i))


@pytest.mark.parametrize("opt_name", sorted(rt.OPTIMIZERS))
def test_gradients_written_directly_match_mxnet(opt_name):
    sums, weights = rt.train_direct(FW, opt_name, RECORDED, mark_fresh)
    assert_close(sums, RECORDED["direct_%s_sums" % opt_name], "%s weight sums" % opt_name)
    for i, w in enumerate(weights):
        assert_close(w, RECORDED["direct_%s_w%d" % (opt_name, i)],
                     "%s final weight %d" % (opt_name, i))


@pytest.mark.parametrize("opt_name", ["sgd_momentum", "adam", "rmsprop_centered", "ftml"])
def test_saved_states_continue_as_mxnet_does(opt_name, tmp_path):
    """Ten steps, ``save_states``, a new Trainer that ``load_states``, ten more: the
    weights MXNet reached in twenty uninterrupted steps."""
    optimizer, kwargs = rt.OPTIMIZERS[opt_name]
    params = rt.direct_params(FW, RECORDED)
    first = gluon.Trainer(params, optimizer, dict(kwargs))
    rt.direct_steps(FW, params, first, RECORDED, range(10), mark_fresh)
    path = os.path.join(str(tmp_path), "trainer.states")
    first.save_states(path)
    second = gluon.Trainer(params, "sgd", {"learning_rate": 123.0})  # replaced on load
    second.load_states(path)
    rt.direct_steps(FW, params, second, RECORDED, range(10, rt.STEPS), mark_fresh)
    for i, param in enumerate(params):
        assert_close(param.data().asnumpy(), RECORDED["direct_%s_w%d" % (opt_name, i)],
                     "%s weight %d after save/load" % (opt_name, i))
