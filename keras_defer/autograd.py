"""``mxnet.autograd`` (MXNet 1.9.1): record operations, then differentiate them.

::

    x = nd.arange(4).reshape((4, 1))
    x.attach_grad()                   # x.grad: zeros of x's shape
    with autograd.record():           # operations are recorded, layers train
        y = 2 * nd.dot(x.T, x)
    y.backward()                      # x.grad is now 4 * x

Two switches, per thread as in MXNet: *recording* (``record()`` on, ``pause()`` off,
``is_recording()``) and *training* (``record()`` turns it on unless
``train_mode=False``, ``pause()`` off unless ``train_mode=True``, ``train_mode()`` /
``predict_mode()`` set it alone, ``is_training()``: what Dropout and BatchNorm follow).

The recording itself is the backend's (``keras_defer.backend``: TensorFlow's
``GradientTape``, PyTorch's autograd; JAX records nothing, and ``record()`` says what
to use there instead). What MXNet calls *variables*, the sources of a ``backward()``,
are found when it runs:

* every live array with an attached gradient (``attach_grad``, ``mark_variables``)
  and ``grad_req`` other than 'null': its gradient buffer (``x.grad``, the same array
  object every time) is overwritten ('write') or added to ('add');
* every ``Parameter`` whose variable the recorded operations read, and whose
  ``grad_req`` is not 'null': it takes the gradient through ``Parameter._write_grad``.

Sources the heads do not reach keep their gradient, as in MXNet. Python control flow
needs nothing: only the operations that ran are recorded.

Differences from MXNet (docs/divergences.md, docs/backends.md): higher-order gradients
(``create_graph=True``) work for every operation, MXNet's for a few; on TensorFlow a
head stays differentiable until two more ``record()`` sessions have started (MXNet: as
long as it lives), and a second ``backward`` without ``retain_graph`` is refused per
head (MXNet also refuses another head whose graph shares freed intermediate results);
``train_mode`` of ``backward`` and ``grad`` changes nothing (the backward of a
recorded operation does not depend on it).
"""

import threading
import weakref

from keras_defer import backend
from keras_defer import parameter as _parameter
from keras_defer.errors import MXNetError
from keras_defer.nd import ndarray as _ndarray
from keras_defer.nd.ndarray import NDArray, _View, wrap
from keras_defer.nd.variable import VariableNDArray

__all__ = [
    "set_recording", "set_training", "is_recording", "is_training", "record", "pause",
    "train_mode", "predict_mode", "mark_variables", "backward", "grad", "get_symbol",
    "Function",
]

_GRAD_REQS = ("write", "add", "null")

# MXNet's messages (its C++ checks), each where MXNet raises it.
NOT_IN_GRAPH = (
    "Cannot differentiate node because it is not in a computational graph. You need to "
    "set is_recording to true or use autograd.record() to save computational graphs for "
    "backward. If you want to differentiate the same graph twice, you need to pass "
    "retain_graph=True to backward.")
NO_INPUTS = "There are no inputs in computation graph that require gradients."
NOT_A_VARIABLE = ("Cannot differentiate with respect to the %d-th variable because it "
                  "does not require gradient.")
UNREACHABLE = ("Cannot differentiate with respect to the %d-th variable because it is "
               "unreachable from the outputs.")


# -- the two switches ------------------------------------------------------------------
class _State(threading.local):
    """Per thread: the switches, how many ``record()`` scopes are open, and whether a
    backend session is open (recording, or paused inside a ``record()``)."""

    recording = False
    training = False
    depth = 0
    session = False


_state = _State()


def is_recording():
    """Whether operations are being recorded for ``backward``."""
    return _state.recording


def is_training():
    """Whether layers run in training mode (Dropout drops, BatchNorm uses batch
    statistics). False outside ``record()``, True inside it by default."""
    return _state.training


def set_recording(is_recording):  # noqa: F811  (MXNet's parameter name)
    """Turn recording on or off; returns the previous state."""
    previous = _state.recording
    _switch(bool(is_recording))
    return previous


def set_training(train_mode):  # noqa: F811
    """Turn training mode on or off; returns the previous state."""
    previous = _state.training
    _state.training = bool(train_mode)
    return previous


def _switch(on):
    state = _state
    if on == state.recording:
        return
    if on:
        if state.session:
            backend.resume_recording()
        else:
            backend.begin_recording()  # raises where the backend cannot record
            state.session = True
        state.recording = True
        _watch_attached()
    else:
        state.recording = False
        if state.depth:
            backend.pause_recording()
        else:
            _end_session()


def _end_session():
    backend.end_recording()
    _state.session = False


class _RecordingStateScope:
    """``record()``, ``pause()``, ``train_mode()``, ``predict_mode()``: set the
    switches on entry (None: leave it), put back on exit what entry changed."""

    __slots__ = ("_enter_is_record", "_enter_train_mode", "_prev_is_record",
                 "_prev_train_mode")

    def __init__(self, is_record, train_mode):  # noqa: F811
        self._enter_is_record = is_record
        self._enter_train_mode = train_mode
        self._prev_is_record = None
        self._prev_train_mode = None

    def __enter__(self):
        state = _state
        if self._enter_is_record is not None:
            if self._enter_is_record:
                state.depth += 1
            self._prev_is_record = state.recording
            try:
                _switch(self._enter_is_record)
            except BaseException:
                if self._enter_is_record:
                    state.depth -= 1
                raise
        if self._enter_train_mode is not None:
            self._prev_train_mode = state.training
            state.training = self._enter_train_mode

    def __exit__(self, ptype, value, trace):
        state = _state
        if self._enter_is_record is not None:
            if self._enter_is_record:
                state.depth -= 1
            if self._prev_is_record != self._enter_is_record:
                _switch(self._prev_is_record)
            if not state.depth and state.session and not state.recording:
                _end_session()  # recording was turned off inside, by set_recording
        if self._enter_train_mode is not None and \
                self._prev_train_mode != self._enter_train_mode:
            state.training = self._prev_train_mode


def record(train_mode=True):  # noqa: F811
    """``with record():`` operations are recorded for ``backward``; layers train
    unless ``train_mode=False``."""
    return _RecordingStateScope(True, train_mode)


def pause(train_mode=False):  # noqa: F811
    """``with pause():`` nothing is recorded (inside ``record()``); layers predict
    unless ``train_mode=True``."""
    return _RecordingStateScope(False, train_mode)


def train_mode():
    """``with train_mode():`` layers train; recording is left as it is."""
    return _RecordingStateScope(None, True)


def predict_mode():
    """``with predict_mode():`` layers predict; recording is left as it is."""
    return _RecordingStateScope(None, False)


# -- arrays with gradients -------------------------------------------------------------
class _WeakIds:
    """Objects by identity, held weakly (NDArray's ``==`` is elementwise, so neither a
    ``WeakSet`` nor a ``WeakKeyDictionary`` can hold arrays)."""

    def __init__(self):
        self._refs = {}

    def add(self, obj):
        key, refs = id(obj), self._refs

        def forget(ref):
            if refs.get(key) is ref:
                del refs[key]

        refs[key] = weakref.ref(obj, forget)

    def __contains__(self, obj):
        ref = self._refs.get(id(obj))
        return ref is not None and ref() is obj

    def live(self):
        return [obj for obj in (ref() for ref in list(self._refs.values())) if obj is not None]


_attached = _WeakIds()  # arrays given a gradient buffer
_consumed = _WeakIds()  # head tensors differentiated without retain_graph


def attach_grad(array, grad_req="write", stype=None):
    """``array.attach_grad()``: give ``array`` a zero gradient buffer (``array.grad``)
    that ``backward`` fills as ``grad_req`` says. Called by ``NDArray.attach_grad``."""
    from keras_defer.nd import creation

    _mark(array, creation.zeros_like(array), _checked_req(grad_req))


def mark_variables(variables, gradients, grad_reqs="write"):
    """Mark arrays as variables, with the given arrays as their gradient buffers."""
    if isinstance(variables, NDArray):
        if not isinstance(gradients, NDArray):
            raise AssertionError()
        variables, gradients = [variables], [gradients]
    if isinstance(grad_reqs, str):
        grad_reqs = [_checked_req(grad_reqs)] * len(variables)
    else:
        grad_reqs = [_checked_req(req) for req in grad_reqs]
    for variable, gradient, req in zip(variables, gradients, grad_reqs):
        _mark(variable, gradient, req)


def _checked_req(req):
    if req not in _GRAD_REQS:
        raise KeyError(req)  # MXNet: a lookup in its grad_req table
    return req


def _mark(array, gradient, req):
    array._grad = gradient
    array._grad_req = req
    _attached.add(array)
    _install_unrecorded_apply()  # from now on, results made inside record() are marked
    if _state.recording:
        _watch(array)


def _root(array):
    """The array holding the data ``array`` is a view of (``array`` itself if it is no
    view), and the view's reads from it, in order: a view's tensor is made anew from
    its root's at each read, so the root's tensor is what is watched, and a view's
    gradient is its reads applied to the root's gradient."""
    reads = []
    while isinstance(array, _View):
        reads.append(array._read)
        array = array._base
    reads.reverse()
    return array, reads


def _watch(array):
    if array._grad_req == "null":
        return
    root, _ = _root(array)
    if isinstance(root, VariableNDArray):
        return  # a variable is watched as a variable
    tensor = root._data
    watched = backend.watch(tensor)
    if watched is not tensor:
        root._data = watched


def _watch_attached():
    for array in _attached.live():
        _watch(array)


def _unrecorded_apply(fn, inputs, params):
    """``nd``'s evaluation once an array has a gradient buffer: inside ``record()`` the
    results are marked as recorded (so a backward from them that reaches no array
    needing a gradient says so, not "not in a graph"); outside it nothing is recorded,
    as in MXNet, also where the backend would record anyway (PyTorch)."""
    if _state.recording:
        result = _evaluate(fn, inputs, params)
        if any(_in_graph(x) for x in inputs):  # MXNet records what reads a variable
            for out in (result if isinstance(result, (tuple, list)) else (result,)):
                out._recorded = True
        return result
    if not backend.records_by_default:
        return _evaluate(fn, inputs, params)
    with backend.unrecorded():
        return _evaluate(fn, inputs, params)


def _in_graph(x):
    """Whether ``x`` is an attached array (any grad_req), a view of one, or recorded."""
    return isinstance(x, NDArray) and (getattr(x, "_recorded", False)
                                       or _root(x)[0] in _attached)


def _evaluate(fn, inputs, params):
    result = fn(*[x._data if isinstance(x, NDArray) else x for x in inputs], **params)
    if isinstance(result, (tuple, list)):
        return type(result)(wrap(r) for r in result)
    return wrap(result)


def _install_unrecorded_apply():
    if _ndarray._apply_hook is None:
        _ndarray.set_apply_hook(_unrecorded_apply)


# -- backward and grad -----------------------------------------------------------------
def _parse_head(heads, head_grads):
    if not isinstance(heads, (list, tuple)):
        heads = [heads]
    if isinstance(head_grads, NDArray):
        head_grads = [head_grads]
    heads = [h._data if isinstance(h, NDArray) else h for h in heads]
    if head_grads is None:
        return heads, [None] * len(heads)
    if len(heads) != len(head_grads):
        raise AssertionError("heads and head_grads must be lists of the same length")
    return heads, [_head_grad(h, g) for h, g in zip(heads, head_grads)]


def _head_grad(head, grad):
    if grad is None:
        return None
    tensor = grad._data if isinstance(grad, NDArray) else grad
    if tuple(tensor.shape) != tuple(head.shape):
        tensor = backend.reshape(tensor, tuple(head.shape))  # MXNet reads it flat
    return tensor


def _check_not_consumed(heads):
    for head in heads:
        if head in _consumed:
            raise MXNetError(NOT_IN_GRAPH)


def _consume(heads):
    for head in heads:
        try:
            _consumed.add(head)
        except TypeError:  # not weakly referenceable: no check for this one
            pass


def _source(root):
    return root.variable if isinstance(root, VariableNDArray) else root._data


def _through(reads, g):
    for read in reads:
        g = read(g)
    return g


def _candidates():
    """What a backward may write to: marked arrays (with their roots' reads, see
    ``_root``) and parameters; and the sources, one for each, in that order."""
    params = {}
    for param in _parameter.parameters_with_variables():
        variable = param.variable
        if variable is not None and param.grad_req != "null":
            params[id(variable)] = param
    arrays, sources = [], []
    for array in _attached.live():
        if array._grad_req == "null" or array._grad is None:
            continue
        root, reads = _root(array)
        if isinstance(root, VariableNDArray) and id(root.variable) in params:
            continue  # its Parameter takes the gradient
        arrays.append((array, reads))
        sources.append(_source(root))
    variables = backend.read_variables([p.variable for p in params.values()])
    return arrays, [params[id(v)] for v in variables], sources + variables


def _gradients(heads, head_grads, sources, retain_graph, create_graph):
    _check_not_consumed(heads)
    try:
        grads = backend.gradients(heads, head_grads, sources, retain_graph, create_graph)
    except backend.NotRecorded:
        raise MXNetError(NOT_IN_GRAPH) from None
    if all(g is None for g in grads):
        raise MXNetError(NOT_IN_GRAPH)
    if not retain_graph:
        _consume(heads)
    return grads


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):  # noqa: F811
    """Differentiate ``heads`` (an NDArray or a list) with respect to every marked
    array and every parameter the recording read; a head's gradient defaults to ones
    (a non-scalar head is summed)."""
    given = heads if isinstance(heads, (list, tuple)) else [heads]
    heads, head_grads = _parse_head(heads, head_grads)
    arrays, params, sources = _candidates()
    if not sources:  # MXNet: recorded from 'null' arrays only, or nothing recorded
        recorded = any(getattr(h, "_recorded", False) for h in given)
        raise MXNetError(NO_INPUTS if recorded else NOT_IN_GRAPH)
    grads = _gradients(heads, head_grads, sources, retain_graph, False)
    for (array, reads), g in zip(arrays, grads):
        if g is not None:
            _store(array, _through(reads, g))
    for param, g in zip(params, grads[len(arrays):]):
        if g is not None:
            param._write_grad(g)


def _store(array, g):
    buffer = array._grad
    current = buffer._data
    dtype = backend.tensor_dtype(current)
    if backend.tensor_dtype(g) != dtype:
        g = backend.cast(g, dtype)
    if tuple(g.shape) != tuple(current.shape):
        g = backend.reshape(g, tuple(current.shape))
    buffer._data = current + g if array._grad_req == "add" else g


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False,
         train_mode=True):  # noqa: F811
    """The gradients of ``heads`` with respect to ``variables``, as new arrays (a
    list, as MXNet 1.9.1 returns even for one variable); no gradient buffer is
    written. ``create_graph=True`` records the computation, so the results can be
    differentiated again (higher-order gradients)."""
    heads, head_grads = _parse_head(heads, head_grads)
    if isinstance(variables, NDArray):
        variables = [variables]
    elif not len(variables):
        raise AssertionError("variables cannot be an empty list.")
    retain_graph = create_graph if retain_graph is None else retain_graph
    marked = [_is_marked(v) for v in variables]
    roots = [_root(v) for v, m in zip(variables, marked) if m]
    # The other sources tell a head that was not recorded (MXNet's first check) from
    # an unmarked or unreachable variable.
    _, _, others = _candidates()
    wanted = [_source(root) for root, _ in roots]
    grads = _gradients(heads, head_grads, wanted + others, retain_graph, create_graph)
    grads = iter(zip(grads[:len(wanted)], roots))
    result = []
    for i, is_marked in enumerate(marked):
        if not is_marked:
            raise MXNetError(NOT_A_VARIABLE % (i + 1))
        g, (_, reads) = next(grads)
        if g is None:
            raise MXNetError(UNREACHABLE % (i + 1))
        result.append(wrap(_through(reads, g)))
    return result


def _is_marked(array):
    if isinstance(array, VariableNDArray) and array not in _attached:
        return bool(array.variable.trainable)  # Parameter.data()
    return array._grad_req != "null" and array._grad is not None and array in _attached


# -- symbols and custom functions ------------------------------------------------------
def get_symbol(x):
    """MXNet returns the recorded history as a Symbol; keras_defer has no symbols."""
    raise MXNetError(
        "autograd.get_symbol is not supported: keras_defer records operations with the "
        "Keras backend's own autograd and has no MXNet Symbol to return.")


class Function:
    """A custom differentiation: subclass, define ``forward(*inputs)`` and
    ``backward(*output_grads)`` (as many arrays back as ``forward`` took), and call an
    instance once::

        class sigmoid(autograd.Function):
            def forward(self, x):
                y = 1 / (1 + nd.exp(-x))
                self.save_for_backward(y)
                return y

            def backward(self, dy):
                y, = self.saved_tensors
                return dy * y * (1 - y)

    ``forward`` runs unrecorded; while recording, its outputs are recorded as one
    operation of the inputs, whose gradient ``backward`` computes.
    """

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def __call__(self, *inputs):
        if self._used:
            raise AssertionError("Each Function instance can only be called once. "
                                 "Please create another instance.")
        self._used = True
        previous = set_recording(False)
        try:
            outputs = self.forward(*inputs)
        finally:
            set_recording(previous)
        if not previous:
            return outputs
        arrays = (outputs,) if isinstance(outputs, NDArray) else tuple(outputs)

        def backward_entry(output_grads):
            grads = self.backward(*[wrap(g) for g in output_grads])
            if isinstance(grads, NDArray):
                grads = (grads,)
            if len(grads) != len(inputs):
                raise AssertionError(
                    "%s.backward must return exactly the same number of NDArrays as the "
                    "number of NDArrays arguments to forward.Expecting %d got %d"
                    % (type(self).__name__, len(inputs), len(grads)))
            for g in grads:
                if not isinstance(g, NDArray):
                    raise AssertionError(
                        "autograd.Function.backward must return NDArrays, not %s" % type(g))
            return [g._data for g in grads]

        recorded = backend.custom_gradient(
            [x._data if isinstance(x, NDArray) else x for x in inputs],
            [y._data for y in arrays], backward_entry)
        for array, tensor in zip(arrays, recorded):
            array._data = tensor  # the same arrays, now with a history
        return outputs

    def forward(self, *inputs):
        """Forward computation."""
        raise NotImplementedError

    def backward(self, *output_grads):
        """Backward computation: as many arrays back as ``forward`` took."""
        raise NotImplementedError
