"""``mxnet.optimizer.Optimizer``: the base class, its registry and MXNet 1.9.1's bookkeeping.

The bookkeeping (update counts, learning rates and weight decays per index,
``lr_mult``/``wd_mult`` from ``param_dict``, names or indices) is MXNet's Python, line
for line, because ported code reads it (``trainer._optimizer.num_update``,
``_get_lr``). The update rules live in one module per family (``sgd``, ``adaptive``);
each computes on the backend tensors of its NDArrays with a few ``keras.ops`` and
writes every weight and state once, in place (``_write``), as MXNet's fused C++ ops
(``sgd_mom_update``, ``adam_update``, ...) do. A weight is ``Parameter.data()``,
whose write assigns the Keras variable, so the Keras model sees the step at once.
"""

import warnings

import numpy

from keras_defer.nd.ndarray import NDArray

__all__ = ["Optimizer", "register", "create"]


class Optimizer:
    """The base class inherited by all optimizers (MXNet 1.9.1's constructor and
    bookkeeping; see ``mxnet.optimizer.Optimizer`` for the parameters)."""

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0.,
                 clip_gradient=None, learning_rate=None,
                 lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if self.lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if self.lr_scheduler is not None and learning_rate is not None:
            if self.lr_scheduler.base_lr != learning_rate:
                print(UserWarning("learning rate from ``lr_scheduler`` has been "
                                  "overwritten by ``learning_rate`` in optimizer."))
                self.lr_scheduler.base_lr = learning_rate

        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0

        if param_idx2name is None:
            param_idx2name = {}
        assert isinstance(param_idx2name, dict), \
            'param_idx2name should be a dict of param indexes to names.'
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.allow_np_array = False

        self.set_lr_mult({})
        self.set_wd_mult({})

    opt_registry = {}

    def __init_subclass__(cls, **kwargs):
        """Every subclass's ``update``/``update_multi_precision`` runs unrecorded: an
        update is no part of a gradient computation (on PyTorch, which records by
        default, states computed from a weight would otherwise chain each step's
        graph to the last)."""
        super().__init_subclass__(**kwargs)
        for name in ("update", "update_multi_precision"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_unrecorded", False):
                setattr(cls, name, _unrecorded(method))

    @staticmethod
    def register(klass):
        """Registers a new optimizer under its lower-cased class name (for ``create``)."""
        assert isinstance(klass, type)
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry:
            warnings.warn('WARNING: New optimizer %s.%s is overriding '
                          'existing optimizer %s.%s' %
                          (klass.__module__, klass.__name__,
                           Optimizer.opt_registry[name].__module__,
                           Optimizer.opt_registry[name].__name__))
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """Instantiates the optimizer registered as ``name`` (case insensitive)."""
        if name.lower() in Optimizer.opt_registry:
            return Optimizer.opt_registry[name.lower()](**kwargs)
        raise ValueError('Cannot find optimizer %s' % name)

    @property
    def learning_rate(self):
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def create_state(self, index, weight):
        """Creates auxiliary state for a given weight (None: no state)."""

    def create_state_multi_precision(self, index, weight):
        """``create_state``, with a float32 master copy first where the weight is
        float16 and ``multi_precision`` is on."""
        if self.multi_precision and weight.dtype == numpy.float16:
            weight_master_copy = weight.astype(numpy.float32)
            return (weight_master_copy,) + (self.create_state(index, weight_master_copy),)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to "
                          "poor accuracy or slow convergence. "
                          "Consider using multi_precision=True option of the "
                          "optimizer")
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Updates ``weight`` (in place) from ``grad`` and ``state``."""
        raise NotImplementedError()

    def update_multi_precision(self, index, weight, grad, state):
        """``update``, through the float32 master copy where there is one."""
        if self.multi_precision and weight.dtype == numpy.float16:
            weight_master_copy = state[0]
            original_state = state[1]
            grad32 = grad.astype(numpy.float32)
            self.update(index, weight_master_copy, grad32, original_state)
            _write(weight, cast(weight_master_copy._data, weight))
        else:
            self.update(index, weight, grad, state)

    def set_learning_rate(self, lr):
        """Sets a new learning rate (refused where an ``lr_scheduler`` sets it)."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been "
                              "defined. Note that set_learning_rate can mutate "
                              "the value of the learning rate of the optimizer "
                              "only when the LRScheduler of the optimizer is "
                              "undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):  # pylint: disable=unused-argument
        """[DEPRECATED] Sets lr scale. Use set_lr_mult instead."""
        raise DeprecationWarning

    def set_lr_mult(self, args_lr_mult):
        """Sets a learning rate multiplier per parameter name or index."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and '__lr_mult__' in attr[name]:
                    self.lr_mult[name] = float(attr[name]['__lr_mult__'])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Sets a weight decay multiplier per parameter name or index; names from
        ``param_idx2name`` not ending in ``_weight`` or ``_gamma`` get 0."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith('_weight') or n.endswith('_gamma')):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and '__wd_mult__' in attr[name]:
                    self.wd_mult[name] = float(attr[name]['__wd_mult__'])
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id):
        """Count updates per device (MXNet keeps one count table per device)."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """One more update of ``index`` (an int or a list of them); ``num_update``
        is the largest count."""
        if not isinstance(index, (list, tuple)):
            index = [index]
        for idx in index:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _get_lrs(self, indices):
        """Learning rates of ``indices``: the scheduler's or ``lr``, times lr_mult."""
        if self.lr_scheduler is not None:
            lr = self.lr_scheduler(self.num_update)
        else:
            lr = self.lr
        return self._times_lr_mults(lr, indices)

    def _times_lr_mults(self, lr, indices):
        """``lr`` times each index's lr_mult (its Parameter's, set_lr_mult's, by name)."""
        lrs = [lr for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                lrs[i] *= self.param_dict[index].lr_mult
            elif index in self.lr_mult:
                lrs[i] *= self.lr_mult[index]
            elif index in self.idx2name:
                lrs[i] *= self.lr_mult.get(self.idx2name[index], 1.0)
        return lrs

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        """Weight decays of ``indices``: ``wd`` times wd_mult."""
        wds = [self.wd for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                wds[i] *= self.param_dict[index].wd_mult
            elif index in self.wd_mult:
                wds[i] *= self.wd_mult[index]
            elif index in self.idx2name:
                wds[i] *= self.wd_mult.get(self.idx2name[index], 1.0)
        return wds

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    def __getstate__(self):
        ret = self.__dict__.copy()
        # param_dict holds Parameters: the trainer sets it again after loading
        del ret['param_dict']
        return ret

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


def _unrecorded(method):
    import functools

    from keras_defer import backend

    @functools.wraps(method)
    def run_unrecorded(self, *args, **kwargs):
        with backend.unrecorded():
            return method(self, *args, **kwargs)

    run_unrecorded._unrecorded = True
    return run_unrecorded


Optimizer.update_multi_precision = _unrecorded(Optimizer.update_multi_precision)
register = Optimizer.register  # pylint: disable=invalid-name
create = Optimizer.create_optimizer  # pylint: disable=invalid-name


# --------------------------------------------------------------------- tensor helpers
def _write(array, tensor):
    """Store ``tensor`` as the whole value of the NDArray ``array``, in place (a
    ``Parameter.data()`` assigns its Keras variable); one write per array and step."""
    array._data = tensor


def cast(tensor, like):
    """``tensor`` in the dtype of the NDArray ``like`` (no op where it already is)."""
    from keras_defer.nd import _backend

    name = _backend.tensor_dtype(like._data)
    if _backend.tensor_dtype(tensor) == name:
        return tensor
    return _backend.cast(tensor, name)


def one_minus(x, dtype=numpy.float32):
    """``1 - x`` rounded as MXNet's kernels compute it: in the kernel's scalar type,
    float32 (their parameters are C floats) or, in kernels whose scalars take the
    weight's type (``adam_update``), float16 for float16 weights; so that a moment's
    decay matches theirs to the last bit."""
    return float(dtype(1) - dtype(x))


def writable_in_place(weight, grad, *states):
    """Whether a backend's in-place kernel may update these arrays: the weight is a
    ``Parameter.data()`` (its variable's own tensor), the states plain NDArrays made
    for the optimizer (no views), all of the gradient's dtype and shape."""
    from keras_defer.nd.variable import VariableNDArray

    if type(weight) is not VariableNDArray or weight.dtype != grad.dtype:
        return False
    return all(s is None or (type(s) is NDArray and s.dtype == grad.dtype) for s in states)


def check_arrays(weight, grad):
    """MXNet asserts both are NDArrays; so do we (an AssertionError, as MXNet's)."""
    assert isinstance(weight, NDArray)
    assert isinstance(grad, NDArray)


def as_lists(indices, weights, grads, states):
    """One update's arguments as lists (MXNet's aggregated calls pass lists)."""
    if not isinstance(indices, (tuple, list)):
        return [indices], [weights], [grads], [states]
    return list(indices), list(weights), list(grads), list(states)
