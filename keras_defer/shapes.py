"""Parameter shapes with Gluon's convention that a 0 dim is "not known yet".

A leaf module (numpy and the error classes only): parameters, blocks, sharing and
the file loaders all merge and check shapes, and none of them should import another
to do it.
"""

import numpy as np

from keras_defer.errors import ShapeMismatchError, shape_mismatch_message

__all__ = ["shape_is_known", "as_shape", "merge_shapes", "check_fixed_dim"]


def shape_is_known(shape):
    """True when every dim is given (no 0 left to infer)."""
    return shape is not None and all(int(d) > 0 for d in shape)


def as_shape(shape, name):
    """``shape`` as a tuple of ints >= 0 (an int means a vector), or None; ``name``
    is the parameter the error messages name."""
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            "Parameter '%s': shape must be an int or a tuple of ints, got %r" % (name, shape)
        ) from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(
                "Parameter '%s': shape must hold ints >= 0 (0 = not known yet), got %r"
                % (name, shape)
            )
    return tuple(int(d) for d in dims)


def merge_shapes(old, new):
    """``new`` if it only fills dims of ``old`` that were 0 (unknown); else None."""
    if old is None:
        return tuple(new)
    if len(old) != len(new):
        return None
    if all(o in (0, n) or n == 0 for o, n in zip(old, new)):
        return tuple(n if n else o for o, n in zip(old, new))
    return None


def check_fixed_dim(block, param, axis, given, hint):
    """Fill dim ``axis`` of ``param`` from ``given`` if unknown, else check it: the
    one step of shape inference every layer's ``infer_shape`` makes."""
    shape = param.shape
    if shape[axis] == 0:
        new = list(shape)
        new[axis] = given
        param.shape = tuple(new)
    elif shape[axis] != given:
        expected = list(shape)
        expected[axis] = given
        raise ShapeMismatchError(
            shape_mismatch_message(block.name, param.name, shape, expected, hint)
        )
