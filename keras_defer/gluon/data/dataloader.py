"""``mxnet.gluon.data.DataLoader``: a dataset read in mini-batches, by the calling
thread or by parallel workers.

MXNet 1.9.1's arguments, checks, error texts and iteration protocol (``auto_reload``,
``refresh``, ``clean``, ``prefetch``, ``timeout``), with three differences of means,
not of results:

* **Process workers never touch the backend.** They are forked from a parent running
  TensorFlow/JAX/PyTorch, which are not fork-safe, so inside a worker the datasets and
  transforms of ``gluon.data`` compute in numpy (``host``); batches come back as numpy
  and the parent makes them NDArrays. A custom ``batchify_fn`` runs in the parent, on
  the samples the workers read (so it sees NDArrays, as in MXNet).
* **Batches are on ``cpu(0)``**, not MXNet's ``cpu_shared(0)`` (no shared-memory
  context here); ``pin_memory`` is accepted and leaves them there.
* **An ``ArrayDataset`` of arrays is gathered in one step per batch** (one numpy or
  backend gather per member instead of stacking item by item): the same values,
  dtypes and types as ``default_batchify_fn`` gives.
"""

import atexit
import gc
import multiprocessing
import multiprocessing.pool
import os
import random
import signal
import warnings
import weakref
from multiprocessing.pool import ThreadPool

import numpy as np

from keras_defer.gluon.data import host
from keras_defer.gluon.data import sampler as _sampler
from keras_defer.gluon.data.dataset import ArrayDataset
from keras_defer.nd import NDArray

__all__ = ["DataLoader"]  # as MXNet: the batchify functions are dataloader.*


def default_batchify_fn(data):
    """Collate samples into a batch: NDArrays stacked, tuples batched element-wise
    (a list comes back), anything else through ``numpy.asarray`` (dtype kept)."""
    if host.IN_WORKER:
        return host.batchify(data)
    from keras_defer import nd

    if isinstance(data[0], NDArray):
        values = [host.known_value(d) for d in data]
        if all(v is not None for v in values):  # items gluon.data made: stack on the host
            return host.ndarray(np.stack(values))
        return nd.stack(*data)
    if isinstance(data[0], tuple):
        data = zip(*data)
        return [default_batchify_fn(i) for i in data]
    data = np.asarray(data)
    return nd.array(data, dtype=data.dtype)


def default_mp_batchify_fn(data):
    """``default_batchify_fn`` for workers (MXNet's stacks into shared memory)."""
    return default_batchify_fn(data)


_DEFAULT_BATCHIFY = (default_batchify_fn, default_mp_batchify_fn)


def _pinned(batch, device_id):
    """MXNet copies a batch into ``cpu_pinned(device_id)``, page-locked host memory for
    faster copies to a GPU; the backends manage host memory themselves, so the batch
    stays where it is (``cpu(0)``)."""
    return batch


# -- process workers ----------------------------------------------------------------
_worker_dataset = None


def _worker_initializer(dataset):
    """In each forked worker: the dataset, and host mode on (see ``host``)."""
    global _worker_dataset
    _worker_dataset = dataset
    host.IN_WORKER = True
    # Never collect what was inherited (MXNet instead runs gc.collect() before forking,
    # 0.7 s with TensorFlow loaded): freeing a parent's tensor in a fork would call the
    # backend (on a GPU, a CUDA context that is not valid here).
    gc.freeze()
    # Forked workers inherit one random state: reseed so random transforms differ.
    seed = int.from_bytes(os.urandom(4), "little")
    np.random.seed(seed)
    random.seed(seed)


class _HostRows:
    """An NDArray used directly as a dataset, as workers read it: its rows as
    HostNDArrays (a 1-D array's items keep MXNet's shape (1,))."""

    def __init__(self, array):
        self._array = np.asarray(array.asnumpy()).view(host.HostNDArray)

    @classmethod
    def of(cls, dataset):
        return cls(dataset) if isinstance(dataset, NDArray) else dataset

    def __len__(self):
        return len(self._array)

    def __getitem__(self, idx):
        if self._array.ndim == 1:
            return self._array[idx:idx + 1]
        return self._array[idx]


def _worker_fn(samples, batchify):
    """Read ``samples`` in a worker; batch them on host values if ``batchify``, else
    send the samples back for the parent's batchify_fn."""
    items = [_worker_dataset[i] for i in samples]
    if batchify:
        return host.batchify(items)
    return host.to_worker_result(items)


def _thread_worker_fn(samples, batchify_fn, dataset):
    """Threadpool worker function for processing data."""
    return batchify_fn([dataset[i] for i in samples])


_LIVE_POOLS = weakref.WeakSet()
"""Worker pools not terminated yet: ``atexit`` terminates them while the interpreter
is whole (a pool left to the garbage collector at shutdown prints a traceback)."""


@atexit.register
def _terminate_live_pools():
    for pool in list(_LIVE_POOLS):
        pool.terminate()


def _fork_context():
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class _MultiWorkerIter:
    """One epoch over a worker pool: up to ``prefetch`` batches in flight, returned in
    order."""

    def __init__(self, worker_pool, batchify_fn, batch_sampler, pin_memory=False,
                 pin_device_id=0, thread_pool=False, prefetch=0, dataset=None,
                 data_loader=None, timeout=120):
        self._worker_pool = worker_pool
        self._batchify_fn = batchify_fn
        self._batch_sampler = batch_sampler
        self._data_buffer = {}
        self._rcvd_idx = 0
        self._sent_idx = 0
        self._iter = iter(self._batch_sampler)
        self._thread_pool = thread_pool
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._dataset = dataset
        self._data_loader = data_loader
        self._timeout = timeout
        for _ in range(prefetch):
            self._push_next()

    def __len__(self):
        return len(self._batch_sampler)

    def _push_next(self):
        """Assign next batch workload to workers."""
        r = next(self._iter, None)
        if r is None:
            return
        if self._thread_pool:
            args = (_thread_worker_fn, (r, self._batchify_fn, self._dataset))
        else:
            indices = [int(i) for i in r]
            args = (_worker_fn, (indices, self._batchify_fn in _DEFAULT_BATCHIFY))
        self._data_buffer[self._sent_idx] = self._worker_pool.apply_async(*args)
        self._sent_idx += 1

    def __next__(self):
        self._push_next()
        if self._rcvd_idx == self._sent_idx:
            assert not self._data_buffer, "Data buffer should be empty at this moment"
            raise StopIteration

        assert self._rcvd_idx < self._sent_idx, "rcvd_idx must be smaller than sent_idx"
        assert self._rcvd_idx in self._data_buffer, "fatal error with _push_next, rcvd_idx missing"
        ret = self._data_buffer.pop(self._rcvd_idx)
        try:
            batch = ret.get(self._timeout)
            if not self._thread_pool:
                batch = host.to_parent(batch)
                if self._batchify_fn not in _DEFAULT_BATCHIFY:
                    batch = self._batchify_fn(batch)
            if self._pin_memory:
                batch = _pinned(batch, self._pin_device_id)
            self._rcvd_idx += 1
            return batch
        except multiprocessing.context.TimeoutError:
            msg = '''Worker timed out after {} seconds. This might be caused by \n
            - Slow transform. Please increase timeout to allow slower data loading in each worker.
            '''.format(self._timeout)
            if not isinstance(self._worker_pool, multiprocessing.pool.ThreadPool):
                msg += '''- Insufficient shared_memory if `timeout` is large enough.
            Please consider reduce `num_workers` or increase shared_memory in system.
            '''
            print(msg)
            raise
        except Exception:
            self._worker_pool.terminate()
            raise

    def next(self):
        return self.__next__()

    def __iter__(self):
        return self


class DataLoader:
    """Loads data from a dataset and returns mini-batches of data.

    Parameters (MXNet 1.9.1's)
    ----------
    dataset : Dataset (an NDArray or numpy array works too)
    batch_size : int
    shuffle : bool -- mutually exclusive with ``sampler``
    sampler : Sampler
    last_batch : {'keep', 'discard', 'rollover'}, default 'keep'
    batch_sampler : Sampler of index lists; excludes batch_size, shuffle, sampler, last_batch
    batchify_fn : callable merging a list of samples; default ``default_batchify_fn``
    num_workers : int, default 0 -- worker processes (see the module doc)
    pin_memory, pin_device_id : batches are moved to ``cpu_pinned(pin_device_id)``
    prefetch : int, default ``2 * num_workers`` -- batches requested ahead
    thread_pool : bool, default False -- threads instead of processes
    timeout : int, default 120 -- seconds to wait for one batch from a worker
    auto_reload : bool, default False -- prefetch the next epoch when one ends
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None,
                 last_batch=None, batch_sampler=None, batchify_fn=None,
                 num_workers=0, pin_memory=False, pin_device_id=0,
                 prefetch=None, thread_pool=False, timeout=120, auto_reload=False):
        self._worker_pool = None  # first, so __del__ works after a failed check
        self._dataset = dataset
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._thread_pool = thread_pool
        self._timeout = timeout
        assert timeout > 0, "timeout must be positive, given {}".format(timeout)

        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("batch_size must be specified unless "
                                 "batch_sampler is specified")
            if sampler is None:
                if shuffle:
                    sampler = _sampler.RandomSampler(len(dataset))
                else:
                    sampler = _sampler.SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("shuffle must not be specified if sampler is specified")

            batch_sampler = _sampler.BatchSampler(
                sampler, batch_size, last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or \
                last_batch is not None:
            raise ValueError("batch_size, shuffle, sampler and last_batch must "
                             "not be specified if batch_sampler is specified.")

        self._batch_sampler = batch_sampler
        self._num_workers = num_workers if num_workers >= 0 else 0
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * self._num_workers)
        if self._num_workers > 0:
            if self._thread_pool:
                self._worker_pool = ThreadPool(self._num_workers)
            else:
                host.prepare(self._dataset)
                # workers ignore Ctrl-C; the parent stops them (as MXNet)
                original_sigint_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
                try:
                    with warnings.catch_warnings():
                        # JAX warns that a fork may deadlock; workers never call JAX
                        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called",
                                                category=RuntimeWarning)
                        self._worker_pool = _fork_context().Pool(
                            self._num_workers, initializer=_worker_initializer,
                            initargs=[_HostRows.of(self._dataset)])
                finally:
                    signal.signal(signal.SIGINT, original_sigint_handler)
            _LIVE_POOLS.add(self._worker_pool)
        if batchify_fn is None:
            if num_workers > 0:
                self._batchify_fn = default_mp_batchify_fn
            else:
                self._batchify_fn = default_batchify_fn
        else:
            self._batchify_fn = batchify_fn
        self.auto_reload = auto_reload
        if self.auto_reload:
            self.refresh()
        else:
            self.clean()  # ensure self._iter exists.

    def __iter__(self):
        if self._iter is None:
            self.refresh()
        t = self._iter
        self._iter = None  # ensure a single iter would not using twice.
        for item in t:
            yield item
        if self._iter is None and self.auto_reload:
            # ensure we do not waste any exist iter by mistake
            self.refresh()

    def _prefetch_iter(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        return _MultiWorkerIter(self._worker_pool, self._batchify_fn, self._batch_sampler,
                                pin_memory=self._pin_memory, pin_device_id=self._pin_device_id,
                                thread_pool=self._thread_pool, prefetch=self._prefetch,
                                dataset=self._dataset if self._thread_pool else None,
                                data_loader=self, timeout=self._timeout)

    def _same_process_iter(self):
        gather = None
        if type(self._dataset) is ArrayDataset and self._batchify_fn is default_batchify_fn:
            gather = self._dataset._gather
        for batch in self._batch_sampler:
            ret = gather(batch) if gather is not None else None
            if ret is None:
                ret = self._batchify_fn([self._dataset[idx] for idx in batch])
            if self._pin_memory:
                ret = _pinned(ret, self._pin_device_id)
            yield ret

    def __len__(self):
        return len(self._batch_sampler)

    def __del__(self):
        pool = self.__dict__.get("_worker_pool")
        if pool is not None:
            # terminate by hand: a pool is not terminated on its own (bpo-34172)
            self._worker_pool = None
            try:
                pool.terminate()
            except Exception:  # noqa: BLE001 (interpreter shutdown: modules half gone)
                pass

    def refresh(self):
        """Refresh its iter, fetch data again from its dataset"""
        self._iter = self._prefetch_iter()

    def clean(self):
        """Remove its prefetched iter, the prefetch step will start after call its __iter__()"""
        self._iter = None
