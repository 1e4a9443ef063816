"""mx.sym: graphs, names and JSON text equal to MXNet 1.9.1's (recorded by
tests/mxnet_reference/record_symbol.py from tests/mxnet_reference/symbol_cases.py).

Byte-identical ``tojson()`` text is the offline proof that MXNet reads what we write:
it is MXNet's own text."""

import json
import os
import sys
import types

import pytest

import keras_defer
from keras_defer import name as mx_name
from keras_defer import symbol as sym
from keras_defer.errors import MXNetError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "mxnet_reference"))
import symbol_cases  # noqa: E402

REFERENCE = os.path.join(os.path.dirname(__file__), "mxnet_reference", "data", "symbol.json")

with open(REFERENCE) as _f:
    RECORDED = json.load(_f)

MX = types.SimpleNamespace(sym=sym, symbol=sym, name=mx_name, gluon=keras_defer.gluon,
                           init=keras_defer.init)


def build(case):
    with mx_name.NameManager():
        return symbol_cases.SYMBOL_CASES[case](MX)


@pytest.mark.parametrize("case", sorted(symbol_cases.SYMBOL_CASES))
def test_graph_matches_mxnet(case):
    got = symbol_cases.describe(build(case))
    want = RECORDED["symbols"][case]
    for key in ("repr", "name", "arguments", "outputs", "aux", "inputs", "internals"):
        assert got[key] == want[key], key
    assert got["json"] == want["json"]


def _all_recorded_json():
    texts = [(k, v["json"]) for k, v in RECORDED["symbols"].items()]
    texts += [("export_" + k, v["json"]) for k, v in RECORDED["exports"].items()]
    return texts


@pytest.mark.parametrize("case,text", _all_recorded_json(), ids=lambda v: str(v)[:20])
def test_mxnet_json_loads_and_writes_back_the_same_bytes(case, text):
    loaded = sym.load_json(text)
    assert loaded.tojson() == text
    assert loaded.list_outputs() == [n for n in loaded.list_outputs()]


def test_save_and_load_file(tmp_path):
    net = build("conv_bn")
    path = str(tmp_path / "net-symbol.json")
    net.save(path)
    assert open(path).read() == RECORDED["symbols"]["conv_bn"]["json"]
    again = sym.load(path)
    assert again.list_auxiliary_states() == ["batchnorm0_moving_mean", "batchnorm0_moving_var"]
    assert not [p for p in os.listdir(tmp_path) if "tmp" in p]


def test_mx_sym_is_mx_symbol():
    assert keras_defer.sym is keras_defer.symbol is sym
    assert sym.Variable is sym.var


def test_auto_names_count_per_manager_and_prefix():
    with mx_name.NameManager():
        x = sym.var("x")
        a, b = sym.relu(x), sym.relu(x)
        with mx_name.Prefix("blk_"):
            c = sym.FullyConnected(x, num_hidden=2)
            d = sym.relu(x, name="fwd")
    assert [s.name for s in (a, b, c, d)] == ["relu0", "relu1", "blk_fullyconnected0",
                                             "blk_fwd"]
    assert c.list_arguments() == ["x", "blk_fullyconnected0_weight", "blk_fullyconnected0_bias"]


def test_indexing_outputs():
    with mx_name.NameManager():
        parts = sym.split(sym.var("x"), num_outputs=3)
    assert len(parts) == 3
    assert parts["split0_output1"].list_outputs() == ["split0_output1"]
    assert [p.name for p in parts] == ["split0"] * 3
    with pytest.raises(ValueError, match="Cannot find output"):
        parts["nope"]
    with pytest.raises(IndexError):
        parts[3]
    with pytest.raises(TypeError):
        parts[1.0]


def test_attributes():
    x = sym.var("x", shape=(2, 3), lr_mult=2.0)
    assert x.attr("__shape__") == "(2, 3)"
    assert x.list_attr() == {"__shape__": "(2, 3)", "__lr_mult__": "2.0"}
    assert x.attr("missing") is None
    with mx_name.NameManager():
        y = sym.Activation(x, act_type="relu")
    assert y.attr_dict() == {"x": {"__shape__": "(2, 3)", "__lr_mult__": "2.0"},
                             "activation0": {"act_type": "relu"}}
    with sym.AttrScope(group="4"):
        z = sym.var("z")
    assert z.attr("group") == "4"


def test_refusals_name_what_was_wrong():
    x = sym.var("x")
    with pytest.raises(MXNetError, match="Required parameter num_hidden"):
        sym.FullyConnected(x)
    with pytest.raises(MXNetError, match="Keyword argument name gamma not found"):
        sym.Activation(x, gamma=x, act_type="relu")
    with pytest.raises(ValueError, match="double underscores"):
        sym.var("w", mine=1)
    with pytest.raises(TypeError):
        sym.var(3)
    with pytest.raises(TypeError):
        sym.Group([x, 1])
    with pytest.raises(TypeError, match="not supported"):
        x + "a"
    with pytest.raises(MXNetError, match="group of 2 outputs"):
        sym.relu(sym.Group([x, x]))


@pytest.mark.parametrize("text,why", [
    ("not json", "not JSON"),
    ('{"nodes": 3}', "'nodes' list"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[4, 0, 0]]}',
     "refers to node 4"),
    ('{"nodes": [{"op": "relu", "name": "r", "inputs": [[0, 0, 0]]}], "heads": [[0, 0, 0]]}',
     "later node"),
    ('{"nodes": [{"op": "null", "name": "x", "attrs": {"a": 1}, "inputs": []}], '
     '"heads": [[0, 0, 0]]}', "map strings to strings"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": []}', "heads"),
])
def test_load_json_refuses_broken_graphs(text, why):
    with pytest.raises(MXNetError, match=why):
        sym.load_json(text)


def test_unknown_operator_in_a_file_is_kept():
    text = json.dumps({"nodes": [{"op": "null", "name": "x", "inputs": []},
                                 {"op": "_contrib_Mine", "name": "m", "inputs": [[0, 0, 0]]}],
                       "arg_nodes": [0], "node_row_ptr": [0, 1, 3], "heads": [[1, 1, 0]]})
    loaded = sym.load_json(text)
    assert loaded.list_outputs() == ["m_output1"]
    assert json.loads(loaded.tojson())["node_row_ptr"] == [0, 1, 3]


def test_older_attr_keys_are_read():
    text = json.dumps({"nodes": [{"op": "null", "name": "x", "inputs": []},
                                 {"op": "Activation", "name": "a", "param": {"act_type": "relu"},
                                  "attr": {"ctx_group": "1"}, "inputs": [[0, 0]]}],
                       "heads": [[1, 0]]})
    loaded = sym.load_json(text)
    assert loaded.list_attr() == {"act_type": "relu", "ctx_group": "1"}


def test_symbol_methods_and_helpers():
    with mx_name.NameManager():
        x = sym.var("x")
        m = sym.maximum(x, 2)
        n = sym.minimum(1, x)
        p = sym.pow(2, x)
        z = sym.zeros((2, 3))
    assert json.loads(m.tojson())["nodes"][1]["op"] == "_maximum_scalar"
    assert json.loads(n.tojson())["nodes"][1]["op"] == "_minimum_scalar"
    assert json.loads(p.tojson())["nodes"][1]["op"] == "_rpower_scalar"
    assert z.attr("shape") == "(2, 3)" and z.attr("dtype") == "float32"
    assert sym._internal._Plus(x, x).list_arguments() == ["x"]
    assert repr(x.astype("float16")).startswith("<Symbol cast")


def test_deep_graph_has_no_recursion_limit():
    x = sym.var("x")
    for _ in range(3000):
        x = sym.relu(x)
    assert len(json.loads(x.tojson())["nodes"]) == 3001


# MXNet 1.9.1: gluon.Parameter('w', shape=(2, 3)).var().tojson(), printed in its side
# environment (the same text for a Parameter's variable as for sym.var with its attributes).
PARAMETER_VAR_JSON_ATTRS = {"__dtype__": "0", "__lr_mult__": "1.0", "__shape__": "(2, 3)",
                            "__storage_type__": "0", "__wd_mult__": "1.0"}


def test_parameter_var_is_one_variable_with_mxnets_attributes():
    import json

    from keras_defer import gluon

    param = gluon.Parameter("w", shape=(2, 3))
    var = param.var()
    assert var is param.var()
    assert repr(var) == "<Symbol w>" and var.list_arguments() == ["w"]
    node, = json.loads(var.tojson())["nodes"]
    assert node == {"op": "null", "name": "w", "attrs": PARAMETER_VAR_JSON_ATTRS, "inputs": []}


def test_the_truth_value_of_a_symbol_is_mxnets_error():
    """MXNet 1.9.1: ``bool(mx.sym.var('a'))`` raises ``NotImplementedForSymbol`` (an
    MXNetError): 'Function __bool__ (namely operator "bool") is not implemented for
    Symbol and only available in NDArray.'"""
    from keras_defer import symbol as sym
    from keras_defer.errors import MXNetError, NotImplementedForSymbol

    with pytest.raises(NotImplementedForSymbol) as info:
        bool(sym.var("a"))
    assert isinstance(info.value, MXNetError)
    assert str(info.value) == ('Function __bool__ (namely operator "bool") is not '
                               'implemented for Symbol and only available in NDArray.')
