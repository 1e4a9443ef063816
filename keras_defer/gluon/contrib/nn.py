"""``gluon.contrib.nn`` (MXNet 1.9.1's ``gluon/contrib/nn/basic_layers.py``):
``Concurrent``, ``HybridConcurrent`` and ``Identity``.

A concurrent container feeds its input to every child and concatenates their outputs
along ``axis``. Each child sees the container's input shape, so the first pass infers
every child's parameters from it before anything runs, and the output shape is known
when every child's is (the concatenated axis sums theirs).
"""

from keras import ops

from keras_defer.block import HybridBlock
from keras_defer.nn.basic_layers import HybridSequential, Sequential
from keras_defer.validation import check_axis

__all__ = ["Concurrent", "HybridConcurrent", "Identity"]


class _ConcurrentMixin:
    """Children side by side: one input for all, outputs concatenated on ``axis``.

    (The eager fast path plans chains only: its planner skips a class whose
    ``forward`` is not that of the class defining ``_plan_step``, here Sequential's.)"""

    def forward(self, x):
        return ops.concatenate([block(x) for block in self._children.values()],
                               axis=self.axis)

    def build(self, input_shape):
        for child in self._children.values():
            child._build_and_output_shape(input_shape)

    def _static_output_shape(self, input_shape):
        shapes = [child._static_output_shape(tuple(input_shape))
                  for child in self._children.values()]
        if not shapes or any(shape is None for shape in shapes):
            return None
        axis = self.axis % len(shapes[0])
        joined = [shape[axis] for shape in shapes]
        out = list(shapes[0])
        out[axis] = None if None in joined else sum(joined)
        return tuple(out)

    def _check_input_shape(self, input_shape):
        for child in self._children.values():
            child._check_input_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Concurrent(_ConcurrentMixin, Sequential):
    """Runs its children on the same input and concatenates their outputs on
    ``axis`` (default -1)."""

    def __init__(self, axis=-1, prefix=None, params=None, **kwargs):
        axis = check_axis("Concurrent", "axis", axis)
        super().__init__(prefix=prefix, params=params, **kwargs)
        self.axis = axis


class HybridConcurrent(_ConcurrentMixin, HybridSequential):
    """``Concurrent`` of hybrid blocks; ``hybridize()`` compiles it as one."""

    def __init__(self, axis=-1, prefix=None, params=None, **kwargs):
        axis = check_axis("HybridConcurrent", "axis", axis)
        super().__init__(prefix=prefix, params=params, **kwargs)
        self.axis = axis


class Identity(HybridBlock):
    """Returns its input (the shortcut branch of a residual ``HybridConcurrent``)."""

    def __init__(self, prefix=None, params=None, **kwargs):
        super().__init__(prefix=prefix, params=params, **kwargs)

    def forward(self, x):
        return x

    def compute_output_shape(self, input_shape):
        return input_shape
