"""Block API scenarios (summary, hooks, apply, attribute names Keras also uses,
contexts), written once for MXNet 1.9.1 and keras_defer.

Each scenario takes a namespace ``fw``: ``mx`` (``mxnet`` or ``keras_defer``), ``nd``,
``nn``, ``rnn`` (``gluon.rnn``) and ``init``, and returns a JSON-able value; what it
prints is captured too, and an exception is recorded by kind and message (``run``).
``record_block_api.py`` stores MXNet's results in ``data/block_api_reference.json``;
``tests/test_block_api.py`` runs the scenarios on keras_defer and compares: the printed
text byte for byte (``Block.summary``'s table), the returned values, and errors by
kind and message, except ``MXNetError`` whose messages come from MXNet's C++ (a
scenario may list the phrases keras_defer's message must hold instead). This file
imports no framework but numpy.
"""

import contextlib
import io
import warnings

import numpy as np

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def error_kind(exc):
    names = [k.__name__ for k in type(exc).__mro__]
    return "MXNetError" if "MXNetError" in names else type(exc).__name__


def run(fw, fn):
    """``{"printed": ..., "result"|"error": ...}`` of ``fn(fw)``."""
    out = io.StringIO()
    record = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(out):
            try:
                record["result"] = fn(fw)
            except Exception as exc:  # noqa: BLE001 - recorded by kind and message
                record["error"] = {"class": error_kind(exc),
                                   "message": str(exc).strip().splitlines()[-1]
                                   if str(exc).strip() else ""}
    record["printed"] = out.getvalue()
    return record


def _x(fw, *shape):
    """A fixed input (the values do not matter to what is compared)."""
    return fw.nd.array(np.linspace(-1, 1, int(np.prod(shape)), dtype="float32").reshape(shape))


def _error(fn):
    """The error ``fn()`` raises, as (kind, last message line), or None."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        text = str(exc).strip()
        return [error_kind(exc), text.splitlines()[-1] if text else ""]
    return None


# -- the d2l chapters' nets ----------------------------------------------------------
def _mlp_class(fw):
    nn = fw.nn

    class MLP(nn.Block):  # model-construction.md, verbatim but for comments
        def __init__(self, **kwargs):
            super(MLP, self).__init__(**kwargs)
            self.hidden = nn.Dense(256, activation='relu')
            self.output = nn.Dense(10)

        def forward(self, x):
            return self.output(self.hidden(x))

    return MLP


def _nest_mlp_class(fw):
    nn = fw.nn

    class NestMLP(nn.Block):
        def __init__(self, **kwargs):
            super(NestMLP, self).__init__(**kwargs)
            self.net = nn.Sequential()
            self.net.add(nn.Dense(64, activation='relu'),
                         nn.Dense(32, activation='relu'))
            self.dense = nn.Dense(16, activation='relu')

        def forward(self, x):
            return self.dense(self.net(x))

    return NestMLP


@scenario
def summary_sequential(fw):
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(256, activation='relu'))
    net.add(fw.nn.Dense(10))
    net.initialize()
    net.summary(_x(fw, 2, 20))
    return [p.shape for p in net.collect_params().values()]


@scenario
def summary_chapter_mlp(fw):
    net = _mlp_class(fw)()
    net.initialize()
    net.summary(_x(fw, 2, 20))
    return repr(net)


@scenario
def summary_nested(fw):
    chimera = fw.nn.Sequential()
    chimera.add(_nest_mlp_class(fw)(), fw.nn.Dense(20))
    chimera.initialize()
    chimera.summary(_x(fw, 2, 20))


def _fancy_mlp_class(fw):
    nn, nd = fw.nn, fw.nd

    class FancyMLP(nn.Block):  # model-construction.md
        def __init__(self, **kwargs):
            super(FancyMLP, self).__init__(**kwargs)
            self.rand_weight = self.params.get_constant(
                'rand_weight', nd.random.uniform(shape=(20, 20)))
            self.dense = nn.Dense(20, activation='relu')

        def forward(self, x):
            x = self.dense(x)
            x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
            x = self.dense(x)
            while x.norm().asscalar() > 1:
                x /= 2
            if x.norm().asscalar() < 0.8:
                x *= 10
            return x.sum()

    return FancyMLP


@scenario
def summary_chimera(fw):
    chimera = fw.nn.Sequential()  # model-construction.md's last net
    chimera.add(_nest_mlp_class(fw)(), fw.nn.Dense(20), _fancy_mlp_class(fw)())
    chimera.initialize()
    chimera.summary(_x(fw, 2, 20))


@scenario
def summary_shared_parameters(fw):
    nn = fw.nn  # parameters.md: a layer whose parameters another layer shares
    net = nn.Sequential()
    shared = nn.Dense(8, activation='relu')
    net.add(nn.Dense(8, activation='relu'),
            shared,
            nn.Dense(8, activation='relu', params=shared.params),
            nn.Dense(10))
    net.initialize()
    net.summary(_x(fw, 2, 20))


@scenario
def summary_block_called_twice(fw):
    nn = fw.nn

    class Twice(nn.Block):
        def __init__(self, **kwargs):
            super(Twice, self).__init__(**kwargs)
            self.dense = nn.Dense(20, activation='relu')

        def forward(self, x):
            return self.dense(self.dense(x))

    net = Twice()
    net.initialize()
    net.summary(_x(fw, 2, 20))


@scenario
def summary_custom_layers(fw):
    nn, nd = fw.nn, fw.nd

    class CenteredLayer(nn.Block):  # custom-layer.md
        def __init__(self, **kwargs):
            super(CenteredLayer, self).__init__(**kwargs)

        def forward(self, x):
            return x - x.mean()

    class MyDense(nn.Block):
        def __init__(self, units, in_units, **kwargs):
            super(MyDense, self).__init__(**kwargs)
            self.weight = self.params.get('weight', shape=(in_units, units))
            self.bias = self.params.get('bias', shape=(units,))

        def forward(self, x):
            linear = nd.dot(x, self.weight.data()) + self.bias.data()
            return nd.relu(linear)

    net = nn.Sequential()
    net.add(MyDense(8, in_units=64), MyDense(1, in_units=8), CenteredLayer())
    net.initialize()
    net.summary(_x(fw, 2, 64))


@scenario
def summary_conv_net_with_batchnorm(fw):
    nn = fw.nn  # non-trainable parameters (BatchNorm's running statistics)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, kernel_size=5, activation='sigmoid'),
            nn.BatchNorm(),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Flatten(),
            nn.Dense(10))
    net.initialize()
    net.summary(_x(fw, 2, 1, 12, 12))


@scenario
def summary_nested_outputs(fw):
    layer = fw.rnn.LSTM(8, input_size=4)  # (output, [h, c]) when given states
    layer.initialize()
    states = layer.begin_state(batch_size=2)
    layer.summary(_x(fw, 5, 2, 4), states)


@scenario
def summary_of_a_hybridized_net(fw):
    net = fw.nn.HybridSequential()
    net.add(fw.nn.Dense(4))
    net.initialize()
    net.hybridize()
    net.summary(_x(fw, 2, 3))


@scenario
def summary_before_initialize(fw):
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(4))
    net.summary(_x(fw, 2, 3))


# -- hooks and apply -----------------------------------------------------------------
def _hooked_net(fw, log):
    nn = fw.nn
    net = nn.Sequential()
    inner = nn.Sequential()
    inner.add(nn.Dense(4, activation='relu'), nn.Dense(3))
    net.add(inner, nn.Dense(2))
    net.initialize()

    def pre(block, inputs):
        log.append(["pre", block.name, type(inputs).__name__,
                    [list(x.shape) for x in inputs]])

    def post(block, inputs, output):
        log.append(["post", block.name, type(inputs).__name__, list(output.shape)])

    handles = []
    for block in (net, inner, inner[0], inner[1], net[1]):
        handles.append(block.register_forward_pre_hook(pre))
        handles.append(block.register_forward_hook(post))
    return net, handles


@scenario
def hooks_order_and_arguments(fw):
    log = []
    net, _ = _hooked_net(fw, log)
    net(_x(fw, 2, 5))
    net(_x(fw, 3, 5))  # and on a later call (the fast path, where there is one)
    return log


@scenario
def hooks_detach(fw):
    log = []
    net, handles = _hooked_net(fw, log)
    for handle in handles[2:]:
        handle.detach()
    handles[2].detach()  # twice: nothing happens
    net(_x(fw, 2, 5))
    first = list(log)
    del log[:]
    with handles[0], handles[1]:
        pass
    net(_x(fw, 2, 5))
    return [first, log]


@scenario
def hooks_same_function_twice(fw):
    log = []
    net = fw.nn.Dense(2)
    net.initialize()

    def hook(block, inputs, output):
        log.append(block.name)

    first = net.register_forward_hook(hook)
    net.register_forward_hook(hook)  # MXNet keys hooks by id(): still one
    net(_x(fw, 1, 3))
    first.detach()
    net(_x(fw, 1, 3))
    return log


@scenario
def hooks_see_values(fw):
    seen = []
    net = fw.nn.Dense(2, in_units=3)
    net.initialize(fw.init.One())
    net.register_forward_pre_hook(lambda b, i: seen.append(i[0].asnumpy().tolist()))
    net.register_forward_hook(lambda b, i, o: seen.append(o.asnumpy().tolist()))
    net(fw.nd.ones((1, 3)))
    return seen


@scenario
def hooks_in_a_hybridized_net(fw):
    log = []
    net = fw.nn.HybridSequential()
    net.add(fw.nn.Dense(4), fw.nn.Dense(2))
    net.initialize()
    net.hybridize()
    net.register_forward_hook(lambda b, i, o: log.append(["top", list(o.shape)]))
    net[0].register_forward_hook(lambda b, i, o: log.append(["child", list(o.shape)]))
    net(_x(fw, 2, 3))
    net(_x(fw, 2, 3))
    return log


@scenario
def hooks_on_the_first_pass_see_initialized_parameters(fw):
    seen = []
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(3))
    net.initialize()
    net[0].register_forward_hook(lambda b, i, o: seen.append(b.weight.data().shape))
    net(_x(fw, 2, 5))
    return seen


@scenario
def apply_order(fw):
    names = []
    net = fw.nn.Sequential()
    net.add(_nest_mlp_class(fw)(), fw.nn.Dense(20))
    out = net.apply(lambda block: names.append(type(block).__name__ + ":" + block.name))
    return [names, out is net]


# -- attribute names Keras uses too ----------------------------------------------------
KERAS_NAMES = ["output", "input", "weights", "losses", "dtype", "variables", "metrics",
               "built", "trainable", "layers", "path", "input_spec", "supports_masking",
               "dtype_policy", "compute_dtype", "variable_dtype", "trainable_weights",
               "non_trainable_weights", "trainable_variables", "non_trainable_variables",
               "input_dtype", "quantization_mode", "autocast", "training", "loss",
               "optimizer", "call", "build", "compile", "fit", "count_params",
               "get_config", "compute_output_shape", "name", "params", "prefix"]


def _named_block_class(fw, name, make):
    nn = fw.nn

    class Holder(nn.Block):
        def __init__(self, **kwargs):
            super(Holder, self).__init__(**kwargs)
            self.hidden = nn.Dense(3)
            setattr(self, name, make(self))

        def forward(self, x):
            value = getattr(self, name)
            return value(self.hidden(x)) if isinstance(value, nn.Block) else self.hidden(x)

    return Holder


def _describe_holder(fw, name, make):
    try:
        net = _named_block_class(fw, name, make)()
    except Exception as exc:  # noqa: BLE001
        return {"error": [error_kind(exc), str(exc)]}
    value = getattr(net, name)
    net.initialize()
    out = net(_x(fw, 2, 5))
    return {"type": type(value).__name__,
            "value": value if isinstance(value, (int, str, list)) else None,
            "children": list(net._children),
            "params": list(net.collect_params()),
            "repr": repr(net),
            "out": list(out.shape)}


@scenario
def keras_names_hold_blocks(fw):
    return {name: _describe_holder(fw, name, lambda self: fw.nn.Dense(2))
            for name in KERAS_NAMES}


@scenario
def keras_names_hold_plain_values(fw):
    return {name: _describe_holder(fw, name, lambda self: [7, "seven"])
            for name in KERAS_NAMES}


@scenario
def keras_names_hold_parameters(fw):
    return {name: _describe_holder(fw, name, lambda self: self.params.get(name, shape=(2,)))
            for name in KERAS_NAMES}


@scenario
def keras_name_reassigned(fw):
    nn = fw.nn
    net = _named_block_class(fw, "output", lambda self: nn.Dense(2))()
    first = net.output
    net.output = nn.Dense(4)
    second = net.output
    changed = _error(lambda: setattr(net, "output", 3))  # a Block replaced by an int
    del net.output
    return [first.name, second.name, list(net._children), changed[0],
            "Changing attribute type for output from" in changed[1],
            _error(lambda: net.output)[0]]


# -- contexts -------------------------------------------------------------------------
@scenario
def contexts(fw):
    mx = fw.mx
    c = mx.Context("gpu", 1)
    return [repr(mx.cpu()), repr(mx.gpu()), repr(mx.gpu(1)), str(mx.gpu(3)),
            repr(mx.cpu_pinned()), repr(mx.Context(mx.cpu(3))), repr(c),
            c.device_type, c.device_id, c.device_typeid,
            mx.cpu() == mx.cpu(0), mx.cpu() == mx.gpu(0), mx.gpu(1) == c,
            mx.cpu() == "cpu(0)", hash(mx.cpu()) == hash(mx.Context("cpu", 0)),
            mx.context.Context is mx.Context, mx.context.cpu is mx.cpu,
            issubclass(mx.base.MXNetError, RuntimeError)]


@scenario
def default_context(fw):
    mx = fw.mx
    out = [repr(mx.current_context()), repr(mx.context.current_context())]
    with mx.gpu(1) as c:
        out += [repr(c), repr(mx.current_context())]
        with mx.Context("gpu", 2):
            out.append(repr(mx.current_context()))
        out.append(repr(mx.current_context()))
    out.append(repr(mx.current_context()))
    with mx.cpu():
        x = fw.nd.ones((2,))
    out.append(repr(x.context))
    return out


@scenario
def num_gpus_on_a_cpu_build(fw):
    return fw.mx.context.num_gpus()


@scenario
def arrays_and_contexts(fw):
    mx = fw.mx
    x = fw.nd.array([1, 2, 3])
    y = x.copyto(mx.cpu())
    return [repr(x.context), repr(x.ctx), x.as_in_context(mx.cpu()) is x, y is x,
            y.asnumpy().tolist(), repr(y.context),
            repr(fw.nd.zeros((2,), ctx=mx.cpu()).context)]


GPU_PLACEMENTS = {
    "nd.ones": lambda fw: fw.nd.ones((2, 3), ctx=fw.mx.gpu()),
    "nd.zeros": lambda fw: fw.nd.zeros((2, 3), ctx=fw.mx.gpu()),
    "nd.array": lambda fw: fw.nd.array([1, 2], ctx=fw.mx.gpu()),
    "nd.full": lambda fw: fw.nd.full((2, 3), 1, ctx=fw.mx.gpu()),
    "nd.arange": lambda fw: fw.nd.arange(3, ctx=fw.mx.gpu()),
    "nd.random.uniform": lambda fw: fw.nd.random.uniform(shape=(2, 3), ctx=fw.mx.gpu(1)),
    "nd.random.normal": lambda fw: fw.nd.random.normal(shape=(2, 3), ctx=fw.mx.gpu(1)),
    "copyto": lambda fw: fw.nd.ones((2, 3)).copyto(fw.mx.gpu()),
    "as_in_context": lambda fw: fw.nd.ones((2, 3)).as_in_context(fw.mx.gpu(1)),
}


@scenario
def gpu_placements_on_a_cpu_build(fw):
    return {name: _error(lambda: make(fw)) for name, make in sorted(GPU_PLACEMENTS.items())}


@scenario
def default_gpu_context_on_a_cpu_build(fw):
    mx = fw.mx

    def make():
        with mx.gpu(1):
            return fw.nd.ones((2, 3))

    return _error(make)


def _dense_net(fw, **kwargs):
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(1, **kwargs))
    return net


@scenario
def initialize_on_a_missing_gpu(fw):
    mx = fw.mx
    out = {}
    for label, ctx in [("gpu()", mx.gpu()), ("[gpu()]", [mx.gpu()]),
                       ("[cpu(), gpu(1)]", [mx.cpu(), mx.gpu(1)])]:
        net = _dense_net(fw)
        out[label] = [_error(lambda: net.initialize(ctx=ctx)),
                      _error(lambda: net[0].bias.list_ctx())]
    net = _dense_net(fw, in_units=3)
    out["known shapes"] = [_error(lambda: net.initialize(ctx=mx.gpu())),
                           _error(lambda: net[0].weight.list_ctx()),
                           _error(lambda: net(fw.nd.ones((2, 3))))]
    return out


@scenario
def initialize_on_a_missing_gpu_then_forward(fw):
    """MXNet leaves the weight's deferred initialization registered (the bias failed
    first) and fails again in the forward; keras_defer changed nothing (divergence)."""
    net = _dense_net(fw)
    return [_error(lambda: net.initialize(ctx=fw.mx.gpu())),
            _error(lambda: net(fw.nd.ones((2, 3))))]


@scenario
def initialize_with_a_string_context(fw):
    return {repr(ctx): _error(lambda: _dense_net(fw).initialize(ctx=ctx))
            for ctx in ["gpu", "cpu", "gpu(0)"]}


@scenario
def initialize_with_an_int_context(fw):
    return {repr(ctx): _error(lambda: _dense_net(fw).initialize(ctx=ctx))[0]
            for ctx in [0, [0]]}
