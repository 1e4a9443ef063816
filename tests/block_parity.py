"""Replay a recorded block case (tests/mxnet_reference/block_cases.py) under keras_defer.

One harness for every block test module, as Keras's ``run_layer_test``: each check's
message names the case and what differed. ``check_case(name)`` compares, in order:
the repr and the parameter table before the first pass, the same after it, then the
outputs and the parameters after one more pass with MXNet's weights.
"""

import json
import os

import numpy as np

from keras_defer import naming
from keras_defer.gluon import nn
from tests.mxnet_reference import block_cases

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "mxnet_reference", "data")
with open(os.path.join(DATA, "blocks.json")) as _handle:
    RECORDED = json.load(_handle)["cases"]
ARRAYS = dict(np.load(os.path.join(DATA, "blocks.npz")))


def build(name):
    naming.reset_counters()
    return block_cases.CASES[name]["build"](nn)


def param_table(net):
    return [[name, list(p.shape)] for name, p in net.collect_params().items()]


def flat_outputs(out):
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in flat_outputs(item)]
    return [np.asarray(out)]


def case_inputs(name, net):
    case = block_cases.CASES[name]
    args = [block_cases.make_input(case)]
    if case["call"] == "states":
        shapes = [tuple(s) for s in RECORDED[name]["state_shapes"]]
        batch = args[0].shape[net._layout.find("N")]
        assert [tuple(i["shape"]) for i in net.state_info(batch)] == shapes, name
        args.append([ARRAYS["%s/state%d" % (name, i)] for i in range(len(shapes))])
    return args


def check_case(name, rtol=1e-4, atol=1e-5):
    """Run case ``name`` and compare everything with MXNet's record; return the net."""
    case, rec = block_cases.CASES[name], RECORDED[name]
    assert "error" not in rec, "%s: MXNet could not run this case: %s" % (name, rec)
    net = build(name)
    assert repr(net) == rec["repr_before"], "%s: repr before the first pass" % name
    assert param_table(net) == rec["params_before"], "%s: params before" % name
    assert str(net.collect_params()) == rec["param_dict_before"], "%s: ParameterDict" % name
    net.initialize()
    args = case_inputs(name, net)
    net(*args)
    assert repr(net) == rec["repr_after"], "%s: repr after the first pass" % name
    assert param_table(net) == rec["params_after"], "%s: params after" % name
    assert str(net.collect_params()) == rec["param_dict_after"], "%s: ParameterDict" % name
    if not case["numerics"]:
        return net
    for pname, param in net.collect_params().items():
        param.set_data(ARRAYS["%s/param/%s" % (name, pname)])
    out = net(*args, training=True) if case["train"] else net(*args)
    outs = flat_outputs(out)
    assert len(outs) == rec["n_outputs"], "%s: number of outputs" % name
    for i, got in enumerate(outs):
        np.testing.assert_allclose(got, ARRAYS["%s/out%d" % (name, i)], rtol=rtol, atol=atol,
                                   err_msg="%s: output %d" % (name, i))
    for pname, param in net.collect_params().items():
        np.testing.assert_allclose(np.asarray(param.data()), ARRAYS["%s/after/%s" % (name, pname)],
                                   rtol=rtol, atol=atol,
                                   err_msg="%s: %s after the pass" % (name, pname))
    return net


def fit_lowers_loss(net, x, y, loss, epochs=5, batch_size=8, optimizer="adam"):
    """Compile and fit ``net`` (initialized, first pass not needed); return the
    loss history, which must go down."""
    import keras

    net.compile(optimizer=keras.optimizers.get(optimizer), loss=loss)
    history = net.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                      shuffle=False).history["loss"]
    assert history[-1] < history[0], "loss did not go down: %s" % history
    return history
