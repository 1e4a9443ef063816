"""Gluon's multi-device idiom: one parameter, one copy per context.

MXNet 1.9.1's ``net.initialize(ctx=[ctx0, ctx1])`` gives every parameter one array per
context; a forward on data that lives on ``ctx1`` reads (and records against) the copy
on ``ctx1``; each copy has its own gradient buffer; ``trainer.step`` sums the copies'
gradients (the kvstore) and updates every copy identically::

    net.initialize(ctx=ctx)                           # ctx = [mx.gpu(0), mx.gpu(1)]
    xs = gluon.utils.split_and_load(x, ctx)
    ys = gluon.utils.split_and_load(y, ctx)
    with autograd.record():
        losses = [loss(net(xk), yk) for xk, yk in zip(xs, ys)]
    for l in losses:
        l.backward()
    trainer.step(batch_size)

Here copy 0 is the parameter's own Keras variable (the one Keras layers track, save,
fit and optimize); each further context gets a ``Replica``: a Keras variable made on
that context's device (a GPU, a TensorFlow logical CPU, a JAX forced host device; on
PyTorch every CPU context is the one "cpu" device), which no layer tracks.

* A forward on data placed for context k runs inside a Keras ``StatelessScope`` that
  maps each copy-0 variable to copy k's, so every Keras layer and every backend reads
  copy k, and autograd records against copy k's variable (its ``_write_grad`` takes the
  gradient). Updates made in the forward (BatchNorm's running statistics) land in copy k.
* The data's context is its device where the backend can tell devices apart, and the
  context ``split_and_load`` / ``as_in_context`` placed it for where it cannot (every CPU
  context is one device on PyTorch, and on TensorFlow or JAX without logical devices).
* Aggregation (``trainer.step``): the copies' gradients are summed onto copy 0's
  device by the engine's own collective where the copies sit on distinct devices
  (``backend.sum_across_devices``: ``tf.distribute``'s cross-device ops over a
  ``MirroredStrategy`` of the copies' devices on TensorFlow, ``torch.cuda.comm`` between
  GPUs on PyTorch), else with ``keras.ops.add`` after the backend's device copy (every
  copy on one device: PyTorch's CPU contexts, TensorFlow and JAX without logical
  devices). All parameters of one set of contexts go in one batch. The optimizer
  updates copy 0, whose new value is then assigned to every other copy (a device copy:
  what TensorFlow's cross-device broadcast does too): the sum and the broadcast Gluon's
  'device' kvstore computes. ``update_on_kvstore=False`` / ``allreduce_grads``: the
  collective's all-reduce writes the sum into every copy's gradient.
"""

import contextlib
import threading
import weakref

import keras

from keras_defer import backend
from keras_defer.backend.common import compiled_scope  # children run plain, too

__all__ = ["Replica", "note_placement", "placement_of", "routed_call", "sync",
           "copy_for", "grads_fresh", "stale_context", "summed_grad", "summed_grads",
           "consume_grads", "broadcast", "allreduce_into_copies", "allreduce_grads",
           "first_context", "not_on_context_message"]

_placements = {}
"""id(NDArray) -> (weak reference, the Context it was placed for): kept by
``as_in_context`` / ``split_and_load`` where the backend's device does not tell
(every CPU context is one device). NDArrays compare elementwise, so no weak dict."""

_active = False
"""Whether any parameter has ever held more than one copy: until then a block call
asks nothing more than this flag (a single-context net runs exactly as before)."""

_replica_contexts = set()
_first_contexts = set()
"""Every context a Replica was made for, and every context of a copy 0 that has
replicas: data on a first context (and on no replica's) needs no routing."""

_distinct_devices = False
"""Whether some copy lives on another device than its copy 0 (GPUs, logical devices):
only then does an unmarked array's device say which copy a forward reads."""

_local = threading.local()
"""``.routing``: the context whose copies this thread's forward reads now (a nested
block call inherits its parent's), or None."""


class Replica:
    """Copy k > 0 of a parameter: a Keras variable on context k's device, its gradient
    buffer and fresh flag. Looks enough like a ``Parameter`` for ``autograd`` (which
    writes gradients through ``_write_grad``) and for ``data(ctx)`` / ``grad(ctx)``."""

    __slots__ = ("_owner", "ctx", "variable", "_grad", "_fresh_grad", "_data_array",
                 "_grad_array", "__weakref__")

    def __init__(self, owner, ctx, value):
        self._owner = weakref.ref(owner)
        self.ctx = ctx
        with backend.concrete_scope(), _device_scope(ctx):
            self.variable = keras.Variable(
                _own_copy(value, ctx, owner._keras_dtype), dtype=owner._keras_dtype,
                trainable=owner.grad_req != "null",
                name="%s_copy_%s%d" % (owner.name, ctx.device_type, ctx.device_id))
        self._grad = None
        self._fresh_grad = False
        self._data_array = None
        self._grad_array = None

    @property
    def owner(self):
        return self._owner()

    @property
    def name(self):
        return self.owner.name

    @property
    def shape(self):
        return self.owner.shape

    @property
    def grad_req(self):
        return self.owner.grad_req

    def assign(self, value):
        self.variable.assign(_own_copy(value, self.ctx, self.owner._keras_dtype))

    def data(self):
        from keras_defer.nd.variable import VariableNDArray

        if self._data_array is None:
            self._data_array = VariableNDArray(self.variable, self)
        return self._data_array

    def grad(self):
        from keras_defer.parameter import _GradArray

        if self._grad_array is None:
            self._grad_array = _GradArray(self)
        return self._grad_array

    def _grad_tensor(self):
        if self._grad is None:
            with _device_scope(self.ctx):
                self._grad = keras.ops.zeros(self.shape, self.owner._keras_dtype)
        return self._grad

    def _write_grad(self, grad):
        """As ``Parameter._write_grad``: 'write' replaces, 'add' accumulates."""
        req = self.grad_req
        if req == "null":
            return
        dtype = self.owner._keras_dtype
        if keras.backend.standardize_dtype(grad.dtype) != dtype:
            grad = keras.ops.cast(grad, dtype)
        grad = backend.to_device(grad, self.ctx)  # a tape computes it where it runs
        if req == "add" and self._grad is not None:
            grad = keras.ops.add(self._grad, grad)
        self._grad = grad
        self._fresh_grad = True

    def _set_fresh_grad(self, fresh):
        self._fresh_grad = bool(fresh)


def _own_copy(value, ctx, dtype):
    """``value`` on ``ctx``'s device, sharing no storage with it: on one device the
    backend's device copy hands the same buffer back, and JAX's ``fit`` donates (deletes)
    copy 0's buffers."""
    return backend.snapshot(backend.to_device(value, ctx), dtype)


def _device_scope(ctx):
    """Keras's device scope for ``ctx``; none where Keras does not know the device
    (JAX's cpu:1 without forced host devices: ``backend.to_device`` puts the value on
    the host device, as every CPU context is there)."""
    try:
        return keras.device(ctx.keras_device)
    except ValueError:
        return contextlib.nullcontext()


# -- the copies of one parameter ---------------------------------------------------
def sync(param):
    """Make ``param``'s copies match its contexts, each holding copy 0's value: after
    anything that writes every copy in MXNet (initialize, set_data, load, cast,
    reset_ctx). Copies that exist are assigned (their identity is kept); missing ones
    are made; with one context (or no variable) there are none."""
    global _active
    ctxs = param._ctx_list if param.variable is not None else None
    if not ctxs or len(ctxs) < 2:
        param._replicas = None
        return
    value = param.variable.value
    old = {r.ctx: r for r in (param._replicas or ())
           if tuple(r.variable.shape) == tuple(param.shape)
           and r.variable.dtype == param.variable.dtype}
    replicas = []
    for ctx in ctxs[1:]:
        replica = old.get(ctx)
        if replica is None:
            replica = Replica(param, ctx, value)
        else:
            replica.assign(value)
            replica.variable.trainable = param.grad_req != "null"
            replica._grad = None
            replica._fresh_grad = False
        replicas.append(replica)
    param._replicas = replicas
    global _distinct_devices
    if not _distinct_devices:
        first = backend.device_string(param.variable.value)
        _distinct_devices = any(backend.device_string(r.variable.value) != first
                                for r in replicas)
    _replica_contexts.update(ctxs[1:])
    _first_contexts.add(ctxs[0])
    _register_for_autograd(replicas)
    _active = True


def _register_for_autograd(replicas):
    from keras_defer import parameter

    for replica in replicas:
        parameter._with_variables.add(replica)


def copy_for(param, ctx):
    """Copy k of ``param`` for context ``ctx`` (``param`` itself for copy 0, a Replica
    otherwise); MXNet's RuntimeError when ``param`` is not on ``ctx``. ``ctx`` None
    means the current context, as in MXNet (``with mx.cpu(1): p.data()``)."""
    ctxs = param._ctx_list
    if ctx is None:
        from keras_defer import context

        ctx = context.current_context()
        if ctx not in ctxs and not context._stack():
            # the default context is gpu(0) where the backend sees a GPU (MXNet's is
            # always cpu(0)): outside any ``with ctx:``, copy 0
            return param
    if ctx == ctxs[0]:
        return param
    for replica in param._replicas or ():
        if replica.ctx == ctx:
            return replica
    raise RuntimeError(not_on_context_message(param.name, ctx, ctxs))


def first_context(param):
    """The context of copy 0 where ``param`` has several copies (what the Trainer reads
    and writes whatever ``with ctx:`` is active), else None (``data()`` as ever)."""
    return param._ctx_list[0] if param.__dict__.get("_replicas") else None


def not_on_context_message(name, ctx, ctxs):
    """MXNet's text."""
    return ("Parameter '%s' was not initialized on context %s. "
            "It was only initialized on %s." % (name, ctx, ctxs))


# -- where data lives --------------------------------------------------------------
def note_placement(array, ctx):
    """``array`` was placed for ``ctx`` (``as_in_context``/``split_and_load``): kept
    only where the array's device would not say so. Returns ``array``."""
    if array.context != ctx:
        key = id(array)

        def forget(ref, key=key):
            entry = _placements.get(key)
            if entry is not None and entry[0] is ref:
                del _placements[key]

        try:
            _placements[key] = (weakref.ref(array, forget), ctx)
        except TypeError:  # not weakly referenceable: its device says where it is
            pass
    return array


def placement_of(array):
    """The context ``array`` was placed for (else the one its device names)."""
    entry = _placements.get(id(array))
    if entry is not None and entry[0]() is array:
        return entry[1]
    return array.context


# -- a forward on context k --------------------------------------------------------
def routed_call(block, args, call):
    """``call()`` (the block's NDArray call), reading the copies for the context that
    ``args[0]`` was placed on. Copy 0's context, an unbuilt block (its first pass makes
    the copies), a block without copies or a nested call: ``call()`` as it is."""
    if not _active or not block.built or getattr(_local, "routing", None) is not None:
        return call()
    entry = _placements.get(id(args[0]))
    if entry is not None and entry[0]() is args[0]:
        ctx = entry[1]
    elif not _distinct_devices:  # every copy on one device: only a mark says which
        return call()
    else:
        ctx = args[0].context
    if ctx in _first_contexts and ctx not in _replica_contexts:
        return call()
    mapping = []
    for param in block.collect_params().values():
        replicas = param.__dict__.get("_replicas")
        if not replicas or param.variable is None or ctx == param._ctx_list[0]:
            continue
        copy = copy_for(param, ctx)  # MXNet's RuntimeError: not on this context
        mapping.append((param.variable, copy.variable))
    if not mapping:
        return call()
    _local.routing = ctx
    try:
        # plain calls (no compiled function: a traced one holds copy 0's variables)
        with _device_scope(ctx), compiled_scope(), keras.StatelessScope(
                state_mapping=[(v, c.value) for v, c in mapping]) as scope:
            out = call()
        for variable, copy in mapping:  # what the forward assigned (running statistics)
            value = scope.get_current_value(variable)
            if value is not None and value is not copy.value:
                copy.assign(value)
    finally:
        _local.routing = None
    return out


# -- the Trainer's aggregation -----------------------------------------------------
def _copies(param):
    return [param] + list(param.__dict__.get("_replicas") or ())


def grads_fresh(param):
    """Whether a backward wrote every copy's gradient since the last step."""
    replicas = param.__dict__.get("_replicas")
    return param._fresh_grad and (not replicas or all(r._fresh_grad for r in replicas))


def stale_context(param):
    """The first context whose gradient is stale (MXNet names it)."""
    for ctx, copy in zip(param._ctx_list or [None], _copies(param)):
        if not copy._fresh_grad:
            return ctx
    return param.list_ctx()[0]


def summed_grad(param):
    """The sum of the copies' gradients on copy 0's device, as an NDArray (what the
    kvstore hands the optimizer); ``param.grad()`` itself for one copy."""
    return summed_grads([param])[0]


def summed_grads(params):
    """``summed_grad`` of each of ``params``, the parameters of one set of contexts
    summed in one batch of the engine's collective (``backend.sum_across_devices``)."""
    from keras_defer.nd.ndarray import NDArray

    out = [None] * len(params)
    for ctxs, members in _by_contexts(params).items():
        groups = [[copy._grad_tensor() for copy in _copies(params[i])] for i in members]
        for i, total in zip(members, backend.sum_across_devices(groups, list(ctxs))):
            out[i] = NDArray(total)
    for i, param in enumerate(params):
        if out[i] is None:  # one copy
            out[i] = param.grad()
    return out


def _by_contexts(params):
    """Indices into ``params`` of those with copies, by their tuple of contexts."""
    batches = {}
    for i, param in enumerate(params):
        if param.__dict__.get("_replicas"):
            batches.setdefault(tuple(param._ctx_list), []).append(i)
    return batches


def consume_grads(param):
    """A step used the gradients: every copy's is stale until the next backward."""
    param._set_fresh_grad(False)
    for replica in param.__dict__.get("_replicas") or ():
        replica._set_fresh_grad(False)


def broadcast(params):
    """Copy 0's value (just updated) into every other copy of each of ``params``."""
    for param in params:
        replicas = param.__dict__.get("_replicas")
        if replicas:
            value = param.variable.value
            for replica in replicas:
                replica.assign(value)


def allreduce_into_copies(param):
    """MXNet's ``allreduce_grads`` (``update_on_kvstore=False``): every copy's gradient
    buffer becomes the sum over the copies."""
    allreduce_grads([param])


def allreduce_grads(params):
    """``allreduce_into_copies`` of each of ``params`` (parameters with
    ``grad_req='null'`` and single copies are left alone), one all-reduce of the
    engine per set of contexts."""
    live = [p for p in params if p.grad_req != "null"]
    for ctxs, members in _by_contexts(live).items():
        copies = [_copies(live[i]) for i in members]
        groups = [[copy._grad_tensor() for copy in group] for group in copies]
        for group, totals in zip(copies, backend.sum_across_devices(
                groups, list(ctxs), everywhere=True)):
            for copy, total in zip(group, totals):
                copy._grad = total

