"""How a block learns its parameters' shapes before anything runs.

Gluon infers every unknown (0) dim along the graph at the first pass, before any
initializer runs, so that a shape error in the fifth layer leaves the first four
uninitialized. Keras's ``build(input_shape)`` is the hook: each block fixes its own
parameters' dims from its input shape (``infer_shape``), and a container hands each
child the output shape of the one before, as far as those are computable without
running ``forward`` (``_static_output_shape``). ``Block`` mixes this in.
"""

import keras

__all__ = ["ShapeInference"]


class ShapeInference:
    """Keras's ``build`` as Gluon's shape inference (a mixin of ``Block``)."""

    def build(self, input_shape):
        """Keras's build: fix the unknown dims of this block's parameters."""
        shapes = self.__dict__.pop("_input_shapes", None) or [input_shape]
        self.infer_shape(*shapes)

    def infer_shape(self, *input_shapes):
        """Hook: set the unknown (0) dims of this block's parameters from the input
        shapes. Containers use ``compute_output_shape`` of their children instead."""

    def _build_and_output_shape(self, input_shape):
        """Build this block from ``input_shape`` and return its output shape, or
        ``None`` when that cannot be known without running ``forward``."""
        if not self.built:
            object.__setattr__(self, "_input_shapes", [input_shape])
            self.build(input_shape)
        else:
            self._check_input_shape(input_shape)
        return self._static_output_shape(input_shape)

    def _static_output_shape(self, input_shape):
        """This block's output shape for ``input_shape`` without running it, or ``None``.

        Blocks with ``compute_output_shape`` answer directly; a parameter-free block
        without it (a ``Lambda``) is traced symbolically, so the first pass can still
        infer every later shape before any initializer runs.
        """
        if type(self).compute_output_shape is not keras.layers.Layer.compute_output_shape:
            return tuple(self.compute_output_shape(input_shape))
        if self._params.keys() or self._children:
            return None
        try:
            spec = keras.layers.Layer.compute_output_spec(
                self, keras.KerasTensor(input_shape, dtype=self.compute_dtype))
        except Exception:  # noqa: BLE001 - not traceable: the forward will tell
            return None
        return tuple(spec.shape) if isinstance(spec, keras.KerasTensor) else None

    def _check_input_shape(self, input_shape):
        """Raise ``ShapeMismatchError`` if ``input_shape`` contradicts fixed params."""

    def compute_output_spec(self, *args, **kwargs):
        # Keras derives shapes from named call() arguments; ours is call(*args), so
        # hand it the first input's shape when this block can compute its output.
        if args and hasattr(args[0], "shape") and (
                type(self).compute_output_shape is not keras.layers.Layer.compute_output_shape):
            shape = self._static_output_shape(tuple(args[0].shape))
            if shape is not None:
                return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return super().compute_output_spec(*args, **kwargs)
