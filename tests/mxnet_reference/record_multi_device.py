"""Record MXNet 1.9.1's multi-device idiom (the ground truth of tests/test_multi_device.py).

Run in the MXNet side environment, from the repository root:
    /root/.cache/mxnet-1.9.1/bin/python tests/mxnet_reference/record_multi_device.py

MXNet's CPU build keeps ``cpu(0)`` and ``cpu(1)`` as separate copies, so the idiom of
d2l's "multiple GPUs, concise" chapter runs on two CPU contexts: ``initialize(ctx=[...])``,
``gluon.utils.split_and_load``, a forward and a backward per context, ``trainer.step``.

The scenario (``run``) takes the framework module (``mxnet`` or ``keras_defer``) and
returns plain data, so the test runs the very same code on keras_defer and compares.
Writes ``data/multi_device.json`` (a few KB). Values are from fixed numpy weights and
inputs, so both frameworks compute the same numbers.
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
JSON = os.path.join(HERE, "data", "multi_device.json")

BATCH, IN, HIDDEN, OUT = 6, 4, 5, 3
STEPS = 3


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - recorded: class and text
        return [type(exc).__name__, str(exc).splitlines()[0]]
    return None


def _values(arrays):
    return [np.round(a.asnumpy().astype(np.float64), 6).tolist() for a in arrays]


def _weights():
    rng = np.random.RandomState(3)
    f32 = np.float32
    return {
        "w0": rng.uniform(-0.5, 0.5, (HIDDEN, IN)).astype(f32),
        "b0": rng.uniform(-0.1, 0.1, (HIDDEN,)).astype(f32),
        "w1": rng.uniform(-0.5, 0.5, (OUT, HIDDEN)).astype(f32),
        "b1": rng.uniform(-0.1, 0.1, (OUT,)).astype(f32),
        "x": rng.uniform(-1, 1, (STEPS, BATCH, IN)).astype(f32),
        "y": rng.randint(0, OUT, (STEPS, BATCH)).astype(f32),
    }


def _mlp(mx, ctx, values):
    nn = mx.gluon.nn
    net = nn.Sequential()
    net.add(nn.Dense(HIDDEN, activation="relu"))
    net.add(nn.Dense(OUT))
    net.initialize(mx.init.Normal(0.1), ctx=ctx)
    return net


def _set_weights(mx, net, values):
    for layer, (w, b) in zip(net, [("w0", "b0"), ("w1", "b1")]):
        layer.weight.set_data(mx.nd.array(values[w]))
        layer.bias.set_data(mx.nd.array(values[b]))


def run(mx):
    """The scenario; returns a JSON-able dict."""
    nd, autograd, gluon = mx.nd, mx.autograd, mx.gluon
    ctx = [mx.cpu(0), mx.cpu(1)]
    values = _weights()
    out = {}

    net = _mlp(mx, ctx, values)
    weight = net[0].weight
    out["pending_list_ctx"] = str(weight.list_ctx())
    out["pending_list_data"] = _error(weight.list_data)
    x0 = nd.array(values["x"][0])
    xs = gluon.utils.split_and_load(x0, ctx)
    out["split_shapes"] = [list(x.shape) for x in xs]
    net(xs[0])  # the first pass, on ctx[0]
    _set_weights(mx, net, values)
    out["list_ctx"] = str(weight.list_ctx())
    out["params_list_ctx"] = str(net.collect_params().list_ctx())
    out["n_list_data"] = len(weight.list_data())
    out["n_list_grad"] = len(weight.list_grad())
    out["set_data_every_copy"] = _values(weight.list_data())
    out["data_other_ctx"] = _error(lambda: weight.data(mx.cpu(2)))
    out["grad_other_ctx"] = _error(lambda: weight.grad(mx.cpu(2)))
    out["forward_per_ctx"] = _values([net(x) for x in xs])

    # training: forward/backward per context, step sums the gradients
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.1, "momentum": 0.9})
    steps = []
    for step in range(STEPS):
        xs = gluon.utils.split_and_load(nd.array(values["x"][step]), ctx)
        ys = gluon.utils.split_and_load(nd.array(values["y"][step]), ctx)
        with autograd.record():
            losses = [loss(net(x), y) for x, y in zip(xs, ys)]
        for l in losses:
            l.backward()
        record = {"losses": _values(losses), "grads": _values(weight.list_grad())}
        trainer.step(BATCH)
        record["grads_after_step"] = _values(weight.list_grad())
        record["weights"] = _values(weight.list_data())
        record["bias1"] = _values(net[1].bias.list_data())
        steps.append(record)
    out["steps"] = steps

    # a stale copy: a backward on ctx[0] only. MXNet's kvstore path (update_on_kvstore,
    # the default with several contexts) never clears the fresh flags: no error
    with autograd.record():
        l0 = loss(net(xs[0]), ys[0])
    l0.backward()
    out["stale_copy_kvstore"] = _error(lambda: trainer.step(BATCH))

    # allreduce_grads + update (update_on_kvstore=False): every copy gets the sum
    net2 = _mlp(mx, ctx, values)
    net2(xs[0])
    _set_weights(mx, net2, values)
    trainer2 = gluon.Trainer(net2.collect_params(), "sgd", {"learning_rate": 0.1},
                             update_on_kvstore=False)
    with autograd.record():
        losses = [loss(net2(x), y) for x, y in zip(xs, ys)]
    for l in losses:
        l.backward()
    trainer2.allreduce_grads()
    out["allreduced_grads"] = _values(net2[0].weight.list_grad())
    trainer2.update(BATCH)
    out["allreduce_update_weights"] = _values(net2[0].weight.list_data())
    with autograd.record():  # without the kvstore the flags are cleared: copy 1 stale
        l0 = loss(net2(xs[0]), ys[0])
    l0.backward()
    out["stale_copy"] = _error(lambda: trainer2.step(BATCH))

    # writes to one copy; data() in a context scope; zero_grad; reset_ctx
    weight.data(ctx[1])[:] = 2
    out["write_one_copy"] = [float(a.asnumpy().sum()) for a in weight.list_data()]
    with ctx[1]:
        out["data_in_ctx1_scope"] = float(weight.data().asnumpy().sum())
    out["forward_after_write"] = _values([net(x) for x in xs])
    weight.zero_grad()
    out["zero_grad"] = [float(np.abs(g.asnumpy()).sum()) for g in weight.list_grad()]
    weight.set_data(nd.ones(weight.shape))
    out["set_data_again"] = [float(a.asnumpy().sum()) for a in weight.list_data()]
    weight.reset_ctx(ctx[0])
    out["reset_one"] = [str(weight.list_ctx()), len(weight.list_data())]
    weight.reset_ctx(ctx)
    out["reset_two"] = [str(weight.list_ctx()),
                        [float(a.asnumpy().sum()) for a in weight.list_data()]]

    # BatchNorm: each copy's running statistics follow its own slice
    bn_net = mx.gluon.nn.Sequential()
    bn_net.add(mx.gluon.nn.BatchNorm(in_channels=IN))
    bn_net.initialize(ctx=ctx)
    with autograd.record():
        outs = [bn_net(x) for x in gluon.utils.split_and_load(nd.array(values["x"][0]), ctx)]
    for o in outs:
        o.backward()
    out["running_mean"] = _values(bn_net[0].running_mean.list_data())
    return out


def main():
    import mxnet as mx

    out = run(mx)
    out["_mxnet"] = mx.__version__
    with open(JSON, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("wrote", JSON, os.path.getsize(JSON), "bytes")


if __name__ == "__main__":
    sys.exit(main())
