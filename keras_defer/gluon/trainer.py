"""``gluon.Trainer`` (MXNet 1.9.1): apply an ``Optimizer`` to a set of Parameters.

::

    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward()
    trainer.step(batch_size)          # gradients scaled by 1/batch_size, weights updated

The optimizer (``keras_defer.optimizer``) writes each parameter's ``data()``, an NDArray
that assigns to the parameter's one Keras variable: updates are in place, so Keras
(``compile()``/``fit()``, a Keras optimizer's slots, saved models) sees every step, and
a Trainer keeps working after ``fit()`` moved the same variables.

What differs from MXNet (docs/divergences.md, "gluon.Trainer"):

* one process: ``kvstore`` 'device', 'local' or any non-distributed name is MXNet's
  local KVStore. On one context there is nothing to reduce (MXNet's single-device case:
  updates in the Trainer); on several (``net.initialize(ctx=[...])``,
  ``keras_defer.multi_device``) the copies' gradients are summed and every copy gets
  the same update, as MXNet's kvstore does (``update_on_kvstore`` None/True or False).
  'dist_*' names, and ``update_on_kvstore=True`` on one context, are refused with a
  ValueError saying so (MXNet fails there with an error from its parameter server or an
  AttributeError); KVStore objects do not exist (TypeError, MXNet's text).
* a step that reports a stale gradient changes nothing (MXNet has already marked the
  gradients of the parameters before it as used);
* ``save_states`` writes a data-only file (``.npz`` with a JSON header), not a pickle,
  and ``load_states`` refuses anything else: loading never runs code from the file.
"""

import json
import numbers
import zipfile

import numpy as np

from keras_defer import multi_device
from keras_defer import optimizer as opt
from keras_defer.nd.ndarray import NDArray
from keras_defer.parameter import Parameter, ParameterDict

__all__ = ["Trainer"]

STALE_GRADIENT = (
    "Gradient of Parameter `%s` on context %s has not been updated "
    "by backward since last `step`. This could mean a bug in your "
    "model that made it only use a subset of the Parameters (Blocks) "
    "for this iteration. If you are intentionally only using a subset, "
    "call step with ignore_stale_grad=True to suppress this "
    "warning and skip updating of Parameters with stale gradient")
"""MXNet's text; raised as a ``UserWarning`` exception, as MXNet does."""

NOT_A_PARAMETER_LIST = "First argument must be a list or dict of Parameters, got %s."
BAD_KVSTORE = "kvstore must be KVStore, str or None"


def _parameter_list(params):
    """``params`` as MXNet orders them: a dict's or ParameterDict's values by sorted key,
    a list's or tuple's as given (a parameter listed twice stays twice, as in MXNet:
    its second entry reads as a stale gradient at the first step)."""
    if isinstance(params, (dict, ParameterDict)):
        params = [params[key] for key in sorted(list(params.keys()))]
    if not isinstance(params, (list, tuple)):
        raise ValueError(NOT_A_PARAMETER_LIST % (type(params),))
    for param in params:
        if not isinstance(param, Parameter):
            raise ValueError(NOT_A_PARAMETER_LIST % ("list of %s" % (type(param),)))
    return list(params)


class Trainer:
    """Applies an ``Optimizer`` on a set of Parameters; use it with ``autograd``.

    Parameters
    ----------
    params : ParameterDict, dict or list of Parameter
        The parameters to optimize; they may still wait for their first forward pass
        (deferred initialization) when the Trainer is made.
    optimizer : str or Optimizer
        A registered optimizer's name (``'sgd'``, ``'adam'``, ...) or an instance.
    optimizer_params : dict
        Keyword arguments for the optimizer's constructor (only with a name), e.g.
        ``{'learning_rate': 0.1, 'wd': 1e-4}``.
    kvstore : str or None
        MXNet's multi-device setting. Parameters on one context: every
        non-distributed value means "no KVStore" (MXNet's one-device case). On several
        contexts, any non-distributed name sums the copies' gradients as MXNet's local
        KVStore does; None leaves each copy to its own gradient (``multi_device``).
    compression_params : dict
        Gradient compression for a KVStore; kept, unused without one (as in MXNet).
    update_on_kvstore : bool or None
        One context: only None or False. Several contexts: None or True (MXNet's
        default there: the summed gradient updates every copy alike; each copy keeps its
        own gradient) or False (the sum is written into every copy's gradient first).
    """

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device",
                 compression_params=None, update_on_kvstore=None):
        self._params = _parameter_list(params)
        self._param2idx = {param.name: i for i, param in enumerate(self._params)}
        self._compression_params = compression_params
        self._contexts = self._check_contexts()
        self._init_optimizer(optimizer, optimizer_params if optimizer_params else {})
        self._scale = self._optimizer.rescale_grad
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kv_initialized = False
        self._multi_kvstore = False  # several contexts and a kvstore (_init_kvstore)
        self._kvstore = None
        self._update_on_kvstore = None
        self._distributed = None

    def _check_contexts(self):
        contexts = None
        for param in self._params:
            ctx = param.list_ctx()  # MXNet's RuntimeError for a never-initialized one
            assert contexts is None or contexts == ctx, \
                "All Parameters must be initialized on the same set of contexts, " \
                "but Parameter %s is initialized on %s while previous Parameters " \
                "are initialized on %s." % (param.name, str(ctx), str(contexts))
            contexts = ctx
        return contexts

    def _init_optimizer(self, optimizer, optimizer_params):
        param_dict = {i: param for i, param in enumerate(self._params)}
        if isinstance(optimizer, opt.Optimizer):
            assert not optimizer_params, \
                "optimizer_params must be None if optimizer is an instance of " \
                "Optimizer instead of str"
            self._optimizer = optimizer
            # not a copy: lr_mult/wd_mult changed on a Parameter later take effect
            self._optimizer.param_dict = param_dict
        else:
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        self._updaters = [opt.get_updater(self._optimizer) for _ in (self._contexts or [None])]

    def _init_kvstore(self):
        """Settle the kvstore at the first step, as MXNet does: every parameter must be
        initialized by then (MXNet's errors for deferred and uninitialized ones)."""
        for param in self._params:
            param.data()
        config = self._kvstore_params
        kvstore = config["kvstore"]
        if kvstore is not None and not isinstance(kvstore, str):
            raise TypeError(
                BAD_KVSTORE + " (got %r). keras_defer holds one copy of each parameter "
                "and has no KVStore objects: pass 'device', 'local' or None."
                % (type(kvstore).__name__,))
        if isinstance(kvstore, str) and "dist" in kvstore:
            raise ValueError(
                "kvstore=%r: distributed training is not supported by keras_defer (one "
                "process, one copy of each parameter). Pass 'device', 'local' or None, "
                "or distribute with Keras (keras.distribution)." % (kvstore,))
        contexts = self._check_contexts()
        several = contexts is not None and len(contexts) > 1
        if config["update_on_kvstore"] and not several:
            raise ValueError(
                "update_on_kvstore=True needs a KVStore, and kvstore=%r makes none here "
                "(keras_defer holds one copy of each parameter; MXNet makes none on one "
                "device either). Leave update_on_kvstore as None or False." % (kvstore,))
        self._kvstore = None
        self._update_on_kvstore = None
        # several contexts: MXNet's kvstore sums the copies' gradients and, unless
        # update_on_kvstore=False, updates the weights itself (multi_device)
        self._multi_kvstore = several and kvstore is not None
        if self._multi_kvstore:
            self._update_on_kvstore = config["update_on_kvstore"] is not False
        self._distributed = False
        self._kv_initialized = True

    # -- the optimizer --------------------------------------------------------------
    @property
    def learning_rate(self):
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning "
                              "rate can be accessed.")
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        if isinstance(self._optimizer, opt.Optimizer):
            return self._optimizer
        raise UserWarning("Optimizer has not been initialized yet")

    def set_learning_rate(self, lr):
        """Sets a new learning rate of the optimizer."""
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning "
                              "rate is mutated.")
        self._optimizer.set_learning_rate(lr)

    # -- steps ----------------------------------------------------------------------
    def step(self, batch_size, ignore_stale_grad=False):
        """One update of every parameter from its gradient, scaled by ``1/batch_size``
        (pass 1 if the loss is already a mean). Call after ``backward()``, outside
        ``record()``. A parameter whose gradient no backward wrote since the last step
        raises MXNet's ``UserWarning`` (nothing is updated then), or, with
        ``ignore_stale_grad=True``, is skipped. Parameters on several contexts:
        ``multi_device`` (the copies' gradients are summed, every copy updated)."""
        self._optimizer.rescale_grad = self._scale / batch_size
        if not self._kv_initialized:
            self._init_kvstore()
        if self._update_on_kvstore is False:  # MXNet's pushpull of the gradients
            self._plan_update(ignore_stale_grad)  # refuse before anything changes
            self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Reduce each parameter's gradients over its contexts: every copy's gradient
        becomes the sum over the copies (one context: nothing to do beyond MXNet's
        checks). Then call ``update``."""
        if not self._kv_initialized:
            self._init_kvstore()
        self._check_not_updating_on_kvstore("allreduce_grads()")
        self._allreduce_grads()

    def _allreduce_grads(self):
        if self._multi_kvstore:
            multi_device.allreduce_grads(self._params)  # one batch per set of contexts

    def update(self, batch_size, ignore_stale_grad=False):
        """``step`` without ``allreduce_grads`` (call that first)."""
        if not self._kv_initialized:
            self._init_kvstore()
        self._check_not_updating_on_kvstore("update()")
        self._optimizer.rescale_grad = self._scale / batch_size
        self._update(ignore_stale_grad)

    def _check_not_updating_on_kvstore(self, what):
        if self._update_on_kvstore:
            raise AssertionError(
                "%s when parameters are updated on kvstore is not supported. Try setting "
                "`update_on_kvstore` to False when creating trainer." % what)

    def _update(self, ignore_stale_grad=False):
        indices, grads, weights, used = self._plan_update(ignore_stale_grad)
        if self._update_on_kvstore:
            # MXNet's kvstore update (several contexts): the summed gradient updates
            # one weight, which every copy then takes; MXNet leaves the fresh flags set
            if indices:
                self._updaters[0](indices, multi_device.summed_grads(used), weights)
                multi_device.broadcast(used)
            return
        for param in used:
            multi_device.consume_grads(param)
        if not indices:
            return
        self._updaters[0](indices, grads, weights)
        if self._multi_kvstore:  # every copy holds the sum: the same update for all
            multi_device.broadcast(used)
        elif self._contexts and len(self._contexts) > 1:  # no kvstore: each its own
            for updater, ctx in zip(self._updaters[1:], self._contexts[1:]):
                updater(indices, [p.grad(ctx) for p in used], [p.data(ctx) for p in used])

    def _plan_update(self, ignore_stale_grad):
        """What a step updates, in order, checked before anything changes: MXNet's walk
        over the parameters, where a parameter listed twice is fresh only once."""
        indices, grads, weights, used = [], [], [], []
        seen = set()
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            fresh = multi_device.grads_fresh(param) and id(param) not in seen
            if not fresh and not ignore_stale_grad:
                raise UserWarning(STALE_GRADIENT % (param.name,
                                                    multi_device.stale_context(param)))
            if fresh or not ignore_stale_grad:
                indices.append(i)
                first = multi_device.first_context(param)  # copy 0 (None: one copy)
                grads.append(param.grad(first))
                weights.append(param.data(first))
                used.append(param)
                seen.add(id(param))
        return indices, grads, weights, used

    # -- states ---------------------------------------------------------------------
    def save_states(self, fname):
        """Save the optimizer's states (momentum, ...) and settings to ``fname``, in
        keras_defer's data-only format (not MXNet's pickle). The parameters' ``lr_mult``
        and ``wd_mult`` are not saved (as in MXNet)."""
        assert self._optimizer is not None
        if not self._kv_initialized:
            self._init_kvstore()
        _save_states(fname, self._updaters[0])

    def load_states(self, fname):
        """Load what ``save_states`` wrote: the optimizer's settings and states. Files
        that are not keras_defer's trainer-states format (an MXNet pickle included) are
        refused without being executed."""
        if not self._kv_initialized:
            self._init_kvstore()
        optimizer, states = _load_states(fname)  # checks all before anything changes
        updaters = [opt.get_updater(optimizer) for _ in self._updaters]
        for updater in updaters:
            # new Updaters: one made for another optimizer would keep its aggregation
            # (MXNet's, made for SGD, fails its next step on a loaded Adam)
            updater.states = dict(states)
            updater.states_synced = dict.fromkeys(states, False)
        self._updaters = updaters
        self._optimizer = optimizer
        self._optimizer.param_dict = {i: param for i, param in enumerate(self._params)}


# -- the trainer-states file ---------------------------------------------------------
# An ``.npz`` holding one JSON header (``__header__``, uint8) and the state arrays
# (``a0``, ``a1``, ...). The header names the optimizer's registered class and holds its
# settings as tagged data; loading makes the object from keras_defer's own registry
# and sets those data attributes, so nothing in the file is ever run (numpy loads with
# ``allow_pickle=False``). MXNet pickles ``(states, optimizer)`` instead.

STATES_FORMAT = "keras_defer.trainer_states"
STATES_VERSION = 1
_MAX_HEADER_BYTES = 1 << 24
#: JSON nesting a states header may have (ours: a few levels per nested state);
#: deeper is refused before parsing, never a RecursionError.
_MAX_HEADER_DEPTH = 64


class _Encoder:
    """Optimizer settings and states as JSON-able tagged data plus a list of arrays."""

    def __init__(self):
        self.arrays = {}

    def value(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            value = float(value)
            return value if np.isfinite(value) else {"t": "float", "v": repr(value)}
        if isinstance(value, NDArray):
            return self.array(value.asnumpy(), "ndarray")
        if isinstance(value, np.ndarray):
            return self.array(value, "numpy")
        if isinstance(value, (tuple, list)):
            return {"t": type(value).__name__,
                    "v": [self.value(v, "%s[%d]" % (where, i)) for i, v in enumerate(value)]}
        if isinstance(value, dict):
            return {"t": "dict", "v": [[self.value(k, where), self.value(v, "%s[%r]" % (where, k))]
                                       for k, v in value.items()]}
        scheduler = _lr_scheduler_class()
        if scheduler is not None and isinstance(value, scheduler):
            return {"t": "lr_scheduler", "class": type(value).__name__,
                    "v": self.attributes(value, where)}
        raise TypeError(
            "Trainer.save_states: %s is a %s, which keras_defer's trainer-states file "
            "cannot hold (it holds numbers, strings, arrays, tuples, lists, dicts and "
            "keras_defer's LR schedulers). Set it to one of those before saving."
            % (where, type(value).__name__))

    def array(self, array, tag):
        if array.dtype == object:
            raise TypeError("Trainer.save_states: an object array cannot be saved")
        key = "a%d" % len(self.arrays)
        self.arrays[key] = array
        return {"t": tag, "v": key}

    def attributes(self, obj, where):
        return {name: self.value(value, "%s.%s" % (where, name))
                for name, value in vars(obj).items() if name != "param_dict"}


def _save_states(fname, updater):
    optimizer = updater.optimizer
    encoder = _Encoder()
    counts = getattr(optimizer, "_all_index_update_counts", {})
    current = next((k for k, v in counts.items() if v is optimizer._index_update_count), None)
    header = {
        "format": STATES_FORMAT, "version": STATES_VERSION,
        "optimizer": _registered_name(optimizer),
        "settings": encoder.attributes(optimizer, "optimizer"),
        "update_count_device": encoder.value(current, "device"),
        "states": encoder.value(updater.states, "states"),
    }
    text = json.dumps(header).encode("utf-8")
    from keras_defer.mxnet_format import atomic_file

    # the name as given (np.savez would add .npz); a failed write keeps the old file
    with atomic_file(fname) as handle:
        np.savez(handle, __header__=np.frombuffer(text, dtype=np.uint8), **encoder.arrays)


def _registered_name(optimizer):
    for name, klass in opt.Optimizer.opt_registry.items():
        if klass is type(optimizer):
            return name
    raise TypeError(
        "Trainer.save_states: the optimizer's class %s is not registered "
        "(mx.optimizer.register), so a loaded file could not make it again. Register it "
        "before saving." % type(optimizer).__name__)


def _lr_scheduler_class():
    try:
        from keras_defer import lr_scheduler
    except ImportError:  # pragma: no cover  (written alongside the optimizers)
        return None
    return lr_scheduler.LRScheduler


class _Decoder:
    """The inverse of ``_Encoder``: data only; anything unexpected is refused."""

    def __init__(self, fname, arrays):
        self.fname = fname
        self.arrays = arrays

    def refuse(self, why):
        from keras_defer.mxnet_format import ParameterFileError  # also a ValueError

        raise ParameterFileError(
            "Trainer.load_states: %r is not a valid keras_defer trainer-states file (%s)."
            % (self.fname, why))

    def value(self, value):
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            self.refuse("an untagged list")
        if not isinstance(value, dict) or "t" not in value or "v" not in value:
            self.refuse("an unknown value %r" % (value,))
        tag, data = value["t"], value["v"]
        if tag in ("tuple", "list"):
            items = [self.value(v) for v in self.list_of(data)]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict":
            pairs = self.list_of(data)
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                self.refuse("a malformed dict")
            return {self.key(k): self.value(v) for k, v in pairs}
        if tag == "float":
            if data not in ("nan", "inf", "-inf"):
                self.refuse("a float %r" % (data,))
            return float(data)
        if tag in ("ndarray", "numpy"):
            if not isinstance(data, str) or data not in self.arrays:
                self.refuse("a missing array %r" % (data,))
            array = self.arrays[data]
            if tag == "numpy":
                return array
            from keras_defer import nd

            return nd.array(array, dtype=array.dtype)
        if tag == "lr_scheduler":
            base = _lr_scheduler_class()
            from keras_defer import lr_scheduler

            klass = getattr(lr_scheduler, str(value.get("class")), None)
            if base is None or not (isinstance(klass, type) and issubclass(klass, base)):
                self.refuse("an unknown LR scheduler %r" % (value.get("class"),))
            return self.instance(klass, data)
        self.refuse("an unknown tag %r" % (tag,))

    def key(self, key):
        key = self.value(key)
        if isinstance(key, (list, dict)):
            self.refuse("an unhashable key")
        return key

    def list_of(self, data):
        if not isinstance(data, list):
            self.refuse("%r where a list belongs" % (type(data).__name__,))
        return data

    def instance(self, klass, attributes):
        """A ``klass`` object holding ``attributes`` (made without its constructor,
        as unpickling does, but only ever of keras_defer's own classes)."""
        if not isinstance(attributes, dict):
            self.refuse("settings that are not a mapping")
        values = {}
        for name, value in attributes.items():
            if not name.isidentifier() or name.startswith("__"):
                self.refuse("an attribute named %r" % (name,))
            values[name] = self.value(value)
        obj = klass.__new__(klass)
        obj.__dict__.update(values)
        return obj


def _load_states(fname):
    """``(optimizer, states)`` read from ``fname``; raises before anything changes."""
    from keras_defer import mxnet_format, serialization

    try:
        # a regular file only (a pipe would block), every member's sizes checked
        # from the zip and npy headers before anything is inflated or allocated
        with mxnet_format.open_regular(fname) as handle:
            arrays = serialization.read_npz(handle, fname)
    except mxnet_format.ParameterFileError:
        raise
    except (ValueError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, RuntimeError,
            NotImplementedError):
        raise ValueError(
            "Trainer.load_states: %r is not a keras_defer trainer-states file (an .npz "
            "archive of plain arrays). MXNet's save_states files are pickles, which "
            "keras_defer never loads (a pickle can run code); save the states again "
            "with keras_defer's Trainer.save_states." % (fname,)) from None
    decoder = _Decoder(fname, arrays)
    raw = arrays.pop("__header__", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_HEADER_BYTES:
        decoder.refuse("no header")
    from keras_defer.mxnet_format import ParameterFileError

    try:
        header = serialization.parse_json(raw.tobytes(), fname, "the trainer-states "
                                          "header", max_depth=_MAX_HEADER_DEPTH)
    except ParameterFileError as exc:
        decoder.refuse("an unreadable header: %s" % exc)
    if not isinstance(header, dict) or header.get("format") != STATES_FORMAT:
        decoder.refuse("another format")
    if header.get("version") != STATES_VERSION:
        decoder.refuse("version %r; this keras_defer reads version %d"
                       % (header.get("version"), STATES_VERSION))
    klass = opt.Optimizer.opt_registry.get(header.get("optimizer"))
    if klass is None:
        decoder.refuse("the optimizer %r is not registered" % (header.get("optimizer"),))
    optimizer = decoder.instance(klass, header.get("settings"))
    states = decoder.value(header.get("states"))
    if not isinstance(states, dict):
        decoder.refuse("states that are not a mapping")
    counts = getattr(optimizer, "_all_index_update_counts", None)
    device = decoder.value(header.get("update_count_device"))
    if isinstance(counts, dict) and device in counts:
        optimizer._index_update_count = counts[device]  # one table, as pickle keeps it
    optimizer.param_dict = {}
    return optimizer, states
