"""How the eager fast path plans convolutions, pooling, ``Flatten``, ``Dropout`` and
``BatchNorm`` (those two in inference).

Each function here is a layer class's ``_plan_step(planner)`` (``fast_path``): it
adds one step that does what the layer's ``forward`` does, operation for operation,
made from the backend's plan operations (``planner.ops``: the functions ``keras.ops``
ends in, static arguments bound once). So a plan's values are those of the Keras
path bit for bit, without ``Layer.__call__`` (about 250 us per layer on a 2-core
CPU) and without ``keras.ops``' per-call checks. They live beside the layers'
modules (which only point here) so that a forward and its plan are read together
with the layer's own helpers (``_same_padding``, ``_keras_kernel``,
``_avg_correction``); each mirrors ``forward`` line for line, and a change to one
needs the same change to the other (``tests/test_fast_path_layers.py`` compares the
two bit for bit on every option).

Not planned (the Keras path runs them, as before): dilated transposed convolutions
(their kernel is dilated with zeros by hand), a block whose activation has hooks,
and anything ``fast_path.Planner.add`` refuses.
"""

import keras

from keras_defer.fast_path import Unplannable
from keras_defer.nn.basic_layers import Activation


def _layout_transposes(ops, layout):
    """The transposes into and out of channels-last (``_to_channels_last``,
    ``_from_channels_last``), or None for a channels-last layout."""
    if layout[1] != "C":
        return None, None
    rank = len(layout)
    return (ops.transpose((0,) + tuple(range(2, rank)) + (1,)),
            ops.transpose((0, rank - 1) + tuple(range(1, rank - 1))))


def _pad(ops, before, after, value=0.0):
    """``_pad_spatial``: None where it returns its input."""
    if not any(before) and not any(after):
        return None
    widths = [(0, 0)] + [(int(b), int(a)) for b, a in zip(before, after)] + [(0, 0)]
    return ops.pad(widths, value)


def _conv_compute(block, ops, depthwise):
    """``_Conv._compute(x, kernel, conv)``: ``conv`` is ``keras.ops.depthwise_conv``
    for a depthwise convolution, else ``keras.ops.conv``."""
    make = ops.depthwise_conv if depthwise else ops.conv
    strides, dilation, padding = block._strides, block._dilation, block._padding
    if any(padding) and block._same_padding():
        return make(1, "same", dilation)
    pad = _pad(ops, padding, padding)
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        conv = make(1, "valid", dilation)
        subsample = ops.item((slice(None),) + tuple(slice(None, None, s) for s in strides)
                             + (slice(None),))
        if pad is None:
            return lambda x, kernel: subsample(conv(x, kernel))
        return lambda x, kernel: subsample(conv(pad(x), kernel))
    conv = make(strides, "valid", dilation)
    if pad is None:
        return conv
    return lambda x, kernel: conv(pad(x), kernel)


def _conv_transpose_compute(block, ops):
    """``_ConvTranspose._compute(x, kernel)`` without dilation: Keras's 'valid'
    transposed convolution, then Gluon's padding cropped."""
    if any(d > 1 for d in block._dilation):
        raise Unplannable  # _dilate_kernel: the Keras path
    conv = ops.conv_transpose(block._strides, block._output_padding)
    if not any(block._padding):
        return conv
    crop = ops.item((slice(None),) + tuple(slice(p, -p if p else None)
                                           for p in block._padding) + (slice(None),))
    return lambda x, kernel: crop(conv(x, kernel))


def conv_step(block, planner):
    """``_Conv.forward``: into channels-last, Gluon's weight into Keras's kernel
    layout, the convolution (grouped by hand, or depthwise; transposed), bias,
    activation, back."""
    ops = planner.ops
    layout = block._layout
    planner.require_rank(len(layout))
    variable = block.weight.variable
    if variable is None or variable.dtype != block.compute_dtype:
        raise planner.Unplannable
    weight = planner.variable(block.weight)
    bias = planner.variable(block.bias) if block.bias is not None else None
    act = None
    if block.act is not None:
        if type(block.act).forward is not Activation.forward:
            raise planner.Unplannable
        # built here if the first pass has not reached it yet (it has no parameters);
        # refused if it has hooks (forward then calls it in Gluon's layout)
        act = block.act._planned_function(planner, (None,) * len(layout))
    planner.watch(block)
    groups = block._groups
    channel_axis = layout.find("C")
    if block._transpose:
        in_channels = int(block.weight.shape[0])
    else:
        in_channels = int(block.weight.shape[-1 if block._channels_last else 1]) * groups
    ndim = len(block._kernel)
    if block._channels_last and not block._transpose:
        kernel_axes = tuple(range(1, 1 + ndim)) + (ndim + 1, 0)
    else:
        kernel_axes = tuple(range(2, 2 + ndim)) + (1, 0)
    to_kernel = ops.transpose_fixed(kernel_axes, tuple(int(d) for d in variable.shape))
    to_last, from_last = _layout_transposes(ops, layout)
    add = ops.bias_add(block._channels) if bias is not None else None
    if block._transpose:
        one = _conv_transpose_compute(block, ops)
    else:
        one = _conv_compute(block, ops, False)
    if groups == 1:
        compute = one
    elif block._is_depthwise():
        depthwise = _conv_compute(block, ops, True)
        to_depthwise = ops.reshape(tuple(block._kernel) + (groups, block._channels // groups))

        def compute(x, kernel):
            return depthwise(x, to_depthwise(kernel))
    else:
        split, concatenate = ops.split(groups, -1), ops.concatenate(-1)

        def compute(x, kernel):
            return concatenate([one(a, k) for a, k in zip(split(x), split(kernel))])

    def run(x):
        if x.shape[channel_axis] != in_channels:
            # the Keras path raises ShapeMismatchError; some backends would not fail
            raise ValueError("channels")
        if to_last is not None:
            x = to_last(x)
        y = compute(x, to_kernel(weight))
        if add is not None:
            y = add(y, bias)
        if act is not None:
            y = act(y)
        return y if from_last is None else from_last(y)

    planner.step(activation=run)


def pool_step(block, planner):
    """``_Pooling.forward``: global pooling as one reduction; otherwise into
    channels-last, Gluon's padding and 'full' (``ceil_mode``) overrun as an explicit
    pad, a 'valid' pooling, the average's divisor correction, back."""
    ops = planner.ops
    layout = block._layout
    planner.require_rank(len(layout))
    planner.watch(block)
    if block._global_pool:
        axes = tuple(block._spatial_axes())
        planner.step(activation=(ops.max if block._pool_type == "max" else ops.mean)(axes))
        return
    to_last, from_last = _layout_transposes(ops, layout)
    is_max = block._pool_type == "max"
    pool = (ops.max_pool if is_max else ops.average_pool)(block._kernel, block._strides)
    multiply = None if is_max else ops.multiply()
    per_sizes = {}  # spatial sizes -> (pad or None, correction tensor or None)

    def prepare(x, sizes):
        before = block._padding
        after = [(block._spatial_out(n, i) - 1) * block._strides[i] + block._kernel[i]
                 - n - block._padding[i] for i, n in enumerate(sizes)]
        after = [max(a, block._padding[i]) for i, a in enumerate(after)]
        if is_max:
            entry = (_pad(ops, before, after, -float("inf")), None)
        else:
            correction = block._avg_correction(
                list(sizes), before, after, keras.backend.standardize_dtype(x.dtype))
            entry = (_pad(ops, before, after), ops.tensor(correction))
        per_sizes[sizes] = entry
        return entry

    def run(x):
        if to_last is not None:
            x = to_last(x)
        sizes = tuple(int(d) for d in x.shape[1:-1])
        pad, correction = per_sizes.get(sizes) or prepare(x, sizes)
        y = pool(x if pad is None else pad(x))
        if correction is not None:
            y = multiply(y, correction)
        return y if from_last is None else from_last(y)

    planner.step(activation=run)


def flatten_step(block, planner):
    """``Flatten.forward``: ``reshape(x, (-1, prod(x.shape[1:])))``."""
    flatten = planner.ops.flatten()
    planner.watch(block)
    planner.step(activation=flatten)
    planner.set_rank(2)


def dropout_step(block, planner):
    """``Dropout.forward`` in inference: its input itself, so no step; the plan then
    runs only where the Keras path would not be training."""
    planner.watch(block)
    if block._rate != 0:
        planner.inference_only()


def batchnorm_step(block, planner):
    """``BatchNorm.forward`` with the running statistics (inference, or
    ``use_global_stats``): ``(x - mean) * scale + beta``, each operand cast, reshaped
    and combined in forward's order, with the backend's own operators where forward
    uses Python's."""
    ops = planner.ops
    names = ("gamma", "beta", "running_mean", "running_var")
    gamma, beta, mean, var = (planner.variable(getattr(block, name)) for name in names)
    planner.watch(block)
    if not block._use_global_stats:
        planner.inference_only()
    channels, epsilon, scaled = int(block.gamma.shape[0]), block._epsilon, block._scale
    rsqrt = ops.rsqrt()
    per_rank = {}  # rank -> (axis, the cast of each operand, the reshape to broadcast)

    def prepare(x, rank):
        axis = block._axis
        if not -rank <= axis < rank:
            raise ValueError("axis")  # the Keras path raises ShapeMismatchError
        axis %= rank
        shape = [1] * rank
        shape[axis] = -1
        cast = ops.cast(keras.backend.standardize_dtype(x.dtype))
        entry = per_rank[rank] = (axis, cast, ops.reshape(tuple(shape)))
        return entry

    def run(x):
        rank = len(x.shape)
        axis, cast, broadcast = per_rank.get(rank) or prepare(x, rank)
        if x.shape[axis] != channels:
            raise ValueError("channels")  # the Keras path raises ShapeMismatchError
        scale = rsqrt(cast(var) + epsilon)
        if scaled:
            scale = scale * cast(gamma)
        return (x - broadcast(cast(mean))) * broadcast(scale) + broadcast(cast(beta))

    planner.step(activation=run)
