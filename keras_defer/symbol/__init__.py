"""``mx.sym`` / ``mx.symbol``: MXNet 1.9.1's Symbol API, the part exported graphs need.

``mx.sym.var('data')``, the operator functions with MXNet's names and arguments
(``mx.sym.Convolution(x, kernel=(3, 3), num_filter=8)``, ``mx.sym.relu(x)``), ``Group``,
``load`` / ``load_json`` and ``Symbol.tojson`` / ``save`` in MXNet's JSON text. A block
called with a symbol builds its graph (``HybridBlock.export``, ``keras_defer.export``);
``gluon.SymbolBlock`` runs such a graph with Keras operations.
"""

import numbers
import types

from keras_defer.symbol import ops as _ops
from keras_defer.symbol.naming import AttrScope, NameManager, Prefix
from keras_defer.symbol.symbol import Group, Symbol, Variable, create, load, load_json, var


def _function(function_name):
    def make(*args, **kwargs):
        return create(function_name, list(args), kwargs)
    make.__name__ = make.__qualname__ = function_name
    make.__doc__ = ("MXNet's ``%s``: a node of operator ``%s`` (inputs as symbols, "
                    "parameters as keywords)." % (function_name,
                                                  _ops.FUNCTIONS[function_name]))
    return make


_internal = types.ModuleType("keras_defer.symbol._internal",
                             "MXNet's internal operator functions (``_Plus``, ``_copy``).")
for _name in _ops.FUNCTIONS:
    _fn = _function(_name)
    if _name.startswith("_"):
        setattr(_internal, _name, _fn)
    else:
        globals()[_name] = _fn
op = types.ModuleType("keras_defer.symbol.op", "MXNet's operator functions.")
for _name in _ops.FUNCTIONS:
    setattr(op, _name, _function(_name))
del _name, _fn


def _scalar_or_symbol(left, right, op_name, scalar_name, rscalar_name=None):
    if isinstance(left, Symbol) and isinstance(right, Symbol):
        return create(op_name, [left, right], {})
    if isinstance(left, Symbol) and isinstance(right, numbers.Number):
        return create(scalar_name, [left], {"scalar": right})
    if isinstance(left, numbers.Number) and isinstance(right, Symbol):
        return create(rscalar_name or scalar_name, [right], {"scalar": left})
    raise TypeError("types (%s, %s) not supported" % (type(left), type(right)))


def maximum(left, right):
    """Elementwise maximum of symbols and/or scalars (MXNet's ``sym.maximum``)."""
    return _scalar_or_symbol(left, right, "_Maximum", "_MaximumScalar")


def minimum(left, right):
    """Elementwise minimum of symbols and/or scalars (MXNet's ``sym.minimum``)."""
    return _scalar_or_symbol(left, right, "_Minimum", "_MinimumScalar")


def pow(base, exp):  # noqa: A001  (MXNet's name)
    """``base ** exp`` of symbols and/or scalars (MXNet's ``sym.pow``)."""
    return _scalar_or_symbol(base, exp, "_Power", "_PowerScalar", "_RPowerScalar")


power = pow


def hypot(left, right):
    """``sqrt(left**2 + right**2)`` of symbols and/or scalars."""
    return _scalar_or_symbol(left, right, "_Hypot", "_HypotScalar")


def zeros(shape, dtype=None, **kwargs):
    """A node of zeros of ``shape`` (MXNet's ``sym.zeros``: operator ``_zeros``)."""
    return create("_zeros", [], dict(kwargs, shape=shape,
                                     dtype="float32" if dtype is None else dtype))


def ones(shape, dtype=None, **kwargs):
    """A node of ones of ``shape`` (MXNet's ``sym.ones``: operator ``_ones``)."""
    return create("_ones", [], dict(kwargs, shape=shape,
                                    dtype="float32" if dtype is None else dtype))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        "module 'keras_defer.symbol' has no operator %r: keras_defer knows the %d "
        "operators exported graphs use (keras_defer/symbol/ops.py), MXNet has more. Write "
        "the computation with those, or add the operator's signature to ops.py."
        % (name, len(_ops.OPS)))


__all__ = ["zeros", "ones", "Symbol", "var", "Variable", "Group", "load", "load_json",
           "NameManager", "Prefix", "AttrScope", "maximum", "minimum", "pow", "power", "hypot", "op",
           "_internal"] + sorted(n for n in _ops.FUNCTIONS if not n.startswith("_"))
