"""``mxnet.gluon.data.dataset``: indexable collections of samples, and the lazy
views MXNet builds over them (transform, filter, shard, take, sample).

MXNet 1.9.1's classes and behaviour, with one addition for worker processes
(``keras_defer.gluon.data.host``): a dataset that holds NDArrays keeps a numpy copy
when a DataLoader is about to fork workers (``_prepare_for_workers``) and gives
HostNDArrays from it inside a worker.
"""

import os

import keras
import numpy as np

from keras_defer.gluon.data import host
from keras_defer.nd import NDArray
from keras_defer.nd.ndarray import apply

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Abstract dataset: subclasses define ``__getitem__`` (the i-th sample) and
    ``__len__``. An NDArray or numpy array can be used as a dataset directly."""

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def filter(self, fn):
        """A dataset of the samples for which ``fn(sample)`` is true (found now)."""
        from keras_defer.gluon.data.sampler import FilterSampler

        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """The ``index``-th of ``num_shards`` contiguous parts (sizes differ by at most 1)."""
        assert index < num_shards, "Shard index of out bound: %d out of %d" % (index, num_shards)
        assert num_shards > 0, "Number of shards must be greater than 0"
        assert index >= 0, "Index must be non-negative"
        length = len(self)
        shard_len = length // num_shards
        rest = length % num_shards
        start = shard_len * index + min(index, rest)
        end = start + shard_len + (index < rest)
        from keras_defer.gluon.data.sampler import SequentialSampler

        return _SampledDataset(self, SequentialSampler(end - start, start))

    def take(self, count):
        """The first ``count`` samples (all of them if ``count`` is None or too large)."""
        if count is None or count > len(self):
            count = len(self)
        from keras_defer.gluon.data.sampler import SequentialSampler

        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """The samples at the indices ``sampler`` gives (a ``gluon.data.Sampler``)."""
        from keras_defer.gluon.data.sampler import Sampler

        if not isinstance(sampler, Sampler):
            raise TypeError("Invalid sampler type: %s. Expected gluon.data.Sampler instead." %
                            type(sampler))
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """Each sample through ``fn`` (a tuple sample is passed as ``fn(*sample)``).
        ``lazy=False`` transforms every sample now into a ``SimpleDataset``; a
        random ``fn`` then gives the same result every epoch."""
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([i for i in trans])

    def transform_first(self, fn, lazy=True):
        """Like ``transform``, on the first element of each sample only (data, not label)."""
        return self.transform(_TransformFirstClosure(fn), lazy)

    def _prepare_for_workers(self):
        """Before worker processes fork: keep what they will read as numpy (see module doc)."""
        for name in ("_data", "_dataset"):
            inner = self.__dict__.get(name)
            if isinstance(inner, Dataset):
                inner._prepare_for_workers()


class SimpleDataset(Dataset):
    """Wraps any object with ``len()`` and ``[]`` (a list, an array) as a Dataset."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    """A dataset whose samples go through ``fn`` when read."""

    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """``fn`` on the first element only; a class rather than a closure so it pickles."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _FilteredDataset(Dataset):
    """A dataset with a filter applied (kept from MXNet; ``filter`` uses a sampler)."""

    def __init__(self, dataset, fn):
        self._dataset = dataset
        self._indices = [i for i, sample in enumerate(dataset) if fn(sample)]

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices a sampler gives (drawn once, here)."""

    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._sampler)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """Samples ``(x1[i], x2[i], ...)`` of several dataset-like objects of one length
    (Datasets, lists, numpy arrays, NDArrays); with one object, its ``[i]``.

    A 1-D NDArray is kept as numpy (as MXNet does), so its items are numpy scalars.
    """

    def __init__(self, *args):
        assert len(args) > 0, "Needs at least 1 arrays"
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            assert len(data) == self._length, \
                "All arrays must have the same length; array[0] has length %d " \
                "while array[%d] has %d." % (self._length, i + 1, len(data))
            if isinstance(data, NDArray) and len(data.shape) == 1:
                data = data.asnumpy()
            self._data.append(data)
        self._host = None  # numpy copies of NDArray members, made for worker processes

    def __getitem__(self, idx):
        data = self._data
        if host.IN_WORKER:
            data = self._host_data()
        if len(data) == 1:
            return data[0][idx]
        return tuple(d[idx] for d in data)

    def __len__(self):
        return self._length

    def _host_data(self):
        if self._host is None:
            self._prepare_for_workers()
        return self._host

    def _prepare_for_workers(self):
        self._host = [np.asarray(d.asnumpy()).view(host.HostNDArray) if isinstance(d, NDArray)
                      else d for d in self._data]
        for d in self._data:
            if isinstance(d, Dataset):
                d._prepare_for_workers()

    def _gather(self, indices):
        """``default_batchify_fn([self[i] for i in indices])`` in one gather per member,
        or None when that could differ (a member that is a list or a Dataset)."""
        parts = []
        for d in self._data:
            if isinstance(d, NDArray):  # stacking its rows: one gather, same dtype
                parts.append(apply(_take_rows, d, np.asarray(indices, dtype=np.int32)))
            elif type(d) is np.ndarray and d.dtype.kind in "biuf":
                parts.append(host.as_ndarray(d[np.asarray(indices, dtype=np.int64)]))
            else:
                return None
        return parts[0] if len(parts) == 1 else parts


def _take_rows(tensor, indices):
    return keras.ops.take(tensor, indices, axis=0)


class RecordFileDataset(Dataset):
    """A RecordIO (``.rec`` + ``.idx``) file; each sample is a record's raw bytes."""

    def __init__(self, filename):
        from keras_defer.gluon.data import recordio

        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)


class _DownloadedDataset(Dataset):
    """Base of MNIST, CIFAR10, ...: ``_get_data`` fills ``_data`` (an NDArray) and
    ``_label`` (a numpy array); a sample is ``(data[i], label[i])``, through
    ``transform`` if given."""

    def __init__(self, root, transform):
        super().__init__()
        self._transform = transform
        self._data = None
        self._label = None
        self._host = None  # numpy copy of _data (see module doc)
        root = os.path.expanduser(root)
        self._root = root
        if not os.path.isdir(root):
            os.makedirs(root)
        self._get_data()

    def __getitem__(self, idx):
        if host.IN_WORKER:
            item = self._host_data()[idx]
        else:
            item = self._data[idx]  # a view, as MXNet's
            if isinstance(idx, (int, np.integer)):
                host.remember(item, self._host_data()[idx].view(np.ndarray), base=self._data)
        if self._transform is not None:
            return self._transform(item, self._label[idx])
        return item, self._label[idx]

    def __len__(self):
        return len(self._label)

    def _host_data(self):
        """A numpy copy of ``_data`` (HostNDArray), remade if ``_data`` was written."""
        tensor = self._data._data
        if self._host is None or self._host[0] is not tensor:
            self._host = (tensor, np.asarray(self._data.asnumpy()).view(host.HostNDArray))
        return self._host[1]

    def _prepare_for_workers(self):
        self._host_data()

    def _get_data(self):
        raise NotImplementedError
