"""PyTorch: a first pass's grouped draw without ``keras.ops``' per-call overhead, the
same values bit for bit.

cProfile of a fresh chapter MLP's ``initialize()`` + first call on PyTorch: the grouped
draw (``init.Draws``) cost more than the forward, mostly outside torch's kernels:
``keras.ops.split`` ~200 us (it turns the split points into a tensor, diffs and
concatenates them, and reads them back), ``keras.ops.reshape`` ~35 us per piece, and
``keras.random.uniform``'s ``torch.compiler.disable`` wrapper. Here the draw runs
Keras's own code for it (``keras.src.backend.torch.random``: Keras's global seed
generator through ``draw_seed``, a ``torch.Generator`` seeded as Keras seeds it,
``torch.rand`` / ``torch.normal`` with the same arguments, the same Python-float
arithmetic), and the pieces are ``torch.split`` + ``torch.reshape``, what
``keras.ops.split`` and ``keras.ops.reshape`` end in (views of the draw, which
``snapshot`` copies into each variable). ``tests/test_first_call_speedups.py`` compares
the values with Keras's own draws and pins values recorded before this module existed.
"""

import math

import torch
from keras.src.backend.torch.core import get_device as _get_device
from keras.src.backend.torch.core import to_torch_dtype as _to_torch_dtype
from keras.src.random.seed_generator import draw_seed as _draw_seed


def split_into(flat, shapes):
    """``flat`` cut into consecutive pieces of ``shapes`` (views)."""
    sizes = [math.prod(shape) for shape in shapes]
    pieces = torch.split(flat, sizes)
    return [torch.reshape(piece, tuple(shape)) for piece, shape in zip(pieces, shapes)]


def random_draws(kind, shapes, scale, shift, dtype):
    """``keras.random.uniform(shape, shift, shift + scale)`` or
    ``keras.random.normal(shape, shift, scale)`` of ``shapes[0]`` (one shape) or of
    the summed size, split into ``shapes``; None where Keras's path must run (the
    "meta" device of a symbolic build, a 0-d shape, inside ``torch.compile``)."""
    device = _get_device()
    if device == "meta" or any(len(shape) == 0 for shape in shapes) \
            or torch.compiler.is_compiling():
        return None
    torch_dtype = _to_torch_dtype(dtype)
    if not torch_dtype.is_floating_point:
        return None
    size = tuple(shapes[0]) if len(shapes) == 1 else (sum(math.prod(s) for s in shapes),)
    # keras.src.backend.torch.random.torch_seed_generator(None)
    generator = torch.Generator(device=device)
    first_seed, second_seed = _draw_seed(None)
    generator.manual_seed(int(first_seed + second_seed) & 0xFFFFFFFF)
    if kind == "uniform":  # keras.src.backend.torch.random.uniform
        minval, maxval = shift, shift + scale
        unit = torch.rand(size=size, generator=generator, dtype=torch_dtype, device=device)
        flat = (maxval - minval) * unit + minval
    else:  # keras.src.backend.torch.random.normal
        flat = torch.normal(shift, scale, size=size, generator=generator, dtype=torch_dtype,
                            device=device)
    if len(shapes) == 1:
        return [flat]
    return split_into(flat, shapes)
