"""``Symbol``: MXNet's computation graph as data, without MXNet.

A symbol is a list of outputs (heads), each an output of a node; a node is a variable
(``op`` "null") or an operator with its attributes, stored as MXNet stores them (strings:
``"(3, 3)"``, ``"False"``) and its inputs. Nothing is computed here: the graph is what
``HybridBlock.export`` writes and what ``SymbolBlock`` interprets. Everything observable
follows MXNet 1.9.1 (nnvm): node order (post-order depth-first from the heads), the
auxiliary states (inputs an operator mutates), output names (``dense0_fwd_output``),
the versions of mutated variables, and the JSON text (``json_format``).
"""

import numbers
import os

import numpy as np

from keras_defer.errors import MXNetError, NotImplementedForSymbol
from keras_defer.symbol import json_format, naming, ops

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "create"]

# numpy dtype -> MXNet's dtype flag (``__dtype__``), as mxnet.base._DTYPE_NP_TO_MX
_DTYPE_FLAGS = {np.float32: 0, np.float64: 1, np.float16: 2, np.uint8: 3, np.int32: 4,
                np.int8: 5, np.int64: 6, np.bool_: 7, np.int16: 8, np.uint16: 9,
                np.uint32: 10, np.uint64: 11}
_STORAGE_TYPES = {"undefined": -1, "default": 0, "row_sparse": 1, "csr": 2}


class _Node:
    """One graph node. ``inputs`` holds ``(node, index, version)``; a variable counts
    the operators that mutated it (``version``), as nnvm does."""

    __slots__ = ("op", "name", "attrs", "inputs", "num_outputs", "version", "__weakref__")

    def __init__(self, op, name, attrs, inputs=(), num_outputs=1):
        self.op = op  # None for a variable
        self.name = name
        self.attrs = attrs
        self.inputs = list(inputs)
        self.num_outputs = num_outputs
        self.version = 0

    def is_variable(self):
        return self.op is None

    def spec(self):
        return ops.spec(self.op)

    def num_visible(self):
        if self.op is None:
            return 1
        spec = ops.OPS.get(self.op)
        return spec.num_visible(self.attrs) if spec else self.num_outputs

    def output_name(self, index):
        if self.op is None:
            return self.name
        spec = ops.OPS.get(self.op)
        if spec is None:
            suffix = "output" if self.num_outputs == 1 else "output%d" % index
        else:
            suffix = spec.output_name(self.attrs, index)
        return "%s_%s" % (self.name, suffix)

    def mutated_inputs(self):
        spec = ops.OPS.get(self.op) if self.op else None
        return spec.aux if spec else ()


def _post_order(heads):
    """Nodes reachable from ``heads`` in nnvm's post-order DFS (inputs in order, each
    node once); iterative, so deep nets do not hit Python's recursion limit."""
    order, seen = [], set()
    for head in heads:
        node = head[0]
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack = [(node, 0)]
        while stack:
            current, next_input = stack[-1]
            if next_input == len(current.inputs):
                order.append(current)
                stack.pop()
                continue
            stack[-1] = (current, next_input + 1)
            child = current.inputs[next_input][0]
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, 0))
    return order


class Symbol:
    """A symbolic graph with one or more outputs (MXNet's ``mx.sym.Symbol``)."""

    __slots__ = ("_heads",)
    _is_mx_symbol = True

    def __init__(self, heads):
        self._heads = list(heads)  # [(node, index)]

    # -- identity ------------------------------------------------------------------
    @property
    def name(self):
        """The node's name; None for a group of several outputs."""
        if len(self._heads) != 1:
            return None
        return self._heads[0][0].name

    def __repr__(self):
        name = self.name
        if name is None:
            return "<%s group [%s]>" % (type(self).__name__, ", ".join(s.name for s in self))
        return "<%s %s>" % (type(self).__name__, name)

    def __len__(self):
        return len(self._heads)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            found = [i for i, n in enumerate(names) if n == index]
            if len(found) > 1:
                raise ValueError('There are multiple outputs with name "%s"' % index)
            if not found:
                raise ValueError('Cannot find output that matches name "%s"' % index)
            index = found[0]
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError("Symbol only support integer index to fetch i-th output")
        if not 0 <= index < len(self._heads):
            raise IndexError("Symbol has %d outputs, index %d is out of range"
                             % (len(self._heads), index))
        return Symbol([self._heads[index]])

    def __copy__(self):
        return Symbol(self._heads)

    def __deepcopy__(self, memo):
        return load_json(self.tojson())

    def __bool__(self):
        raise NotImplementedForSymbol(self.__bool__, "bool")

    # -- attributes ------------------------------------------------------------------
    def _single_node(self, what):
        if len(self._heads) != 1:
            raise MXNetError("%s works on a symbol with one output, not on a group of %d"
                             % (what, len(self._heads)))
        return self._heads[0][0]

    def attr(self, key):
        """The attribute string ``key`` of this symbol's node, or None."""
        return self._single_node("attr").attrs.get(key)

    def list_attr(self, recursive=False):
        if recursive:
            raise DeprecationWarning("Symbol.list_attr with recursive=True has been "
                                     "deprecated. Please use attr_dict instead.")
        return dict(self._single_node("list_attr").attrs)

    def attr_dict(self):
        """``{node name: attributes}`` for every node that has some."""
        return {n.name: dict(n.attrs) for n in _post_order(self._heads) if n.attrs}

    def _set_attr(self, **kwargs):
        node = self._single_node("_set_attr")
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError("Set Attr only accepts string values")
            node.attrs[key] = value

    # -- structure ---------------------------------------------------------------------
    def _nodes(self):
        return _post_order(self._heads)

    def _variables(self):
        nodes = self._nodes()
        mutated = set()
        for node in nodes:
            for index in node.mutated_inputs():
                mutated.add(id(node.inputs[index][0]))
        return [n for n in nodes if n.is_variable()], mutated

    def list_arguments(self):
        """Names of the variables read (not mutated), in graph order."""
        variables, mutated = self._variables()
        return [n.name for n in variables if id(n) not in mutated]

    def list_auxiliary_states(self):
        """Names of the variables operators update (BatchNorm's moving statistics)."""
        variables, mutated = self._variables()
        return [n.name for n in variables if id(n) in mutated]

    def list_inputs(self):
        """Every variable's name, arguments and auxiliary states together."""
        return [n.name for n in self._nodes() if n.is_variable()]

    def list_outputs(self):
        return [node.output_name(index) for node, index in self._heads]

    def get_internals(self):
        """Every visible output of every node, in graph order."""
        heads = []
        for node in self._nodes():
            heads.extend((node, i) for i in range(node.num_visible()))
        return Symbol(heads)

    def get_children(self):
        """The inputs of this symbol's node, grouped; None for a variable."""
        node = self._single_node("get_children")
        if not node.inputs:
            return None
        return Symbol([(n, i) for n, i, _ in node.inputs])

    # -- serialization -----------------------------------------------------------------
    def _graph(self, remove_amp_cast=True):
        heads = self._heads
        if remove_amp_cast:
            heads = _without_amp_cast(heads)
        nodes = _post_order(heads)
        ids = {id(n): i for i, n in enumerate(nodes)}
        row_ptr = [0]
        for node in nodes:
            row_ptr.append(row_ptr[-1] + node.num_outputs)
        return {
            "nodes": [{"op": "null" if n.op is None else n.op, "name": n.name,
                       "attrs": n.attrs,
                       "inputs": [[ids[id(src)], index, version]
                                  for src, index, version in n.inputs]}
                      for n in nodes],
            "arg_nodes": [i for i, n in enumerate(nodes) if n.is_variable()],
            "node_row_ptr": row_ptr,
            "heads": [[ids[id(node)], index, 0] for node, index in heads],
        }

    def tojson(self, remove_amp_cast=True):
        """The graph as MXNet 1.9.1's JSON text (byte for byte what MXNet writes)."""
        return json_format.write_graph(self._graph(remove_amp_cast))

    def save(self, fname, remove_amp_cast=True):
        """Write ``tojson()`` to ``fname`` (whole or not at all: a temporary file is
        renamed into place)."""
        if not isinstance(fname, str):
            raise TypeError("fname need to be string")
        text = self.tojson(remove_amp_cast)
        tmp = "%s.tmp-%d" % (fname, os.getpid())
        try:
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, fname)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    # -- arithmetic (MXNet's operators and the nodes they make) -------------------------
    def _binary(self, other, op, scalar_op):
        if isinstance(other, Symbol):
            return create(op, [self, other], {})
        if isinstance(other, numbers.Number):
            return create(scalar_op, [self], {"scalar": other})
        raise TypeError("type %s not supported" % str(type(other)))

    def _reverse(self, other, scalar_op):
        if isinstance(other, numbers.Number):
            return create(scalar_op, [self], {"scalar": other})
        raise TypeError("type %s not supported" % str(type(other)))

    def __add__(self, other):
        return self._binary(other, "_Plus", "_PlusScalar")

    __radd__ = __add__

    def __sub__(self, other):
        return self._binary(other, "_Minus", "_MinusScalar")

    def __rsub__(self, other):
        return self._reverse(other, "_RMinusScalar")

    def __mul__(self, other):
        return self._binary(other, "_Mul", "_MulScalar")

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._binary(other, "_Div", "_DivScalar")

    def __rtruediv__(self, other):
        return self._reverse(other, "_RDivScalar")

    __div__, __rdiv__ = __truediv__, __rtruediv__

    def __mod__(self, other):
        return self._binary(other, "_Mod", "_ModScalar")

    def __rmod__(self, other):
        return self._reverse(other, "_RModScalar")

    def __pow__(self, other):
        return self._binary(other, "_Power", "_PowerScalar")

    def __rpow__(self, other):
        return self._reverse(other, "_RPowerScalar")

    def __neg__(self):
        return self.__mul__(-1.0)

    def __abs__(self):
        return create("abs", [self], {})

    def __eq__(self, other):
        return self._binary(other, "_equal", "_EqualScalar")

    def __ne__(self, other):
        return self._binary(other, "_not_equal", "_NotEqualScalar")

    def __gt__(self, other):
        return self._binary(other, "_greater", "_GreaterScalar")

    def __ge__(self, other):
        return self._binary(other, "_greater_equal", "_GreaterEqualScalar")

    def __lt__(self, other):
        return self._binary(other, "_lesser", "_LesserScalar")

    def __le__(self, other):
        return self._binary(other, "_lesser_equal", "_LesserEqualScalar")

    __hash__ = object.__hash__

    def astype(self, dtype):
        return create("cast", [self], {"dtype": dtype})


def _fluent(name):
    def method(self, *args, **kwargs):
        return create(name, [self] + list(args), kwargs)
    method.__name__ = name
    method.__doc__ = "``%s(self, ...)`` as a node (MXNet's fluent method)." % name
    return method


# ``x.reshape(...)``: MXNet names the node after the method (``reshape0``)
for _name in ("reshape", "reshape_like", "transpose", "flatten", "expand_dims", "squeeze",
              "swapaxes", "split", "slice", "slice_axis", "slice_like", "take", "pick",
              "one_hot", "tile", "repeat", "pad", "flip", "broadcast_to", "broadcast_like",
              "broadcast_axes", "clip", "sum", "mean", "max", "min", "prod", "nansum", "norm",
              "argmax", "argmin", "sort", "argsort", "topk", "softmax", "log_softmax", "relu",
              "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "square", "abs", "sign",
              "round", "floor", "ceil", "zeros_like", "ones_like", "dot", "sin", "cos",
              "log1p", "expm1", "reciprocal", "softmin"):
    setattr(Symbol, _name, _fluent(_name))
del _name


def _without_amp_cast(heads):
    """Heads of the same graph with ``amp_cast`` nodes bypassed (MXNet's
    ``remove_amp_cast``); the graph itself is left as it is."""
    nodes = _post_order(heads)
    if not any(n.op in ("amp_cast", "amp_multicast") for n in nodes):
        return heads
    replaced = {}

    def source(entry):
        node, index = entry[0], entry[1]
        if node.op == "amp_cast":
            return source(node.inputs[0])
        if node.op == "amp_multicast":
            return source(node.inputs[index])
        return replaced.get(id(node), node), index, (entry[2] if len(entry) > 2 else 0)

    for node in nodes:
        if node.op in ("amp_cast", "amp_multicast") or node.is_variable():
            continue
        new_inputs = [source(e) for e in node.inputs]
        if any(a[0] is not b[0] for a, b in zip(new_inputs, node.inputs)):
            copy = _Node(node.op, node.name, node.attrs, new_inputs, node.num_outputs)
            replaced[id(node)] = copy
    out = []
    for head in heads:
        src = source((head[0], head[1], 0))
        out.append((src[0], src[1]))
    return out


# -- making symbols ----------------------------------------------------------------------
def var(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None,
        stype=None, **kwargs):
    """A variable (MXNet's ``mx.sym.var``); its attributes are stored as MXNet's strings
    (``__shape__``, ``__lr_mult__``, ``__dtype__`` as MXNet's dtype flag, ...)."""
    if not isinstance(name, str):
        raise TypeError("Expect a string for variable `name`")
    attrs = naming.current_attr_scope().get(attr)
    attrs = {} if attrs is None else dict(attrs)
    if shape is not None:
        attrs["__shape__"] = str(shape)
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        flag = _DTYPE_FLAGS.get(np.dtype(dtype).type)
        if flag is None:
            raise MXNetError("Variable '%s': dtype %s has no MXNet dtype flag (MXNet 1.9.1 "
                             "has %s)" % (name, np.dtype(dtype).name, ", ".join(
                                 np.dtype(t).name for t in _DTYPE_FLAGS)))
        attrs["__dtype__"] = str(flag)
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        attrs["__storage_type__"] = str(_STORAGE_TYPES[stype])
    for key, value in kwargs.items():
        if key.startswith("__") and key.endswith("__"):
            attrs[key] = str(value)
        else:
            raise ValueError("Attribute name=%s is not supported. Additional attributes "
                             "must start and end with double underscores, e.g, "
                             "__yourattr__" % key)
    for key, value in attrs.items():
        if not isinstance(value, str):
            raise ValueError("Set Attr only accepts string values")
    return Symbol([(_Node(None, name, attrs), 0)])


Variable = var


def Group(symbols):  # noqa: N802  (MXNet's name)
    """One symbol whose outputs are the outputs of ``symbols``, in order."""
    if not symbols or any(not isinstance(s, Symbol) for s in symbols):
        raise TypeError("Expected a list of symbols as input")
    heads = []
    for s in symbols:
        heads.extend(s._heads)
    return Symbol(heads)


def _attr_string(key, value):
    if key == "dtype":
        dtype = np.dtype(value)
        return dtype.names[0] if dtype.names else dtype.name
    return str(value)


def _declared_inputs(spec):
    # every input the operator can take, in its signature's order (the positional slots)
    return spec.input_names({"no_bias": "False", "mode": "lstm", "act_type": "prelu",
                             "use_sequence_length": "True", "use_length": "True"})


def create(function, args, kwargs):
    """A node made by MXNet's function ``function`` (``FullyConnected``, ``_Plus``,
    ``flatten``) from positional ``args`` and keyword ``kwargs``: symbols are inputs,
    anything else an attribute (stored as ``str(value)``); missing inputs become
    variables named ``<node>_<input>``, as MXNet's compose makes them."""
    op_name = ops.FUNCTIONS.get(function)
    if op_name is None:
        raise MXNetError("keras_defer.symbol has no operator function '%s'" % function)
    spec = ops.spec(op_name)
    kwargs = dict(kwargs)
    attr = kwargs.pop("attr", None)
    name = kwargs.pop("name", None)
    kwargs.pop("out", None)
    kwargs.update(naming.current_attr_scope().get(attr))
    sym_args, sym_kwargs, attrs = [], {}, {}
    if spec.variadic is not None:
        for arg in args:
            if not isinstance(arg, Symbol):
                raise TypeError("Positional arguments must be Symbol instances, but got %s"
                                % str(arg))
            sym_args.append(arg)
    else:
        slots = _declared_inputs(spec)
        for i, arg in enumerate(args):
            if i < len(slots):
                if arg is None:
                    continue
                if not isinstance(arg, Symbol):
                    raise TypeError("Argument %s must be Symbol instances, but got %s"
                                    % (slots[i], str(arg)))
                sym_kwargs[slots[i]] = arg
            elif i - len(slots) < len(spec.params):
                kwargs[spec.params[i - len(slots)]] = arg
            else:
                raise TypeError("%s() takes at most %d positional arguments (%d given)"
                                % (function, len(slots) + len(spec.params), len(args)))
    for key, value in kwargs.items():
        if isinstance(value, Symbol):
            sym_kwargs[key] = value
        else:
            attrs[key] = _attr_string(key, value)
    if spec.variadic is not None and spec.variadic not in kwargs:
        attrs[spec.variadic] = str(len(sym_args) + len(sym_kwargs))
    spec.check(attrs)
    name = naming.current().get(name, function.lower())
    return _compose(spec, name, attrs, sym_args, sym_kwargs)


def _single_entry(symbol, what):
    if len(symbol._heads) != 1:
        raise MXNetError("Argument %s is a group of %d outputs; an operator input must "
                         "be a single output (index it: sym[0])"
                         % (what, len(symbol._heads)))
    node, index = symbol._heads[0]
    return node, index


def _compose(spec, name, attrs, sym_args, sym_kwargs):
    node = _Node(spec.name, name, attrs)
    if spec.variadic is not None:
        if sym_kwargs:
            raise MXNetError("%s takes its inputs as positional arguments, got keywords %s"
                             % (spec.name, sorted(sym_kwargs)))
        sources = [_single_entry(s, "arg%d" % i) for i, s in enumerate(sym_args)]
    else:
        names = spec.input_names(attrs)
        unknown = sorted(set(sym_kwargs) - set(names))
        if unknown:
            raise MXNetError("Keyword argument name %s not found. Candidate arguments: %s "
                             "(operator %s)" % (unknown[0], names, spec.name))
        sources = []
        for input_name in names:
            if input_name in sym_kwargs:
                sources.append(_single_entry(sym_kwargs[input_name], input_name))
            else:  # nnvm: a new variable, carrying the operator's attributes
                sources.append((_Node(None, "%s_%s" % (name, input_name), dict(attrs)), 0))
        for input_name, (src, _) in zip(names, sources):
            init = spec.input_inits.get(input_name)
            if init is not None and src.is_variable() and "__init__" not in src.attrs:
                src.attrs["__init__"] = init
    mutated = set(spec.aux)
    entries = []
    for i, (src, index) in enumerate(sources):
        version = 0
        if src.is_variable():
            if i in mutated:
                src.version += 1
            version = src.version
        entries.append((src, index, version))
    node.inputs = entries
    node.num_outputs = spec.num_outputs(attrs)
    return Symbol([(node, i) for i in range(spec.num_visible(attrs))])


# -- loading -----------------------------------------------------------------------------
def load_json(json_str):
    """The symbol in MXNet JSON text ``json_str`` (``tojson()``, ``export``'s file)."""
    if not isinstance(json_str, str):
        raise TypeError("fname required to be string")
    raw_nodes, heads = json_format.read_graph(json_str)
    nodes = []
    for raw in raw_nodes:
        op = None if raw["op"] == "null" else raw["op"]
        spec = ops.OPS.get(op) if op else None
        if op is None:
            count = 1
        elif spec is not None:
            count = spec.num_outputs(raw["attrs"])
        else:  # an operator we do not know: keep it, with the file's output count
            count = raw["num_outputs"] or 1
        node = _Node(op, raw["name"], dict(raw["attrs"]), num_outputs=count)
        node.inputs = [(nodes[i], index, version) for i, index, version in raw["inputs"]]
        for src, _, version in node.inputs:
            if src.is_variable():
                src.version = max(src.version, version)
        nodes.append(node)
    for node in nodes:
        for src, index, _ in node.inputs:
            if index >= src.num_outputs:
                raise MXNetError("Cannot read the symbol JSON: node '%s' reads output %d "
                                 "of '%s', which has %d outputs"
                                 % (node.name, index, src.name, src.num_outputs))
    return Symbol([(nodes[i], index) for i, index, _ in heads])


def load(fname):
    """The symbol saved in the file ``fname`` (``save``, ``export``)."""
    if not isinstance(fname, str):
        raise TypeError("fname need to be string")
    from keras_defer.mxnet_format import open_regular  # a pipe or device never blocks

    with open_regular(fname) as f:
        return load_json(f.read().decode("utf-8"))
