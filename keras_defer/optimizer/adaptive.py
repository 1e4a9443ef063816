"""Optimizers with per-element adaptive steps: ``Adam``, ``Adamax``, ``Nadam``,
``AdaGrad``, ``RMSProp`` (centered too), ``AdaDelta``, ``FTML``, ``Ftrl``, ``LAMB``.

Where MXNet 1.9.1 calls a fused C++ op (``adam_update``, ``rmsprop_update``,
``rmspropalex_update``, ``ftml_update``, ``ftrl_update``, ``lamb_update_phase1/2``)
the rule is that kernel's arithmetic; where its optimizer is written in Python
(AdaGrad, AdaDelta, Adamax, Nadam) it is that Python, quirks included (AdaDelta
scales the gradient array in place and ignores the learning rate; Nadam's momentum
schedule is one product over every index's updates). Each weight and state is
written once per step, in place.
"""

import math

import keras
import numpy

from keras_defer import backend
from keras_defer.optimizer.optimizer import (
    Optimizer, _write, as_lists, cast, check_arrays, one_minus, register, writable_in_place)

__all__ = ["Adam", "Adamax", "Nadam", "AdaGrad", "RMSProp", "AdaDelta", "FTML", "Ftrl",
           "LAMB"]

_ops = keras.ops


def _zeros(weight, dtype=None):
    from keras_defer import nd

    return nd.zeros(weight.shape, weight.context, dtype=dtype)


def _decayed_clipped(g, w, rescale_grad, wd, clip_gradient):
    """``clip(rescale_grad * g + wd * w, clip_gradient)``: Adam's, RMSProp's, FTML's
    first step (weight decay before the clip)."""
    if rescale_grad != 1.0:
        g = g * rescale_grad
    if wd:
        g = g + wd * w
    if clip_gradient:
        g = _ops.clip(g, -clip_gradient, clip_gradient)
    return g


def _clipped(g, rescale_grad, clip_gradient):
    if rescale_grad != 1.0:
        g = g * rescale_grad
    if clip_gradient:
        g = _ops.clip(g, -clip_gradient, clip_gradient)
    return g


@register
class Adam(Optimizer):
    """The Adam optimizer::

        rescaled_grad = clip(grad * rescale_grad + wd * weight, clip_gradient)
        m = beta1 * m + (1 - beta1) * rescaled_grad
        v = beta2 * v + (1 - beta2) * (rescaled_grad**2)
        lr = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)
        w = w - lr * m / (sqrt(v) + epsilon)
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (_zeros(weight, weight.dtype), _zeros(weight, weight.dtype))

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        t = self._index_update_count[index]
        coef1 = 1. - self.beta1**t
        coef2 = 1. - self.beta2**t
        lr *= math.sqrt(coef2) / coef1
        mean, var = state
        # adam_update's scalars take the weight's type: float16 weights see them
        # rounded to half (rounded here, so every backend computes the same)
        as_scalar = numpy.float16 if weight.dtype == numpy.float16 else numpy.float32
        lr, wd = float(as_scalar(lr)), float(as_scalar(wd))
        settings = dict(wd=wd, beta1=float(as_scalar(self.beta1)),
                        beta2=float(as_scalar(self.beta2)),
                        one_minus_beta1=one_minus(self.beta1, as_scalar),
                        one_minus_beta2=one_minus(self.beta2, as_scalar),
                        epsilon=float(as_scalar(self.epsilon)),
                        rescale_grad=self.rescale_grad, clip_gradient=self.clip_gradient)
        if _ADAM_IN_PLACE is not None and writable_in_place(weight, grad, mean, var):
            _ADAM_IN_PLACE(weight._data, grad._data, mean._data, var._data, lr, **settings)
            return
        w, m, v = _ADAM(weight._data, grad._data, mean._data, var._data, lr, **settings)
        _write(mean, m)
        _write(var, v)
        _write(weight, w)


def _adam_rule(w, g, m, v, lr, wd, beta1, beta2, one_minus_beta1, one_minus_beta2,
               epsilon, rescale_grad, clip_gradient):
    """MXNet's ``adam_update`` kernel (the bias correction is in ``lr``)."""
    g = _decayed_clipped(g, w, rescale_grad, wd, clip_gradient)
    m = beta1 * m + one_minus_beta1 * g
    v = beta2 * v + one_minus_beta2 * (g * g)
    return w - lr * m / (_ops.sqrt(v) + epsilon), m, v


_ADAM = backend.fuse_rule(_adam_rule, (
    "wd", "beta1", "beta2", "one_minus_beta1", "one_minus_beta2", "epsilon", "rescale_grad",
    "clip_gradient"))
_ADAM_IN_PLACE = backend.in_place_rule("adam")


@register
class AdaGrad(Optimizer):
    """AdaGrad::

        grad = clip(grad * rescale_grad, clip_gradient)
        history += square(grad)
        div = grad / sqrt(history + float_stable_eps)
        weight += (div + weight * wd) * -lr
    """

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return _zeros(weight)  # history (float32, as MXNet's)

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        g = grad._data * self.rescale_grad
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        history = state._data + g * g
        _write(state, history)
        w = weight._data
        div = g / _ops.sqrt(history + self.float_stable_eps)
        _write(weight, w + (div + w * wd) * -lr)


@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton's (``rmsprop_update``), or with ``centered=True``
    Graves's (``rmspropalex_update``); ``clip_weights`` clips the new weights."""

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9,
                 epsilon=1e-8, centered=False, clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        if self.centered:
            return (_zeros(weight), _zeros(weight), _zeros(weight))  # n, g, delta
        return (_zeros(weight),)  # n

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        w = weight._data
        g = _decayed_clipped(grad._data, w, self.rescale_grad, wd, self.clip_gradient)
        gamma1 = self.gamma1
        if not self.centered:
            (n_nd,) = state
            n = one_minus(gamma1) * (g * g) + gamma1 * n_nd._data
            new_w = w - lr * (g / _ops.sqrt(n + self.epsilon))
            _write(n_nd, n)
        else:
            n_nd, g_nd, delta_nd = state
            n = one_minus(gamma1) * (g * g) + gamma1 * n_nd._data
            gbar = one_minus(gamma1) * g + gamma1 * g_nd._data
            delta = self.gamma2 * delta_nd._data - lr * (
                g / _ops.sqrt(n - gbar * gbar + self.epsilon))
            new_w = w + delta
            _write(n_nd, n)
            _write(g_nd, gbar)
            _write(delta_nd, delta)
        if self.clip_weights:
            new_w = _ops.clip(new_w, -self.clip_weights, self.clip_weights)
        _write(weight, new_w)


@register
class AdaDelta(Optimizer):
    """AdaDelta (MXNet's Python: the learning rate is not used, and ``grad`` is
    multiplied by ``rescale_grad`` in place)::

        grad = clip(grad * rescale_grad, clip_gradient)
        acc_grad = rho * acc_grad + (1. - rho) * grad * grad
        delta = sqrt(acc_delta + epsilon) / sqrt(acc_grad + epsilon) * grad
        acc_delta = rho * acc_delta + (1. - rho) * delta * delta
        weight -= (delta + wd * weight)
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (_zeros(weight), _zeros(weight))  # accumulated g, accumulated delta

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        wd = self._get_wd(index)
        self._update_count(index)
        g = grad._data * self.rescale_grad
        _write(grad, g)  # MXNet: ``grad *= self.rescale_grad``
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        acc_g_nd, acc_delta_nd = state
        rho = self.rho
        acc_g = acc_g_nd._data * rho + (1. - rho) * g * g
        acc_delta = acc_delta_nd._data
        current_delta = _ops.sqrt(acc_delta + self.epsilon) / _ops.sqrt(acc_g + self.epsilon) * g
        _write(acc_g_nd, acc_g)
        _write(acc_delta_nd, acc_delta * rho + (1. - rho) * current_delta * current_delta)
        w = weight._data
        _write(weight, w - (current_delta + wd * w))


@register
class Ftrl(Optimizer):
    """Ftrl ('Ad Click Prediction: a View from the Trenches')::

        rescaled_grad = clip(grad * rescale_grad, clip_gradient)
        z += rescaled_grad - (sqrt(n + rescaled_grad**2) - sqrt(n)) * weight / learning_rate
        n += rescaled_grad**2
        w = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / learning_rate + wd) * (abs(z) > lamda1)
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (_zeros(weight), _zeros(weight))  # z, n

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        wd = self._get_wd(index)
        lr = self._get_lr(index)
        z_nd, n_nd = state
        w = weight._data
        g = _clipped(grad._data, self.rescale_grad, self.clip_gradient)
        n_old = n_nd._data
        z = z_nd._data + g - (_ops.sqrt(n_old + g * g) - _ops.sqrt(n_old)) * w / lr
        n = n_old + g * g
        keep = _ops.cast(_ops.abs(z) > self.lamda1, z.dtype)
        new_w = (_ops.sign(z) * self.lamda1 - z) / ((self.beta + _ops.sqrt(n)) / lr + wd) * keep
        _write(z_nd, z)
        _write(n_nd, n)
        _write(weight, new_w)


@register
class Adamax(Optimizer):
    """AdaMax (Adam with the infinity norm)::

        grad = clip(grad * rescale_grad + wd * weight, clip_gradient)
        m = beta1 * m_t + (1 - beta1) * grad
        u = maximum(beta2 * u, abs(grad))
        weight -= lr / (1 - beta1**t) * m / u
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return (_zeros(weight, weight.dtype), _zeros(weight, weight.dtype))

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        t = self._index_update_count[index]
        lr /= (1. - self.beta1**t)
        w = weight._data
        g = grad._data * self.rescale_grad + wd * w
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        m_nd, u_nd = state
        m = m_nd._data * self.beta1 + (1. - self.beta1) * g
        u = _ops.maximum(self.beta2 * u_nd._data, _ops.abs(g))
        _write(m_nd, m)
        _write(u_nd, u)
        _write(weight, w - lr * m / u)


@register
class Nadam(Optimizer):
    """Nesterov Adam (MXNet's Python rule, its momentum schedule included)."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.

    def create_state(self, index, weight):
        return (_zeros(weight, weight.dtype), _zeros(weight, weight.dtype))

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        t = self._index_update_count[index]
        w = weight._data
        g = grad._data * self.rescale_grad + wd * w
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        momentum_t = self.beta1 * (1. - 0.5 * (pow(0.96, t * self.schedule_decay)))
        momentum_t_1 = self.beta1 * (1. - 0.5 * (pow(0.96, (t + 1) * self.schedule_decay)))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        m_nd, v_nd = state
        m = m_nd._data * self.beta1 + (1. - self.beta1) * g
        v = v_nd._data * self.beta2 + (1. - self.beta2) * g * g
        _write(m_nd, m)
        _write(v_nd, v)
        grad_prime = g / (1. - self.m_schedule)
        m_t_prime = m / (1. - m_schedule_next)
        v_t_prime = v / (1. - pow(self.beta2, t))
        m_t_bar = (1. - momentum_t) * grad_prime + momentum_t_1 * m_t_prime
        _write(weight, w - lr * m_t_bar / (_ops.sqrt(v_t_prime) + self.epsilon))


@register
class FTML(Optimizer):
    """FTML ('Follow the Moving Leader in Deep Learning'), ``ftml_update``::

        rescaled_grad = clip(grad * rescale_grad + wd * weight, clip_gradient)
        v = beta2 * v + (1 - beta2) * square(rescaled_grad)
        d_t = (1 - power(beta1, t)) / lr * (square_root(v / (1 - power(beta2, t))) + epsilon)
        z = beta1 * z + (1 - beta1) * rescaled_grad - (d_t - beta1 * d_(t-1)) * weight
        weight = - z / d_t
    """

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (_zeros(weight, weight.dtype),  # d_0
                _zeros(weight, weight.dtype),  # v_0
                _zeros(weight, weight.dtype))  # z_0

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        t = self._index_update_count[index]
        prev_d, prev_v, prev_z = state
        w = weight._data
        g = _decayed_clipped(grad._data, w, self.rescale_grad, wd, self.clip_gradient)
        beta1, beta2 = self.beta1, self.beta2
        v = beta2 * prev_v._data + one_minus(beta2) * (g * g)
        # the kernel's float32 arithmetic: powf, then the division by lr in float32
        f32 = numpy.float32
        coef = float((f32(1) - f32(beta1) ** t) / f32(lr))
        d_t = coef * (_ops.sqrt(v / float(f32(1) - f32(beta2) ** t)) + self.epsilon)
        z = beta1 * prev_z._data + one_minus(beta1) * g - (d_t - beta1 * prev_d._data) * w
        _write(prev_d, d_t)
        _write(prev_v, v)
        _write(prev_z, z)
        _write(weight, -z / d_t)


def _norm(t):
    """The 2-norm of a tensor, as a 0-d tensor of its dtype (LAMB's r1, r2)."""
    return _ops.sqrt(_ops.sum(t * t))


@register
class LAMB(Optimizer):
    """LAMB (``lamb_update_phase1``/``phase2``): Adam's direction plus weight decay,
    its step scaled by ``||w|| / ||direction||`` (``||w||`` bounded by
    ``lower_bound``/``upper_bound``)."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = 45  # MXNET_OPTIMIZER_AGGREGATION_SIZE's default, capped

    def create_state(self, index, weight):
        return (_zeros(weight, weight.dtype), _zeros(weight, weight.dtype))

    def _step(self, index, weight, grad, state, multi_precision):
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        t = self._index_update_count[index]
        if multi_precision:
            (mean, var), target = state[1], state[0]
        else:
            (mean, var), target = state, weight
        w = target._data
        g = _clipped(cast(grad._data, target), self.rescale_grad, self.clip_gradient)
        beta1, beta2 = self.beta1, self.beta2
        m = beta1 * mean._data + one_minus(beta1) * g
        v = beta2 * var._data + one_minus(beta2) * (g * g)
        _write(mean, m)
        _write(var, v)
        if self.bias_correction:
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
        else:
            m_hat, v_hat = m, v
        direction = m_hat / (_ops.sqrt(v_hat) + self.epsilon) + wd * w
        r1 = _norm(w)
        r2 = _norm(direction)
        if self.lower_bound:
            r1 = _ops.maximum(r1, self.lower_bound)
        if self.upper_bound:
            r1 = _ops.minimum(r1, self.upper_bound)
        degenerate = _ops.logical_or(_ops.equal(r1, 0), _ops.equal(r2, 0))
        ratio = _ops.where(degenerate, _ops.ones_like(r1), r1 / r2)
        new_w = w - (lr * ratio) * direction
        _write(target, new_w)
        if multi_precision:
            _write(weight, cast(new_w, weight))

    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        indices, weights, grads, states = as_lists(index, weight, grad, state)
        for i, w, g, s in zip(indices, weights, grads, states):
            check_arrays(w, g)
            self._step(i, w, g, s, multi_precision)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(index, (tuple, list)) else weight
        import numpy

        use_multi_precision = self.multi_precision and first.dtype == numpy.float16
        self._update_impl(index, weight, grad, state, multi_precision=use_multi_precision)
