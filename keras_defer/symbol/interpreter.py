"""Run an MXNet symbol graph (the JSON of ``net.export`` / ``Symbol.tojson()``) with
Keras ops.

``Graph(json_dict)`` reads the graph once: every node's operator must have a kernel
(``kernels.KERNELS``) and every attribute must parse, or it raises an ``MXNetError``
naming the node, so a graph that cannot run is refused at import, not at the first
forward. It knows MXNet's argument/auxiliary split (``list_arguments``,
``list_auxiliary_states``: a variable is auxiliary when an operator mutates it, as
BatchNorm its moving statistics).

``Graph.evaluate(feeds, lookup, training, seed)`` computes the heads. Values travel
in one of two forms: MXNet's (logical) or channels-last (axis 1 moved to the end, for
tensors of rank 3 and more); a kernel declares which it takes (``kernels.LOGICAL``
etc.) and a value is transposed once per form it is asked in (see ``kernels``).
"""

import keras
from keras import ops

from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.symbol import kernels as _k

__all__ = ["Graph", "Node", "parse_json"]


def parse_json(text):
    """The graph dict of an MXNet symbol JSON text, with a clear error for non-JSON."""
    import json

    from keras_defer.serialization import json_depth
    from keras_defer.symbol.json_format import MAX_DEPTH

    if isinstance(text, str) and json_depth(text) > MAX_DEPTH:  # json would recurse
        raise MXNetError("The symbol file is not MXNet symbol JSON: it nests deeper than "
                         "a symbol graph does (at most %d levels of [ and {)" % MAX_DEPTH)
    try:
        graph = json.loads(text)
    except ValueError as exc:
        raise MXNetError("The symbol file is not MXNet symbol JSON: %s" % exc) from None
    return graph


class Node:
    """One graph node: its operator's kernel and parsed attributes, and its inputs as
    ``(node index, output index)`` pairs."""

    __slots__ = ("index", "op", "name", "attrs", "raw_attrs", "inputs", "kernel",
                 "num_outputs", "fold_into", "folded")

    def __init__(self, index, op, name, raw_attrs, inputs):
        self.index = index
        self.op = op
        self.name = name
        self.raw_attrs = raw_attrs
        self.inputs = inputs
        self.kernel = None
        self.attrs = None
        self.num_outputs = 1
        self.fold_into = None  # a Convolution: the BatchNorm folded into it in inference
        self.folded = False  # a BatchNorm computed by the Convolution before it


class Call:
    """What a kernel may ask about the node it computes."""

    __slots__ = ("op", "name", "attrs", "training", "channels_last", "variables", "seed",
                 "fold")

    def __init__(self, node, training, channels_last, variables, seed, fold=None):
        self.op = node.op
        self.name = node.name
        self.attrs = node.attrs
        self.training = training
        self.channels_last = channels_last
        self.variables = variables
        self.seed = seed
        self.fold = fold


def _raw_attrs(entry):
    # MXNet >= 1.0 writes "attrs"; older files "attr" or "param"
    attrs = entry.get("attrs")
    if attrs is None:
        attrs = entry.get("attr") or entry.get("param") or {}
    return {str(k): str(v) for k, v in attrs.items()}


class Graph:
    """A parsed, checked MXNet graph (see the module docstring)."""

    def __init__(self, graph):
        if not isinstance(graph, dict) or "nodes" not in graph or "heads" not in graph:
            raise MXNetError("An MXNet symbol graph is a JSON object with 'nodes', "
                             "'arg_nodes' and 'heads'; got %s"
                             % (sorted(graph) if isinstance(graph, dict) else type(graph)))
        self.json = graph
        self.nodes = []
        for i, entry in enumerate(graph["nodes"]):
            inputs = [(int(e[0]), int(e[1]) if len(e) > 1 else 0) for e in entry.get("inputs", [])]
            for src, _ in inputs:
                if not 0 <= src < i:
                    raise MXNetError("Symbol JSON: node %d (%s) reads node %d, which does not "
                                     "come before it" % (i, entry.get("name"), src))
            self.nodes.append(Node(i, entry["op"], entry["name"], _raw_attrs(entry), inputs))
        self.heads = [(int(h[0]), int(h[1]) if len(h) > 1 else 0) for h in graph["heads"]]
        for src, _ in self.heads:
            if not 0 <= src < len(self.nodes):
                raise MXNetError("Symbol JSON: a head reads node %d of %d" % (src, len(self.nodes)))
        self._bind_kernels()
        self._classify_variables()
        self._plan_batch_norm_folds()

    # -- reading ---------------------------------------------------------------------------
    def _bind_kernels(self):
        unknown = []
        for node in self.nodes:
            if node.op == "null":
                continue
            kernel = _k.KERNELS.get(node.op)
            if kernel is None:
                unknown.append(node)
                continue
            node.kernel = kernel
            try:
                node.attrs = kernel.parse(_k._Attrs(node.op, node.raw_attrs))
            except MXNetError as exc:
                raise MXNetError("Node '%s' (operator %s): %s"
                                 % (node.name, node.op, exc)) from None
            outs = kernel.num_outputs
            node.num_outputs = outs(node.attrs) if callable(outs) else outs
        if unknown:
            names = ", ".join("%s (node '%s')" % (n.op, n.name) for n in unknown[:8])
            raise MXNetError(
                "Cannot run this MXNet graph: operator %s %s not supported by keras_defer's "
                "symbol interpreter. Supported operators: %s."
                % (names, "is" if len(unknown) == 1 else "are",
                   ", ".join(_k.supported_operators())))

    def _classify_variables(self):
        aux = set()
        for node in self.nodes:
            if node.kernel is not None:
                for position in node.kernel.aux:
                    if position < len(node.inputs):
                        src = self.nodes[node.inputs[position][0]]
                        if src.op == "null":
                            aux.add(src.index)
        # MXNet lists a graph's variables in the order a depth-first walk from the
        # heads meets them; the JSON's node order is that walk's order
        reachable = self._reachable()
        self.variables = [n for n in self.nodes if n.op == "null" and n.index in reachable]
        self.arguments = [n.name for n in self.variables if n.index not in aux]
        self.auxiliary = [n.name for n in self.variables if n.index in aux]
        self.aux_indices = aux

    def _plan_batch_norm_folds(self):
        """Mark each BatchNorm (axis 1) whose data is a Convolution read by nothing
        else, with variables for its parameters: in inference the convolution computes
        both (``kernels._fold_batch_norm``)."""
        readers = {}
        for node in self.nodes:
            for src, idx in node.inputs:
                readers[(src, idx)] = readers.get((src, idx), 0) + 1
        for src, idx in self.heads:
            readers[(src, idx)] = readers.get((src, idx), 0) + 1
        for node in self.nodes:
            if node.op != "BatchNorm" or node.attrs["axis"] != 1 or len(node.inputs) != 5:
                continue
            src, idx = node.inputs[0]
            conv = self.nodes[src]
            if (conv.op == "Convolution" and idx == 0 and readers[(src, 0)] == 1
                    and conv.fold_into is None
                    and all(self.nodes[i].op == "null" for i, _ in node.inputs[1:])):
                conv.fold_into = node.index
                node.folded = True

    def _reachable(self):
        seen, stack = set(), [h[0] for h in self.heads]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            stack.extend(src for src, _ in self.nodes[i].inputs)
        return seen

    def list_arguments(self):
        return list(self.arguments)

    def list_auxiliary_states(self):
        return list(self.auxiliary)

    def list_inputs(self):
        return [n.name for n in self.variables]

    def list_outputs(self):
        out = []
        for src, idx in self.heads:
            node = self.nodes[src]
            out.append(node.name if node.op == "null" else
                       "%s_output%s" % (node.name, idx if node.num_outputs > 1 else ""))
        return out

    def variable_attrs(self, name):
        for node in self.variables:
            if node.name == name:
                return node.raw_attrs
        return {}

    # -- parameter shapes ------------------------------------------------------------------
    def param_shapes(self, node, input_shapes):
        """``{variable name: shape}`` that ``node``'s operator requires of its parameter
        inputs, given its data input's shape."""
        rule = node.kernel.param_shapes
        if rule is None:
            return {}
        wanted = rule(node.attrs, input_shapes)
        out = {}
        for position, shape in wanted.items():
            if position < len(node.inputs):
                src = self.nodes[node.inputs[position][0]]
                if src.op == "null":
                    out[src.name] = tuple(int(d) for d in shape)
        return out

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, feeds, lookup, training=False, seed=None, on_node=None):
        """The heads' values (MXNet's layout), for ``feeds`` (input name -> tensor) and
        ``lookup(name)`` -> the parameter's variable (or tensor). ``on_node(node,
        input values)`` runs before each operator (shape inference uses it). Outside
        training, a BatchNorm marked by ``_plan_batch_norm_folds`` is computed by the
        Convolution before it."""
        values = {}

        def variable_value(node):
            if node.index not in values:
                if node.name in feeds:
                    value = feeds[node.name]
                else:
                    value = lookup(node.name)
                    if isinstance(value, keras.Variable):
                        value = _backend.read_variable(value)
                values[node.index] = [_Value(value)]
            return values[node.index][0]

        for node in self.nodes:
            if node.op == "null":
                variable_value(node)
                continue
            args = [values[src][idx] for src, idx in node.inputs]
            fold = None
            if on_node is None and (node.fold_into is not None or node.folded):
                bn = self.nodes[node.fold_into] if node.fold_into is not None else node
                if not training or bn.attrs["use_global_stats"]:
                    if node.folded:  # computed with its convolution
                        values[node.index] = [values[node.inputs[0][0]][0], None, None]
                        continue
                    fold = (bn.attrs,) + tuple(
                        variable_value(self.nodes[src]).logical()
                        for src, _ in bn.inputs[1:])
            if on_node is not None:
                on_node(node, args)
            layout = node.kernel.layout
            channels_last = False
            if layout == _k.SPATIAL and node.attrs.get("channels_last_layout"):
                inputs = [a.logical() for a in args]   # NWC/NHWC/NDHWC: already so
            elif layout == _k.SPATIAL:
                inputs = [args[0].channels_last()] + [a.logical() for a in args[1:]]
                channels_last = args[0].rank >= 3
            elif layout in (_k.ELEMENTWISE, _k.CHANNEL_AXIS):
                data = args[:1] if node.kernel.aux else args
                ranks = {a.rank for a in data}
                if (len(ranks) == 1 and ranks.pop() >= 3
                        and any(a.has_channels_last() for a in data)):
                    inputs = [a.channels_last() for a in data]
                    channels_last = True
                else:
                    inputs = [a.logical() for a in data]
                inputs += [a.logical() for a in args[len(data):]]
            else:
                inputs = [a.logical() for a in args]
            variables = None
            if node.kernel.aux:
                variables = [self._variable(src, lookup, feeds) for src, _ in node.inputs]
            call = Call(node, training, channels_last, variables, seed, fold)
            try:
                out = node.kernel.run(call, *inputs)
            except MXNetError as exc:
                raise MXNetError("Node '%s' (operator %s): %s"
                                 % (node.name, node.op, exc)) from None
            if not isinstance(out, (list, tuple)):
                out = [out]
            values[node.index] = [_Value(o, channels_last) for o in out]
        return [values[src][idx].logical() for src, idx in self.heads]

    def _variable(self, src, lookup, feeds):
        """The Keras variable behind input ``src`` of an operator that writes its
        parameters (BatchNorm), or None."""
        node = self.nodes[src]
        if node.op != "null" or node.name in feeds:
            return None
        value = lookup(node.name)
        return value if isinstance(value, keras.Variable) else None


class _Value:
    """One tensor in the forms asked of it: MXNet's layout and/or channels-last."""

    __slots__ = ("_logical", "_last", "rank")

    def __init__(self, tensor, channels_last=False):
        shape = getattr(tensor, "shape", None)
        self.rank = 0 if shape is None else len(shape)
        if channels_last and self.rank >= 3:
            self._logical, self._last = None, tensor
        else:
            self._logical, self._last = tensor, None

    def has_channels_last(self):
        return self._last is not None

    def logical(self):
        if self._logical is None:
            r = self.rank
            self._logical = ops.transpose(self._last, (0, r - 1) + tuple(range(1, r - 1)))
        return self._logical

    def channels_last(self):
        if self._last is None:
            if self.rank < 3:
                return self._logical
            r = self.rank
            self._last = ops.transpose(self._logical, (0,) + tuple(range(2, r)) + (1,))
        return self._last

    # -- for the shape pass ------------------------------------------------------------------
    def logical_shape(self):
        """MXNet's shape of this value (None when it is not a tensor yet)."""
        if self._logical is not None:
            shape = getattr(self._logical, "shape", None)
            return None if shape is None else tuple(shape)
        shape = tuple(self._last.shape)
        return (shape[0], shape[-1]) + shape[1:-1]

    def peek(self):
        return self._logical if self._logical is not None else self._last

    def replace(self, tensor):
        self._logical, self._last = tensor, None
        self.rank = len(tensor.shape)
