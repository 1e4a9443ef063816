"""The SGD family: ``SGD`` (``ccSGD``), ``NAG``, ``Signum``, ``LARS``, ``LBSGD``,
``DCASGD``, ``SGLD`` and the ``Test`` optimizer.

Each rule is MXNet 1.9.1's C++ kernel (``multi_sgd_mom_update``, ``nag_mom_update``,
``signum_update``, ...) written as a few tensor operations on the backend tensors of
the NDArrays; the new weight and state are written once each, in place. Float16
weights with ``multi_precision=True`` step a float32 master copy (state
``(momentum, weight32)``, MXNet's order for this family) and get its cast.
"""

import math
import warnings

import keras
import numpy

from keras_defer import backend
from keras_defer.errors import MXNetError
from keras_defer.optimizer.optimizer import (
    Optimizer, _write, as_lists, cast, check_arrays, one_minus, register,
    writable_in_place)

__all__ = ["SGD", "ccSGD", "NAG", "Signum", "LARS", "LBSGD", "DCASGD", "SGLD", "Test"]

_ops = keras.ops


def scaled_grad(g, rescale_grad, clip_gradient):
    """``clip(rescale_grad * g, clip_gradient)``: the kernels' first step (clip only
    where ``clip_gradient`` is truthy, as MXNet's Python passes it)."""
    if rescale_grad != 1.0:
        g = g * rescale_grad
    if clip_gradient:
        g = _ops.clip(g, -clip_gradient, clip_gradient)
    return g


def sgd_step(w, g, mom, lr, wd, momentum):
    """MXNet's ``multi_sgd(_mom)_update`` on a scaled gradient ``g``: returns the new
    weight and momentum (``mom`` None: plain SGD)."""
    step = g if not wd else g + wd * w
    if mom is None:
        return w - lr * step, None
    mom = momentum * mom - lr * step
    return w + mom, mom


class _MasterCopyMixin:
    """``create_state_multi_precision`` of the SGD family: ``(state, weight32)``."""

    _family_name = "SGD"

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight.dtype == numpy.float16:
            weight_master_copy = weight.astype(numpy.float32)
            return (self.create_state(index, weight_master_copy), weight_master_copy)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to "
                          "poor accuracy or slow convergence. "
                          "Consider using multi_precision=True option of the "
                          "%s optimizer" % self._family_name)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(index, (tuple, list)) else weight
        use_multi_precision = self.multi_precision and first.dtype == numpy.float16
        self._update_impl(index, weight, grad, state, multi_precision=use_multi_precision)


def _momentum_state(weight, momentum):
    from keras_defer import nd

    if momentum != 0.0:
        return nd.zeros(weight.shape, weight.context, dtype=weight.dtype)
    return None


def _sgd_rule(w, g, mom, lr, wd, momentum, rescale_grad, clip_gradient):
    return sgd_step(w, scaled_grad(g, rescale_grad, clip_gradient), mom, lr, wd, momentum)


def _nag_rule(w, g, mom, lr, wd, momentum, rescale_grad, clip_gradient):
    return nag_step(w, scaled_grad(g, rescale_grad, clip_gradient), mom, lr, wd, momentum)


# static (JAX compiles once per value): what picks branches; lr and momentum (LARS
# corrects it per step) are traced, so a schedule does not recompile
_STATIC = ("wd", "rescale_grad", "clip_gradient")


def _apply_sgd(weight, grad, state, lr, wd, momentum, rescale_grad, clip_gradient,
               multi_precision, rule="sgd"):
    """One weight's step by SGD's or NAG's rule, master copy or not: in place where
    the backend has a kernel for it (PyTorch), else new tensors assigned once each."""
    fused, in_place = _RULES[rule]
    mom_nd = state[0] if multi_precision else state
    mom = None if mom_nd is None else mom_nd._data
    if multi_precision:
        master = state[1]
        new_w, new_mom = fused(master._data, cast(grad._data, master), mom, lr,
                               wd=wd, momentum=momentum, rescale_grad=rescale_grad,
                               clip_gradient=clip_gradient)
        _write(master, new_w)
        _write(weight, cast(new_w, weight))
    elif in_place is not None and writable_in_place(weight, grad, mom_nd):
        in_place(weight._data, grad._data, mom, lr, wd, momentum, rescale_grad,
                 clip_gradient)
        return
    elif weight.dtype == numpy.float16 and rule == "sgd":
        new_w, new_mom = _sgd_half_rule(weight._data, grad._data, mom, lr, wd, momentum,
                                        rescale_grad, clip_gradient)
        _write(weight, new_w)
    else:
        new_w, new_mom = fused(weight._data, grad._data, mom, lr, wd=wd, momentum=momentum,
                               rescale_grad=rescale_grad, clip_gradient=clip_gradient)
        _write(weight, new_w)
    if mom_nd is not None:
        _write(mom_nd, new_mom)


def _sgd_half_rule(w, g, mom, lr, wd, momentum, rescale_grad, clip_gradient):
    """SGD on float16 arrays without a master copy: computed in float32, rounded to
    half once per stored array. (MXNet's kernel rounds after each operation; its
    results differ from these by a few half-precision ulps.)"""
    f32 = "float32"
    new_w, new_mom = _sgd_rule(
        backend.cast(w, f32), backend.cast(g, f32), None if mom is None else backend.cast(mom, f32),
        lr, wd, momentum, rescale_grad, clip_gradient)
    return (backend.cast(new_w, "float16"),
            None if new_mom is None else backend.cast(new_mom, "float16"))


@register
class SGD(_MasterCopyMixin, Optimizer):
    """The SGD optimizer with momentum and weight decay::

        rescaled_grad = lr * (rescale_grad * clip(grad, clip_gradient) + wd * weight)
        state = momentum * state + rescaled_grad
        weight = weight - state

    (MXNet clips ``rescale_grad * grad``; the state is stored negated, as MXNet's.)
    ``lazy_update`` is accepted; every array here is dense, so it changes nothing.
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = 4  # MXNET_OPTIMIZER_AGGREGATION_SIZE's default

    def create_state(self, index, weight):
        return _momentum_state(weight, self.momentum)

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        indices, weights, grads, states = as_lists(indices, weights, grads, states)
        for weight, grad in zip(weights, grads):
            check_arrays(weight, grad)
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        momentum = self.momentum if self.momentum > 0 else 0.0
        for weight, grad, state, lr, wd in zip(weights, grads, states, lrs, wds):
            _apply_sgd(weight, grad, state, lr, wd, momentum, self.rescale_grad,
                       self.clip_gradient, multi_precision)


@register  # pylint: disable=invalid-name
class ccSGD(SGD):
    """[DEPRECATED] Same as `SGD`. Left here for backward compatibility."""


def nag_step(w, g, mom, lr, wd, momentum):
    """MXNet's ``nag_mom_update`` with ``out=weight``, as its optimizer calls it: the
    kernel writes the new weight before it updates the momentum, so the momentum's
    weight decay reads the *new* weight::

        mom = momentum * mom
        weight_new = weight - mom + (momentum + 1) * (mom - lr * (g + wd * weight))
        mom = mom - lr * (g + wd * weight_new)
    """
    mom = momentum * mom
    new_w = w - mom + (momentum + 1) * (mom - lr * (g if not wd else g + wd * w))
    return new_w, mom - lr * (g if not wd else g + wd * new_w)


_RULES = {
    "sgd": (backend.fuse_rule(_sgd_rule, _STATIC), backend.in_place_rule("sgd")),
    "nag": (backend.fuse_rule(_nag_rule, _STATIC), None),
}


@register
class NAG(_MasterCopyMixin, Optimizer):
    """Nesterov accelerated gradient (``nag_mom_update``; see ``nag_step``)."""

    _family_name = "NAG"

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return _momentum_state(weight, self.momentum)

    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        momentum = self.momentum if self.momentum > 0 else 0.0
        mom = state[0] if multi_precision else state
        _apply_sgd(weight, grad, state, lr, wd, momentum, self.rescale_grad,
                   self.clip_gradient, multi_precision, rule="sgd" if mom is None else "nag")

    def update_multi_precision(self, index, weight, grad, state):
        use_multi_precision = (self.multi_precision and weight.dtype == numpy.float16
                               and isinstance(state, (tuple, list)))
        self._update_impl(index, weight, grad, state, multi_precision=use_multi_precision)


@register
class Signum(Optimizer):
    """The Signum optimizer (signSGD with momentum)::

        rescaled_grad = rescale_grad * clip(grad, clip_gradient) + wd * weight
        state = momentum * state + (1-momentum)*rescaled_grad
        weight = (1 - lr * wd_lh) * weight - lr * sign(state)

    (the state is stored negated, as MXNet's kernel keeps it)
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        return _momentum_state(weight, self.momentum)

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        w = weight._data
        g = scaled_grad(grad._data, self.rescale_grad, self.clip_gradient)
        if state is None:  # signsgd_update: wd decays the weight, outside the sign
            if self.wd_lh:
                raise MXNetError(
                    "Cannot find argument 'wd_lh' in operator signsgd_update: Signum "
                    "without momentum has no decoupled weight decay; use momentum > 0 "
                    "or wd_lh=0")
            _write(weight, (1 - lr * wd) * w - lr * _ops.sign(g))
            return
        if wd:
            g = g + wd * w
        decayed = w if not self.wd_lh else (1 - lr * self.wd_lh) * w
        momentum = self.momentum if self.momentum > 0 else 0.0
        mom = momentum * state._data - one_minus(momentum) * g
        _write(state, mom)
        _write(weight, decayed + lr * _ops.sign(mom))

    def update_multi_precision(self, index, weight, grad, state):
        self.update(index, weight, grad, state)


def _l2norm(array):
    """The float32 2-norm of an NDArray, as a Python float (LARS, LAMB)."""
    t = array if not hasattr(array, "_data") else array._data
    t = _ops.cast(t, "float32")
    return float(_ops.sqrt(_ops.sum(t * t)))


@register
class LARS(SGD):
    """SGD with layer-wise adaptive learning rates ('Large Batch Training of
    Convolution Networks'); names ending in gamma/beta/bias keep ``lr``."""

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0,
                 momentum_correction=True, **kwargs):
        super().__init__(momentum=momentum, lazy_update=lazy_update, **kwargs)
        self.momentum_correction = momentum_correction
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return self._times_lr_mults(lr, indices)

    def set_wd_mult(self, args_wd_mult):
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not n.endswith('_weight'):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and '__wd_mult__' in attr[name]:
                    self.wd_mult[name] = float(attr[name]['__wd_mult__'])
        self.wd_mult.update(args_wd_mult)

    def _get_lars(self, i, weight, g, lr, wd):
        name = self.idx2name[i] if i in self.idx2name else str(i)
        if name.endswith('gamma') or name.endswith('beta') or name.endswith('bias'):
            return lr
        w_norm = _l2norm(weight)
        g_norm = _l2norm(g) * self.rescale_grad
        if w_norm > 0.0 and g_norm > 0.0:
            lars = self.eta * w_norm / (g_norm + wd * w_norm + self.eps)
        else:
            lars = 1.0
        return lars * lr

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        indices, weights, grads, states = as_lists(indices, weights, grads, states)
        for weight, grad in zip(weights, grads):
            check_arrays(weight, grad)
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        momentum = 0.0
        if self.momentum > 0:
            momentum = (self.momentum * (self.cur_lr / self.last_lr)) \
                if (self.momentum_correction and self.last_lr != 0) else self.momentum
        lrs = [self._get_lars(i, w, g, lr, wd)
               for i, w, g, lr, wd in zip(indices, weights, grads, lrs, wds)]
        for weight, grad, state, lr, wd in zip(weights, grads, states, lrs, wds):
            _apply_sgd(weight, grad, state, lr, wd, momentum, self.rescale_grad,
                       self.clip_gradient, multi_precision)


@register
class LBSGD(Optimizer):
    """Large Batch SGD with warmup strategies ('linear', 'power2', 'sqrt', 'lars'),
    emulating ``batch_scale`` times larger batches by accumulating gradients."""

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy='linear',
                 warmup_epochs=5, batch_scale=1, updates_per_epoch=32, begin_epoch=0,
                 num_epochs=60, **kwargs):
        super().__init__(**kwargs)
        import logging

        logging.info('Running Large-Batch SGD Algorithm')
        logging.info('(Batch_scale=%f, warmup_epochs=%d, warmup_strategy=%s, updates_per_epoch=%d)',
                     batch_scale, warmup_epochs, warmup_strategy, updates_per_epoch)
        self.momentum = momentum
        self.multi_precision = multi_precision
        self.warmup_strategy = warmup_strategy
        self.warmup_epochs = warmup_epochs
        self.batch_scale = batch_scale
        self.updates_per_epoch = updates_per_epoch
        self.init_updates = begin_epoch * updates_per_epoch
        self.num_epochs = num_epochs
        self.lbmult = 1
        self.cumgrads = {}
        self.adaptive = False
        self.admult = 1

    def create_state(self, index, weight):
        if self.multi_precision and weight.dtype == numpy.float16:
            weight_master_copy = weight.astype(numpy.float32)
            return (_momentum_state(weight_master_copy, self.momentum), weight_master_copy)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to "
                          "poor accuracy or slow convergence. "
                          "Consider using multi_precision=True option of the "
                          "SGD optimizer")
        return _momentum_state(weight, self.momentum)

    def _get_lbmult(self, nup):
        nwup = self.warmup_epochs * self.updates_per_epoch
        strategy = self.warmup_strategy
        maxmult = float(self.batch_scale)
        if nup >= nwup:
            mult = maxmult
        elif nwup <= 1:
            mult = 1.0
        elif strategy == 'linear':
            mult = 1.0 + (maxmult - 1) * nup / nwup
        elif strategy == 'power2':
            mult = 1.0 + (maxmult - 1) * (nup * nup) / (nwup * nwup)
        elif strategy == 'sqrt':
            mult = 1.0 + (maxmult - 1) * math.sqrt(float(nup) / nwup)
        else:
            mult = 1.0
        return mult

    def _l2norm(self, v):
        return float(_ops.sum(v._data * v._data))

    def _get_lars(self, weight, g, wd):
        weight2 = self._l2norm(weight)
        grad2 = self._l2norm(g)
        lars = math.sqrt(weight2 / (grad2 + wd * weight2 + 1e-18))
        return min(max(lars, 0.01), 100)

    def _cumulate_gradient(self, grad, index):
        cgrad = self.cumgrads.get(index, {})
        if cgrad and cgrad['num_cums'] > 0:
            cgrad = {'cum_grad': cgrad['cum_grad'] + grad, 'num_cums': cgrad['num_cums'] + 1}
        else:
            cgrad = {'cum_grad': grad, 'num_cums': self.init_updates + 1}
        self.cumgrads[index] = cgrad
        return cgrad

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        self._update_count(index)
        cgrad = self._cumulate_gradient(grad, index)
        if (cgrad['num_cums'] % self.batch_scale) == 0:
            grad = cgrad['cum_grad'] / self.batch_scale
            if self.warmup_strategy == 'lars':
                lbmult = self._get_lars(weight, grad, wd)
            else:
                lbmult = self._get_lbmult(cgrad['num_cums'])
            lr = lr * lbmult
            momentum = self.momentum if self.momentum > 0 else 0.0
            multi_precision = isinstance(state, (list, tuple))
            _apply_sgd(weight, grad, state, lr, wd, momentum, self.rescale_grad,
                       self.clip_gradient, multi_precision)
            self.cumgrads[index]['cum_grad'] = 0
        # else: MXNet runs sgd_update with lr=0, which leaves the weight as it is


@register
class DCASGD(Optimizer):
    """SGD with delay compensation (DC-ASGD)."""

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        return (_momentum_state(weight, self.momentum), weight.copy())

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        g = grad._data * self.rescale_grad
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        mom, previous_weight = state
        w = weight._data
        step = -lr * (g + wd * w + self.lamda * g * g * (w - previous_weight._data))
        if mom:  # MXNet's test: a momentum state of more than one element raises
            step = mom._data * self.momentum + step
            _write(mom, step)
        _write(previous_weight, w)
        _write(weight, w + step)


@register
class SGLD(Optimizer):
    """Stochastic Gradient Riemannian Langevin Dynamics (noise from ``nd.random``)."""

    def create_state(self, index, weight):
        return None

    def update(self, index, weight, grad, state):
        from keras_defer import nd

        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        g = grad._data * self.rescale_grad
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        w = weight._data
        w = w + (-lr / 2) * (g + wd * w)
        noise = nd.random.normal(0, math.sqrt(lr), shape=weight.shape,
                                 dtype=weight.dtype, ctx=weight.context)
        _write(weight, w + noise._data)


@register
class Test(Optimizer):
    """The Test optimizer"""

    def create_state(self, index, weight):
        """Creates a state to duplicate weight."""
        from keras_defer import nd

        return nd.zeros(weight.shape, weight.context)

    def update(self, index, weight, grad, state):
        """Performs w += rescale_grad * grad."""
        new = weight._data + grad._data * self.rescale_grad
        _write(weight, new)
        _write(state, cast(new, state))
