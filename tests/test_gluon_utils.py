"""``gluon.utils`` against MXNet 1.9.1 (recorded by record_metric_utils_layers.py):
``split_data``, ``split_and_load``, ``clip_global_norm`` (also on parameters'
gradients), ``shape_is_known``, ``check_sha1`` and ``download`` (against a local HTTP
server on 127.0.0.1, and a refused connection: nothing leaves the machine)."""

import contextlib
import io
import json
import os
import warnings

import numpy as np
import pytest

import keras_defer as mx
from keras_defer import autograd, backend, nd
from keras_defer.gluon import nn, utils
from tests.mxnet_reference import utils_cases
from tests.mxnet_reference.local_http import local_server

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "mxnet_reference", "data", "metric_utils.json")) as _handle:
    RECORDED = json.load(_handle)["utils"]


def _arrays(slices):
    return [{"shape": list(s.shape), "values": s.asnumpy().tolist()} for s in slices]


@pytest.mark.parametrize("key", sorted(utils_cases.SPLITS))
def test_split_data_matches_mxnet(key):
    data, num_slice, axis, even = utils_cases.SPLITS[key]
    expected = RECORDED["split_data"][key]
    if isinstance(expected, dict):
        with pytest.raises(ValueError) as info:
            utils.split_data(nd.array(data), num_slice, axis, even)
        assert str(info.value) == expected["error"][1]
        return
    assert _arrays(utils.split_data(nd.array(data), num_slice, axis, even)) == expected


def test_split_data_views_along_axis_0_copies_along_others():
    x = nd.array(np.arange(21, dtype="float32").reshape(7, 3))
    utils.split_data(x, 2, even_split=False)[1][:] = -1
    assert x.asnumpy().tolist() == RECORDED["split_data"]["axis0_slices_are_views"]
    x = nd.array(np.arange(24, dtype="float32").reshape(4, 6))
    utils.split_data(x, 2, batch_axis=1)[0][:] = -1
    assert x.asnumpy().tolist() == RECORDED["split_data"]["axis1_slices_are_copies"]


def test_split_and_load_matches_mxnet():
    rec = RECORDED["split_and_load"]
    x = nd.array(np.arange(12, dtype="float32").reshape(6, 2))
    one = utils.split_and_load(x, [mx.cpu(0)])
    assert [len(one), one[0] is x] == rec["one_context_is_the_array"]
    # cpu(1) is a second context in MXNet; here every CPU context is the host device
    assert _arrays(utils.split_and_load(x, [mx.cpu(0), mx.cpu(1)])) == rec["two_contexts"]
    three = utils.split_and_load(np.arange(10, dtype="float64").reshape(5, 2),
                                 [mx.cpu(0)] * 3, even_split=False)
    assert _arrays(three) == rec["numpy_input"]
    assert [str(np.dtype(s.dtype)) for s in three] == rec["numpy_input_dtype"]
    assert _arrays(utils.split_and_load([[1, 2], [3, 4]], [mx.cpu(), mx.cpu()])) == \
        rec["list_input"]
    with pytest.raises(ValueError) as info:
        utils.split_and_load(x, [mx.cpu()] * 4)
    assert str(info.value) == rec["uneven_refused"][1]


@pytest.mark.parametrize("key,max_norm", [("clipped", 1.0), ("not_clipped", 100.0)])
def test_clip_global_norm_matches_mxnet(key, max_norm):
    rec = RECORDED["clip_global_norm"][key]
    arrays = [nd.array(np.arange(6, dtype="float32").reshape(2, 3) - 2),
              nd.array([0.5, -1.5, 2.5, 3.0])]
    norm = utils.clip_global_norm(arrays, max_norm)
    assert type(norm).__name__ == rec["type"]  # numpy float32, as asscalar() gives
    assert float(norm) == pytest.approx(rec["norm"], rel=1e-6)
    for ours, theirs in zip(arrays, rec["arrays"]):
        np.testing.assert_allclose(ours.asnumpy(), theirs, rtol=1e-6)


def test_clip_global_norm_without_the_check_returns_an_ndarray():
    rec = RECORDED["clip_global_norm"]["no_check"]
    arrays = [nd.array([[3.0, 4.0]])]
    norm = utils.clip_global_norm(arrays, 2.0, check_isfinite=False)
    assert type(norm).__name__ == rec["type"] and list(norm.shape) == rec["shape"]
    np.testing.assert_allclose(norm.asnumpy(), rec["norm"])
    np.testing.assert_allclose(arrays[0].asnumpy(), rec["arrays"][0], rtol=1e-6)


def test_clip_global_norm_warns_on_infinite_norms():
    rec = RECORDED["clip_global_norm"]["infinite"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        norm = utils.clip_global_norm([nd.array([1.0, float("inf")]), nd.array([2.0])], 1.0)
    assert repr(float(norm)) == rec["norm"]
    assert [[w.category.__name__, str(w.message)] for w in caught] == rec["warnings"]
    with pytest.raises(AssertionError):
        utils.clip_global_norm([], 1.0)


@pytest.mark.skipif(backend.NAME == "jax", reason="autograd.record() refuses on jax")
def test_clip_global_norm_scales_parameter_gradients_in_place(fresh_names):
    net = nn.Dense(2, in_units=3)
    net.initialize(mx.init.One())
    x = nd.array(np.full((4, 3), 10.0, "float32"))
    with autograd.record():
        loss = net(x).sum()
    loss.backward()
    grads = [p.grad() for p in net.collect_params().values()]
    before = [g.asnumpy().copy() for g in grads]
    norm = utils.clip_global_norm(grads, 1.0)
    expected_norm = np.sqrt(sum((b ** 2).sum() for b in before))
    assert float(norm) == pytest.approx(expected_norm, rel=1e-6)
    for param, b in zip(net.collect_params().values(), before):
        np.testing.assert_allclose(param.grad().asnumpy(), b / expected_norm, rtol=1e-5)


def test_shape_is_known_matches_mxnet():
    for text, expected in RECORDED["shape_is_known"]:
        shape = eval(text)  # noqa: S307 - the recorded reprs of a few tuples
        if isinstance(expected, list):
            with pytest.raises(AssertionError) as info:
                utils.shape_is_known(shape)
            assert str(info.value) == expected[1]
        else:
            assert utils.shape_is_known(shape) is expected, text


def test_indent_and_hook_handle_are_there():
    assert utils._indent("a\nb", 2) == "a\n  b" and utils._indent("a", 4) == "a"
    from keras_defer.hooks import HookHandle

    assert utils.HookHandle is HookHandle


# -- check_sha1 and download ---------------------------------------------------------
CONTENT, DIGEST = utils_cases.CONTENT, utils_cases.DIGEST


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    (root / "file.bin").write_bytes(CONTENT)
    with local_server(str(root)) as base:
        yield base, root


def _download(*args, **kwargs):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            return utils.download(*args, **kwargs), printed.getvalue(), None
        except Exception as exc:  # noqa: BLE001 - compared with MXNet's
            return None, printed.getvalue(), exc


def test_check_sha1(served):
    _, root = served
    expected = RECORDED["download"]["check_sha1"]
    assert [utils.check_sha1(str(root / "file.bin"), DIGEST),
            utils.check_sha1(str(root / "file.bin"), "0" * 40)] == expected


def test_download_from_a_local_server_matches_mxnet(served, tmp_path):
    rec = RECORDED["download"]
    base, _ = served
    target = tmp_path / "target"
    target.mkdir()
    path, printed, error = _download(base + "/file.bin", path=str(target), sha1_hash=DIGEST)
    assert error is None
    assert os.path.relpath(path, target) == rec["ok"]["relative_path"]
    assert printed.replace(base, "URL").replace(str(target), "DIR") == rec["ok"]["printed"]
    assert sorted(os.listdir(target)) == rec["ok"]["files"]
    assert (target / "file.bin").read_bytes() == CONTENT
    # a file with the right hash is kept: nothing is fetched or printed
    assert _download(base + "/file.bin", path=str(target), sha1_hash=DIGEST)[1] == rec["kept"]

    _, printed, error = _download(base + "/file.bin", path=str(target / "bad.bin"),
                                  sha1_hash="0" * 40, retries=2)
    theirs = rec["hash_mismatch"]
    assert [type(error).__name__, str(error).replace(str(target), "DIR")] == theirs["error"]
    assert printed.replace(base, "URL").replace(str(target), "DIR") == theirs["printed"]
    assert sorted(os.listdir(target)) == theirs["files"]  # MXNet leaves the bad file

    _, printed, error = _download(base + "/missing.bin", path=str(target), retries=1)
    theirs = rec["not_found"]
    assert [type(error).__name__, str(error).replace(base, "URL")] == theirs["error"]
    assert printed.replace(base, "URL").replace(str(target), "DIR") == theirs["printed"]


def test_download_without_network_retries_then_raises(tmp_path):
    """Nothing can be downloaded here: a refused connection (port 9 of 127.0.0.1)
    is retried as MXNet does, then its error is raised, and no file is left."""
    rec = RECORDED["download"]["refused"]
    _, printed, error = _download("http://127.0.0.1:9/refused.bin", path=str(tmp_path),
                                  retries=2)
    # requests' ConnectionError (as MXNet) where requests is installed, else urllib's
    assert type(error).__name__ in (rec["error"], "URLError")
    ours = printed.replace(str(tmp_path), "DIR").splitlines()
    theirs = rec["printed"].splitlines()
    assert len(ours) == len(theirs) == 3
    assert ours[0] == theirs[0] and ours[2] == theirs[2]
    assert ours[1].startswith("download failed due to ")
    assert ours[1].endswith(", retrying, 1 attempt left")
    assert os.listdir(tmp_path) == []


def test_download_argument_errors():
    rec = RECORDED["download"]
    with pytest.raises(AssertionError) as info:
        utils.download("http://127.0.0.1:9/dir/")
    assert str(info.value) == rec["no_file_name"][1]
    with pytest.raises(AssertionError) as info:
        utils.download("http://127.0.0.1:9/a.bin", path="/nonexistent/a.bin", retries=-1)
    assert str(info.value) == rec["negative_retries"][1]
