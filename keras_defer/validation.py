"""Argument checks: one copy of each, shared by every constructor and API entry.

Every check raises ``TypeError`` for a value of the wrong type and ``ValueError`` for
a value of the right type but out of range, with a short message naming the owner
(a block class, a method), the argument, what was expected and what came. Layer
constructors run them all before ``Block.__init__`` draws a name, so a refused
construction consumes no name (``conv0`` stays free), changes no counter and
registers no parameter.

A leaf module: it imports no other keras_defer module at import time.
"""

import math
import numbers
import re

import keras
import numpy as np

# Gluon's activation names that Keras spells differently, and Gluon's own names.
ACTIVATION_ALIASES = {"softrelu": "softplus"}
GLUON_ACTIVATIONS = ("relu", "sigmoid", "tanh", "softrelu", "softsign")


def check_bool(owner, arg, value):
    """``value`` must be a bool (Gluon flags such as ``force_reinit``): a string such
    as 'False' would silently be true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            "%s: %s must be True or False, got %r of type %s"
            % (owner, arg, value, type(value).__name__)
        )
    return bool(value)


def check_int(owner, arg, value, minimum):
    """An int (not a bool) >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            "%s: %s must be an int >= %d, got %r of type %s"
            % (owner, arg, minimum, value, type(value).__name__)
        )
    if value < minimum:
        raise ValueError(
            "%s: %s must be an int >= %d, got %r" % (owner, arg, minimum, value)
        )
    return int(value)


def check_select(owner, select):
    """``collect_params``'s ``select``: a regular expression, compiled."""
    if not isinstance(select, (str, re.Pattern)):
        raise TypeError(
            "%s.collect_params: select must be a regular expression (str), got %r"
            % (owner, select)
        )
    try:
        return re.compile(select)
    except re.error as exc:
        raise ValueError(
            "%s.collect_params: select=%r is not a valid regular expression (%s); "
            "e.g. '.*weight' selects every weight." % (owner, select, exc)
        ) from None


def check_layer_kwargs(owner, kwargs, accepted):
    """A block takes its own (Gluon's) arguments plus the Keras layer ones in
    ``accepted``; anything else is refused, naming all of them."""
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise TypeError(
            "%s got unknown argument(s) %s. It takes its own (Gluon's) arguments plus "
            "Keras layer ones: %s." % (owner, ", ".join(
                "%s=%r" % (k, kwargs[k]) for k in unknown), ", ".join(sorted(accepted)))
        )


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def check_ints(block, arg, value, ndim, minimum):
    """An int or a tuple/list of ``ndim`` ints, each >= ``minimum``; returns the tuple."""
    expected = "an int >= %d or a tuple of %d ints >= %d" % (minimum, ndim, minimum)
    if _is_int(value):
        values = (value,) * ndim
    elif isinstance(value, (tuple, list)):
        if not all(_is_int(v) for v in value):
            raise TypeError("%s: %s must be %s, got %r" % (block, arg, expected, value))
        if len(value) != ndim:
            raise ValueError("%s: %s must be %s, got %r (length %d)"
                             % (block, arg, expected, value, len(value)))
        values = tuple(value)
    else:
        raise TypeError("%s: %s must be %s, got %r of type %s"
                        % (block, arg, expected, value, type(value).__name__))
    if any(v < minimum for v in values):
        raise ValueError("%s: %s must be %s, got %r" % (block, arg, expected, value))
    return tuple(int(v) for v in values)


def check_real(block, arg, value, low, high=None, low_open=False, high_open=False):
    """A real number (not a bool) in the interval given; returns it unchanged (so a
    repr shows what was passed, as Gluon's does)."""
    interval = "%s%s, %s%s" % ("(" if low_open else "[", low,
                               "inf" if high is None else high,
                               ")" if high_open or high is None else "]")
    if not _is_real(value):
        raise TypeError("%s: %s must be a number in %s, got %r of type %s"
                        % (block, arg, interval, value, type(value).__name__))
    number = float(value)
    if (math.isnan(number) or number < low or (low_open and number == low)
            or (high is not None and (number > high or (high_open and number == high)))
            or (high is None and math.isinf(number))):
        raise ValueError("%s: %s must be a number in %s, got %r"
                         % (block, arg, interval, value))
    return value


def check_axis(block, arg, value):
    """Any int (its range is checked against the input's rank at the first pass)."""
    if not _is_int(value):
        raise TypeError("%s: %s must be an int (an axis of the input), got %r of type %s"
                        % (block, arg, value, type(value).__name__))
    return int(value)


def check_choice(block, arg, value, choices):
    """One of the strings ``choices`` (a layout, a mode)."""
    expected = " or ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError("%s: %s must be %s, got %r of type %s"
                        % (block, arg, expected, value, type(value).__name__))
    if value not in choices:
        raise ValueError("%s: %s must be %s, got %r" % (block, arg, expected, value))
    return value


def check_activation(block, activation):
    """None, or an activation name that ``nn.Activation`` accepts."""
    if activation is None:
        return None
    if not isinstance(activation, str):
        raise TypeError("%s: activation must be a name such as 'relu' or None, got %r of "
                        "type %s" % (block, activation, type(activation).__name__))
    try:
        keras.activations.get(ACTIVATION_ALIASES.get(activation, activation))
    except (ValueError, TypeError):
        raise ValueError("%s: activation must be a known name (Gluon's %s, or any Keras "
                         "activation), got %r"
                         % (block, ", ".join(GLUON_ACTIVATIONS), activation)) from None
    return activation


def check_initializer(block, arg, value):
    """None, or anything ``keras_defer.init.create`` accepts; the error keeps its type."""
    if value is None:
        return None
    from keras_defer import init as _init  # not at import: init is not a leaf

    try:
        _init.create(value)
    except (TypeError, ValueError) as error:
        raise type(error)("%s: %s: %s" % (block, arg, error)) from None
    return value


def check_dtype(block, arg, value):
    """A NumPy dtype (or its name)."""
    try:
        if value is None:
            raise TypeError
        np.dtype(value)
    except (TypeError, ValueError):
        raise TypeError("%s: %s must be a NumPy dtype such as 'float32', got %r"
                        % (block, arg, value)) from None
    return value
