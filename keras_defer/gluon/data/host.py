"""Host values: what an NDArray is inside a DataLoader worker process.

MXNet's process workers build NDArrays and send them through shared memory. Ours are
forked from a parent that has started TensorFlow, JAX or PyTorch, and none of those
runtimes promises to work in a forked child (JAX deadlocks). So a worker never touches
the backend: the datasets and transforms of ``gluon.data`` give, inside a worker, a
``HostNDArray`` (a numpy array marked "this is an NDArray in MXNet") where they give
an NDArray in the parent; batches travel back as numpy, and the parent makes the
marked ones NDArrays again (``to_parent``). User code that only uses numpy-compatible
methods (``x.astype('float32') / 255``, ``x.shape``) runs unchanged on both.

``IN_WORKER`` is True only in a worker process (set by the pool's initializer).

In the parent, the same kernels run on numpy too, and per-sample values avoid device
round trips: a transform's output is a ``FromHost`` NDArray that makes its tensor only
when something reads it, a dataset item's numpy value is noted by ``remember``, and
``host_value`` / ``known_value`` give either back without a copy, so a chain of
transforms and a host-stacked batch (``default_batchify_fn``) never touch the device
per sample. Writes are seen: a written ``FromHost`` drops its numpy value, and a
remembered value is used only while its array still holds the same tensor.
"""

import weakref

import numpy as np

IN_WORKER = False

_KNOWN = {}
"""id(NDArray) -> (weak reference to it, the NDArray whose tensor it reads (itself, or
a view's base), that tensor, the numpy value): valid while that tensor is unchanged."""


def remember(x, value, base=None):
    """Note that NDArray ``x`` holds the numpy ``value`` for as long as ``base``
    (``x`` itself, or the array ``x`` is a view of) keeps its current tensor. Nothing
    may write into ``value`` afterwards."""
    base = x if base is None else base
    key = id(x)
    ref = weakref.ref(x, lambda _, key=key, known=_KNOWN: known.pop(key, None))
    _KNOWN[key] = (ref, base, _tensor_of(base), value)


def _tensor_of(array):
    """The tensor ``array`` holds now (a view derives a new one per read, so a view as
    ``base`` is never found valid: correct, only slower)."""
    return array._data


class HostNDArray(np.ndarray):
    """A numpy array standing for an NDArray inside a worker process (see module doc)."""

    def asnumpy(self):
        return np.asarray(self).copy()


def _is_ndarray(value):
    from keras_defer.nd import NDArray

    return isinstance(value, NDArray)


def _wrap(values):
    """A plain NDArray holding ``values``, a numpy array that nothing writes afterwards
    (the tensor may share its memory), on the current context; for batches, which are
    used at once."""
    from keras_defer import backend
    from keras_defer.context import device_scope
    from keras_defer.nd.ndarray import wrap

    with device_scope(None):
        return wrap(backend.from_numpy(np.ascontiguousarray(values)))


def _lazy(values):
    """Like ``_wrap``, its tensor made when first used (``FromHost``): for per-sample
    values, which mostly go on to the next transform or into a host-stacked batch."""
    return _from_host_class()(np.ascontiguousarray(values))


_FROM_HOST = None


def _from_host_class():
    """``FromHost``, made on first use (this module must import without the backend)."""
    global _FROM_HOST
    if _FROM_HOST is None:
        from keras_defer import backend
        from keras_defer.context import device_scope
        from keras_defer.nd import NDArray
        from keras_defer.nd._backend import NUMPY_TYPES

        class FromHost(NDArray):
            """An NDArray ``gluon.data`` made from a numpy value (a transform's output, a
            batch): its tensor is made on the current context when something first
            reads it, so a sample that only goes on to the next transform or into a
            host-stacked batch never makes one. Everything else is NDArray's."""

            __slots__ = ("_value", "_tensor")

            def __init__(self, value):
                self._value = value
                self._tensor = None
                self._grad = None
                self._grad_req = "null"

            @property
            def _data(self):
                tensor = self._tensor
                if tensor is None:
                    with device_scope(None):
                        tensor = self._tensor = backend.from_numpy(self._value)
                return tensor

            @_data.setter
            def _data(self, tensor):
                self._tensor = tensor
                self._value = None  # written: the numpy value is stale

            @property
            def shape(self):
                return self._value.shape if self._tensor is None else tuple(self._tensor.shape)

            @property
            def ndim(self):
                return len(self.shape)

            @property
            def size(self):
                return int(np.prod(self.shape))

            @property
            def dtype(self):
                if self._tensor is None and self._value.dtype.name in NUMPY_TYPES:
                    return NUMPY_TYPES[self._value.dtype.name]
                return NDArray.dtype.fget(self)

        # It is an NDArray in every respect but laziness: it prints as one (as MXNet's
        # ``type(x)`` does) and pickles and copies into a plain one.
        FromHost.__module__ = NDArray.__module__
        FromHost.__name__ = FromHost.__qualname__ = "NDArray"
        _FROM_HOST = FromHost
    return _FROM_HOST


def as_ndarray(values):
    """``values`` (a numpy array nothing writes afterwards) as the dataset's item: an
    NDArray in the parent (dtype kept), a ``HostNDArray`` in a worker."""
    if IN_WORKER:
        return np.asarray(values).view(HostNDArray)
    return _wrap(values)


def ndarray(values):
    """``values`` (numpy, not written afterwards) as an NDArray (dtype kept)."""
    return _wrap(values)


def like(template, values):
    """``values`` (numpy, not written afterwards) in the kind of ``template``: NDArray,
    HostNDArray or numpy."""
    if _is_ndarray(template):
        return _lazy(values)
    if isinstance(template, HostNDArray):
        return np.asarray(values).view(HostNDArray)
    return np.asarray(values)


def host_value(x):
    """The numpy value of an NDArray, HostNDArray or numpy array, for reading only
    (no copy where one is known: numpy, or an NDArray ``remember`` noted)."""
    if _is_ndarray(x):
        value = known_value(x)
        return x.asnumpy() if value is None else value
    return np.asarray(x)


def known_value(x):
    """The numpy value of NDArray ``x`` where the data package knows it without a
    device read (a ``FromHost`` not written since, or what ``remember`` noted and is
    still valid), else None."""
    if type(x) is _FROM_HOST:
        return x._value
    entry = _KNOWN.get(id(x))
    if entry is not None and entry[0]() is x and _tensor_of(entry[1]) is entry[2]:
        return entry[3]
    return None


def to_worker_result(value):
    """What a worker sends back: NDArrays (from user code) as HostNDArrays, in tuples
    and lists too (they pickle as plain numpy arrays of a marked class)."""
    if _is_ndarray(value):
        return value.asnumpy().view(HostNDArray)
    if isinstance(value, tuple):
        return tuple(to_worker_result(v) for v in value)
    if isinstance(value, list):
        return [to_worker_result(v) for v in value]
    return value


def to_parent(value):
    """A worker's result in the parent: HostNDArrays become NDArrays (dtype kept)."""
    if isinstance(value, HostNDArray):
        return _wrap(value.view(np.ndarray))
    if isinstance(value, tuple):
        return tuple(to_parent(v) for v in value)
    if isinstance(value, list):
        return [to_parent(v) for v in value]
    return value


def batchify(data):
    """``default_batchify_fn`` on host values: every leaf becomes a HostNDArray
    (the default batchify always gives NDArrays)."""
    if isinstance(data[0], HostNDArray) or _is_ndarray(data[0]):
        return np.stack([host_value(d) for d in data]).view(HostNDArray)
    if isinstance(data[0], tuple):
        return [batchify(list(i)) for i in zip(*data)]
    return np.asarray(data).view(HostNDArray)


def prepare(dataset):
    """Before forking workers: let ``dataset`` (and the datasets it wraps) keep numpy
    copies of what it holds as NDArrays, so workers read them without the backend."""
    hook = getattr(dataset, "_prepare_for_workers", None)
    if hook is not None:
        hook()
