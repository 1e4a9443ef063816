"""The errors keras_defer raises, with Gluon's class hierarchy.

Ported Gluon code catches ``MXNetError`` / ``DeferredInitializationError`` (both
``RuntimeError`` subclasses in MXNet 1.9.1), so we keep those classes and their
messages; ``ShapeMismatchError`` is also a ``ValueError`` so that Keras users can
catch shape problems the way they catch Keras's own.
"""


class MXNetError(RuntimeError):
    """Base class of keras_defer's own errors (Gluon's ``mxnet.base.MXNetError``)."""


class DeferredInitializationError(MXNetError):
    """A parameter's data was asked for before the first forward pass fixed its shape."""


class ShapeMismatchError(MXNetError, ValueError):
    """An input contradicts a parameter shape that is already fixed."""


class NotImplementedForSymbol(MXNetError):
    """An NDArray-only operation asked of a ``Symbol`` (MXNet's class and text)."""

    def __init__(self, function, alias, *args):
        super().__init__()
        self.function = function.__name__
        self.alias = alias
        self.args = [str(type(a)) for a in args]

    def __str__(self):
        msg = "Function {}".format(self.function)
        if self.alias:
            msg += ' (namely operator "{}")'.format(self.alias)
        if self.args:
            msg += " with arguments ({})".format(", ".join(self.args))
        return msg + " is not implemented for Symbol and only available in NDArray."


def not_initialized_message(name):
    """Gluon's text for a parameter on which ``initialize()`` was never called."""
    return (
        "Parameter '%s' has not been initialized. Note that you should initialize "
        "parameters and create Trainer with Block.collect_params() instead of "
        "Block.params because the later does not include Parameters of nested "
        "child Blocks" % name
    )


def deferred_message(name):
    """Gluon's text for a parameter whose initialization waits for the first pass."""
    return (
        "Parameter '%s' has not been initialized yet because initialization was "
        "deferred. Actual initialization happens during the first forward pass. "
        "Please pass one batch of data through the network before accessing "
        "Parameters. You can also avoid deferred initialization by specifying "
        "in_units, num_features, etc., for network layers." % name
    )


def shape_mismatch_message(block, param, expected, given, hint):
    """Name the block and parameter, what was fixed, what came, and how to fix it."""
    return (
        "Shape inconsistent in block '%s': parameter '%s' has shape %s, but the "
        "input implies %s. %s" % (block, param, tuple(expected), tuple(given), hint)
    )
