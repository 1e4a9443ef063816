"""keras_defer.gluon.data.vision (datasets read from the real file formats, and the
transforms) against MXNet 1.9.1, recorded by tests/mxnet_reference/record_data.py.

The dataset files are small ones in the real formats (idx ``.gz``, CIFAR's binary
batches), written by the recorder's own functions with the same seeds.
"""

import json
import os
import random
import re

import keras

import numpy as np
import pytest

from keras_defer import nd
from keras_defer.errors import MXNetError
from keras_defer.gluon import data as gdata
from tests.mxnet_reference import record_data

T = gdata.vision.transforms
_NUMBER = re.compile(r"\d+\.\d*")


def _numbers(text):
    return [float(n) for n in _NUMBER.findall(text)]


def _skeleton(text):
    """A repr without its numbers and padding: what must match when values may differ
    in the last digit."""
    return re.sub(r"\s+", "", _NUMBER.sub("#", text))
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "mxnet_reference", "data", "data_reference.json")) as handle:
    RECORDED = json.load(handle)
IMAGES = np.load(os.path.join(HERE, "mxnet_reference", "data", "data_images.npz"))
VISION = RECORDED["vision"]


@pytest.fixture(autouse=True)
def numpy1_reprs():
    """MXNet's side runs numpy 1.23: numpy scalars print as ``4``, not ``np.int32(4)``."""
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        yield
        return
    with np.printoptions(legacy="1.25"):
        yield


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    record_data.write_mnist(str(root / "mnist"))
    record_data.write_mnist(str(root / "fm"))
    record_data.write_cifar(str(root / "c10"))
    record_data.write_cifar(str(root / "c100"), hundred=True)
    return root


# -- datasets -----------------------------------------------------------------------
@pytest.mark.parametrize("cls,sub", [(gdata.vision.MNIST, "mnist"),
                                     (gdata.vision.FashionMNIST, "fm")])
@pytest.mark.parametrize("train", [True, False])
def test_mnist_items_match_mxnet(files, cls, sub, train):
    ds = cls(root=str(files / sub), train=train)
    feature, label = ds[1]
    got = {"len": len(ds), "feature_repr": repr(feature), "feature_shape": list(feature.shape),
           "feature_dtype": str(feature.dtype), "label_repr": repr(label),
           "label_type": type(label).__name__, "label_dtype": str(label.dtype),
           "data_type": type(ds._data).__name__, "label_store": type(ds._label).__name__}
    assert got == VISION["%s_%s" % (cls.__name__, train)]


@pytest.mark.parametrize("cls,sub", [(gdata.vision.MNIST, "mnist"),
                                     (gdata.vision.FashionMNIST, "fm")])
def test_mnist_transform_and_loader_match_mxnet(files, cls, sub):
    ds = cls(root=str(files / sub), transform=lambda d, l: (d.astype("float32") / 255, l))
    got, want = [repr(x) for x in ds[0]], VISION[cls.__name__ + "_transform"]
    if keras.backend.backend() == "jax":  # XLA divides by 255 as a product: last-digit ulps
        assert _numbers(got[0]) == pytest.approx(_numbers(want[0]), rel=1e-6)
        got, want = [_skeleton(r) for r in got], [_skeleton(r) for r in want]
    assert got == want
    X, y = next(iter(gdata.DataLoader(ds.transform_first(T.ToTensor()), 2)))
    expected = VISION[cls.__name__ + "_loader"]
    assert [list(X.shape), str(X.dtype)] == expected["X"][:2]
    assert float(X.sum().asscalar()) == pytest.approx(expected["X"][2], rel=1e-6)
    assert repr(y) == expected["y"]


@pytest.mark.parametrize("cls,sub,kw", [(gdata.vision.CIFAR10, "c10", {}),
                                        (gdata.vision.CIFAR100, "c100", {}),
                                        (gdata.vision.CIFAR100, "c100", {"fine_label": True})])
@pytest.mark.parametrize("train", [True, False])
def test_cifar_items_match_mxnet(files, cls, sub, kw, train):
    ds = cls(root=str(files / sub), train=train, **kw)
    feature, label = ds[1]
    got = {"len": len(ds), "feature_shape": list(feature.shape),
           "feature_dtype": str(feature.dtype),
           "feature": feature.asnumpy().ravel()[:40].tolist(),
           "feature_sum": int(feature.asnumpy().astype(np.int64).sum()),
           "labels": [int(ds[i][1]) for i in range(len(ds))],
           "label_repr": repr(label), "label_type": type(label).__name__}
    assert got == VISION["%s_%s%s" % (cls.__name__, train, "_fine" if kw else "")]


def test_default_root_is_mxnet_home_datasets(files, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(files / "home"))
    record_data.write_mnist(str(files / "home" / "datasets" / "fashion-mnist"), count=3)
    ds = gdata.vision.FashionMNIST(train=True)
    assert len(ds) == 3 and ds._root == str(files / "home" / "datasets" / "fashion-mnist")


def test_missing_files_say_which_and_where(tmp_path):
    root = tmp_path / "empty"
    with pytest.raises(FileNotFoundError) as info:
        gdata.vision.MNIST(root=str(root), train=False)
    text = str(info.value)
    assert str(root) in text and "t10k-images-idx3-ubyte.gz" in text
    assert "t10k-labels-idx1-ubyte.gz" in text and "gluon/dataset/mnist/" in text
    assert "train-images" not in text and root.is_dir()  # MXNet makes root first
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        gdata.vision.CIFAR10(root=str(root))


# -- transforms -----------------------------------------------------------------------
def test_transform_reprs_match_mxnet():
    reprs = RECORDED["reprs"]
    assert repr(T.ToTensor()) == reprs["ToTensor"]
    assert repr(T.Normalize(0.5, 0.2)) == reprs["Normalize"]
    assert repr(T.Resize(10)) == reprs["Resize"]
    assert repr(T.Cast()) == reprs["Cast"]
    assert repr(T.RandomFlipLeftRight()) == reprs["RandomFlipLeftRight"]
    assert repr(T.CenterCrop(4)) == reprs["CenterCrop"]
    composes = [T.Compose([T.Resize(8), T.ToTensor()]),
                T.Compose([T.CenterCrop(4), T.ToTensor(),
                           T.Normalize((0.1, 0.2, 0.3), (1, 2, 3)), T.Cast("float16")]),
                T.Compose([T.ToTensor()]),
                T.Compose([T.RandomResizedCrop(5), T.RandomFlipTopBottom(), T.CenterCrop(3)])]
    for key, c in zip(["compose_d2l", "compose_mixed", "compose_one", "compose_blocks"],
                      composes):
        assert repr(c) == reprs[key]
    assert [[type(b).__name__ for b in c._children.values()] for c in composes] == \
        reprs["compose_types"]
    from keras_defer.gluon import nn

    assert isinstance(composes[0], nn.Sequential)
    assert isinstance(composes[0][0], nn.HybridSequential)


def _image():
    return nd.array(IMAGES["to_tensor_in"], dtype="uint8")


def test_to_tensor_and_normalize_values_match_mxnet():
    x = _image()
    t = T.ToTensor()(x)
    expected = RECORDED["to_tensor"]
    assert repr(t)[:200] == expected["repr_head"]
    assert [list(t.shape), str(t.dtype)] == [expected["shape"], expected["dtype"]]
    np.testing.assert_array_equal(t.asnumpy(), IMAGES["to_tensor_out"])
    assert list(T.ToTensor()(nd.stack(x, x)).shape) == expected["batch_shape"]
    assert str(T.ToTensor()(x.astype("float64")).dtype) == expected["float_dtype"]
    norm = T.Normalize((0.1, 0.2, 0.3), (0.5, 2.0, 4.0))(t)
    np.testing.assert_array_equal(norm.asnumpy(), IMAGES["normalize_out"])
    np.testing.assert_array_equal(T.Normalize(0.5, 0.25)(t).asnumpy(),
                                  IMAGES["normalize_scalar_out"])
    got = {"dtype": str(norm.dtype), "f64": str(T.Normalize(0.5, 2)(t.astype("float64")).dtype),
           "batch": list(T.Normalize(0.5, 2)(nd.stack(t, t)).shape)}
    want = dict(RECORDED["normalize"])
    if keras.backend.backend() == "jax":  # float64 is 32-bit without jax_enable_x64
        want["f64"] = "<class 'numpy.float32'>"
    assert got == want
    assert [str(T.Cast("float16")(t).dtype), str(T.Cast()(x).dtype)] == RECORDED["cast"]


def test_transform_errors_match_mxnet():
    t = T.ToTensor()(_image())
    for key, fn in (("normalize_channels", lambda: T.Normalize((1, 2), (1, 2))(t)),
                    ("to_tensor_ndim", lambda: T.ToTensor()(nd.zeros((3,))))):
        name, text = RECORDED["transform_errors"][key]
        with pytest.raises(MXNetError) as info:
            fn()
        assert name == "MXNetError" and str(info.value) == text.splitlines()[-1][
            len("MXNetError: "):]


@pytest.mark.parametrize("index", range(len(record_data.RESIZE_CASES)))
def test_resize_is_bit_exact_with_mxnet(index):
    name, shape, dtype, size, keep, interp = record_data.RESIZE_CASES[index]
    src = record_data.resize_input(shape, dtype, index)
    out = T.Resize(size, keep_ratio=keep, interpolation=interp)(nd.array(src, dtype=dtype))
    assert [list(out.shape), str(out.dtype)] == RECORDED["resize"][name]
    np.testing.assert_array_equal(out.asnumpy(), IMAGES["resize_" + name])


def test_crops_and_flips_match_mxnet():
    x = _image()
    for name, size in (("small", 4), ("rect", (3, 8)), ("up", 20)):
        np.testing.assert_array_equal(T.CenterCrop(size)(x).asnumpy(),
                                      IMAGES["center_crop_" + name])
    assert list(T.RandomResizedCrop((5, 4))(x).shape) == RECORDED["random_resized_crop"]
    outs = {T.RandomFlipLeftRight()(x).asnumpy().tobytes() for _ in range(30)}
    assert len(outs) == RECORDED["flip_lr_variants"]
    assert IMAGES["flip_lr"].tobytes() in outs and x.asnumpy().tobytes() in outs
    flipped = {T.RandomFlipTopBottom()(x).asnumpy().tobytes() for _ in range(30)}
    assert x.asnumpy()[::-1].tobytes() in flipped


def test_random_resized_crop_draws_like_mxnet():
    """Python's ``random`` draws the crop (as MXNet's ``image.random_size_crop``)."""
    x = _image()
    random.seed(5)
    a = T.RandomResizedCrop(4)(x).asnumpy()
    random.seed(5)
    b = T.RandomResizedCrop(4)(x).asnumpy()
    np.testing.assert_array_equal(a, b)


def test_resize_other_interpolations_refuse_clearly():
    with pytest.raises(NotImplementedError, match="interpolation=2"):
        T.Resize(4, interpolation=2)(_image())


def test_transforms_in_worker_processes_equal_the_calling_thread(files):
    ds = gdata.vision.FashionMNIST(root=str(files / "fm"))
    aug = T.Compose([T.Resize(12), T.ToTensor(), T.Normalize(0.2, 0.3)])
    got = [(X.asnumpy(), y.asnumpy()) for X, y in
           gdata.DataLoader(ds.transform_first(aug), 2, num_workers=2)]
    want = [(X.asnumpy(), y.asnumpy()) for X, y in
            gdata.DataLoader(ds.transform_first(aug), 2)]
    assert len(got) == len(want) == 3
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
        assert gx.dtype == np.float32 and gy.dtype == np.int32


def test_d2l_fashion_mnist_snippet(files, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(files / "d2l"))
    record_data.write_mnist(str(files / "d2l" / "datasets" / "fashion-mnist"), count=12)
    mnist_train = gdata.vision.FashionMNIST(train=True)
    feature, label = mnist_train[0]
    assert (feature.shape, feature.dtype) == ((28, 28, 1), np.uint8)
    assert (type(label), label.dtype) == (np.int32, np.dtype("int32"))
    transformer = gdata.vision.transforms.ToTensor()
    train_iter = gdata.DataLoader(mnist_train.transform_first(transformer), 4, shuffle=True,
                                  num_workers=4)
    shapes = [(X.shape, X.dtype, y.shape, y.dtype) for X, y in train_iter]
    assert shapes == [((4, 1, 28, 28), np.float32, (4,), np.int32)] * 3
    transformer = gdata.vision.transforms.Compose([gdata.vision.transforms.Resize(32),
                                                   gdata.vision.transforms.ToTensor()])
    X, y = next(iter(gdata.DataLoader(mnist_train.transform_first(transformer), 5)))
    assert (X.shape, X.dtype) == ((5, 1, 32, 32), np.float32)


def test_transforms_see_writes_to_dataset_items(files):
    """Items are views of the dataset's NDArray (as MXNet's): a write through an item
    reaches the dataset, and transforms read the current values, never a stale copy."""
    ds = gdata.vision.MNIST(root=str(files / "mnist"))
    to_tensor = T.ToTensor()
    item, _ = ds[0]
    to_tensor(item)  # its host value is now known
    item[:] = 7
    np.testing.assert_array_equal(to_tensor(item).asnumpy(), np.float32(7) / np.float32(255))
    np.testing.assert_array_equal(ds[0][0].asnumpy(), 7)
    ds._data[:] = 3
    np.testing.assert_array_equal(to_tensor(ds[0][0]).asnumpy(),
                                  np.float32(3) / np.float32(255))
    np.testing.assert_array_equal(to_tensor(item).asnumpy(), np.float32(3) / np.float32(255))
    out = to_tensor(ds[1][0])
    out[:] = 0.5  # a transform's output, written: the next transform reads the write
    np.testing.assert_array_equal(T.Normalize(0.5, 1)(out).asnumpy(), 0)


def test_transform_outputs_are_full_ndarrays():
    """A transform's output makes its tensor only when first used; it is an NDArray in
    every other respect: prints, computes, takes writes, pickles, records."""
    import pickle

    from keras_defer import autograd

    x = _image()
    t = T.ToTensor()(x)
    assert isinstance(t, nd.NDArray) and type(t).__name__ == "NDArray"
    assert (t.shape, t.dtype, t.ndim, t.size) == ((3, 9, 6), np.float32, 3, 162)
    np.testing.assert_array_equal((t * 2).asnumpy(), IMAGES["to_tensor_out"] * 2)
    t[0] = 1
    assert t.asnumpy()[0].min() == 1 and T.Normalize(1, 1)(t).asnumpy()[0].max() == 0
    assert type(pickle.loads(pickle.dumps(t))) is nd.NDArray
    if keras.backend.backend() != "jax":
        u = T.ToTensor()(x)
        u.attach_grad()
        with autograd.record():
            y = (u * u).sum()
        y.backward()
        np.testing.assert_allclose(u.grad.asnumpy(), 2 * IMAGES["to_tensor_out"], rtol=1e-6)
