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
        layout = getattr(self, "_layout", None)
        if (layout in _CHANNELS_LAST and shapes[0] is not None
                and len(shapes[0]) == len(layout)
                and type(self).compute_output_shape
                is not keras.layers.Layer.compute_output_shape):
            # a convolution or pooling: refuse a window larger than the input (a
            # channels-last input, often) before any parameter takes a shape from it
            _check_output_shape(self, tuple(shapes[0]),
                                tuple(self.compute_output_shape(tuple(shapes[0]))))
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
            shape = tuple(self.compute_output_shape(input_shape))
            _check_output_shape(self, tuple(input_shape), shape)
            return shape
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


_CHANNELS_LAST = {"NCW": "NWC", "NCHW": "NHWC", "NCDHW": "NDHWC"}


def _check_output_shape(block, input_shape, shape):
    """``ShapeMismatchError`` (a ``ValueError``, as MXNet's "kernel size exceed input")
    when an input gives an axis of negative or zero size that had a size: a kernel or
    pool window larger than the input. Raised while the block is built, so the first
    pass rolls back and nothing changes. A channels-first block (Gluon's default
    layout) fed a channels-last input (Keras's default, ``(None, 28, 28, 1)``) fails
    this way; the error then says so, and how to fix it."""
    if len(shape) != len(input_shape):
        return
    bad = _bad_axes(input_shape, shape)
    if not bad:
        return
    from keras_defer.errors import ShapeMismatchError

    layout = getattr(block, "_layout", None)
    text = ("%s %r: the input shape %s gives the output shape %s (%s %s): the input is "
            "smaller than the kernel or window there."
            % (type(block).__name__, block.name, input_shape, shape,
               "axes" if len(bad) > 1 else "axis", ", ".join(str(a) for a in bad)))
    if layout in _CHANNELS_LAST:
        channels = input_shape[1]
        last = input_shape[-1]
        # channels-last if the same input, its last axis moved to axis 1, would fit
        moved = (input_shape[0], last) + tuple(input_shape[1:-1])
        looks = last is not None and not _bad_axes(
            moved, tuple(block.compute_output_shape(moved)))
        permute = tuple([len(layout) - 1] + list(range(1, len(layout) - 1)))
        text += (" The layer's layout is %r (channels first, Gluon's default: the channels "
                 "on axis 1, here %s)%s. Create the layer with layout=%r for channels-last "
                 "inputs, or transpose the input to channels first (keras.layers.Permute(%s))."
                 % (layout, channels,
                    "; this input looks channels-last (Keras's default), with %s channel%s on "
                    "the last axis" % (last, "" if last == 1 else "s") if looks else "",
                    _CHANNELS_LAST[layout], permute))
    raise ShapeMismatchError(text)


def _bad_axes(input_shape, shape):
    """The axes of ``shape`` of negative size, or of size 0 where the input's had a size."""
    return [axis for axis, (before, after) in enumerate(zip(input_shape, shape))
            if after is not None and after <= 0 and (after < 0 or before is None or before > 0)]
