"""``gluon.model_zoo.vision`` against MXNet 1.9.1's model zoo.

Every net is MXNet's code on keras_defer's blocks, so its parameters must carry MXNet's
names (both the structural ones ``save_parameters`` writes and the prefixed ones of
``collect_params().save``) and, with the same weights, compute MXNet's outputs. The
weights are not stored: both sides fill them with ``model_zoo_cases.parameter_value``
(tests/mxnet_reference/record_model_zoo.py records MXNet's side).

Names (and the shapes known before the first pass) are compared for all 34 nets on
every backend. Outputs (inference; a training-mode
forward, whose BatchNorm statistics move; inference after it) are compared at full size
(224x224, 299 for Inception) for one net per family (``model_zoo_cases.REPRESENTATIVE``)
on every backend, and for all 34 with ``KERAS_DEFER_ZOO_FULL=1``. Where MXNet's side
environment is here (tests/mxnet_live.py), MXNet also writes ``save_parameters`` and
``collect_params().save`` files of three nets, which must load by name and give MXNet's
outputs.
"""

import gzip
import hashlib
import json
import os
import shutil
import zipfile

import keras
import numpy as np
import pytest

from keras_defer import autograd, nd, naming
from keras_defer.gluon.model_zoo import model_store, vision
from tests.mxnet_reference import model_zoo_cases as cases
from tests.mxnet_reference.local_http import local_server

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "mxnet_reference", "data")
with gzip.open(os.path.join(DATA, "model_zoo_structure.json.gz"), "rt") as _f:
    STRUCTURE = json.load(_f)
OUTPUTS = dict(np.load(os.path.join(DATA, "model_zoo_outputs.npz")))
API = STRUCTURE.pop("_api")

FULL = os.environ.get("KERAS_DEFER_ZOO_FULL") == "1"
JAX_DEFAULT = ("resnet18_v1", "alexnet", "squeezenet1.1", "mobilenet0.25")
"""On JAX an eager first pass compiles one XLA program per distinct operation (densenet121:
65 s), so by default it checks these four; KERAS_DEFER_ZOO_FULL=1 runs every net."""


def _parity_net(name):
    if FULL:
        return name
    if name not in cases.REPRESENTATIVE:
        return pytest.param(name, marks=pytest.mark.skip(
            reason="full model-zoo parity set: KERAS_DEFER_ZOO_FULL=1"))
    if keras.backend.backend() == "jax" and name not in JAX_DEFAULT:
        return pytest.param(name, marks=pytest.mark.skip(
            reason="JAX compiles every eager op of a first pass (minutes for this net): "
                   "KERAS_DEFER_ZOO_FULL=1"))
    return name


PARITY_NETS = [_parity_net(name) for name in cases.NETS]

TOLERANCE = 1e-4
"""Relative to the output's scale: max |ours - MXNet's| <= 1e-4 * max |MXNet's|."""


def build(name, **kwargs):
    """``vision.get_model(name)`` as the first net of a fresh process (MXNet's recording)."""
    naming.reset_counters()
    return vision.get_model(name, **kwargs)


SENSITIVITY_FACTOR = 10
"""After a training-mode forward, the tolerance is also at least this many times MXNet's
own sensitivity there (``<name>/training_sensitivity``: how far its training-mode
output moves for a 1e-6 relative change of the input). Deep ResNets normalizing with a
batch of two amplify float32 rounding: resnet152_v1's output moves by 3.6e-4 of its
scale for that 1e-6, so two float32 implementations cannot agree to 1e-4 there."""


def training_tolerance(name):
    sensitivity = float(OUTPUTS[name + "/training_sensitivity"][0])
    return max(TOLERANCE, SENSITIVITY_FACTOR * sensitivity)


def assert_close(ours, reference, what, tolerance=TOLERANCE):
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    assert ours.shape == reference.shape, what
    scale = np.abs(reference).max()
    error = np.abs(ours - reference).max()
    assert error <= tolerance * scale, "%s: max error %.3g, %.3g of the scale %.3g" % (
        what, error, error / scale, scale)


# -- the API ---------------------------------------------------------------------------
def test_vision_offers_mxnets_names():
    ours = sorted(n for n in dir(vision) if not n.startswith("_") and n.isidentifier())
    assert ours == API["vision_names"]  # (pytest's assertion rewriting adds '@py_...')


def test_reached_as_in_mxnet():
    import keras_defer as mx

    assert mx.gluon.model_zoo.vision is vision
    assert mx.gluon.model_zoo.model_store is model_store


def test_get_model_refuses_an_unknown_name_as_mxnet():
    with pytest.raises(ValueError) as info:
        vision.get_model("resnet19_v1")
    assert str(info.value) == API["unknown_model_error"]


def test_get_model_is_the_table_of_constructors():
    assert type(build("mobilenetv2_0.5")) is type(vision.mobilenet_v2_0_5())
    assert build("MobileNetV2_0.5").prefix == "mobilenetv20_"  # (lower-cased, as MXNet)
    naming.reset_counters()
    assert list(vision.mobilenet_v2_0_5()._collect_params_with_prefix()) == \
        [key for key, _, _ in STRUCTURE["mobilenetv2_0.5"]["params"]]


def test_get_model_takes_mxnets_keyword_arguments():
    net = build("resnet18_v1", classes=10)
    net.initialize()
    assert net(nd.ones((1, 3, 64, 64))).shape == (1, 10)


def test_output_attribute_is_the_gluon_child():
    """``self.output = nn.Dense(classes)`` in MXNet's code is a child named ``output``,
    read back as such (a Keras layer's ``output`` is a property Keras owns)."""
    net = build("squeezenet1.1")
    assert net.output is net._children["output"]
    assert net.features is net._children["features"]


# -- names and shapes --------------------------------------------------------------------
@pytest.mark.parametrize("name", cases.NETS)
def test_parameter_names_are_mxnets(name):
    """Built by its constructor (``vision.resnet18_v1()``; get_model is a table of them)."""
    naming.reset_counters()
    net = getattr(vision, cases.CONSTRUCTORS.get(name, name))()
    expected = STRUCTURE[name]
    assert net.prefix == expected["prefix"]
    structural = net._collect_params_with_prefix()
    assert [(key, param.name) for key, param in structural.items()] == \
        [(key, prefixed) for key, prefixed, _ in expected["params"]]
    assert list(net.collect_params().keys()) == expected["collect_params_order"]
    # before the first pass a shape holds 0 where its input decides it; every dim known
    # already is MXNet's (the parity tests compare whole shapes after it)
    for (key, param), (_, _, shape) in zip(structural.items(), expected["params"]):
        assert len(param.shape) == len(shape) and all(
            ours in (0, theirs) for ours, theirs in zip(param.shape, shape)), (key, param.shape, shape)


# -- outputs -------------------------------------------------------------------------------
def _set_weights(net, name):
    structure = STRUCTURE[name]["params"]
    for index, ((key, param), (_, _, shape)) in enumerate(
            zip(net._collect_params_with_prefix().items(), structure)):
        assert list(param.shape) == shape, "%s: shape %s, MXNet's %s" % (key, param.shape, shape)
        param.set_data(nd.array(cases.parameter_value(index, key, tuple(shape))))


def _running_digest(net):
    return np.array([cases.stats_digest(param.data().asnumpy())
                     for key, param in net._collect_params_with_prefix().items()
                     if key.endswith(("running_mean", "running_var"))]).reshape(-1, 2)


@pytest.mark.parametrize("name", PARITY_NETS)
def test_outputs_match_mxnet(name):
    net = build(name)
    x = nd.array(cases.make_input(name))
    net.initialize()
    net(x)  # infers the shapes
    _set_weights(net, name)
    out = net(x)
    assert list(out.shape) == STRUCTURE[name]["output_shape"]
    assert_close(cases.digest(out.asnumpy()), OUTPUTS[name + "/inference"], name + " inference")
    _check_training_mode(net, x, name)


def _check_training_mode(net, x, name, how=""):
    """One training-mode forward: its output, the running statistics it moved, the
    inference output after it."""
    tolerance = training_tolerance(name)
    with autograd.train_mode():
        training = net(x)
    if name not in cases.DROPOUT_NETS:
        assert_close(cases.digest(training.asnumpy()), OUTPUTS[name + "/training"],
                     name + how + " training-mode forward", tolerance)
    reference = OUTPUTS[name + "/running"]
    if reference.size == 0:  # no BatchNorm
        assert _running_digest(net).size == 0
    else:  # (mean, rms) of each running statistic
        np.testing.assert_allclose(_running_digest(net), reference.reshape(-1, 2),
                                   rtol=tolerance, atol=1e-6,
                                   err_msg=name + how + " running statistics")
    assert_close(cases.digest(net(x).asnumpy()), OUTPUTS[name + "/after_training"],
                 name + how + " inference after the training-mode forward", tolerance)


@pytest.mark.parametrize("name", ["resnet18_v1", "mobilenet0.25"])
def test_hybridized_outputs_match_mxnet(name):
    net = build(name)
    x = nd.array(cases.make_input(name))
    net.initialize()
    net(x)
    _set_weights(net, name)
    net.hybridize()
    assert_close(cases.digest(net(x).asnumpy()), OUTPUTS[name + "/inference"],
                 name + " hybridized inference")
    _check_training_mode(net, x, name, " hybridized")


# -- pretrained=True ---------------------------------------------------------------------
def _sha1(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


@pytest.fixture
def tiny_store(tmp_path, monkeypatch):
    """A model file for 'squeezenet1.1' (weights of our own) and its sha1 in the table:
    MXNet's published files are not here, and nothing can be downloaded."""
    naming.reset_counters()
    net = vision.squeezenet1_1()
    x = nd.array(cases.make_input("squeezenet1.1")[:1])
    net.initialize()
    reference = net(x).asnumpy()
    source = tmp_path / "made.params"
    net.save_parameters(str(source))
    sha1 = _sha1(source)
    monkeypatch.setitem(model_store._model_sha1, "squeezenet1.1", sha1)
    file_name = "squeezenet1.1-%s.params" % sha1[:8]
    return {"source": source, "sha1": sha1, "file_name": file_name, "x": x,
            "reference": reference, "root": tmp_path / "models"}


def test_pretrained_loads_the_checked_local_file(tiny_store):
    root = tiny_store["root"]
    root.mkdir()
    shutil.copy(tiny_store["source"], root / tiny_store["file_name"])
    net = vision.squeezenet1_1(pretrained=True, root=str(root))
    np.testing.assert_allclose(net(tiny_store["x"]).asnumpy(), tiny_store["reference"],
                               rtol=1e-6, atol=1e-6)
    assert vision.get_model("squeezenet1.1", pretrained=True, root=str(root)) is not None


def test_get_model_file_names_mxnets_file_and_its_place(monkeypatch, tmp_path):
    empty = tmp_path / "repo"
    empty.mkdir()
    with local_server(str(empty)) as url:
        monkeypatch.setenv("MXNET_GLUON_REPO", url)
        with pytest.raises(model_store.ModelFileMissing) as info:
            vision.resnet18_v1(pretrained=True, root=str(tmp_path / "models"))
    message = str(info.value)
    assert "resnet18_v1-a0666292.params" in message
    assert str(tmp_path / "models") in message
    assert url + "/gluon/models/resnet18_v1-a0666292.zip" in message
    assert "a0666292f0a30ff61f857b0b66efc0228eb6a54b" in message
    assert sorted(os.listdir(tmp_path / "models")) == []  # no partial file left


def test_a_local_file_with_another_sha1_is_not_used(tiny_store, monkeypatch, tmp_path):
    root = tiny_store["root"]
    root.mkdir()
    (root / tiny_store["file_name"]).write_bytes(b"not the model")
    with local_server(str(tmp_path)) as url:
        monkeypatch.setenv("MXNET_GLUON_REPO", url)
        with pytest.raises(model_store.ModelFileMissing, match="another sha1"):
            vision.squeezenet1_1(pretrained=True, root=str(root))


def test_mxnets_download_path_runs(tiny_store, monkeypatch, tmp_path):
    """MXNet's code path, served locally: the zip is fetched, unpacked, checked."""
    repo = tmp_path / "repo" / "gluon" / "models"
    repo.mkdir(parents=True)
    stem = tiny_store["file_name"][:-len(".params")]
    with zipfile.ZipFile(repo / (stem + ".zip"), "w") as zf:
        zf.write(tiny_store["source"], tiny_store["file_name"])
    with local_server(str(tmp_path / "repo")) as url:
        monkeypatch.setenv("MXNET_GLUON_REPO", url)
        path = model_store.get_model_file("squeezenet1.1", root=str(tiny_store["root"]))
    assert path == os.path.join(str(tiny_store["root"]), tiny_store["file_name"])
    assert _sha1(path) == tiny_store["sha1"]
    assert sorted(os.listdir(tiny_store["root"])) == [tiny_store["file_name"]]


def test_purge_removes_the_params_files(tmp_path):
    (tmp_path / "a.params").write_bytes(b"x")
    (tmp_path / "keep.txt").write_bytes(b"x")
    model_store.purge(root=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["keep.txt"]


# -- prefix='' (MXNet's naming rule the zoo relies on) --------------------------------------
def test_an_empty_prefix_opens_no_name_scope():
    """MXNet: the children of a block made with ``prefix=''`` are named and counted in
    the enclosing scope (at top level: the global counters)."""
    from keras_defer.gluon import nn

    naming.reset_counters()
    seq = nn.HybridSequential(prefix="")
    with seq.name_scope():
        seq.add(nn.Dense(3), nn.Dense(4))
    after = nn.Dense(2)
    assert seq.prefix == ""
    assert list(seq.collect_params().keys()) == ["dense0_weight", "dense0_bias",
                                                 "dense1_weight", "dense1_bias"]
    assert after.prefix == "dense2_"


# -- files MXNet writes, loaded by name ----------------------------------------------------
LIVE_NETS = ["resnet18_v1", "mobilenet0.25", "squeezenet1.1"]

LIVE_SCRIPT = """
import sys
import numpy as np
import mxnet as mx
from mxnet import autograd
from mxnet.gluon.model_zoo import vision
sys.path.insert(0, %(cases_dir)r)
import model_zoo_cases as cases

for name in %(names)r:
    mx.random.seed(0)
    net = vision.get_model(name)
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(cases.make_input(name)[:1])
    with autograd.record():  # moves the running statistics (in the backward pass)
        y = net(x)
    y.backward()
    np.save(name + '-out.npy', net(x).asnumpy())
    net.save_parameters(name + '-structural.params')
    net.collect_params().save(name + '-prefixed.params')
    print(name, net.prefix)
"""


@pytest.fixture(scope="module")
def mxnet_files(tmp_path_factory):
    from tests.mxnet_live import run_mxnet

    where = tmp_path_factory.mktemp("zoo_live")
    printed = run_mxnet(LIVE_SCRIPT % {"cases_dir": os.path.join(HERE, "mxnet_reference"),
                                       "names": LIVE_NETS}, where, timeout=600)
    prefixes = dict(line.split() for line in printed.strip().splitlines())
    return where, prefixes


@pytest.mark.parametrize("name", LIVE_NETS)
@pytest.mark.parametrize("how", ["save_parameters", "collect_params.save"])
def test_files_saved_by_mxnet_load_by_name(mxnet_files, name, how):
    from tests.mxnet_live import mxnet_python

    if mxnet_python() is None:
        pytest.skip("MXNet 1.9.1's side environment is not here")
    where, prefixes = mxnet_files
    net = build(name)
    assert net.prefix == prefixes[name]
    if how == "save_parameters":  # structural names: features.0.weight
        net.load_parameters(str(where / (name + "-structural.params")))
    else:  # prefixed names: resnetv10_conv0_weight (MXNet's load_parameters refuses them)
        net.collect_params().load(str(where / (name + "-prefixed.params")))
    x = nd.array(cases.make_input(name)[:1])
    assert_close(net(x).asnumpy(), np.load(where / (name + "-out.npy")), name + " " + how)


def test_resnet_v2_input_batchnorm_moves_unlike_mxnet():
    """docs/divergences.md Z1: MXNet keeps the running statistics of a BatchNorm without
    gamma/beta whose input needs no gradient (its backward never runs); ours move in the
    training-mode forward, as MXNet's do once the input needs a gradient."""
    from keras_defer.gluon import nn

    assert API["bare_batchnorm_running_mean_after_backward"] == [0.0, 0.0]
    net = nn.HybridSequential()
    net.add(nn.BatchNorm(scale=False, center=False), nn.Conv2D(1, 1))
    net.initialize()
    with autograd.train_mode():
        net(nd.arange(8).reshape((1, 2, 2, 2)))
    # momentum 0.9: 0.1 * the batch means (1.5 and 5.5)
    np.testing.assert_allclose(net[0].running_mean.data().asnumpy(), [0.15, 0.55], rtol=1e-6)


# -- depthwise convolutions (MobileNet's), computed by one depthwise op --------------------
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("multiplier, strides, padding, dilation", [
    (1, 1, 1, 1), (1, 2, 1, 1), (2, 1, 0, 2), (2, 2, 2, 2), (3, (2, 1), (1, 0), 1)])
def test_depthwise_convolution_equals_one_convolution_per_channel(
        layout, multiplier, strides, padding, dilation):
    """``groups == in_channels`` runs as one depthwise convolution: the same as a
    convolution of each input channel alone (the grouped split it replaces)."""
    from keras_defer.gluon import nn

    channels_in = 3
    rng = np.random.RandomState(0)
    conv = nn.Conv2D(channels_in * multiplier, 3, strides=strides, padding=padding,
                     dilation=dilation, groups=channels_in, layout=layout,
                     in_channels=channels_in)
    conv.initialize()
    axis = layout.find("C")
    shape = [2, 9, 8]
    shape.insert(axis, channels_in)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    weight = conv.weight.data().asnumpy()
    got = conv(nd.array(x)).asnumpy()
    for c in range(channels_in):
        single = nn.Conv2D(multiplier, 3, strides=strides, padding=padding,
                           dilation=dilation, layout=layout, in_channels=1)
        single.initialize()
        single.weight.set_data(nd.array(weight[c * multiplier:(c + 1) * multiplier]))
        single.bias.set_data(conv.bias.data()[c * multiplier:(c + 1) * multiplier])
        part = single(nd.array(np.take(x, [c], axis=axis))).asnumpy()
        np.testing.assert_allclose(
            np.take(got, range(c * multiplier, (c + 1) * multiplier), axis=axis), part,
            rtol=1e-5, atol=1e-5)


with gzip.open(os.path.join(DATA, "symbol_model_zoo.json.gz"), "rt") as _f:
    EXPORTED = {name: entry["json"] for name, entry in json.load(_f).items()}
"""MXNet 1.9.1's own ``export`` of these nets (``record_symbol_model_zoo.py``)."""


@pytest.mark.parametrize("name", [n for n in PARITY_NETS
                                  if (n.values[0] if hasattr(n, "values") else n) in EXPORTED])
def test_mxnets_export_of_the_net_imports_and_matches_mxnet(name):
    """The other form a trained model comes in: MXNet's exported graph, run by
    ``SymbolBlock`` with the same weights (by MXNet's parameter names), gives MXNet's
    outputs in inference, its running statistics after a training-mode forward, and its
    inference after that."""
    from keras_defer import gluon

    net = gluon.SymbolBlock(EXPORTED[name], ["data"])
    structure = STRUCTURE[name]["params"]
    params = net.collect_params()
    assert sorted(params.keys()) == sorted(full for _, full, _ in structure)
    net.initialize()  # deferred: the values below are taken at the first forward
    for index, (key, full, shape) in enumerate(structure):
        params[full].set_data(nd.array(cases.parameter_value(index, key, tuple(shape))))
    x = nd.array(cases.make_input(name))
    out = net(x)
    assert list(out.shape) == STRUCTURE[name]["output_shape"]
    assert_close(cases.digest(out.asnumpy()), OUTPUTS[name + "/inference"],
                 name + " imported inference")
    tolerance = training_tolerance(name)
    with autograd.train_mode():
        training = net(x)
    if name not in cases.DROPOUT_NETS:
        assert_close(cases.digest(training.asnumpy()), OUTPUTS[name + "/training"],
                     name + " imported training-mode forward", tolerance)
    reference = OUTPUTS[name + "/running"].reshape(-1, 2)
    running = np.array([cases.stats_digest(params[full].data().asnumpy())
                        for key, full, _ in structure
                        if key.endswith(("running_mean", "running_var"))]).reshape(-1, 2)
    np.testing.assert_allclose(running, reference, rtol=tolerance, atol=1e-6,
                               err_msg=name + " imported running statistics")
    assert_close(cases.digest(net(x).asnumpy()), OUTPUTS[name + "/after_training"],
                 name + " imported inference after the training-mode forward", tolerance)
