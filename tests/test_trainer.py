"""``gluon.Trainer``: MXNet 1.9.1's behaviour (recorded by
tests/mxnet_reference/record_training.py into training_behaviour.json), in-place
updates of the Keras variables (a Trainer, then ``fit()``, then a Trainer again), and
the data-only states file.

The numbers of training itself are in tests/test_training_parity.py. On JAX, which
cannot record, gradients are written into ``p.grad()`` directly, as MXNet allows.
"""

import json
import pickle
import re

import keras
import numpy as np
import pytest

import keras_defer as mx
from keras_defer import autograd, backend, gluon, init, nd
from keras_defer.errors import DeferredInitializationError
from keras_defer.gluon import nn
from tests.mxnet_reference import record_training as rt
from tests.test_training_parity import mark_fresh

with open(rt.BEHAVIOUR) as handle:
    MXNET = json.load(handle)["cases"]

RECORDS = backend.NAME in ("tensorflow", "torch")


def _message(case, name=None):
    """MXNet's message for ``case``, its parameter name (``denseN_...``) replaced."""
    text = MXNET[case]["message"]
    return text if name is None else re.sub(r"dense\d+_(weight|bias)", name, text)


def backward(net, x):
    """A backward through ``net`` on ``x``: recorded where the backend records; on JAX
    the gradient of ``sum(net(x))`` for a Dense written directly (MXNet allows it)."""
    if RECORDS:
        with autograd.record():
            y = net(x).sum()
        y.backward()
        return
    net(x)
    ones = np.ones((x.shape[0], net.weight.shape[0]), np.float32)
    net.weight.grad()[:] = nd.array(ones.T @ x.asnumpy())
    mark_fresh(net.weight)
    if net.bias.grad_req != "null":
        net.bias.grad()[:] = nd.array(ones.sum(axis=0))
        mark_fresh(net.bias)


@pytest.fixture
def dense():
    net = nn.Dense(2, in_units=3)
    net.initialize()
    net.weight.set_data(nd.ones((2, 3)))
    net.bias.set_data(nd.zeros((2,)))
    return net


X = nd.ones((1, 3))


# -- construction --------------------------------------------------------------------
def _on(ctx, name):
    param = gluon.Parameter(name, shape=(2,))
    try:
        param.initialize(ctx=ctx)
    except ValueError as err:  # Keras's JAX backend places nothing on 'cpu:1'
        pytest.skip("%s on %s: %s" % (name, ctx, err))
    return param


@pytest.mark.parametrize("case,make", [
    ("str_params", lambda net: gluon.Trainer("abc", "sgd")),
    ("list_of_str", lambda net: gluon.Trainer(["abc"], "sgd")),
    ("set_params", lambda net: gluon.Trainer(set(net.collect_params().values()), "sgd")),
    ("unknown_optimizer", lambda net: gluon.Trainer(net.collect_params(), "foo")),
    ("mixed_contexts", lambda net: gluon.Trainer([_on(mx.cpu(0), "a"), _on(mx.cpu(1), "b")],
                                                 "sgd")),
    ("instance_with_params", lambda net: gluon.Trainer(
        net.collect_params(), __import__("keras_defer").optimizer.SGD(), {"learning_rate": 1})),
])
def test_construction_errors_are_mxnets(case, make, dense):
    error = {"ValueError": ValueError, "AssertionError": AssertionError}[MXNET[case]["error"]]
    with pytest.raises(error) as info:
        make(dense)
    assert str(info.value).split("\n")[0] == _message(case)  # (pytest adds its own lines)


def test_uninitialized_parameters_are_refused_with_mxnets_error():
    net = nn.Dense(2)
    with pytest.raises(RuntimeError) as info:
        gluon.Trainer(net.collect_params(), "sgd")
    # MXNet's list_ctx() text names the first parameter in sorted order (the bias)
    assert str(info.value).startswith(_message("uninitialized", net.bias.name))


def test_deferred_parameters_train_after_the_first_forward():
    net = nn.Dense(2)
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    for step in (lambda: trainer.step(1), trainer.allreduce_grads,
                 lambda: gluon.Trainer(net.collect_params(), "sgd", kvstore=3).step(1)):
        with pytest.raises(DeferredInitializationError) as info:
            step()
        assert str(info.value) == _message("deferred_step", net.weight.name)
    backward(net, X)
    before = net.weight.data().asnumpy()
    trainer.step(1)
    np.testing.assert_allclose(net.weight.data().asnumpy(), before - 0.1, rtol=1e-6)


def test_dict_params_are_ordered_by_key(dense):
    trainer = gluon.Trainer({"b": dense.weight, "a": dense.bias}, "sgd")
    assert [p is q for p, q in zip(trainer._params, [dense.bias, dense.weight])] == [True, True]
    tuple_trainer = gluon.Trainer((dense.weight, dense.bias), "sgd")
    assert tuple_trainer._params == [dense.weight, dense.bias]


def test_learning_rate_and_optimizer(dense):
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.5})
    assert trainer.learning_rate == MXNET["learning_rate"]["value"]
    trainer.set_learning_rate(0.25)
    assert [trainer.learning_rate, trainer.optimizer.lr] == MXNET["set_learning_rate"]["value"]
    assert trainer.optimizer.param_dict == {0: dense.bias, 1: dense.weight}


def test_an_optimizer_instance_reads_lr_mult_set_later(dense):
    from keras_defer import optimizer

    sgd = optimizer.SGD(learning_rate=1.0)
    trainer = gluon.Trainer([dense.weight], sgd)
    assert trainer.optimizer is sgd
    dense.weight.lr_mult = 0.5
    backward(dense, X)
    trainer.step(1)
    np.testing.assert_allclose(dense.weight.data().asnumpy(), np.full((2, 3), 0.5))


# -- steps ---------------------------------------------------------------------------
def test_step_scales_by_batch_size_and_zero_is_mxnets_error(dense):
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 1.0})
    backward(dense, X)
    trainer.step(4)
    assert trainer.optimizer.rescale_grad == 0.25
    np.testing.assert_allclose(dense.weight.data().asnumpy(), np.full((2, 3), 0.75))
    with pytest.raises(ZeroDivisionError):
        trainer.step(0)


def test_stale_gradient_is_mxnets_user_warning_and_changes_nothing(dense):
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.1})
    backward(dense, X)
    trainer.step(1)
    before = [p.data().asnumpy() for p in (dense.weight, dense.bias)]
    with pytest.raises(UserWarning) as info:
        trainer.step(1)
    # MXNet names the first stale parameter in the Trainer's order (sorted: the bias)
    assert str(info.value) == _message("stale", dense.bias.name)
    trainer.step(1, ignore_stale_grad=True)  # skips both
    for p, value in zip((dense.weight, dense.bias), before):
        np.testing.assert_array_equal(p.data().asnumpy(), value)
    assert MXNET["stale_ignored_changes"]["value"] is False


def test_only_the_stale_parameters_are_skipped(dense):
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.1})
    backward(dense, X)
    trainer.step(1)
    dense.weight.grad()[:] = nd.ones((2, 3))
    mark_fresh(dense.weight)
    bias = dense.bias.data().asnumpy()
    with pytest.raises(UserWarning, match="`%s`" % dense.bias.name):
        trainer.step(1)
    trainer.step(1, ignore_stale_grad=True)
    np.testing.assert_allclose(dense.weight.data().asnumpy(), np.full((2, 3), 0.8), rtol=1e-6)
    np.testing.assert_array_equal(dense.bias.data().asnumpy(), bias)


def test_a_parameter_listed_twice_reads_stale_the_second_time(dense):
    trainer = gluon.Trainer([dense.weight, dense.weight, dense.bias], "sgd",
                            {"learning_rate": 0.1})
    backward(dense, X)
    with pytest.raises(UserWarning) as info:
        trainer.step(1)
    assert str(info.value) == _message("duplicate_step", dense.weight.name)
    np.testing.assert_allclose(dense.weight.data().asnumpy(),
                               MXNET["duplicate_after_error"]["value"])
    backward(dense, X)
    trainer.step(1, ignore_stale_grad=True)
    np.testing.assert_allclose(dense.weight.data().asnumpy(),
                               MXNET["duplicate_after_ignore"]["value"], rtol=1e-6)


def test_grad_req_null_parameters_are_skipped():
    net = nn.Dense(2, in_units=3)
    net.initialize()
    net.bias.grad_req = "null"
    bias = net.bias.data().asnumpy()
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    backward(net, X)
    trainer.step(1)
    assert bool((net.bias.data().asnumpy() == bias).all()) is MXNET["null_bias_unchanged"]["value"]
    trainer.step(4, ignore_stale_grad=True)
    assert trainer.optimizer.rescale_grad == \
        MXNET["optimizer_state"]["value"]["rescale_grad_after_step_4"]
    assert trainer.optimizer.num_update == MXNET["optimizer_state"]["value"]["num_update"]


def test_allreduce_grads_then_update_is_step(dense):
    other = nn.Dense(2, in_units=3)
    other.initialize()
    other.weight.set_data(nd.ones((2, 3)))
    other.bias.set_data(nd.zeros((2,)))
    one = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    two = gluon.Trainer(other.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    for _ in range(3):
        backward(dense, X)
        one.step(2)
        backward(other, X)
        two.allreduce_grads()
        two.update(2)
    np.testing.assert_allclose(dense.weight.data().asnumpy(), other.weight.data().asnumpy())


# -- kvstore -------------------------------------------------------------------------
@pytest.mark.parametrize("kvstore", ["device", "local", None, "nccl"])
def test_one_copy_kvstores_make_no_kvstore_as_mxnet_on_one_device(kvstore, dense):
    trainer = gluon.Trainer(dense.collect_params(), "sgd", kvstore=kvstore)
    backward(dense, X)
    trainer.step(1)
    assert [trainer._kvstore, trainer._update_on_kvstore] == \
        MXNET["kvstore_%s" % kvstore]["value"]


def test_kvstores_keras_defer_cannot_give_are_refused_at_the_first_step(dense):
    with pytest.raises(TypeError) as info:
        gluon.Trainer(dense.collect_params(), "sgd", kvstore=3).step(1)
    assert str(info.value).startswith(_message("bad_kvstore_type"))
    for kwargs in ({"kvstore": "dist_sync"}, {"update_on_kvstore": True}):
        trainer = gluon.Trainer(dense.collect_params(), "sgd", **kwargs)
        with pytest.raises(ValueError, match="keras_defer"):
            trainer.step(1)
    trainer = gluon.Trainer(dense.collect_params(), "sgd", update_on_kvstore=False,
                            compression_params={"type": "2bit", "threshold": 0.5})
    backward(dense, X)
    trainer.step(1)


# -- Keras sees every step -----------------------------------------------------------
def test_trainer_then_fit_then_trainer_share_the_variables():
    """A Sequential trained by a Trainer, then ``compile()+fit()``, then by the Trainer
    again: one set of variables throughout, each step visible to the other side."""
    net = nn.Sequential()
    net.add(nn.Dense(4, activation="relu", in_units=3))
    net.add(nn.Dense(1, in_units=4))
    net.initialize(init.Xavier())
    params = list(net.collect_params().values())
    variables = [p.variable for p in params]
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (16, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True).astype(np.float32)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})

    def gluon_steps(n):
        for _ in range(n):
            if RECORDS:
                with autograd.record():
                    loss = ((net(nd.array(x)) - nd.array(y)) ** 2).mean()
                loss.backward()
            else:  # the same gradients from Keras's own differentiation
                grads = _keras_mse_grads(net, x, y)
                for p, g in zip(params, grads):
                    p.grad()[:] = nd.array(g)
                    mark_fresh(p)
            trainer.step(1)

    def mse():
        return float(np.mean((np.asarray(net(nd.array(x)).asnumpy()) - y) ** 2))

    start = mse()
    gluon_steps(5)
    after_trainer = mse()
    assert after_trainer < start
    net.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    evaluated = net.evaluate(x, y, verbose=0)  # Keras sees the Trainer's weights
    np.testing.assert_allclose(evaluated, after_trainer, rtol=1e-4)
    net.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after_fit = mse()
    assert after_fit < after_trainer
    gluon_steps(5)
    assert mse() < after_fit
    assert [p.variable for p in params] == variables
    assert all(p.variable is v for p, v in zip(params, variables))
    tracked = {id(v) for v in net.optimizer._trainable_variables}
    assert all(id(v) in tracked for v in variables)
    np.testing.assert_allclose(net.evaluate(x, y, verbose=0), mse(), rtol=1e-4)


def _keras_mse_grads(net, x, y):
    """Gradients of the mean squared error by the backend's own means (JAX)."""
    import jax

    params = list(net.collect_params().values())
    values = [p.variable.value for p in params]

    def loss(values):
        h = np.asarray(x) @ values[0].T + values[1]
        h = jax.numpy.maximum(h, 0)
        out = h @ values[2].T + values[3]
        return jax.numpy.mean((out - y) ** 2)

    return [np.asarray(g) for g in jax.grad(loss)(values)]


# -- states --------------------------------------------------------------------------
def test_states_round_trip_and_replace_the_optimizer(dense, tmp_path):
    trainer = gluon.Trainer(dense.collect_params(), "adam", {"learning_rate": 0.01, "wd": 0.1})
    backward(dense, X)
    trainer.step(1)
    path = str(tmp_path / "t.states")
    trainer.save_states(path)
    other = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 5.0})
    other.load_states(path)
    assert type(other.optimizer).__name__ == "Adam"
    assert other.learning_rate == 0.01 and other.optimizer.wd == 0.1
    assert other.optimizer.param_dict == {0: dense.bias, 1: dense.weight}
    assert other.optimizer.num_update == 1
    saved = trainer._updaters[0].states
    loaded = other._updaters[0].states
    assert sorted(saved) == sorted(loaded)
    for index in saved:
        for a, b in zip(saved[index], loaded[index]):
            np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    backward(dense, X)
    other.step(1)  # the loaded states step on
    assert other.optimizer.num_update == 2


def test_states_hold_an_lr_scheduler(dense, tmp_path):
    from keras_defer import lr_scheduler

    schedule = lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=0.4)
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"lr_scheduler": schedule})
    backward(dense, X)
    trainer.step(1)
    path = str(tmp_path / "t.states")
    trainer.save_states(path)
    other = gluon.Trainer(dense.collect_params(), "sgd")
    other.load_states(path)
    assert type(other.optimizer.lr_scheduler) is lr_scheduler.FactorScheduler
    assert other.optimizer.lr_scheduler is not schedule
    assert other.learning_rate == trainer.learning_rate


def _npz(tmp_path, **arrays):
    path = tmp_path / "a.npz"
    np.savez(str(path), **arrays)
    return path.read_bytes()


def _hostile_files(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    files = {"pickle": pickle.dumps(({}, Payload()))}
    np.savez(str(tmp_path / "objects.npz"), __header__=np.array([Payload()], dtype=object))
    files["object array"] = (tmp_path / "objects.npz").read_bytes()

    def header(content, **arrays):
        path = tmp_path / "h.npz"
        text = json.dumps(content).encode()
        np.savez(str(path), __header__=np.frombuffer(text, np.uint8), **arrays)
        return path.read_bytes()

    good = {"format": "keras_defer.trainer_states", "version": 1, "optimizer": "sgd",
            "settings": {"lr": 0.1}, "update_count_device": 0, "states": {"t": "dict", "v": []}}
    files["empty archive"] = b"PK\x05\x06" + b"\0" * 18  # a zip with no files
    files["not json"] = _npz(tmp_path, __header__=np.frombuffer(b"{x", np.uint8))
    files["other format"] = header(dict(good, format="x"))
    files["future version"] = header(dict(good, version=2))
    files["unknown optimizer"] = header(dict(good, optimizer="os.system"))
    files["dunder attribute"] = header(dict(good, settings={"__class__": 1}))
    files["unknown tag"] = header(dict(good, states={"t": "eval", "v": "1"}))
    files["missing array"] = header(dict(good, states={"t": "dict", "v": [[0, {"t": "ndarray",
                                                                              "v": "a9"}]]}))
    files["unknown scheduler"] = header(dict(good, settings={
        "lr_scheduler": {"t": "lr_scheduler", "class": "Optimizer", "v": {}}}))
    return marker, files


def test_load_states_refuses_anything_but_its_format_and_changes_nothing(dense, tmp_path):
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.3})
    marker, files = _hostile_files(tmp_path)
    for why, content in files.items():
        path = tmp_path / "hostile.states"
        path.write_bytes(content)
        with pytest.raises(ValueError, match="trainer-states file") as info:
            trainer.load_states(str(path))
        assert trainer.learning_rate == 0.3, why
        assert type(trainer.optimizer).__name__ == "SGD", why
        assert str(path) in str(info.value), why
    assert not marker.exists()


def test_a_failed_save_states_keeps_the_old_file(dense, tmp_path, monkeypatch):
    trainer = gluon.Trainer(dense.collect_params(), "adam", {"learning_rate": 0.01})
    backward(dense, X)
    trainer.step(1)
    path = tmp_path / "t.states"
    trainer.save_states(str(path))
    before = path.read_bytes()
    backward(dense, X)
    trainer.step(1)

    def savez_dies_halfway(handle, **arrays):
        handle.write(b"half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", savez_dies_halfway)
    with pytest.raises(OSError, match="No space left"):
        trainer.save_states(str(path))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.states"]
    monkeypatch.undo()
    other = gluon.Trainer(dense.collect_params(), "sgd")
    other.load_states(str(path))
    assert type(other.optimizer).__name__ == "Adam"


def test_save_states_refuses_what_it_cannot_hold(dense, tmp_path):
    trainer = gluon.Trainer(dense.collect_params(), "sgd")
    trainer.optimizer.callback = print
    with pytest.raises(TypeError, match="optimizer.callback"):
        trainer.save_states(str(tmp_path / "t.states"))
