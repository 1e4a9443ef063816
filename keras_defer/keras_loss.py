"""A Gluon loss given to Keras's ``compile(loss=...)``.

Keras calls a loss as ``loss(y_true, y_pred)``; a Gluon loss is called as
``loss(pred, label)`` and returns one value per sample. Handed to Keras as it is, a
Gluon loss would get its arguments swapped (silently wrong for every loss but the
symmetric ones), so a keras_defer model's ``compile`` wraps it in ``GluonLoss``: Keras
then averages the per-sample values over the batch, which is ``loss(pred, label).mean()``
of a Gluon training loop.
"""

import sys

import keras

__all__ = ["GluonLoss", "wrap_compile_losses"]


def _is_gluon_loss(value):
    module = sys.modules.get("keras_defer.gluon.loss")  # no loss made: nothing to wrap
    return module is not None and isinstance(value, module.Loss)


@keras.saving.register_keras_serializable("keras_defer")
class GluonLoss(keras.losses.Loss):
    """``gluon_loss(y_pred, y_true)`` as a Keras loss (per-sample values, reduced by Keras)."""

    def __init__(self, gluon_loss, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name or gluon_loss.name, reduction=reduction)
        self.gluon_loss = gluon_loss

    def call(self, y_true, y_pred):
        return self.gluon_loss(y_pred, y_true)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction,
                "gluon_loss": keras.saving.serialize_keras_object(self.gluon_loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        gluon_loss = keras.saving.deserialize_keras_object(config.pop("gluon_loss"))
        return cls(gluon_loss, **config)


def _wrap(loss):
    if _is_gluon_loss(loss):
        return GluonLoss(loss)
    if isinstance(loss, (list, tuple)):
        return type(loss)(_wrap(item) for item in loss)
    if isinstance(loss, dict):
        return {key: _wrap(item) for key, item in loss.items()}
    return loss


def wrap_compile_losses(args, kwargs):
    """``compile``'s arguments with every Gluon loss wrapped (``loss`` is its second
    positional argument, after ``optimizer``)."""
    args = list(args)
    if len(args) > 1:
        args[1] = _wrap(args[1])
    if "loss" in kwargs:
        kwargs = dict(kwargs, loss=_wrap(kwargs["loss"]))
    return args, kwargs
