"""HybridBlock.export: the symbol JSON MXNet 1.9.1 writes for the same net (byte for
byte, recorded by tests/mxnet_reference/record_symbol.py) and a params file with MXNet's
names, shapes and dtypes; with MXNet present, MXNet's SymbolBlock.imports runs what we
wrote to our outputs."""

import gzip
import json
import os
import sys
import types

import numpy as np
import pytest

import keras_defer as mx
import keras_defer.gluon.contrib.nn  # noqa: F401  (mx.gluon.contrib.nn)
import keras_defer.gluon.rnn  # noqa: F401  (mx.gluon.rnn)
from keras_defer import mxnet_format, naming, nd
from keras_defer import name as mx_name
from keras_defer import symbol as sym
from keras_defer.errors import MXNetError
from keras_defer.gluon import nn
from tests.mxnet_live import requires_mxnet, run_mxnet

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "mxnet_reference"))
import symbol_cases  # noqa: E402

REFERENCE = os.path.join(os.path.dirname(__file__), "mxnet_reference", "data", "symbol.json")
with open(REFERENCE) as _f:
    RECORDED = json.load(_f)

MX = types.SimpleNamespace(sym=sym, symbol=sym, name=mx_name, gluon=mx.gluon, init=mx.init)
NOT_READY = ("Please first call block.hybridize() and then run forward with this block "
             "at least once before calling export.")


def fresh(case):
    naming.reset_counters()
    with mx_name.NameManager():
        return symbol_cases.EXPORT_CASES[case](MX)


def inputs_of(case, shapes):
    return [symbol_cases.export_input(case, s, i) for i, s in enumerate(shapes)]


def exported(case, folder):
    """The case's net, initialized, hybridized, run once and exported (MXNet's order)."""
    net, shapes = fresh(case)
    net.initialize()
    net.hybridize()
    xs = inputs_of(case, shapes)
    out = net(*[nd.array(x) for x in xs])
    path = os.path.join(str(folder), case)
    net.export(path)
    return net, xs, out, path


@pytest.mark.parametrize("case", sorted(symbol_cases.EXPORT_CASES))
def test_export_writes_mxnets_files(case, tmp_path):
    net, _, _, path = exported(case, tmp_path)
    with open(path + "-symbol.json") as f:
        assert f.read() == RECORDED["exports"][case]["json"]
    arrays, names = mxnet_format.read(path + "-0000.params")
    got = [[n, list(a.shape), str(a.dtype)] for n, a in zip(names, arrays)]
    assert got == RECORDED["exports"][case]["params"]
    params = {p.name: p for p in net.collect_params().values()}
    for name, array in zip(names, arrays):
        np.testing.assert_array_equal(array, params[name[4:]].data().asnumpy())


def test_shapes_are_those_of_the_first_pass(tmp_path):
    # MXNet makes each variable on the first pass (deferred shape inference builds the
    # graph), so a net run before hybridize() still records its deferred shapes
    net, shapes = fresh("lenet")
    net.initialize()
    x = nd.array(inputs_of("lenet", shapes)[0])
    net(x)
    net.hybridize()
    net(x)
    net.export(str(tmp_path / "called_first"))
    with open(str(tmp_path / "called_first-symbol.json")) as f:
        assert f.read() == RECORDED["variants"]["called_first"]


def test_calling_a_block_with_a_symbol_gives_its_graph():
    net, shapes = fresh("lenet_bn")
    net.initialize()
    net(nd.array(inputs_of("lenet_bn", shapes)[0]))
    with mx_name.NameManager():
        out = net(sym.var("data"))
    assert isinstance(out, sym.Symbol)
    assert symbol_cases.describe(out) == RECORDED["variants"]["direct_call"]


def test_export_refuses_before_hybridize_and_call(tmp_path):
    net, shapes = fresh("lenet")
    net.initialize()
    x = nd.array(inputs_of("lenet", shapes)[0])
    assert RECORDED["variants"]["not_hybridized"] == NOT_READY
    with pytest.raises(RuntimeError) as err:
        net.export(str(tmp_path / "a"))
    assert str(err.value) == NOT_READY
    net(x)
    with pytest.raises(RuntimeError, match="hybridize"):
        net.export(str(tmp_path / "a"))
    net.hybridize()
    with pytest.raises(RuntimeError, match="hybridize"):  # hybridized, not yet run
        net.export(str(tmp_path / "a"))
    net(x)
    net.export(str(tmp_path / "a"), epoch=12)
    assert sorted(os.listdir(tmp_path)) == ["a-0012.params", "a-symbol.json"]
    net.hybridize(active=False)  # MXNet drops the cached graph
    with pytest.raises(RuntimeError, match="hybridize"):
        net.export(str(tmp_path / "b"))


class _NoSymbolicForm(nn.HybridBlock):
    """Stands for a keras_defer layer computing with Keras only."""

    def forward(self, x):
        return x


_NoSymbolicForm.__module__ = "keras_defer.stand_in"


def test_a_block_without_a_symbolic_form_is_named_and_nothing_written(tmp_path):
    net = nn.HybridSequential()
    net.add(nn.Dense(3), _NoSymbolicForm(prefix="plain_"))
    net.initialize()
    net.hybridize()
    net(nd.ones((2, 4)))
    with pytest.raises(MXNetError, match="plain .*_NoSymbolicForm.*hybrid_forward"):
        net.export(str(tmp_path / "m"))
    assert os.listdir(tmp_path) == []


def test_lambda_blocks_call_their_function_on_symbols(tmp_path):
    naming.reset_counters()
    net = nn.HybridSequential()
    net.add(nn.Dense(3), nn.HybridLambda("tanh"), nn.HybridLambda(lambda F, x: F.relu(x)))
    net.initialize()
    net.hybridize()
    net(nd.ones((2, 4)))
    net.export(str(tmp_path / "m"))
    nodes = json.load(open(str(tmp_path / "m-symbol.json")))["nodes"]
    # what MXNet 1.9.1 writes for this net
    assert [(n["op"], n["name"]) for n in nodes if n["op"] != "null"] == [
        ("FullyConnected", "dense0_fwd"), ("tanh", "hybridlambda0_tanh0"),
        ("relu", "hybridlambda1_relu0")]
    # a plain Lambda (a Block: MXNet refuses it in a HybridSequential) calls its function
    lam = nn.Lambda(lambda x: x * 2)
    with mx_name.NameManager():
        got = lam(sym.var("data")).tojson()
    with mx_name.NameManager():
        assert got == (sym.var("data") * 2).tojson()


def test_export_keeps_keras_export_reachable(tmp_path):
    net, _, _, _ = exported("lenet", tmp_path)
    with pytest.raises(TypeError, match="unexpected keyword"):
        net.export(str(tmp_path / "x"), verbose=False)


ZOO_REFERENCE = os.path.join(os.path.dirname(__file__), "mxnet_reference", "data",
                             "symbol_model_zoo.json.gz")
with gzip.open(ZOO_REFERENCE, "rt") as _f:
    ZOO_RECORDED = json.load(_f)
ZOO_QUICK = ("resnet18_v1", "squeezenet1.1")
"""Model-zoo nets checked in every run; the rest (each 2-12 s on two cores) run with
KERAS_DEFER_SLOW_TESTS=1."""


def exported_zoo(name, folder):
    from keras_defer.gluon.model_zoo import vision

    naming.reset_counters()
    with mx_name.NameManager():
        net = vision.get_model(name)
        net.initialize()
        net.hybridize()
        side = ZOO_RECORDED[name]["side"]
        x = symbol_cases.export_input(name, (1, 3, side, side), 0)
        out = net(nd.array(x))
        net.export(os.path.join(str(folder), name))
    return net, x, out, os.path.join(str(folder), name)


@pytest.mark.parametrize("name", sorted(ZOO_RECORDED))
def test_model_zoo_export_is_mxnets(name, tmp_path):
    if name not in ZOO_QUICK and not os.environ.get("KERAS_DEFER_SLOW_TESTS"):
        pytest.skip("slow model-zoo export; set KERAS_DEFER_SLOW_TESTS=1 to run it")
    _, _, _, path = exported_zoo(name, tmp_path)
    with open(path + "-symbol.json") as f:
        assert f.read() == ZOO_RECORDED[name]["json"]


ROUND_TRIP_CASES = ["lenet_bn", "residual", "custom_two_inputs", "embedding_lm", "gru_states"]


@pytest.mark.parametrize("case", ROUND_TRIP_CASES)
def test_symbol_block_imports_what_we_export(case, tmp_path):
    _, xs, out, path = exported(case, tmp_path)
    names = ["data"] if len(xs) == 1 else ["data%d" % i for i in range(len(xs))]
    block = mx.gluon.SymbolBlock.imports(path + "-symbol.json", names, path + "-0000.params")
    got = block(*[nd.array(x) for x in xs])
    outs = out if isinstance(out, (list, tuple)) else [out]
    gots = got if isinstance(got, (list, tuple)) else [got]
    assert len(gots) == len(outs)
    for a, b in zip(outs, gots):
        np.testing.assert_allclose(b.asnumpy(), a.asnumpy(), rtol=1e-5, atol=1e-6)


LIVE_CASES = ["lenet_bn", "nin", "residual", "inception", "custom_two_inputs",
              "activations", "embedding_lm", "gru_states", "conv_variants", "conv1d"]

_MXNET_SCRIPT = r"""
import json, sys
import numpy as np
import mxnet as mx
cases = json.load(open("cases.json"))
worst = {}
for case, info in cases.items():
    net = mx.gluon.SymbolBlock.imports(info["path"] + "-symbol.json", info["input_names"],
                                       info["path"] + "-0000.params")
    xs = [mx.nd.array(np.load(p)) for p in info["inputs"]]
    out = net(*xs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    errs = []
    for o, p in zip(outs, info["outputs"]):
        want = np.load(p)
        got = o.asnumpy()
        errs.append(float(np.max(np.abs(got - want))) if got.shape == want.shape
                    else "shape %s vs %s" % (got.shape, want.shape))
    worst[case] = errs if len(outs) == len(info["outputs"]) else "outputs %d vs %d" % (
        len(outs), len(info["outputs"]))
print(json.dumps(worst))
"""


def _check_with_mxnet(tmp_path, cases_to_export):
    cases = {}
    for case in cases_to_export:
        if case in ZOO_RECORDED:
            _, x, out, path = exported_zoo(case, tmp_path)
            xs = [x]
        else:
            _, xs, out, path = exported(case, tmp_path)
        outs = out if isinstance(out, (list, tuple)) else [out]
        info = {"path": path, "inputs": [], "outputs": [],
                "input_names": ["data"] if len(xs) == 1 else
                ["data%d" % i for i in range(len(xs))]}
        for i, x in enumerate(xs):
            info["inputs"].append(str(tmp_path / ("%s-in%d.npy" % (case, i))))
            np.save(info["inputs"][-1], x)
        for i, o in enumerate(outs):
            info["outputs"].append(str(tmp_path / ("%s-out%d.npy" % (case, i))))
            np.save(info["outputs"][-1], o.asnumpy())
        cases[case] = info
    with open(str(tmp_path / "cases.json"), "w") as f:
        json.dump(cases, f)
    worst = json.loads(run_mxnet(_MXNET_SCRIPT, tmp_path, timeout=600).strip().splitlines()[-1])
    for case in cases:
        assert all(isinstance(e, float) and e <= 1e-5 for e in worst[case]), (case,
                                                                               worst[case])


@requires_mxnet
def test_mxnet_imports_what_we_export_and_computes_our_outputs(tmp_path):
    _check_with_mxnet(tmp_path, LIVE_CASES)


@requires_mxnet
def test_mxnet_imports_our_model_zoo_export(tmp_path):
    _check_with_mxnet(tmp_path, ["resnet18_v1"])
