"""Core deferred-initialization scenarios, written once for MXNet Gluon and keras_defer.

Each scenario takes a framework namespace ``fw`` (``init``, ``nd``, ``nn``,
``reset_names``, ``to_numpy``) and returns an event log of plain strings: names,
shapes, initializer calls, error kinds, warnings, reprs. ``record_core.py`` runs them
under MXNet 1.9.1 and stores the logs; ``tests/test_mxnet_parity.py`` runs them under
keras_defer and compares. This file imports no framework.
"""

import copy
import warnings


def error_kind(exc):
    """Framework-neutral error classification."""
    names = [k.__name__ for k in type(exc).__mro__]
    if "DeferredInitializationError" in names:
        return "DeferredInitializationError"
    if "MXNetError" in names or "ShapeMismatchError" in names:
        return "ShapeError"
    if "RuntimeError" in names:
        return "RuntimeError"
    return type(exc).__name__


class Log(list):
    def attempt(self, label, fn):
        try:
            out = fn()
        except Exception as exc:  # the kind is what we compare
            self.append("%s -> raises %s" % (label, error_kind(exc)))
            return None
        self.append("%s -> ok" % label)
        return out

    def params(self, net):
        self.append(str(net.collect_params()))

    def warned(self, label, fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
        self.append("%s warnings: %s" % (label, [str(w.message) for w in caught]))


def recording_init(fw, log):
    class Recorder(fw.init.Initializer):
        def _init_weight(self, name, data):
            log.append("Init %s %s" % (name, tuple(data.shape)))
            data[:] = 0.5

    return Recorder()


def chapter(fw):
    log = Log()

    def getnet():
        net = fw.nn.Sequential()
        net.add(fw.nn.Dense(256, activation="relu"))
        net.add(fw.nn.Dense(10))
        return net

    net = getnet()
    log.append(repr(net))
    log.params(net)
    log.attempt("data before initialize", lambda: net[0].weight.data())
    net.initialize()
    log.params(net)
    log.attempt("data after initialize", lambda: net[0].weight.data())
    log.attempt("grad after initialize", lambda: net[0].weight.grad())
    x = fw.nd.random.uniform(shape=(2, 20))
    net(x)
    log.params(net)
    log.append(repr(net))
    net = getnet()
    net.initialize(init=recording_init(fw, log))
    log.append("-- first pass")
    net(x)
    log.append("-- second pass")
    net(x)
    log.append("-- force_reinit")
    net.initialize(init=recording_init(fw, log), force_reinit=True)
    log.append("-- in_units")
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(256, in_units=20, activation="relu"))
    net.add(fw.nn.Dense(10, in_units=256))
    net.initialize(init=recording_init(fw, log))
    return log


def exercise1_partial_in_units(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(5, in_units=3), fw.nn.Dense(4), fw.nn.Dense(2, in_units=4))
    net.initialize(init=recording_init(fw, log))
    log.append("-- after initialize")
    log.params(net)
    net(fw.nd.ones((2, 3)))
    log.append("-- after first pass")
    log.params(net)
    return log


def exercise2_wrong_in_units(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(4), fw.nn.Dense(3, in_units=5))
    log.attempt("forward before initialize", lambda: net(fw.nd.ones((2, 7))))
    net.initialize(init=recording_init(fw, log))
    log.attempt("forward wrong in_units", lambda: net(fw.nd.ones((2, 7))))
    single = fw.nn.Dense(3, in_units=5)
    single.initialize(init=recording_init(fw, log))
    log.attempt("single wrong", lambda: single(fw.nd.ones((2, 7))))
    log.append("shape after failure %s" % (single.weight.shape,))
    out = log.attempt("single right", lambda: single(fw.nd.ones((2, 5))))
    log.append("out %s" % (tuple(out.shape),))
    return log


def exercise3_changing_input(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(4, activation="tanh"), fw.nn.Dense(2))
    net.initialize(init=recording_init(fw, log))
    for batch in (2, 5, 1):
        out = net(fw.nd.ones((batch, 6)))
        log.append("batch %d -> %s" % (batch, tuple(out.shape)))
    log.attempt("feature size changes", lambda: net(fw.nd.ones((2, 7))))
    log.params(net)
    out = net(fw.nd.ones((3, 6)))
    log.append("after failure %s" % (tuple(out.shape),))
    return log


def reinitialize(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(5), fw.nn.Dense(2, in_units=5))
    net.initialize(init=recording_init(fw, log))
    log.append("-- force_reinit before first pass")
    net.initialize(init=recording_init(fw, log), force_reinit=True)
    log.warned("second initialize", lambda: net.initialize(init=recording_init(fw, log)))
    log.append("-- first pass")
    net(fw.nd.ones((1, 7)))
    log.warned("initialize after pass", lambda: net.initialize(init=recording_init(fw, log)))
    log.append("-- force_reinit after pass")
    net.initialize(init=recording_init(fw, log), force_reinit=True)
    return log


def initializer_precedence(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(
        fw.nn.Dense(3, bias_initializer=None),
        fw.nn.Dense(2, weight_initializer=fw.init.One()),
        fw.nn.Dense(2, use_bias=False, weight_initializer="zeros"),
    )
    net.initialize(init=recording_init(fw, log))
    net(fw.nd.ones((1, 4)))
    log.append("own one: %s" % fw.to_numpy(net[1].weight.data()).tolist())
    log.append("own zeros: %s" % fw.to_numpy(net[2].weight.data()).tolist())
    log.append("bias zeros: %s" % fw.to_numpy(net[1].bias.data()).tolist())
    return log


def set_data_before_first_pass(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(2), fw.nn.Dense(1))
    net.initialize(init=recording_init(fw, log))
    net[0].weight.set_data(fw.nd.ones((2, 3)))
    log.append("shape %s" % (net[0].weight.shape,))
    log.attempt("data still deferred", lambda: net[0].weight.data())
    net(fw.nd.ones((4, 3)))
    log.append("value %s" % fw.to_numpy(net[0].weight.data()).tolist())
    log.attempt("set_data wrong shape", lambda: net[0].weight.set_data(fw.nd.ones((2, 4))))
    return log


def naming_and_select(fw):
    log = Log()
    net = fw.nn.Sequential(prefix="model_")
    with net.name_scope():
        net.add(fw.nn.Dense(3), fw.nn.Dense(3, activation="sigmoid"))
        inner = fw.nn.HybridSequential()
        with inner.name_scope():
            inner.add(fw.nn.Dense(2))
        net.add(inner)
    log.append(repr(net))
    log.params(net)
    log.append(str(net.collect_params(".*weight")))
    log.append(str(net.collect_params("model_dense1")))
    log.append("names %s %s %s %s" % (net.name, net[0].name, inner.name, inner[0].prefix))
    log.append("act prefix %s" % net[1].act.prefix)
    plain = [fw.nn.Dense(1) for _ in range(2)]
    log.append("top-level %s" % [d.name for d in plain])
    custom = fw.nn.Dense(1, prefix="custom_")
    log.append("custom %s %s" % (custom.name, custom.weight.name))
    return log


def sharing(fw):
    log = Log()
    a = fw.nn.Dense(3)
    b = fw.nn.Dense(3, params=a.params)
    net = fw.nn.Sequential()
    net.add(a, b)
    log.append("same %s names %s %s" % (a.weight is b.weight, a.weight.name, b.prefix))
    log.params(net)
    net.initialize(init=recording_init(fw, log))
    out = net(fw.nd.ones((2, 3)))
    log.append("out %s" % (tuple(out.shape),))
    return log


def deepcopy_before_first_pass(fw):
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(3))
    net.initialize(init=recording_init(fw, log))
    twin = copy.deepcopy(net)
    log.append("names %s %s same %s" % (net[0].name, twin[0].name, twin[0].weight is net[0].weight))
    twin(fw.nd.ones((1, 2)))
    log.append("shapes %s %s" % (net[0].weight.shape, twin[0].weight.shape))
    net(fw.nd.ones((1, 5)))
    log.append("shapes %s %s" % (net[0].weight.shape, twin[0].weight.shape))
    return log


def hybridized(fw):
    log = Log()
    net = fw.nn.HybridSequential()
    net.add(fw.nn.Dense(4, activation="relu"), fw.nn.Dense(2))
    net.initialize(init=recording_init(fw, log))
    net.hybridize()
    for batch in (3, 4):
        out = net(fw.nd.ones((batch, 5)))
        log.append("out %s" % (tuple(out.shape),))
    log.attempt("wrong features", lambda: net(fw.nd.ones((2, 6))))
    log.append(repr(net))
    log.params(net)
    return log


def flatten_modes(fw):
    log = Log()
    for flatten in (True, False):
        d = fw.nn.Dense(3, flatten=flatten)
        d.initialize(init=recording_init(fw, log))
        out = d(fw.nd.ones((2, 4, 5)))
        log.append("flatten=%s out %s weight %s" % (flatten, tuple(out.shape), d.weight.shape))
    return log


def errors_by_stage(fw):
    log = Log()
    d = fw.nn.Dense(2)
    for stage in ("before initialize", "after initialize", "after first pass"):
        if stage == "after initialize":
            d.initialize()
        if stage == "after first pass":
            d(fw.nd.ones((1, 3)))
        log.attempt("data %s" % stage, lambda: d.weight.data())
        log.attempt("grad %s" % stage, lambda: d.weight.grad())
        log.attempt("list_ctx %s" % stage, lambda: d.weight.list_ctx())
    frozen = fw.nn.Dense(2, in_units=2)
    frozen.weight.grad_req = "null"
    frozen.initialize()
    log.attempt("grad with grad_req null", lambda: frozen.weight.grad())
    return log


def parameter_arrays(fw):
    """``data()`` and ``grad()`` are NDArrays: printed, written through, listed."""
    log = Log()
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(3, in_units=2))
    net.initialize(init=fw.init.One())
    w = net[0].weight
    log.append("print(data()): %s" % w.data())
    log.append("repr(grad()): %r" % w.grad())
    log.append("contexts: %s %s %s" % (w.data().context, w.grad().context, w.list_ctx()))
    log.append("NDArrays: %s %s" % (isinstance(w.data(), fw.nd.NDArray),
                                    isinstance(w.grad(), fw.nd.NDArray)))
    log.append("the same arrays each time: %s %s" % (w.data() is w.data(), w.grad() is w.grad()))
    w.data()[:] += 1
    log.append("after data()[:] += 1: %s" % w.data())
    data = w.data()
    data[0, 1] = 7
    log.append("after data[0, 1] = 7: %s" % w.data())
    log.append("forward: %s" % net(fw.nd.ones((1, 2))))
    w.grad()[:] = 5
    log.append("after grad()[:] = 5: %s" % w.grad())
    w.zero_grad()
    log.append("after zero_grad(): %s" % w.grad())
    log.append("list_data(): %s" % w.list_data())
    log.append("list_grad(): %s" % w.list_grad())
    log.attempt("len(collect_params())", lambda: len(net.collect_params()))
    return log


def constants_and_user_forwards(fw):
    """``params.get_constant``; a user ``forward`` and ``hybrid_forward`` get NDArrays,
    and so do the children it calls."""
    log = Log()

    class Scaled(fw.nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = self.params.get_constant("scale", [[1, 2], [3, 4]])
            self.dense = fw.nn.Dense(2, in_units=2)

        def forward(self, x):
            log.append("forward gets %s" % type(x).__name__)
            y = self.dense(x)
            log.append("a child returns %s" % type(y).__name__)
            return fw.nd.dot(y, self.scale.data())

    class Weighted(fw.nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.weight = self.params.get("weight", shape=(2,), init=fw.init.Constant(3))

        def hybrid_forward(self, F, x, weight):
            log.append("hybrid_forward: F is nd %s, x %s, weight an NDArray %s" % (
                F is fw.nd, type(x).__name__, isinstance(weight, fw.nd.NDArray)))
            return x * weight

    block = Scaled()
    log.params(block)
    log.append(repr(block.scale))
    log.attempt("constant data before initialize", lambda: block.scale.data())
    block.initialize(init=fw.init.One())
    log.append("constant: %s" % block.scale.data())
    log.attempt("constant grad", lambda: block.scale.grad())
    log.warned("constant grad_req = 'write'",
               lambda: setattr(block.scale, "grad_req", "write"))
    log.append("constant grad_req %s" % block.scale.grad_req)
    out = block(fw.nd.ones((1, 2)))
    log.append("the block returns %s: %s" % (type(out).__name__, out))
    log.attempt("get_constant('missing')", lambda: block.params.get_constant("missing"))
    log.attempt("get_constant('scale', other value)",
                lambda: block.params.get_constant("scale", fw.nd.ones((2, 2))))
    log.append("get_constant('scale') is the constant: %s, with its value: %s" % (
        block.params.get_constant("scale") is block.scale,
        block.params.get_constant("scale", fw.nd.array([[1, 2], [3, 4]])) is block.scale))
    block.scale.set_data(fw.nd.zeros((2, 2)))
    log.append("after set_data: %s" % block.scale.data())
    block.initialize(init=fw.init.Zero(), force_reinit=True)
    log.append("after force_reinit: %s" % block.scale.data())
    weighted = Weighted()
    weighted.initialize()
    log.append("hybrid block returns %s" % weighted(fw.nd.ones((2,))))
    return log


SCENARIOS = {
    f.__name__: f
    for f in (
        chapter, exercise1_partial_in_units, exercise2_wrong_in_units,
        exercise3_changing_input, reinitialize, initializer_precedence,
        set_data_before_first_pass, naming_and_select, sharing,
        deepcopy_before_first_pass, hybridized, flatten_modes, errors_by_stage,
        parameter_arrays, constants_and_user_forwards,
    )
}


def run_all(fw):
    logs = {}
    for name, scenario in SCENARIOS.items():
        fw.reset_names()
        logs[name] = list(scenario(fw))
    return logs
