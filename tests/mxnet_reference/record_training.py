"""Record MXNet 1.9.1's training with ``gluon.Trainer`` (the ground truth of
tests/test_training_parity.py and tests/test_trainer.py).

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_training.py

Writes ``data/training.npz`` (inputs, initial weights, per-step losses, final weights
for every optimizer on a small MLP and a small CNN, and for gradients written directly
into ``p.grad()``) and ``data/training_behaviour.json`` (errors and edge cases).

This module is imported by the tests too (for the scenario definitions below), so
MXNet is imported only when it runs as a script.
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NPZ = os.path.join(HERE, "data", "training.npz")
BEHAVIOUR = os.path.join(HERE, "data", "training_behaviour.json")

STEPS = 20
BATCH = 8

OPTIMIZERS = {
    # name: (registered optimizer, optimizer_params); wd and clip_gradient in some
    "sgd": ("sgd", {"learning_rate": 0.1}),
    "sgd_momentum": ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3}),
    "nag": ("nag", {"learning_rate": 0.05, "momentum": 0.9, "clip_gradient": 0.5}),
    "adam": ("adam", {"learning_rate": 0.01, "wd": 1e-3}),
    "adagrad": ("adagrad", {"learning_rate": 0.1, "clip_gradient": 1.0}),
    "rmsprop": ("rmsprop", {"learning_rate": 0.01, "wd": 1e-3}),
    "rmsprop_centered": ("rmsprop", {"learning_rate": 0.01, "centered": True,
                                     "clip_gradient": 1.0}),
    "adadelta": ("adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    "adamax": ("adamax", {"learning_rate": 0.01, "clip_gradient": 0.5}),
    "nadam": ("nadam", {"learning_rate": 0.01, "wd": 1e-3}),
    "ftml": ("ftml", {"learning_rate": 0.01}),
    "signum": ("signum", {"learning_rate": 0.01, "momentum": 0.9, "wd_lh": 1e-3}),
    "lamb": ("lamb", {"learning_rate": 0.01, "wd": 1e-3}),
}

MLP_IN, MLP_HIDDEN, MLP_CLASSES = 6, 8, 4
CNN_SIDE, CNN_CHANNELS, CNN_OUT = 8, 4, 3
DIRECT_SHAPES = [(MLP_HIDDEN, MLP_IN), (MLP_HIDDEN,), (MLP_CLASSES, MLP_HIDDEN), (MLP_CLASSES,)]
DIRECT_MULTS = [(1.0, 1.0), (0.5, 1.0), (1.0, 0.0), (1.0, 1.0)]  # (lr_mult, wd_mult)


def build_mlp(nn):
    net = nn.Sequential()
    net.add(nn.Dense(MLP_HIDDEN, activation="relu", in_units=MLP_IN))
    net.add(nn.Dense(MLP_CLASSES, in_units=MLP_HIDDEN))
    return net


def build_cnn(nn):
    net = nn.Sequential()
    net.add(nn.Conv2D(CNN_CHANNELS, kernel_size=3, in_channels=1, activation="relu"))
    net.add(nn.MaxPool2D(pool_size=2))
    net.add(nn.Flatten())
    side = (CNN_SIDE - 2) // 2
    net.add(nn.Dense(CNN_OUT, in_units=CNN_CHANNELS * side * side))
    return net


NETS = {"mlp": build_mlp, "cnn": build_cnn}


def make_inputs():
    """Inputs, labels, initial weights and direct gradients (float32), from a fixed
    seed; stored in the npz so the tests never depend on a RNG's stream."""
    rng = np.random.RandomState(0)
    f32 = np.float32
    data = {
        "mlp_x": rng.uniform(-1, 1, (STEPS, BATCH, MLP_IN)).astype(f32),
        "mlp_y": rng.randint(0, MLP_CLASSES, (STEPS, BATCH)).astype(f32),
        "cnn_x": rng.uniform(0, 1, (STEPS, BATCH, 1, CNN_SIDE, CNN_SIDE)).astype(f32),
        "cnn_y": rng.uniform(-1, 1, (STEPS, BATCH, CNN_OUT)).astype(f32),
    }
    for i, shape in enumerate(DIRECT_SHAPES):
        data["direct_w%d" % i] = rng.uniform(-0.5, 0.5, shape).astype(f32)
        data["direct_g%d" % i] = rng.normal(0, 1, (STEPS,) + shape).astype(f32)
    return data


def initial_weights(name, shapes):
    """Uniform weights; the hidden layer's bias (the second parameter) positive, so
    no ReLU unit is dead for a whole first batch: MXNet's Adamax divides by a zero
    ``u_t`` where a first gradient is exactly 0 (NaN)."""
    rng = np.random.RandomState(1 if name == "mlp" else 2)
    values = [rng.uniform(-0.4, 0.4, shape).astype(np.float32) for shape in shapes]
    values[1] = rng.uniform(0.3, 0.5, shapes[1]).astype(np.float32)
    return values


def loss_of(fw, name):
    """The net's gluon loss: softmax cross-entropy (MLP), L2 (CNN)."""
    return fw.gluon.loss.SoftmaxCrossEntropyLoss() if name == "mlp" else fw.gluon.loss.L2Loss()


def train(fw, net_name, opt_name, data, loss_fn=None):
    """20 steps with ``trainer.step(BATCH)``: (per-step mean losses, final weights)."""
    net = NETS[net_name](fw.gluon.nn)
    net.initialize()
    params = list(net.collect_params().values())
    for param, value in zip(params, data["%s_init" % net_name]):
        param.set_data(fw.nd.array(value))
    optimizer, kwargs = OPTIMIZERS[opt_name]
    trainer = fw.gluon.Trainer(net.collect_params(), optimizer, dict(kwargs))
    loss_fn = loss_fn or loss_of(fw, net_name)
    losses = []
    for step in range(STEPS):
        x = fw.nd.array(data["%s_x" % net_name][step])
        y = fw.nd.array(data["%s_y" % net_name][step])
        with fw.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(BATCH)
        losses.append(float(loss.mean().asscalar()))
    return np.array(losses, np.float32), [p.data().asnumpy() for p in params]


def direct_params(fw, data):
    params = []
    for i, shape in enumerate(DIRECT_SHAPES):
        param = fw.gluon.Parameter("direct%d_weight" % i, shape=shape)
        param.lr_mult, param.wd_mult = DIRECT_MULTS[i]
        param.initialize()
        param.set_data(fw.nd.array(data["direct_w%d" % i]))
        params.append(param)
    return params


def direct_steps(fw, params, trainer, data, steps, mark_fresh):
    """Gradients written into ``p.grad()``, marked fresh (what a backward does), then
    ``trainer.step(BATCH)``; returns the per-step sums of all weights."""
    sums = []
    for step in steps:
        for i, param in enumerate(params):
            param.grad()[:] = fw.nd.array(data["direct_g%d" % i][step])
            mark_fresh(param)
        trainer.step(BATCH)
        sums.append(sum(float(p.data().asnumpy().astype(np.float64).sum()) for p in params))
    return sums


def train_direct(fw, opt_name, data, mark_fresh):
    params = direct_params(fw, data)
    optimizer, kwargs = OPTIMIZERS[opt_name]
    trainer = fw.gluon.Trainer(params, optimizer, dict(kwargs))
    sums = direct_steps(fw, params, trainer, data, range(STEPS), mark_fresh)
    return np.array(sums, np.float64), [p.data().asnumpy() for p in params]


def _outcome(fn):
    try:
        value = fn()
    except BaseException as err:  # noqa: B902  (recording what MXNet raises)
        return {"error": type(err).__name__, "message": str(err).split("\n")[0]}
    return {"value": value}


def record_behaviour(fw):
    """Errors and edge cases of Trainer, as MXNet 1.9.1 shows them."""
    nn, nd, autograd, gluon = fw.gluon.nn, fw.nd, fw.autograd, fw.gluon
    out = {}
    net = nn.Dense(2)
    out["uninitialized"] = _outcome(lambda: gluon.Trainer(net.collect_params(), "sgd") and None)
    net.initialize()
    deferred = gluon.Trainer(net.collect_params(), "sgd")
    out["deferred_step"] = _outcome(lambda: deferred.step(1))
    out["deferred_allreduce"] = _outcome(lambda: deferred.allreduce_grads())
    out["str_params"] = _outcome(lambda: gluon.Trainer("abc", "sgd") and None)
    out["list_of_str"] = _outcome(lambda: gluon.Trainer(["abc"], "sgd") and None)
    out["set_params"] = _outcome(lambda: gluon.Trainer(set(net.collect_params().values()), "sgd")
                                 and None)
    out["unknown_optimizer"] = _outcome(lambda: gluon.Trainer(net.collect_params(), "foo") and None)
    cpu0 = gluon.Parameter("a", shape=(2,))
    cpu0.initialize(ctx=fw.cpu(0))
    cpu1 = gluon.Parameter("b", shape=(2,))
    cpu1.initialize(ctx=fw.cpu(1))
    out["mixed_contexts"] = _outcome(lambda: gluon.Trainer([cpu0, cpu1], "sgd") and None)
    out["instance_with_params"] = _outcome(lambda: gluon.Trainer(
        net.collect_params(), fw.optimizer.SGD(), {"learning_rate": 1}) and None)
    out["deferred_kvstore_type"] = _outcome(lambda: gluon.Trainer(
        net.collect_params(), "sgd", kvstore=3).step(1))
    x = nd.ones((1, 3))
    net(x)  # the deferred trainer now steps
    out["bad_kvstore_type"] = _outcome(lambda: gluon.Trainer(
        net.collect_params(), "sgd", kvstore=3).step(1, ignore_stale_grad=True))

    def backward():
        with autograd.record():
            y = net(x).sum()
        y.backward()

    backward()
    out["deferred_then_forward"] = _outcome(lambda: deferred.step(1))
    out["stale"] = _outcome(lambda: deferred.step(1))
    before = net.weight.data().asnumpy()
    out["stale_ignored_changes"] = _outcome(
        lambda: deferred.step(1, ignore_stale_grad=True)
        or bool((net.weight.data().asnumpy() != before).any()))

    trainer = gluon.Trainer({"b": net.weight, "a": net.bias}, "sgd", {"learning_rate": 0.5})
    out["dict_order"] = {"value": [p.name for p in trainer._params]}
    out["learning_rate"] = {"value": trainer.learning_rate}
    trainer.set_learning_rate(0.25)
    out["set_learning_rate"] = {"value": [trainer.learning_rate, trainer.optimizer.lr]}
    out["step_zero"] = _outcome(lambda: trainer.step(0))

    for kv in ("device", "local", None, "nccl"):
        def run(kv=kv):
            tr = gluon.Trainer(net.collect_params(), "sgd", kvstore=kv)
            backward()
            tr.step(1)
            return [tr._kvstore, tr._update_on_kvstore]
        out["kvstore_%s" % kv] = _outcome(run)

    # a parameter listed twice: its second entry reads stale at the first step; with
    # ignore_stale_grad it is updated once
    dense = nn.Dense(2, in_units=3)
    dense.initialize()
    dense.weight.set_data(nd.ones((2, 3)))
    twice = gluon.Trainer([dense.weight, dense.weight, dense.bias], "sgd", {"learning_rate": 0.1})

    def twice_step(ignore):
        with autograd.record():
            y = dense(x).sum()
        y.backward()
        return _outcome(lambda: twice.step(1, ignore_stale_grad=ignore))

    out["duplicate_step"] = twice_step(False)
    out["duplicate_after_error"] = {"value": dense.weight.data().asnumpy().tolist()}
    out["duplicate_ignore"] = twice_step(True)
    out["duplicate_after_ignore"] = {"value": dense.weight.data().asnumpy().tolist()}

    # grad_req='null' parameters are skipped
    frozen = nn.Dense(2, in_units=3)
    frozen.initialize()
    frozen.bias.grad_req = "null"
    bias = frozen.bias.data().asnumpy()
    tr = gluon.Trainer(frozen.collect_params(), "sgd")
    with autograd.record():
        y = frozen(x).sum()
    y.backward()
    tr.step(1)
    out["null_bias_unchanged"] = {"value": bool((frozen.bias.data().asnumpy() == bias).all())}
    out["optimizer_state"] = {"value": {
        "rescale_grad_after_step_4": (tr.step(4, ignore_stale_grad=True),
                                      tr.optimizer.rescale_grad)[1],
        "num_update": tr.optimizer.num_update}}
    return out


def main():
    import types

    import mxnet as mx
    from mxnet import autograd, gluon, nd

    fw = types.SimpleNamespace(nd=nd, autograd=autograd, gluon=gluon, optimizer=mx.optimizer,
                               cpu=mx.cpu)
    data = make_inputs()
    for name, build in NETS.items():
        net = build(gluon.nn)
        net.initialize()
        shapes = [p.shape for p in net.collect_params().values()]
        for i, value in enumerate(initial_weights(name, shapes)):
            data["%s_init%d" % (name, i)] = value
    view = dict(data)
    for name in NETS:
        view["%s_init" % name] = [data[k] for k in sorted(data) if k.startswith(name + "_init")]

    def mark_fresh(param):
        param.data()._fresh_grad = True

    for opt_name in OPTIMIZERS:
        for name in NETS:
            losses, weights = train(fw, name, opt_name, view)
            data["%s_%s_losses" % (name, opt_name)] = losses
            for i, w in enumerate(weights):
                data["%s_%s_w%d" % (name, opt_name, i)] = w
        sums, weights = train_direct(fw, opt_name, view, mark_fresh)
        data["direct_%s_sums" % opt_name] = sums
        for i, w in enumerate(weights):
            data["direct_%s_w%d" % (opt_name, i)] = w
    np.savez_compressed(NPZ, **data)
    with open(BEHAVIOUR, "w") as handle:
        json.dump({"mxnet": mx.__version__, "cases": record_behaviour(fw)}, handle, indent=1,
                  sort_keys=True, default=str)
    print("wrote", NPZ, os.path.getsize(NPZ), "bytes;", BEHAVIOUR)


if __name__ == "__main__":
    main()
