"""``gluon.SymbolBlock`` and the symbol interpreter against MXNet 1.9.1.

Every case of ``mxnet_reference/record_symbol_block.py`` is an MXNet graph (one
operator with given attributes, or a small exported Gluon net) with MXNet's outputs
for fixed parameters and inputs, in inference and in a training forward (BatchNorm's
batch statistics, and its moving statistics afterwards). keras_defer imports the
same JSON text and must agree within 1e-5.
"""

import json
import os

import keras
import numpy as np
import pytest

from keras_defer import autograd, gluon, init, nd
from keras_defer.errors import MXNetError
from keras_defer.gluon.symbol_block import SymbolBlock

DATA = os.path.join(os.path.dirname(__file__), "mxnet_reference", "data")
with open(os.path.join(DATA, "symbol_block.json")) as _handle:
    CASES = json.load(_handle)
ARRAYS = np.load(os.path.join(DATA, "symbol_block.npz"))
RECORDING = keras.backend.backend() != "jax"
needs_recording = pytest.mark.skipif(
    not RECORDING, reason="autograd.record() refuses on JAX (keras_defer's JAX backend "
                          "does not record); training there goes through fit")

TOL = {"rtol": 1e-5, "atol": 1e-5}
# a few graphs chain many float32 ops (nets, recurrences): the same bound, relative
# to the output's scale
NET_TOL = {"rtol": 1e-4, "atol": 2e-5}


def _array(key):
    return ARRAYS[key]


def _inputs(name):
    case = CASES[name]
    return [_array("%s/input/%d" % (name, i)) for i in range(len(case["inputs"]))]


def _block(name):
    """The case's graph as a SymbolBlock with MXNet's parameter values."""
    case = CASES[name]
    net = SymbolBlock(case["json"], case["inputs"])
    for pname, param in net.collect_params().items():
        value = _array("%s/param/%s" % (name, pname))
        param.shape = value.shape
        param.initialize()
        param.set_data(nd.array(value))
    return net


def _outputs(out):
    if isinstance(out, (list, tuple)):
        return [o.asnumpy() for o in out]
    return [out.asnumpy()]


def _tol(name):
    return NET_TOL if name.startswith("net_") else TOL


INFERENCE = sorted(CASES)
TRAINING = sorted(n for n, c in CASES.items() if c["train"])


@pytest.mark.parametrize("name", INFERENCE)
def test_inference_matches_mxnet(name):
    net = _block(name)
    outs = _outputs(net(*[nd.array(x) for x in _inputs(name)]))
    assert len(outs) == CASES[name]["num_outputs"]
    for i, out in enumerate(outs):
        expected = _array("%s/infer/%d" % (name, i))
        assert out.shape == expected.shape, (name, i)
        np.testing.assert_allclose(out, expected, err_msg="%s output %d" % (name, i),
                                   **_tol(name))


@needs_recording
@pytest.mark.parametrize("name", TRAINING)
def test_training_forward_uses_batch_statistics_and_moves_the_moving_ones(name):
    net = _block(name)
    with autograd.record():
        outs = _outputs(net(*[nd.array(x) for x in _inputs(name)]))
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, _array("%s/train/%d" % (name, i)),
                                   err_msg="%s output %d" % (name, i), **_tol(name))
    # the moving statistics, and gamma (MXNet writes 1 into it under fix_gamma)
    after = [k.split("/")[-1] for k in ARRAYS.files if k.startswith(name + "/aux_after/")]
    assert set(CASES[name]["aux"]) <= set(after)
    for pname in after:
        np.testing.assert_allclose(net.collect_params()[pname].data().asnumpy(),
                                   _array("%s/aux_after/%s" % (name, pname)),
                                   err_msg="%s %s" % (name, pname), **TOL)


def test_parameters_are_named_as_mxnet_names_them():
    net = _block("net_residual")
    case = CASES["net_residual"]
    params = net.collect_params()
    assert list(params.keys()) == [a for a in case["arguments"] if a != "data"] + case["aux"]
    for aux in case["aux"]:
        assert params[aux].grad_req == "null"
    assert all(params[a].grad_req == "write" for a in case["arguments"] if a != "data")
    assert net.prefix == "" and params.prefix == ""
    # MXNet strips the parameters' common prefix for the attribute names
    keys = list(params)
    cut = len(os.path.commonprefix(keys))
    assert sorted(net._reg_params) == sorted(k[cut:] for k in keys)
    bn = _block("batchnorm")  # bn_gamma, bn_beta, bn_moving_mean, bn_moving_var
    assert list(bn._reg_params) == ["gamma", "beta", "moving_mean", "moving_var"]


def test_repr_is_mxnets():
    net = _block("batchnorm")
    assert repr(net) == "SymbolBlock(\n<Symbol bn> : 1 -> 1\n)"


def test_deferred_shapes_are_inferred_at_the_first_forward():
    case = CASES["net_lenet_bn"]
    net = SymbolBlock(case["json"], case["inputs"])
    assert all(p.shape is None for p in net.collect_params().values())
    net.initialize(init.Xavier())
    x = _inputs("net_lenet_bn")[0]
    out = net(nd.array(x))
    assert out.shape == (4, 10)
    for pname, param in net.collect_params().items():
        assert param.shape == tuple(case["param_shapes"][pname]), pname
    params = net.collect_params()
    # MXNet's initializer picks zeros/ones by name for biases, gammas and moving stats
    bn = [n for n in params if n.endswith("gamma")][0]
    np.testing.assert_array_equal(params[bn].data().asnumpy(), 1.0)
    var = [n for n in params if n.endswith("running_var")][0]
    np.testing.assert_array_equal(params[var].data().asnumpy(), 1.0)


def test_unknown_operator_is_refused_at_import_naming_it():
    graph = json.loads(CASES["relu"]["json"]) if "relu" in CASES else json.loads(
        CASES["activation_relu"]["json"])
    graph["nodes"][-1]["op"] = "_contrib_DeformableConvolution"
    with pytest.raises(MXNetError, match="_contrib_DeformableConvolution.*not supported.*"
                                         "Supported operators: .*Convolution"):
        SymbolBlock(json.dumps(graph), ["data"])


def test_bad_attribute_is_refused_at_import_naming_the_node():
    graph = json.loads(CASES["conv2d_same"]["json"])
    for node in graph["nodes"]:
        if node["op"] == "Convolution":
            node["attrs"]["num_filter"] = "many"
    with pytest.raises(MXNetError, match="Node 'c'.*num_filter"):
        SymbolBlock(json.dumps(graph), ["data"])


def test_input_names_not_in_the_graph_are_refused():
    with pytest.raises(MXNetError, match="'foo' is not a variable of the graph.*data"):
        SymbolBlock(CASES["net_lenet"]["json"], ["foo"])


def test_wrong_number_of_inputs_is_refused():
    net = _block("activation_relu")
    with pytest.raises(ValueError, match="reads 1 input.*got 2"):
        net(nd.ones((2, 4, 7, 6)), nd.ones((2, 4, 7, 6)))


def test_imports_reads_the_exported_pair(tmp_path):
    """``imports`` with a parameter file in keras_defer's own format (the names are the
    graph's, as MXNet's export writes them after stripping ``arg:``/``aux:``)."""
    ref = _block("net_lenet")
    path = str(tmp_path / "lenet.params")
    ref.collect_params().save(path)
    sym_file = os.path.join(DATA, "symbol_block_lenet-symbol.json")
    net = gluon.SymbolBlock.imports(sym_file, ["data"], path)
    x = _inputs("net_lenet")[0]
    np.testing.assert_allclose(net(nd.array(x)).asnumpy(), _array("net_lenet/infer/0"),
                               **NET_TOL)


def test_imports_reads_the_files_mxnet_wrote():
    """The ``-symbol.json`` and ``-0000.params`` exactly as MXNet 1.9.1's ``export``
    wrote them (the binary NDArray-list format, ``arg:`` names)."""
    sym_file = os.path.join(DATA, "symbol_block_lenet-symbol.json")
    params = os.path.join(DATA, "symbol_block_lenet-0000.params")
    net = gluon.SymbolBlock.imports(sym_file, ["data"], params)
    assert isinstance(net, keras.layers.Layer)
    out = net(nd.array(_inputs("net_lenet")[0])).asnumpy()
    np.testing.assert_allclose(out, _array("net_lenet/file_infer/0"), **NET_TOL)


def test_hybridize_gives_the_same_numbers():
    name = "net_residual"
    net = _block(name)
    net.hybridize()
    x = nd.array(_inputs(name)[0])
    for _ in range(2):
        np.testing.assert_allclose(net(x).asnumpy(), _array("%s/infer/0" % name), **NET_TOL)


def test_dropout_trains_with_a_random_mask():
    net = _block("dropout_inference")
    x = _inputs("dropout_inference")[0]
    np.testing.assert_array_equal(net(nd.array(x)).asnumpy(), x)
    if not RECORDING:
        return
    with autograd.record():
        y = net(nd.array(x)).asnumpy()
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(y[kept], 2 * x[kept], rtol=1e-6)


@needs_recording
def test_trains_with_autograd_and_trainer():
    name = "net_lenet_bn"
    net = _block(name)
    x = nd.array(_inputs(name)[0])
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    label = nd.array([1, 2, 3, 4])
    losses = []
    for _ in range(3):
        with autograd.record():
            loss = loss_fn(net(x), label)
        loss.backward()
        trainer.step(4)
        losses.append(float(loss.mean().asscalar()))
    assert losses[-1] < losses[0]
    weight = [n for n in net.collect_params() if n.endswith("weight")][0]
    assert net.collect_params()[weight].grad().asnumpy().any()


def test_fits_and_round_trips_as_dot_keras(tmp_path):
    name = "net_lenet_bn"
    net = _block(name)
    x = _inputs(name)[0]
    model = keras.Sequential([keras.Input(x.shape[1:]), net])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.predict(x, verbose=0)
    np.testing.assert_allclose(before, _array("%s/infer/0" % name), **NET_TOL)
    history = model.fit(x, np.array([1, 2, 3, 4]), epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    after = model.predict(x, verbose=0)
    assert not np.allclose(after, before)
    path = str(tmp_path / "symbol.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), after, rtol=1e-5, atol=1e-6)
    block = loaded.layers[0]
    assert isinstance(block, SymbolBlock)
    assert list(block.collect_params().keys()) == list(net.collect_params().keys())


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="a TF SavedModel needs the TensorFlow backend")
def test_mxnet_files_to_tf_saved_model_in_three_lines(tmp_path):
    """README's "Coming from MXNet": MXNet's own exported files (recorded by MXNet
    1.9.1) -> a SymbolBlock -> a Keras model -> a TF SavedModel that TF serves."""
    import tensorflow as tf

    net = gluon.SymbolBlock.imports(os.path.join(DATA, "symbol_block_lenet-symbol.json"),
                                    ["data"],
                                    os.path.join(DATA, "symbol_block_lenet-0000.params"))
    x = np.random.RandomState(0).rand(2, 1, 28, 28).astype("float32")
    expected = net(nd.array(x)).asnumpy()
    model = keras.Sequential([keras.Input(x.shape[1:]), net])
    model.export(str(tmp_path / "saved"), format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))  # holds the variables
    served = reloaded.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)


def test_symbols_as_outputs_and_inputs_with_shared_parameters():
    """MXNet's feature-extractor recipe: a SymbolBlock over an internal output of a
    graph, holding the first block's parameters (``params=``)."""
    from keras_defer import sym

    data = sym.var("data")
    conv = sym.Convolution(data, kernel=(3, 3), num_filter=4, name="c")
    out = sym.Activation(sym.BatchNorm(conv, name="bn"), act_type="relu", name="r")
    net = gluon.SymbolBlock(out, data)
    net.initialize()
    x = nd.array(np.random.RandomState(1).rand(2, 3, 5, 5))
    full = net(x)
    assert full.shape == (2, 4, 3, 3)
    feature = gluon.SymbolBlock(out.get_internals()["c_output"], data,
                                params=net.collect_params())
    assert list(feature.collect_params()) == ["c_weight", "c_bias"]
    assert feature.collect_params()["c_weight"] is net.collect_params()["c_weight"]
    both = gluon.SymbolBlock([out, conv], [data], params=net.collect_params())
    first, second = both(x)
    # ``net`` folds its BatchNorm into the convolution, ``both`` cannot (the
    # convolution's output is wanted too): the same numbers up to float32 rounding
    np.testing.assert_allclose(first.asnumpy(), full.asnumpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(second.asnumpy(), feature(x).asnumpy(), rtol=1e-6)
    assert repr(both) == "SymbolBlock(\n<Symbol group [r, c]> : 1 -> 2\n)"


def test_cast_to_float16_keeps_batchnorm_parameters_float32():
    net = _block("net_lenet_bn")
    net.cast("float16")
    params = net.collect_params()
    for name, param in params.items():
        bn = "batchnorm" in name
        assert np.dtype(param.dtype) == np.dtype("float32" if bn else "float16"), name


_ZOO_SCRIPT = r'''
import numpy as np, mxnet as mx
from mxnet import autograd, nd
from mxnet.gluon.model_zoo import vision
for name, size in %(names)r:
    mx.random.seed(0)
    net = vision.get_model(name)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = nd.array(np.random.RandomState(0).rand(2, 3, size, size))
    net(x)  # shapes
    # moving statistics away from 0/1, so inference reads them
    for pname, p in net.collect_params().items():
        if pname.endswith("running_mean") or pname.endswith("running_var"):
            p.set_data(nd.array(np.random.RandomState(1).uniform(0.5, 1.5, p.shape)))
    infer = net(x).asnumpy()
    net.export(name)
    with autograd.record():
        train = net(x)
    train.backward()
    stats = {p: v.data().asnumpy() for p, v in net.collect_params().items()
             if p.endswith("running_mean") or p.endswith("running_var")}
    np.savez(name + "-expected.npz", x=x.asnumpy(), infer=infer, train=train.asnumpy(),
             **{"stat/" + k: v for k, v in stats.items()})
'''


_ZOO_NETS = {"squeezenet1.1": 224, "mobilenetv2_0.25": 64}  # net: input size


@pytest.fixture(scope="module")
def zoo_exports(tmp_path_factory):
    """One MXNet run exports every net of ``_ZOO_NETS`` (too big to record)."""
    from tests.mxnet_live import mxnet_python, run_mxnet

    if mxnet_python() is None:
        pytest.skip("MXNet 1.9.1's side environment is not here")
    folder = tmp_path_factory.mktemp("zoo")
    run_mxnet(_ZOO_SCRIPT % {"names": sorted(_ZOO_NETS.items())}, folder, timeout=600)
    return folder


@pytest.mark.parametrize("name", sorted(_ZOO_NETS))
def test_model_zoo_export_from_mxnet_imports_and_matches(name, zoo_exports):
    """MXNet 1.9.1 itself exports a model-zoo net (its binary ``.params``); the import
    computes MXNet's outputs in inference and in a training forward, and moves the
    moving statistics as MXNet's training step does. Runs MXNet when it is here."""
    tmp_path = zoo_exports
    expected = np.load(str(tmp_path / (name + "-expected.npz")))
    net = gluon.SymbolBlock.imports(str(tmp_path / (name + "-symbol.json")), ["data"],
                                    str(tmp_path / (name + "-0000.params")))
    x = nd.array(expected["x"])

    def close(actual, wanted):  # within 1e-4 of the output's scale
        np.testing.assert_allclose(actual, wanted, rtol=1e-4,
                                   atol=1e-4 * float(np.abs(wanted).max()))

    close(net(x).asnumpy(), expected["infer"])
    if not RECORDING or "Dropout" in net._json_text:  # SqueezeNet: a random mask
        return
    with autograd.record():
        out = net(x)
    close(out.asnumpy(), expected["train"])
    params = net.collect_params()
    for key in expected.files:
        if key.startswith("stat/"):
            np.testing.assert_allclose(params[key[5:]].data().asnumpy(), expected[key],
                                       rtol=1e-4, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("layout, shape", [("NWC", (2, 5, 3)), ("NHWC", (2, 4, 4, 3))])
def test_channels_last_pooling_exports_and_imports(tmp_path, layout, shape):
    # found by the conformance kit (FF-09): MXNet 1.9.1 imports and runs Pooling with a
    # channels-last layout (checked: the same outputs as the exported net)
    from keras_defer.gluon import nn
    pool = nn.MaxPool1D if layout == "NWC" else nn.AvgPool2D
    net = nn.HybridSequential()
    net.add(pool(pool_size=2, layout=layout), nn.GlobalMaxPool1D(layout="NWC")
            if layout == "NWC" else nn.GlobalAvgPool2D(layout="NHWC"), nn.Dense(2))
    net.initialize()
    net.hybridize()
    x = nd.array(np.random.RandomState(0).standard_normal(shape).astype("float32"))
    y = net(x)
    net.export(str(tmp_path / "net"), 0)
    imported = SymbolBlock.imports(str(tmp_path / "net-symbol.json"), ["data"],
                                   str(tmp_path / "net-0000.params"))
    np.testing.assert_allclose(imported(x).asnumpy(), y.asnumpy(), **TOL)
