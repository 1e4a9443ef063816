"""Blocks called with symbols, and ``HybridBlock.export``: MXNet's graph of a net.

MXNet 1.9.1 builds a hybridized block's graph by calling it with ``sym.var('data')``
(``_get_graph``): each ``hybrid_forward(F, x, **params)`` runs with ``F = mx.sym`` and
its parameters as variables, inside ``Prefix(block.prefix)``, so the nodes are named
``dense0_fwd``, ``conv0_relu_fwd``, ``flatten0_flatten0``. Here a user's HybridBlock
runs its own ``hybrid_forward`` the same way; keras_defer's built-in layers compute with
Keras, so each has its MXNet ``hybrid_forward`` written out below (``SYMBOLIC``: class ->
function), read from MXNet's source, giving the same nodes, attributes and names.

``export`` writes that graph (``<path>-symbol.json``, the text MXNet writes) and the
parameters it reads (``<path>-0000.params``, ``arg:``/``aux:`` names, MXNet's binary
format), so MXNet's ``SymbolBlock.imports`` and keras_defer's both load the pair.

MXNet builds the graph on the first call after ``hybridize()`` and keeps it; a
parameter's variable is made once (the first pass builds graphs too) and records its
shape as it was then (``(6, 0, 5, 5)`` before shape inference), and each graph built
with a BatchNorm raises its statistics' versions. ``note_call`` (from ``Block.__call__``)
keeps what export needs of those moments, so the file is the one MXNet would write.
"""

import contextlib
import threading
import weakref

import numpy as np

from keras_defer import symbol as sym
from keras_defer.errors import MXNetError
from keras_defer.shapes import shape_is_known
from keras_defer.symbol import naming as sym_naming
from keras_defer.symbol.symbol import Symbol

__all__ = ["SYMBOLIC", "symbolic", "symbol_forward", "call_symbolic", "note_call",
           "parameter_var", "trace", "export"]

_VARS = weakref.WeakKeyDictionary()
"""Parameter -> its variable (MXNet's ``Parameter._var``), made on first symbolic use."""
_FIRST_SHAPES = weakref.WeakKeyDictionary()
"""Parameter -> its shape when MXNet would have made its variable (first pass or first
hybridized call), kept until the variable is made."""
_VERSIONS = weakref.WeakKeyDictionary()
"""Parameter -> graphs built with it updating it, until its variable is made."""
_state = threading.local()

SYMBOLIC = {}
"""Built-in block class -> ``fn(block, F, *inputs)``: its MXNet ``hybrid_forward``."""


def symbolic(*classes):
    """Register the decorated function as the symbolic forward of ``classes``."""
    def register(fn):
        for cls in classes:
            SYMBOLIC[cls] = fn
        return fn
    return register


# -- MXNet's history of a net's graphs ------------------------------------------------------
def parameter_var(param):
    """MXNet's ``Parameter.var()``: one variable per parameter, made on first use with
    the parameter's shape at that moment and kept. Operators that update it (BatchNorm's
    moving statistics) raise its version each time a graph is built with it."""
    found = _VARS.get(param)
    if found is None:
        shape = _FIRST_SHAPES.get(param, param.shape)
        found = _VARS[param] = sym.var(
            param.name, shape=None if shape is None else tuple(shape), dtype=param.dtype,
            lr_mult=param.lr_mult, wd_mult=param.wd_mult, init=param.init,
            stype=getattr(param, "_stype", "default"))
        _node(found).version = _VERSIONS.pop(param, 0)
    return found


def _node(variable):
    return variable._heads[0][0]


def _version(param):
    made = _VARS.get(param)
    return _node(made).version if made is not None else _VERSIONS.get(param, 0)


def _bump(param):
    made = _VARS.get(param)
    if made is not None:
        _node(made).version += 1
    else:
        _VERSIONS[param] = _VERSIONS.get(param, 0) + 1


def _keep_shape(param):
    if param not in _VARS and param not in _FIRST_SHAPES:
        shape = param.shape
        _FIRST_SHAPES[param] = None if shape is None else tuple(shape)


def _graph_updates(block):
    """The parameters an MXNet graph of ``block`` updates, once per use: the moving
    statistics of each BatchNorm inside."""
    from keras_defer import nn

    for b in block._iter_blocks():
        if isinstance(b, nn.BatchNorm):
            for name in ("running_mean", "running_var"):
                param = b._reg_params.get(name)
                if param is not None:
                    yield param


def note_call(block, args):
    """Called by ``Block.__call__`` on a block's first pass and on its first call after
    ``hybridize()``, the moments MXNet builds graphs: on the first pass its deferred
    shape inference builds one per block with deferred parameters, which makes their
    variables (so the shapes in an exported graph are those from before the first
    pass) and counts a version of each BatchNorm statistic; the first hybridized call
    builds the graph ``export`` writes, which needs its input structure (``data`` or
    ``data0``, ``data1``...) and the versions its variables had."""
    active = block.__dict__.get("_active")
    if not block.built and "_export_first_pass" not in block.__dict__:
        for b in block._iter_blocks():
            if "_export_first_pass" in b.__dict__:
                continue
            object.__setattr__(b, "_export_first_pass", True)
            deferred = False
            for param in b._reg_params.values():
                if param is not None:
                    _keep_shape(param)
                    deferred = deferred or not shape_is_known(param.shape)
            if deferred and not b.__dict__.get("_active"):
                for param in _graph_updates(b):
                    _bump(param)
    if active:
        params = block.collect_params().values()
        for param in params:
            _keep_shape(param)
        versions = {p.name: _version(p) for p in params}
        for param in _graph_updates(block):
            _bump(param)
        object.__setattr__(block, "_export_graph", {"inputs": _structure(args),
                                                   "versions": versions})
        for b in block._iter_blocks():
            if b is not block:  # run inside this graph, not graphs of their own
                b.__dict__.setdefault("_export_graph", None)


def _structure(args):
    if isinstance(args, (list, tuple)):
        return [_structure(a) for a in args]
    return None if args is None else 0


def _symbol_inputs(structure):
    """MXNet's input variables: ``data`` for one input, else ``data0``, ``data1``..."""
    leaves = []

    def count(node):
        if isinstance(node, list):
            for item in node:
                count(item)
        elif node is not None:
            leaves.append(node)
    count(structure)
    names = ["data"] if len(leaves) == 1 else ["data%d" % i for i in range(len(leaves))]
    made = iter([sym.var(n) for n in names])

    def regroup(node):
        if isinstance(node, list):
            return [regroup(item) for item in node]
        return None if node is None else next(made)
    return regroup(structure), names


def _variable(param):
    trace_vars = getattr(_state, "vars", None)
    if trace_vars is None:  # a symbolic call outside export: MXNet's cached variable
        return parameter_var(param)
    found = trace_vars.get(id(param))
    if found is None:  # export: a copy with the versions of the first hybridized call
        kept = _node(parameter_var(param))
        found = sym.var(kept.name)
        _node(found).attrs = dict(kept.attrs)
        _node(found).version = _state.versions.get(param.name, kept.version)
        trace_vars[id(param)] = found
        _state.order.append(param)
    return found


def _params(block):
    return {name: _variable(p) for name, p in block._reg_params.items() if p is not None}


def _param(block, name):
    param = block._reg_params.get(name)
    return None if param is None else _variable(param)


@contextlib.contextmanager
def block_scope(block):
    """MXNet's ``with block.name_scope():`` as symbols see it: ``Prefix(prefix)``
    (none for a block made with ``prefix=''``)."""
    if not block.prefix or block.__dict__.get("_empty_prefix"):
        yield  # MXNet's _BlockScope enters no Prefix for a block made with prefix=''
        return
    with sym_naming.Prefix(block.prefix):
        yield


_FRAMEWORKS = ("keras_defer", "keras", "torch", "tensorflow", "jax", "builtins")


def _framework(cls):
    module = (cls.__module__ or "").split(".")[0]
    return module in _FRAMEWORKS


def _implementation(block):
    for cls in type(block).__mro__:
        if cls in SYMBOLIC:
            return SYMBOLIC[cls]
        own = vars(cls)
        if "hybrid_forward" in own and cls.__module__ != "keras_defer.block":
            return _user_hybrid_forward  # MXNet's own way, F = mx.sym (ours too: losses)
        if "forward" in own and not _framework(cls):
            return _user_forward
    raise MXNetError(
        "%s (%s) cannot be called with symbols: keras_defer knows no symbolic form of "
        "it. Give the block a hybrid_forward(F, x, ...) written with F's operators, or "
        "register one with keras_defer.export.symbolic(%s)."
        % (block.name, type(block).__name__, type(block).__name__))


def call_symbolic(block, args, kwargs):
    """``block(*args)`` where the inputs are symbols: the block's MXNet graph."""
    return _implementation(block)(block, *args, **kwargs)


def _user_hybrid_forward(block, *args, **kwargs):
    params = _params(block)
    with block_scope(block):
        return block.hybrid_forward(sym, *args, **kwargs, **params)


def _user_forward(block, *args, **kwargs):
    return block.forward(*args, **kwargs)


# -- tracing and export ------------------------------------------------------------------
def trace(block, structure=None):
    """``(inputs, outputs, params)``: MXNet's graph of ``block`` (``_get_graph``): the
    input variables, the grouped output symbol, and the parameters it reads in graph
    order. ``structure`` is the inputs' nesting (default: one input)."""
    graph = block.__dict__.get("_export_graph") or {"inputs": [0], "versions": {}}
    if structure is None:
        structure = graph["inputs"]
    inputs, names = _symbol_inputs(structure)
    previous = [getattr(_state, key, None) for key in ("vars", "order", "versions")]
    _state.vars, _state.order, _state.versions = {}, [], graph["versions"]
    try:
        with sym_naming.NameManager():
            out = _implementation(block)(block, *inputs)
        used = list(_state.order)
    finally:
        _state.vars, _state.order, _state.versions = previous
    outputs = _flatten_outputs(out)
    return names, sym.Group(outputs), used


def _flatten_outputs(out):
    if isinstance(out, Symbol):
        return [out]
    if isinstance(out, (list, tuple)):
        flat = []
        for item in out:
            flat.extend(_flatten_outputs(item))
        return flat
    raise MXNetError("A block's symbolic forward must return symbols (or lists of "
                     "them), got %r" % (out,))


def export(block, path, epoch=0, remove_amp_cast=True):
    """``HybridBlock.export``: write ``<path>-symbol.json`` and ``<path>-%04d.params``
    (epoch) as MXNet 1.9.1 does; returns the JSON text. The graph and the arrays are
    made, and the arrays checked, before anything is written; each file is written
    atomically, the parameters first."""
    from keras_defer import mxnet_format

    if not block.__dict__.get("_export_graph"):
        raise RuntimeError(
            "Please first call block.hybridize() and then run forward with "
            "this block at least once before calling export.")
    data_names, graph, params = trace(block)
    text = graph.tojson(remove_amp_cast)
    arg_names = set(graph.list_arguments())
    aux_names = set(graph.list_auxiliary_states())
    input_order = [n for n in graph.list_inputs() if n not in data_names]
    by_name = {p.name: p for p in params}
    names, arrays = [], []
    for name in input_order:
        param = by_name.get(name)
        if param is None:
            raise MXNetError("The graph of %s reads a variable '%s' that is none of its "
                             "parameters; export writes only parameters."
                             % (block.name, name))
        prefix = "arg" if name in arg_names else "aux" if name in aux_names else None
        names.append("%s:%s" % (prefix, name))
        arrays.append(np.asarray(param.data().asnumpy()))
    mxnet_format.write("%s-%04d.params" % (path, epoch), arrays, names)
    graph.save("%s-symbol.json" % path, remove_amp_cast=remove_amp_cast)
    return text


# -- the built-in layers' symbolic forwards (MXNet 1.9.1's hybrid_forward) ---------------
def _register_builtins():
    from keras_defer import nn
    from keras_defer.gluon.contrib import nn as contrib_nn
    from keras_defer.nn import conv_layers

    @symbolic(nn.HybridSequential)
    def _hybrid_sequential(block, x, *args):
        with block_scope(block):
            for child in block._children.values():
                x = child(x, *args)
                args = ()
        return x

    @symbolic(nn.Sequential)
    def _sequential(block, x, *args):
        for child in block._children.values():
            x = child(x, *args)
            args = ()
        return x

    @symbolic(contrib_nn.HybridConcurrent)
    def _hybrid_concurrent(block, x):
        with block_scope(block):
            out = [child(x) for child in block._children.values()]
            return sym.concat(*out, dim=block.axis)

    @symbol_forward(contrib_nn.Identity)
    def _identity(block, F, x):
        return x

    @symbol_forward(nn.Dense)
    def _dense(block, F, x):
        bias = _param(block, "bias")
        act = F.FullyConnected(x, _param(block, "weight"), bias, no_bias=bias is None,
                               num_hidden=block._units, flatten=block._flatten, name="fwd")
        return block.act(act) if block.act is not None else act

    @symbol_forward(nn.Activation)
    def _activation(block, F, x):
        return F.Activation(x, act_type=block._act_type, name="fwd")

    @symbol_forward(conv_layers._Conv)
    def _conv(block, F, x):
        kwargs = {"kernel": tuple(block._kernel), "stride": tuple(block._strides),
                  "dilate": tuple(block._dilation), "pad": tuple(block._padding),
                  "num_filter": block._channels, "num_group": block._groups,
                  "no_bias": _param(block, "bias") is None, "layout": block._layout}
        op = F.Convolution
        if getattr(block, "_transpose", False):
            op = F.Deconvolution
            kwargs["adj"] = tuple(block._output_padding)
        bias = _param(block, "bias")
        if bias is None:
            act = op(x, _param(block, "weight"), name="fwd", **kwargs)
        else:
            act = op(x, _param(block, "weight"), bias, name="fwd", **kwargs)
        return block.act(act) if block.act is not None else act

    @symbol_forward(conv_layers._Pooling)
    def _pooling(block, F, x):
        kwargs = {"kernel": tuple(block._kernel), "stride": tuple(block._strides),
                  "pad": tuple(block._padding), "global_pool": block._global_pool,
                  "pool_type": block._pool_type, "layout": block._layout,
                  "pooling_convention": "full" if block._ceil_mode else "valid"}
        if block._pool_type == "avg" and not block._global_pool:
            kwargs["count_include_pad"] = block._count_include_pad
        return F.Pooling(x, name="fwd", **kwargs)

    @symbol_forward(nn.BatchNorm)
    def _batch_norm(block, F, x):
        return F.BatchNorm(x, _param(block, "gamma"), _param(block, "beta"),
                           _param(block, "running_mean"), _param(block, "running_var"),
                           name="fwd", **block._kwargs)

    @symbol_forward(nn.LayerNorm)
    def _layer_norm(block, F, x):
        return F.LayerNorm(x, gamma=_param(block, "gamma"), beta=_param(block, "beta"),
                           axis=block._axis, eps=block._epsilon)

    @symbol_forward(nn.InstanceNorm)
    def _instance_norm(block, F, x):
        gamma, beta = _param(block, "gamma"), _param(block, "beta")
        if block._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=block._epsilon)
        x = x.swapaxes(1, block._axis)
        return F.InstanceNorm(x, gamma, beta, name="fwd",
                              eps=block._epsilon).swapaxes(1, block._axis)

    @symbol_forward(nn.Embedding)
    def _embedding(block, F, x):
        return F.Embedding(x, _param(block, "weight"), name="fwd", **block._kwargs)

    @symbol_forward(nn.Flatten)
    def _flatten(block, F, x):
        return F.flatten(x)

    @symbol_forward(nn.Dropout)
    def _dropout(block, F, x):
        if block._rate > 0:
            return F.Dropout(x, p=block._rate, axes=block._axes, name="fwd",
                             cudnn_off=False)
        return F.identity(x)

    @symbol_forward(nn.LeakyReLU)
    def _leaky_relu(block, F, x):
        return F.LeakyReLU(x, act_type="leaky", slope=block._alpha, name="fwd")

    @symbol_forward(nn.PReLU)
    def _prelu(block, F, x):
        return F.LeakyReLU(x, gamma=_param(block, "alpha"), act_type="prelu", name="fwd")

    @symbol_forward(nn.ELU)
    def _elu(block, F, x):
        return F.LeakyReLU(x, act_type="elu", slope=block._alpha)

    @symbol_forward(nn.SELU)
    def _selu(block, F, x):
        return F.LeakyReLU(x, act_type="selu", name="fwd")

    @symbol_forward(nn.GELU)
    def _gelu(block, F, x):
        return F.LeakyReLU(x, act_type="gelu", name="fwd")

    @symbol_forward(nn.Swish)
    def _swish(block, F, x):
        return x * F.sigmoid(block._beta * x, name="fwd")

    @symbol_forward(nn.HybridLambda)
    def _hybrid_lambda(block, F, x, *args):
        if isinstance(block._func_name, str) and hasattr(F, block._func_name) \
                and not callable(getattr(block, "_func_impl", None)):
            return getattr(F, block._func_name)(x, *args)
        return block._func(F, x, *args)

    @symbolic(nn.Lambda)
    def _lambda(block, *args):
        # MXNet's Lambda calls its function on whatever comes, symbols included; a
        # function named by a string is taken from mx.sym here (MXNet takes nd's)
        if isinstance(block._func_impl, str) or not callable(block._func_impl):
            return getattr(sym, block._func_name)(*args)
        return block._func_impl(*args)

    @symbolic(nn.RNN, nn.LSTM, nn.GRU)
    def _rnn_layer(block, inputs, states=None, sequence_length=None):
        skip_states = states is None
        if skip_states:  # begin_state(0, func=symbol.zeros), in the caller's scope
            states = [sym.zeros(name="%sh0_%d" % (block.prefix, i), **info)
                      for i, info in enumerate(_rnn_state_info(block))]
        if isinstance(states, Symbol):
            states = [states]
        params = _params(block)
        with block_scope(block):
            out = _rnn_kernel(block, inputs, list(states), params)
        return out[0] if skip_states else out


def symbol_forward(*classes):
    """Register ``fn(block, F, *inputs)`` run as MXNet's HybridBlock.forward runs
    hybrid_forward: inside the block's name scope, ``F`` = ``mx.sym``."""
    def register(fn):
        def run(block, *args, **kwargs):
            with block_scope(block):
                return fn(block, sym, *args, **kwargs)
        run.__name__ = fn.__name__
        for cls in classes:
            SYMBOLIC[cls] = run
        return fn
    return register


def _rnn_state_info(block):
    shape = (block._num_layers * block._dir, 0, block._hidden_size)
    info = {"shape": shape, "__layout__": "LNC", "dtype": block._dtype}
    if block._mode == "lstm":
        return [info, dict(info)]
    return [info]


def _rnn_kernel(block, inputs, states, params):
    F = sym
    if block._layout == "NTC":
        inputs = F.swapaxes(inputs, 0, 1)
    flat = [params["%s%d_%s_%s" % (d, layer, g, t)].reshape(-1)
            for t in ("weight", "bias")
            for layer in range(block._num_layers)
            for d in ["l", "r"][:block._dir]
            for g in ("i2h", "h2h")]
    packed = F._internal._rnn_param_concat(*flat, dim=0)
    rnn = F.RNN(inputs, packed, *states, use_sequence_length=False,
                state_size=block._hidden_size, projection_size=None,
                num_layers=block._num_layers, bidirectional=block._dir == 2,
                p=block._dropout, state_outputs=True, mode=block._mode,
                lstm_state_clip_min=None, lstm_state_clip_max=None,
                lstm_state_clip_nan=False)
    if block._mode == "lstm":
        outputs, states = rnn[0], [rnn[1], rnn[2]]
    else:
        outputs, states = rnn[0], [rnn[1]]
    if block._layout == "NTC":
        outputs = F.swapaxes(outputs, 0, 1)
    return outputs, states


_register_builtins()
