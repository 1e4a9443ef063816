"""Record what MXNet 1.9.1's ``gluon.data`` gives (datasets, samplers, DataLoader,
vision datasets and transforms), for tests/test_data.py and tests/test_vision.py.

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_data.py

Writes tests/mxnet_reference/data/data_reference.json (reprs, shapes, dtypes, errors)
and data_images.npz (resize inputs and MXNet's outputs). The small dataset files in the
real formats (idx ``.gz``, CIFAR's binary batches) are made by ``write_mnist`` and
``write_cifar`` below, which the tests import too (they need no MXNet).
"""

import gzip
import json
import os
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

MNIST_FILES = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
               False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def write_mnist(root, count=5, seed=0):
    """MNIST's four idx ``.gz`` files (train: ``count`` images, test: ``count - 2``)."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.RandomState(seed)
    for train, (images, labels) in MNIST_FILES.items():
        n = count if train else count - 2
        pixels = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        digits = rng.randint(0, 10, size=n).astype(np.uint8)
        with gzip.open(os.path.join(root, images), "wb") as out:
            out.write(struct.pack(">IIII", 2051, n, 28, 28) + pixels.tobytes())
        with gzip.open(os.path.join(root, labels), "wb") as out:
            out.write(struct.pack(">II", 2049, n) + digits.tobytes())


CIFAR10_TRAIN = ["data_batch_%d.bin" % i for i in range(1, 6)]


def write_cifar(root, hundred=False, count=2, seed=0):
    """CIFAR-10's six binary batches (``count`` records each: label byte, 3072 pixel
    bytes) or CIFAR-100's two (coarse and fine label bytes, then the pixels)."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.RandomState(seed)
    names = ["train.bin", "test.bin"] if hundred else CIFAR10_TRAIN + ["test_batch.bin"]
    for name in names:
        labels = rng.randint(0, 100 if hundred else 10, size=(count, 2 if hundred else 1))
        pixels = rng.randint(0, 256, size=(count, 3072))
        records = np.concatenate([labels, pixels], axis=1).astype(np.uint8)
        with open(os.path.join(root, name), "wb") as out:
            out.write(records.tobytes())


# Resize cases: (name, input shape, dtype, size, keep_ratio, interpolation)
RESIZE_CASES = [
    ("d2l_up", (28, 28, 1), "uint8", 224, False, 1),
    ("half", (28, 28, 1), "uint8", 14, False, 1),
    ("down_rgb", (6, 9, 3), "uint8", (5, 4), False, 1),
    ("up_odd", (5, 7, 3), "uint8", (13, 11), False, 1),
    ("down_32", (32, 32, 3), "uint8", 20, False, 1),
    ("third", (7, 7, 1), "uint8", 3, False, 1),
    ("wide", (3, 40, 1), "uint8", (100, 3), False, 1),
    ("wide_rgb", (4, 23, 3), "uint8", (37, 6), False, 1),
    ("same", (10, 10, 3), "uint8", 10, False, 1),
    ("keep_ratio", (6, 9, 3), "uint8", 4, True, 1),
    ("batch", (2, 6, 9, 3), "uint8", 4, False, 1),
    ("float_down", (6, 9, 3), "float32", (5, 4), False, 1),
    ("float_up", (5, 7, 1), "float32", (13, 11), False, 1),
    ("nearest_down", (6, 9, 3), "uint8", (5, 4), False, 0),
    ("nearest_up", (5, 7, 1), "uint8", (13, 11), False, 0),
]


def resize_input(shape, dtype, seed):
    rng = np.random.RandomState(seed)
    if dtype == "uint8":
        return rng.randint(0, 256, size=shape).astype(np.uint8)
    return (rng.rand(*shape) * 255).astype(dtype)


# RecordIO records MXNet writes into data/data_records.rec/.idx: (key, header, payload)
RECORDS = [
    (3, (0, 3.0, 7, 0), b"abc"),
    (1, (0, [1.0, 2.5, -3.0], 8, 0), b"x" * 10),
    (5, (0, 0.5, 9, 1), b"before\x0a\x23\xd7\xceafter\x0a\x23\xd7\xce"),  # the magic inside
    (0, (0, 1.0, 10, 0), b""),
]


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 (recording whatever MXNet raises)
        return [type(exc).__name__, str(exc)]
    return None


def _batches(loader):
    return [[repr(part) for part in batch] if isinstance(batch, list) else repr(batch)
            for batch in loader]


def record():  # noqa: C901 (one flat list of observations)
    import mxnet as mx
    from mxnet import nd
    from mxnet.gluon import data as gdata
    from mxnet.gluon.data.vision import datasets as vision_datasets

    T = gdata.vision.transforms
    out = {"mxnet": mx.__version__}
    images = {}

    # -- datasets -----------------------------------------------------------------
    feats = np.arange(21, dtype=np.float32).reshape(7, 3)
    labels = np.arange(7, dtype=np.int64)
    kinds = {
        "numpy": (feats, labels),
        "ndarray": (nd.array(feats), nd.array(labels)),
        "lists": ([1, 2, 3, 4, 5, 6, 7], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]),
        "single_numpy": (feats,),
        "single_ndarray": (nd.array(feats),),
        "mixed": (nd.array(feats, dtype="float64"), [1, 0, 1, 0, 1, 0, 1]),
    }
    for name, arrays in kinds.items():
        ds = gdata.ArrayDataset(*arrays)
        item = ds[1]
        out["array_dataset_" + name] = {
            "len": len(ds), "item_repr": repr(item), "item_type": type(item).__name__,
            "part_types": [type(p).__name__ for p in item] if isinstance(item, tuple) else None,
            "batches": _batches(gdata.DataLoader(ds, 3)),
            "batch_type": type(next(iter(gdata.DataLoader(ds, 3)))).__name__,
        }
    out["simple_dataset"] = _batches(gdata.DataLoader(
        gdata.SimpleDataset([(np.array([i, i + 1], dtype=np.uint8), i * 1.5) for i in range(4)]),
        batch_size=3))
    out["scalar_items"] = _batches(gdata.DataLoader(gdata.SimpleDataset([1, 2, 3]), 2))
    out["ndarray_items"] = _batches(gdata.DataLoader(
        gdata.SimpleDataset([nd.array([i, 2 * i], dtype="int32") for i in range(3)]), 2))

    ds = gdata.SimpleDataset(list(range(10)))
    out["shard"] = [list(ds.shard(3, i)) for i in range(3)]
    out["take"] = [len(ds.take(3)), len(ds.take(None)), len(ds.take(100)), list(ds.take(3))]
    out["filter"] = list(ds.filter(lambda x: x % 3 == 0))
    out["sample"] = list(ds.sample(gdata.SequentialSampler(3, 4)))
    out["transform"] = list(ds.transform(lambda x: x * 2))
    eager = ds.transform(lambda x: x * 2, lazy=False)
    out["transform_eager_type"] = type(eager).__name__
    pairs = gdata.ArrayDataset(list(range(4)), list(range(10, 14)))
    out["transform_first"] = [list(i) for i in pairs.transform_first(lambda x: x * 100)]
    out["transform_pairs"] = [list(i) for i in pairs.transform(lambda x, y: (y, x))]
    out["errors"] = {
        "length": _error(lambda: gdata.ArrayDataset(np.zeros(3), np.zeros(4))),
        "no_arrays": _error(lambda: gdata.ArrayDataset()),
        "sample_type": _error(lambda: ds.sample([1, 2])),
        "shard_index": _error(lambda: ds.shard(2, 2)),
        "shard_negative": _error(lambda: ds.shard(2, -1)),
        "no_batch_size": _error(lambda: gdata.DataLoader(ds)),
        "shuffle_sampler": _error(lambda: gdata.DataLoader(
            ds, 2, shuffle=True, sampler=gdata.SequentialSampler(10))),
        "batch_sampler_and_size": _error(lambda: gdata.DataLoader(
            ds, 2, batch_sampler=gdata.BatchSampler(gdata.SequentialSampler(10), 2))),
        "batch_sampler_and_last": _error(lambda: gdata.DataLoader(
            ds, batch_sampler=gdata.BatchSampler(gdata.SequentialSampler(10), 2),
            last_batch="keep")),
        "timeout": _error(lambda: gdata.DataLoader(ds, 2, timeout=0)),
        "last_batch": _error(lambda: list(gdata.DataLoader(ds, 3, last_batch="drop"))),
        "last_batch_len": _error(lambda: len(gdata.DataLoader(ds, 3, last_batch="drop"))),
    }

    # -- samplers ----------------------------------------------------------------
    seq = gdata.SequentialSampler(10)
    samplers = {}
    for last in ("keep", "discard", "rollover"):
        bs = gdata.BatchSampler(seq, 3, last)
        samplers[last] = {"len": len(bs), "epoch1": [list(map(int, b)) for b in bs],
                          "len_after": len(bs), "epoch2": [list(map(int, b)) for b in bs]}
        loader = gdata.DataLoader(gdata.SimpleDataset(list(range(10))), 4, last_batch=last)
        samplers[last]["loader"] = [len(loader), [b.asnumpy().tolist() for b in loader],
                                    [b.asnumpy().tolist() for b in loader]]
    out["samplers"] = samplers
    out["sequential"] = list(gdata.SequentialSampler(4, 3))
    rnd = list(gdata.RandomSampler(10))
    out["random"] = [sorted(int(i) for i in rnd), type(rnd[0]).__name__]

    # -- vision datasets ---------------------------------------------------------------
    vision = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Small files fail MXNet's sha1 check (it would download): use them as they are.
        vision_datasets.download = lambda url, path=None, sha1_hash=None, **kw: os.path.join(
            path, url.split("/")[-1])
        vision_datasets.check_sha1 = lambda path, sha1: True
        for cls, sub in ((gdata.vision.MNIST, "mnist"), (gdata.vision.FashionMNIST, "fm")):
            root = os.path.join(tmp, sub)
            write_mnist(root)
            for train in (True, False):
                ds = cls(root=root, train=train)
                feature, label = ds[1]
                vision["%s_%s" % (cls.__name__, train)] = {
                    "len": len(ds), "feature_repr": repr(feature),
                    "feature_shape": list(feature.shape), "feature_dtype": str(feature.dtype),
                    "label_repr": repr(label), "label_type": type(label).__name__,
                    "label_dtype": str(label.dtype), "data_type": type(ds._data).__name__,
                    "label_store": type(ds._label).__name__,
                }
            ds = cls(root=root, transform=lambda d, l: (d.astype("float32") / 255, l))
            vision[cls.__name__ + "_transform"] = [repr(x) for x in ds[0]]
            loader = gdata.DataLoader(ds.transform_first(T.ToTensor()), 2)
            X, y = next(iter(loader))
            vision[cls.__name__ + "_loader"] = {
                "X": [list(X.shape), str(X.dtype), float(X.sum().asscalar())],
                "y": repr(y)}
        for cls, sub, hundred in ((gdata.vision.CIFAR10, "c10", False),
                                  (gdata.vision.CIFAR100, "c100", True)):
            root = os.path.join(tmp, sub)
            write_cifar(root, hundred=hundred)
            kwargs = [{}] if not hundred else [{}, {"fine_label": True}]
            for kw in kwargs:
                for train in (True, False):
                    ds = cls(root=root, train=train, **kw)
                    feature, label = ds[1]
                    key = "%s_%s%s" % (cls.__name__, train, "_fine" if kw else "")
                    vision[key] = {
                        "len": len(ds), "feature_shape": list(feature.shape),
                        "feature_dtype": str(feature.dtype),
                        "feature": feature.asnumpy().ravel()[:40].tolist(),
                        "feature_sum": int(feature.asnumpy().astype(np.int64).sum()),
                        "labels": [int(ds[i][1]) for i in range(len(ds))],
                        "label_repr": repr(label), "label_type": type(label).__name__}
    out["vision"] = vision

    # -- transforms --------------------------------------------------------------
    reprs = {}
    reprs["ToTensor"] = repr(T.ToTensor())
    reprs["Normalize"] = repr(T.Normalize(0.5, 0.2))
    reprs["Resize"] = repr(T.Resize(10))
    reprs["Cast"] = repr(T.Cast())
    reprs["RandomFlipLeftRight"] = repr(T.RandomFlipLeftRight())
    reprs["CenterCrop"] = repr(T.CenterCrop(4))
    c1 = T.Compose([T.Resize(8), T.ToTensor()])
    c2 = T.Compose([T.CenterCrop(4), T.ToTensor(), T.Normalize((0.1, 0.2, 0.3), (1, 2, 3)),
                    T.Cast("float16")])
    c3 = T.Compose([T.ToTensor()])
    c4 = T.Compose([T.RandomResizedCrop(5), T.RandomFlipTopBottom(), T.CenterCrop(3)])
    reprs["compose_d2l"] = repr(c1)
    reprs["compose_mixed"] = repr(c2)
    reprs["compose_one"] = repr(c3)
    reprs["compose_blocks"] = repr(c4)
    reprs["compose_types"] = [[type(b).__name__ for b in c._children.values()]
                              for c in (c1, c2, c3, c4)]
    out["reprs"] = reprs

    x = nd.array(resize_input((9, 6, 3), "uint8", 7), dtype="uint8")
    t = T.ToTensor()(x)
    out["to_tensor"] = {"repr_head": repr(t)[:200], "shape": list(t.shape), "dtype": str(t.dtype),
                        "batch_shape": list(T.ToTensor()(nd.stack(x, x)).shape),
                        "float_dtype": str(T.ToTensor()(x.astype("float64")).dtype)}
    images["to_tensor_in"] = x.asnumpy()
    images["to_tensor_out"] = t.asnumpy()
    norm = T.Normalize((0.1, 0.2, 0.3), (0.5, 2.0, 4.0))(t)
    images["normalize_out"] = norm.asnumpy()
    images["normalize_scalar_out"] = T.Normalize(0.5, 0.25)(t).asnumpy()
    out["normalize"] = {"dtype": str(norm.dtype),
                        "f64": str(T.Normalize(0.5, 2)(t.astype("float64")).dtype),
                        "batch": list(T.Normalize(0.5, 2)(nd.stack(t, t)).shape)}
    out["transform_errors"] = {
        "normalize_channels": _error(lambda: T.Normalize((1, 2), (1, 2))(t)),
        "to_tensor_ndim": _error(lambda: T.ToTensor()(nd.zeros((3,)))),
    }
    cast = T.Cast("float16")(t)
    out["cast"] = [str(cast.dtype), str(T.Cast()(x).dtype)]
    out["center_crop"] = {}
    for name, size in (("small", 4), ("rect", (3, 8)), ("up", 20)):
        y = T.CenterCrop(size)(x)
        images["center_crop_" + name] = y.asnumpy()
    out["random_resized_crop"] = list(T.RandomResizedCrop((5, 4))(x).shape)
    flips = set()
    for _ in range(30):
        flips.add(tuple(T.RandomFlipLeftRight()(x).asnumpy().ravel()[:6].tolist()))
    out["flip_lr_variants"] = len(flips)
    images["flip_lr"] = x.asnumpy()[:, ::-1]

    resize = {}
    for i, (name, shape, dtype, size, keep, interp) in enumerate(RESIZE_CASES):
        src = resize_input(shape, dtype, i)
        y = T.Resize(size, keep_ratio=keep, interpolation=interp)(nd.array(src, dtype=dtype))
        images["resize_" + name] = y.asnumpy()
        resize[name] = [list(y.shape), str(y.dtype)]
    out["resize"] = resize

    rec = os.path.join(DATA, "data_records.rec")
    idx = os.path.join(DATA, "data_records.idx")
    writer = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
    for key, header, payload in RECORDS:
        writer.write_idx(key, mx.recordio.pack(mx.recordio.IRHeader(*header), payload))
    writer.close()
    reader = mx.recordio.MXIndexedRecordIO(idx, rec, "r")
    records = {}
    for key in reader.keys:
        header, payload = mx.recordio.unpack(reader.read_idx(key))
        label = header.label.tolist() if isinstance(header.label, np.ndarray) else header.label
        records[str(key)] = [header.flag, label, header.id, header.id2, list(payload)]
    ds = gdata.RecordFileDataset(rec)
    out["records"] = {"keys": list(reader.keys), "records": records, "len": len(ds),
                      "dataset": [list(ds[i]) for i in range(len(ds))]}
    return out, images


def main():
    out, images = record()
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "data_reference.json"), "w") as handle:
        json.dump(out, handle, indent=1, sort_keys=True)
    np.savez_compressed(os.path.join(DATA, "data_images.npz"), **images)
    print("wrote", os.path.join(DATA, "data_reference.json"), "and data_images.npz",
          file=sys.stderr)


if __name__ == "__main__":
    main()
