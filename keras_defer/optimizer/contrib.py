"""``mxnet.optimizer.contrib``: ``GroupAdaGrad`` (AdaGrad with one rate per row)."""

import keras

from keras_defer.optimizer.optimizer import Optimizer, _write, check_arrays, register

__all__ = ['GroupAdaGrad']

_ops = keras.ops


@register
class GroupAdaGrad(Optimizer):
    """Adagrad optimizer with row-wise learning rates (2-D weights; no weight decay)::

        grad = clip(grad * rescale_grad, clip_gradient)
        history += mean(square(grad), axis=1, keepdims=True)
        div = grad / sqrt(history + float_stable_eps)
        weight -= div * lr
    """

    def __init__(self, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        from keras_defer import nd

        assert len(weight.shape) == 2
        return nd.zeros((weight.shape[0], 1), weight.context)

    def update(self, index, weight, grad, state):
        check_arrays(weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        assert wd == 0, 'Weight decay is not supported for GroupAdaGrad'
        g = grad._data * self.rescale_grad
        if self.clip_gradient is not None:
            g = _ops.clip(g, -self.clip_gradient, self.clip_gradient)
        history = state._data + _ops.mean(g * g, axis=1, keepdims=True)
        _write(state, history)
        _write(weight, weight._data - lr * g / _ops.sqrt(history + self.float_stable_eps))
