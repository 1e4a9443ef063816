"""``gluon.SymbolBlock``: an exported MXNet graph as a keras_defer block.

``SymbolBlock.imports('model-symbol.json', ['data'], 'model-0000.params')`` reads the
graph MXNet's ``HybridBlock.export`` wrote, makes one Parameter per graph argument
and auxiliary state that is not an input (named as in the graph, as MXNet names them;
auxiliary states -- BatchNorm's moving statistics -- with ``grad_req='null'``), loads
the parameter file, and computes the graph with Keras ops
(``keras_defer.symbol.interpreter``). The block is a Keras layer like any other: it
predicts, trains under ``autograd.record()`` with a ``gluon.Trainer`` or in ``fit``,
hybridizes, and saves as ``.keras`` (its config holds the graph's JSON text and the
input names; its weights are its parameters).
"""

import json

import keras
import numpy as np

from keras_defer import backend
from keras_defer.block import Block, HybridBlock
from keras_defer.errors import MXNetError, ShapeMismatchError
from keras_defer.parameter import ParameterDict
from keras_defer.shapes import shape_is_known

__all__ = ["SymbolBlock"]

_RANDOM_OPS = {"Dropout", "RNN", "LeakyReLU"}

# MXNet's Initializer picks by name what these get (zeros / ones), whatever the
# global initializer; the weights take the initializer given to initialize().
_INIT_BY_SUFFIX = (("moving_mean", "zeros"), ("running_mean", "zeros"),
                   ("moving_var", "ones"), ("running_var", "ones"),
                   ("gamma", "ones"), ("beta", "zeros"), ("bias", "zeros"))


def _common_prefix(names):
    """MXNet's ``_common_prefix``: the longest common leading string of ``names``."""
    if not names:
        return ""
    prefix = names[0]
    for name in names:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


def _graph_json(outputs):
    """The graph dict of ``outputs``: a Symbol (or list of them), a JSON text, or the
    dict itself."""
    if isinstance(outputs, dict):
        return outputs
    if isinstance(outputs, str):
        from keras_defer.symbol.interpreter import parse_json

        return parse_json(outputs)
    if isinstance(outputs, (list, tuple)):
        if len(outputs) == 1:
            return _graph_json(outputs[0])
        from keras_defer import symbol  # a Group of the outputs, as MXNet makes

        return json.loads(symbol.Group(list(outputs)).tojson())
    if hasattr(outputs, "tojson"):
        return json.loads(outputs.tojson())
    raise TypeError("SymbolBlock: outputs must be a Symbol, a list of Symbols or the "
                    "graph's JSON text, got %r" % (outputs,))


def _input_names(inputs):
    if isinstance(inputs, (str,)) or hasattr(inputs, "tojson"):
        inputs = [inputs]
    names = []
    for item in inputs:
        if isinstance(item, str):
            names.append(item)
            continue
        outs = item.list_outputs() if hasattr(item, "list_outputs") else None
        internals = (item.get_internals().list_outputs()
                     if hasattr(item, "get_internals") else outs)
        if outs is not None and len(internals) != 1:
            raise AssertionError("Input symbols must be variable, but %s is an output of "
                                 "operators" % (item,))
        names.append(item.name)
    return names


def _dtype_of(attrs):
    from keras_defer.symbol.kernels import _DTYPES

    code = attrs.get("__dtype__")
    return np.dtype(_DTYPES.get(code, "float32")) if code is not None else np.float32


class SymbolBlock(HybridBlock):
    """Construct a block from a symbol graph (MXNet 1.9.1's ``gluon.SymbolBlock``).

    ``outputs``: the Symbol (or list of Symbols) to compute -- or, as keras_defer
    also takes, the graph's JSON text; ``inputs``: the variables (or their names)
    fed by the call's arguments, in order; ``params``: a ``ParameterDict`` holding
    parameters to share (matched by name, e.g. another block's
    ``collect_params()``)."""

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False,
                ignore_extra=False):
        """Import a model exported by ``HybridBlock.export`` (or MXNet's
        ``Module.save_checkpoint``): ``model-symbol.json`` and, when given, the
        parameters ``model-0000.params`` (MXNet's binary format or keras_defer's)."""
        from keras_defer.mxnet_format import open_regular  # a pipe never blocks

        with open_regular(symbol_file) as handle:
            text = handle.read().decode("utf-8")
        if isinstance(input_names, str):
            input_names = [input_names]
        ret = SymbolBlock(text, list(input_names))
        if param_file is not None:
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra,
                                      cast_dtype=True, dtype_source="saved")
        return ret

    def __init__(self, outputs, inputs, params=None, **kwargs):
        from keras_defer.symbol.interpreter import Graph

        graph = Graph(_graph_json(outputs))  # refuses unknown operators before naming
        names = _input_names(inputs)
        variables = graph.list_inputs()
        missing = [n for n in names if n not in variables]
        if missing:
            raise MXNetError(
                "SymbolBlock: input %s %s not a variable of the graph, whose variables are "
                "%s. Pass the names the graph reads its data from (export names it 'data')."
                % (", ".join(repr(n) for n in missing), "is" if len(missing) == 1 else "are",
                   ", ".join(variables)))
        if len(set(names)) != len(names):
            raise MXNetError("SymbolBlock: input names must be distinct, got %s" % names)
        if params is not None and not isinstance(params, ParameterDict):
            raise TypeError("params must be a ParameterDict (e.g. other_block."
                            "collect_params()), got %r" % (params,))
        super().__init__(**kwargs)
        object.__setattr__(self, "_prefix", "")
        object.__setattr__(self, "_params", ParameterDict("", params))
        object.__setattr__(self, "_graph", graph)
        object.__setattr__(self, "_input_names", names)
        object.__setattr__(self, "_json_text", json.dumps(graph.json))
        for arg in graph.list_arguments():
            if arg not in names:
                self.params.get(arg, allow_deferred_init=True,
                                dtype=_dtype_of(graph.variable_attrs(arg)),
                                **self._default_init(arg, params))
        for aux in graph.list_auxiliary_states():
            if aux not in names:
                self.params.get(aux, grad_req="null", allow_deferred_init=True,
                                dtype=_dtype_of(graph.variable_attrs(aux)),
                                **self._default_init(aux, params))
        keys = list(self._params.keys())
        cut = len(_common_prefix(keys))
        if any(len(k) == cut for k in keys):  # one parameter: keep its whole name
            cut = 0
        for key, param in self._params.items():
            self._reg_params[key[cut:]] = param
            param._add_owner(self)
        if any(n.op in _RANDOM_OPS for n in graph.nodes):
            self.seed_generator = keras.random.SeedGenerator()

    @staticmethod
    def _default_init(name, shared):
        if shared is not None and name in shared:
            return {}
        for suffix, init in _INIT_BY_SUFFIX:
            if name.endswith(suffix):
                return {"init": init}
        return {}

    def _alias(self):
        return "symbolblock"

    # -- shapes ------------------------------------------------------------------------
    def infer_shape(self, *input_shapes):
        """Fix the parameters' unknown shapes from the inputs' by running the graph
        once on zeros (unknown dims as 1), each operator telling its parameters'
        shapes from its data's just before it runs."""
        params = self._params
        if all(shape_is_known(p.shape) for p in params.values()):
            return
        if len(input_shapes) != len(self._input_names):
            raise MXNetError("SymbolBlock: expected %d inputs (%s), got %d"
                             % (len(self._input_names), ", ".join(self._input_names),
                                len(input_shapes)))
        from keras import ops

        def lookup(name):
            param = params[name]
            if shape_is_known(param.shape):
                if param.variable is not None:
                    return param.variable
                return ops.zeros(param.shape, dtype=np.dtype(param.dtype).name)
            return _UnknownShape(name)

        def on_node(node, args):
            shapes = [a.logical_shape() for a in args]
            if any(s is None for s in shapes[:1]):
                return
            for name, shape in self._graph.param_shapes(node, shapes).items():
                if name not in params:
                    continue
                param = params[name]
                try:
                    param.shape = shape
                except ShapeMismatchError as exc:
                    raise ShapeMismatchError(
                        "SymbolBlock: node '%s' (%s) needs parameter '%s' of shape %s for "
                        "an input of shape %s: %s" % (node.name, node.op, name, shape,
                                                      shapes[0], exc)) from None
            for arg in args:
                held = arg.peek()
                if isinstance(held, _UnknownShape):
                    param = params[held.name]
                    if not shape_is_known(param.shape):
                        raise MXNetError(
                            "SymbolBlock: cannot infer the shape of parameter '%s' (read by "
                            "node '%s', operator %s); load it from a file or set its shape"
                            % (held.name, node.name, node.op))
                    arg.replace(ops.zeros(param.shape, dtype=np.dtype(param.dtype).name))

        feeds = {name: ops.zeros(tuple(1 if d is None else int(d) for d in shape),
                                 dtype="float32")
                 for name, shape in zip(self._input_names, input_shapes)}
        with backend.concrete_scope():
            self._graph.evaluate(feeds, lookup, training=False, on_node=on_node)

    # -- the forward pass ------------------------------------------------------------------
    def call(self, *args, training=None):
        return Block.call(self, *args, training=training)

    def forward(self, *args, training=None):
        if len(args) != len(self._input_names):
            raise ValueError(
                "SymbolBlock: the graph reads %d input%s (%s), got %d. Call it with one "
                "array per input name given at import."
                % (len(self._input_names), "" if len(self._input_names) == 1 else "s",
                   ", ".join(self._input_names), len(args)))
        params = self._params

        def lookup(name):
            param = params[name]
            if param.variable is None:
                param._check_initialized()
            return param.variable

        outs = self._graph.evaluate(dict(zip(self._input_names, args)), lookup,
                                    training=bool(training),
                                    seed=self.__dict__.get("seed_generator"))
        return outs[0] if len(outs) == 1 else list(outs)

    def cast(self, dtype):
        super().cast(dtype)
        if np.dtype(dtype).name == "float16":
            # as MXNet: BatchNorm's parameters stay float32
            names = self._graph.list_inputs()
            for node in names:
                for suffix, sibs in (("running_var", ("running_mean", "gamma", "beta")),
                                     ("moving_var", ("moving_mean", "gamma", "beta"))):
                    if node.endswith(suffix):
                        prefix = node[:-len(suffix)]
                        group = [node] + [prefix + s for s in sibs]
                        if all(p in names for p in group):
                            for p in group:
                                if p in self._params:
                                    self._params[p].cast("float32")

    # -- Keras citizenship -----------------------------------------------------------------
    def get_config(self):
        config = keras.layers.Layer.get_config(self)
        config.pop("name", None)
        config["outputs"] = self._json_text
        config["inputs"] = list(self._input_names)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(config.pop("outputs"), config.pop("inputs"), **config)

    # -- display ---------------------------------------------------------------------------
    def __repr__(self):
        outs = self._graph.list_outputs()
        heads = [self._graph.nodes[src] for src, _ in self._graph.heads]
        if len(outs) == 1:
            sym = "<Symbol %s>" % heads[0].name
        else:
            sym = "<Symbol group [%s]>" % ", ".join(n.name for n in heads)
        return "{name}(\n{sym} : {ni} -> {no}\n)".format(
            name=type(self).__name__, sym=sym, ni=len(self._input_names), no=len(outs))


class _UnknownShape:
    """A parameter whose shape the shape pass has yet to learn."""

    shape = None

    def __init__(self, name):
        self.name = name
