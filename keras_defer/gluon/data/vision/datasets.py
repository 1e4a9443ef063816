"""``mxnet.gluon.data.vision.datasets``: MNIST, FashionMNIST, CIFAR10 and CIFAR100,
read from the real files (idx ``.gz`` files; CIFAR's binary batches).

Nothing can be downloaded here, so where MXNet downloads a missing file (and replaces
one whose sha1 differs), ``_fetch`` raises an error naming the files to put in
``root`` and where MXNet would fetch them from; a file that is present is used as it
is, its sha1 unchecked (it could not be replaced anyway). The default roots are
MXNet's, ``<data_dir()>/datasets/<name>``; ``data_dir()`` (``$MXNET_HOME`` or
``~/.mxnet``) is read when a dataset is made, not when this module is imported.
"""

import gzip
import os
import struct

import numpy as np

from keras_defer import base
from keras_defer.gluon.data import dataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100"]

_REPO_URL = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"


def _get_repo_file_url(namespace, filename):
    """Where MXNet downloads a dataset file from (``$MXNET_GLUON_REPO`` overrides)."""
    repo = os.environ.get("MXNET_GLUON_REPO", _REPO_URL)
    if not repo.endswith("/"):
        repo += "/"
    return "{base_url}{namespace}/{filename}".format(base_url=repo, namespace=namespace,
                                                     filename=filename)


class DatasetFilesMissing(FileNotFoundError):
    """A dataset's files are not in its root, and nothing can be downloaded here."""


def _fetch(root, namespace, names):
    """The paths of ``names`` in ``root`` (MXNet's ``download`` step), or an error
    naming every missing file and its MXNet download address."""
    paths = [os.path.join(root, name) for name in names]
    missing = [(name, path) for name, path in zip(names, paths) if not os.path.exists(path)]
    if missing:
        raise DatasetFilesMissing(
            "dataset files missing in %s: %s. keras_defer cannot download them; put MXNet's "
            "files there (%s), or pass root= a directory that holds them." % (
                root, ", ".join(name for name, _ in missing),
                "; ".join(_get_repo_file_url("gluon/dataset/" + namespace, name)
                          for name, _ in missing)))
    return paths


def _default_root(name):
    return os.path.join(base.data_dir(), "datasets", name)


class MNIST(dataset._DownloadedDataset):
    """MNIST handwritten digits (http://yann.lecun.com/exdb/mnist).

    Each sample is ``(image, label)``: an NDArray of shape (28, 28, 1), uint8, and a
    ``numpy.int32`` label.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/mnist
        Folder holding the four idx ``.gz`` files.
    train : bool, default True
        Whether to load the training or testing set.
    transform : function, default None
        ``transform(data, label) -> sample``, e.g.
        ``lambda data, label: (data.astype(np.float32)/255, label)``.
    """

    def __init__(self, root=None, train=True, transform=None):
        self._train = train
        self._train_data = ("train-images-idx3-ubyte.gz",
                            "6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d")
        self._train_label = ("train-labels-idx1-ubyte.gz",
                             "2a80914081dc54586dbdf242f9805a6b8d2a15fc")
        self._test_data = ("t10k-images-idx3-ubyte.gz",
                           "c3a25af1f52dad7f726cce8cacb138654b760d48")
        self._test_label = ("t10k-labels-idx1-ubyte.gz",
                            "763e7fa3757d93b0cdec073cef058b2004252c17")
        self._namespace = "mnist"
        super().__init__(root if root is not None else _default_root("mnist"), transform)

    def _get_data(self):
        if self._train:
            data, label = self._train_data, self._train_label
        else:
            data, label = self._test_data, self._test_label
        data_file, label_file = _fetch(self._root, self._namespace, [data[0], label[0]])

        with gzip.open(label_file, "rb") as fin:
            struct.unpack(">II", fin.read(8))
            label = np.frombuffer(fin.read(), dtype=np.uint8).astype(np.int32)

        with gzip.open(data_file, "rb") as fin:
            struct.unpack(">IIII", fin.read(16))
            data = np.frombuffer(fin.read(), dtype=np.uint8)
            data = data.reshape(len(label), 28, 28, 1)

        self._data = _as_ndarray(data)
        self._label = label


class FashionMNIST(MNIST):
    """Zalando's article images, a drop-in replacement of MNIST
    (https://github.com/zalandoresearch/fashion-mnist); samples as ``MNIST``'s.

    ``root`` defaults to $MXNET_HOME/datasets/fashion-mnist.
    """

    def __init__(self, root=None, train=True, transform=None):
        self._train = train
        self._train_data = ("train-images-idx3-ubyte.gz",
                            "0cf37b0d40ed5169c6b3aba31069a9770ac9043d")
        self._train_label = ("train-labels-idx1-ubyte.gz",
                             "236021d52f1e40852b06a4c3008d8de8aef1e40b")
        self._test_data = ("t10k-images-idx3-ubyte.gz",
                           "626ed6a7c06dd17c0eec72fa3be1740f146a2863")
        self._test_label = ("t10k-labels-idx1-ubyte.gz",
                            "17f9ab60e7257a1620f4ad76bbbaf857c3920701")
        self._namespace = "fashion-mnist"
        dataset._DownloadedDataset.__init__(
            self, root if root is not None else _default_root("fashion-mnist"), transform)


class CIFAR10(dataset._DownloadedDataset):
    """CIFAR10 (https://www.cs.toronto.edu/~kriz/cifar.html), from the binary batches
    ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``.

    Each sample is an NDArray of shape (32, 32, 3), uint8, and a ``numpy.int32`` label.
    ``root`` defaults to $MXNET_HOME/datasets/cifar10.
    """

    def __init__(self, root=None, train=True, transform=None):
        self._train = train
        self._archive_file = ("cifar-10-binary.tar.gz", "fab780a1e191a7eda0f345501ccd62d20f7ed891")
        self._train_data = [("data_batch_1.bin", "aadd24acce27caa71bf4b10992e9e7b2d74c2540"),
                            ("data_batch_2.bin", "c0ba65cce70568cd57b4e03e9ac8d2a5367c1795"),
                            ("data_batch_3.bin", "1dd00a74ab1d17a6e7d73e185b69dbf31242f295"),
                            ("data_batch_4.bin", "aab85764eb3584312d3c7f65fd2fd016e36a258e"),
                            ("data_batch_5.bin", "26e2849e66a845b7f1e4614ae70f4889ae604628")]
        self._test_data = [("test_batch.bin", "67eb016db431130d61cd03c7ad570b013799c88c")]
        self._namespace = "cifar10"
        super().__init__(root if root is not None else _default_root("cifar10"), transform)

    def _read_batch(self, filename):
        with open(filename, "rb") as fin:
            data = np.frombuffer(fin.read(), dtype=np.uint8).reshape(-1, 3072 + 1)
        return data[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), \
            data[:, 0].astype(np.int32)

    def _get_data(self):
        # MXNet downloads and unpacks the archive when any batch is missing; the files
        # read are the batches, so those are the ones asked for.
        data_files = self._train_data if self._train else self._test_data
        paths = _fetch(self._root, self._namespace, [name for name, _ in data_files])
        data, label = zip(*(self._read_batch(path) for path in paths))
        data = np.concatenate(data)
        label = np.concatenate(label)
        self._data = _as_ndarray(data)
        self._label = label


class CIFAR100(CIFAR10):
    """CIFAR100, from ``train.bin`` / ``test.bin``; ``fine_label`` picks the 100 fine
    classes instead of the 20 coarse ones. ``root`` defaults to
    $MXNET_HOME/datasets/cifar100."""

    def __init__(self, root=None, fine_label=False, train=True, transform=None):
        self._train = train
        self._archive_file = ("cifar-100-binary.tar.gz",
                              "a0bb982c76b83111308126cc779a992fa506b90b")
        self._train_data = [("train.bin", "e207cd2e05b73b1393c74c7f5e7bea451d63e08e")]
        self._test_data = [("test.bin", "8fb6623e830365ff53cf14adec797474f5478006")]
        self._fine_label = fine_label
        self._namespace = "cifar100"
        dataset._DownloadedDataset.__init__(
            self, root if root is not None else _default_root("cifar100"), transform)

    def _read_batch(self, filename):
        with open(filename, "rb") as fin:
            data = np.frombuffer(fin.read(), dtype=np.uint8).reshape(-1, 3072 + 2)
        return data[:, 2:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), \
            data[:, 0 + self._fine_label].astype(np.int32)


def _as_ndarray(data):
    from keras_defer import nd

    return nd.array(data, dtype=data.dtype)
