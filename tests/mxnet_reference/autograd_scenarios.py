"""Autograd scenarios, written once for MXNet 1.9.1 and keras_defer.

Each scenario takes a namespace ``fw``: ``nd``, ``autograd``, ``init``, ``nn``,
``Parameter`` (MXNet's or keras_defer's), ``values(x)`` (a numpy copy of an array or
tensor) and ``data(param)`` (``param.data()`` as an NDArray), and returns a value
that ``ndarray_scenarios.describe`` turns into plain data; an exception is recorded
by kind and message. ``record_autograd.py`` stores MXNet's results in
``data/autograd_reference.json``; ``tests/test_autograd.py`` runs the scenarios on
keras_defer and compares. This file imports no framework.

A scenario's *mode*: ``close``: values to float32 tolerance, shapes, dtypes, types
and error kinds; ``message``: that, and keras_defer's error message must appear in
MXNet's (MXNet's adds its C++ file and check). ``blocks``: a scenario that calls a
Gluon block or reads ``Parameter.data()``/``grad()`` as NDArrays (needs blocks that
take NDArrays).
"""

SCENARIOS = {}


def scenario(mode="close"):
    def register(fn):
        SCENARIOS[fn.__name__] = (mode, fn)
        return fn

    return register


def _vector(fw):
    x = fw.nd.array([1., 2., 3.])
    x.attach_grad()
    return x


# -- the d2l chapter (chapter_crashcourse/autograd.md) ---------------------------------
@scenario()
def d2l_two_x_dot_x(fw):
    x = fw.nd.arange(4).reshape((4, 1))
    x.attach_grad()
    with fw.autograd.record():
        y = 2 * fw.nd.dot(x.T, x)
    y.backward()
    return [x.grad, y, (x.grad - 4 * x).norm().asscalar() == 0]


@scenario()
def d2l_training_mode(fw):
    outside = fw.autograd.is_training()
    with fw.autograd.record():
        inside = fw.autograd.is_training()
    return [outside, inside]


def _d2l_f(a):
    b = a * 2
    while b.norm().asscalar() < 1000:
        b = b * 2
    if b.sum().asscalar() > 0:
        c = b
    else:
        c = 100 * b
    return c


@scenario()
def d2l_control_flow_positive(fw):
    a = fw.nd.array([0.3])
    a.attach_grad()
    with fw.autograd.record():
        d = _d2l_f(a)
    d.backward()
    return [a.grad, d]


@scenario()
def d2l_control_flow_negative(fw):
    a = fw.nd.array([-0.002])
    a.attach_grad()
    with fw.autograd.record():
        d = _d2l_f(a)
    d.backward()
    return [a.grad, d]


@scenario()
def d2l_head_gradient(fw):
    # The head gradient has shape (4,), the head (4, 1): MXNet reads it flat.
    x = fw.nd.arange(4).reshape((4, 1))
    x.attach_grad()
    with fw.autograd.record():
        y = x * 2
        z = y * x
    z.backward(fw.nd.array([10, 1., .1, .01]))
    return x.grad


# -- gradient buffers ------------------------------------------------------------------
@scenario()
def grad_before_attach(fw):
    return fw.nd.arange(4).grad


@scenario()
def grad_after_attach_is_zeros(fw):
    x = fw.nd.arange(6).reshape((2, 3))
    x.attach_grad()
    return x.grad


@scenario()
def grad_buffer_updated_in_place(fw):
    x = _vector(fw)
    buffer = x.grad
    with fw.autograd.record():
        y = x * 2
    y.backward()
    return buffer


@scenario()
def reattach_zeroes_the_buffer(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * 2
    y.backward()
    x.attach_grad()
    return x.grad


@scenario()
def grad_req_write_overwrites(fw):
    x = _vector(fw)
    for _ in range(2):
        with fw.autograd.record():
            y = x * x
        y.backward()
    return x.grad


@scenario()
def grad_req_add_accumulates(fw):
    x = fw.nd.array([1., 2., 3.])
    x.attach_grad(grad_req="add")
    for _ in range(3):
        with fw.autograd.record():
            y = x * x
        y.backward()
    return x.grad


@scenario()
def grad_req_null_is_no_variable(fw):
    x = fw.nd.array([1., 2., 3.])
    x.attach_grad(grad_req="null")
    with fw.autograd.record():
        y = x * 2
    y.backward()
    return x.grad


@scenario("message")
def grad_req_unknown(fw):
    fw.nd.array([1.]).attach_grad(grad_req="sometimes")


@scenario()
def mark_variables_one(fw):
    x = fw.nd.array([1., 2.])
    g = fw.nd.array([5., 5.])
    fw.autograd.mark_variables(x, g, "add")
    with fw.autograd.record():
        y = x * 3
    y.backward()
    return [g, x.grad]


@scenario()
def mark_variables_lists(fw):
    x, w = fw.nd.array([1., 2.]), fw.nd.array([3., 4.])
    gx, gw = fw.nd.zeros((2,)), fw.nd.zeros((2,))
    fw.autograd.mark_variables([x, w], [gx, gw], ["write", "write"])
    with fw.autograd.record():
        y = x * w
    y.backward()
    return [gx, gw, x.grad]


@scenario()
def sgd_step_between_records(fw):
    x = fw.nd.array([0., 1., 2., 3.])
    x.attach_grad()
    with fw.autograd.record():
        y = x * 2
    y.backward()
    x[:] = x - 0.5 * x.grad
    with fw.autograd.record():
        y = x * x
    y.backward()
    return [x, x.grad]


# -- heads -----------------------------------------------------------------------------
@scenario()
def non_scalar_head_is_summed(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * x
    y.backward()
    return x.grad


@scenario()
def out_grad_of_a_scalar(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x.sum()
    y.backward(out_grad=fw.nd.array([3.]))
    return [x.grad, y]


@scenario()
def backward_of_head_list(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y1 = x * 2
        y2 = x * x
    fw.autograd.backward([y1, y2], [fw.nd.array([1., 10., 100.]), None])
    return x.grad


@scenario()
def backward_of_head_tuple(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * 2
    fw.autograd.backward((y,))
    return x.grad


@scenario("message")
def head_grads_length_mismatch(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y1 = x * 2
        y2 = x * x
    fw.autograd.backward([y1, y2], [fw.nd.array([1., 1., 1.])])


@scenario()
def two_heads_backward_one_by_one(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y1 = x * 2
        y2 = x * 3
    y1.backward()
    first = x.grad.copy()
    y2.backward()
    return [first, x.grad]


# -- recording -------------------------------------------------------------------------
@scenario()
def pause_is_not_recorded(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * 2
        with fw.autograd.pause():
            z = x * 3
        w = y + z
    w.backward()
    return x.grad


@scenario()
def detach_cuts_the_graph(fw):
    x = fw.nd.arange(4)
    x.attach_grad()
    with fw.autograd.record():
        y = x * x
        u = y.detach()
        z = u * x
    z.backward()
    return [x.grad, u]


@scenario()
def stop_gradient_cuts_the_graph(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = fw.nd.stop_gradient(x * x) * x + fw.nd.BlockGrad(x) * 2
    y.backward()
    return x.grad


@scenario()
def backward_inside_record(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * 2
        y.backward()
        inside = fw.autograd.is_recording()
    return [x.grad, inside]


@scenario()
def backward_inside_pause(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * x
        with fw.autograd.pause():
            y.backward()
    return x.grad


@scenario()
def record_continues_an_earlier_record(fw):
    # A GAN's step: the generator's output is made in one record() and used in the next.
    x = _vector(fw)
    with fw.autograd.record():
        y1 = x * 2
    with fw.autograd.record():
        y2 = y1 * 3
    y2.backward()
    return x.grad


@scenario()
def head_of_the_previous_record(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y1 = x * 2
    with fw.autograd.record():
        y2 = x * 5
    y1.backward()
    first = x.grad.copy()
    y2.backward()
    return [first, x.grad]


@scenario()
def nested_records_and_pauses(fw):
    x = _vector(fw)
    with fw.autograd.record():
        a = x * 2
        with fw.autograd.pause():
            b = x * 100
            with fw.autograd.record():
                c = x * x
            d = x * 1000
        e = a + b + c + d
    e.backward()
    return x.grad


@scenario()
def retain_graph_then_again(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = x * x
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward(out_grad=fw.nd.array([3., 3., 3.]))
    return [first, x.grad]


# -- errors ----------------------------------------------------------------------------
@scenario("message")
def backward_twice(fw):
    x = _vector(fw)
    with fw.autograd.record():
        y = 2 * fw.nd.dot(x, x)
    y.backward()
    y.backward()


@scenario("message")
def backward_outside_record(fw):
    x = _vector(fw)
    y = x * 2
    y.backward()


@scenario("message")
def backward_of_unrecorded_head(fw):
    _vector(fw)
    c = fw.nd.array([1., 1.])
    with fw.autograd.record():
        y = c * 2
    y.backward()


@scenario("message")
def backward_without_any_variable(fw):
    c = fw.nd.array([1., 1.])
    with fw.autograd.record():
        y = c * 2
    y.backward()


@scenario("message")
def backward_of_a_head_made_in_pause(fw):
    x = _vector(fw)
    with fw.autograd.record():
        with fw.autograd.pause():
            y = x * 2
    y.backward()


# -- autograd.grad ---------------------------------------------------------------------
@scenario()
def grad_of_two_variables(fw):
    x = fw.nd.array([1., 2.])
    w = fw.nd.array([3., 4.])
    x.attach_grad()
    w.attach_grad()
    with fw.autograd.record():
        z = x * w + fw.nd.exp(x)
    result = fw.autograd.grad(z, [x, w])
    return [result, x.grad, w.grad]


@scenario()
def grad_of_one_variable_is_a_list(fw):
    x = _vector(fw)
    with fw.autograd.record():
        z = x * x
    return fw.autograd.grad(z, x)


@scenario()
def grad_with_head_grads(fw):
    x = _vector(fw)
    with fw.autograd.record():
        z = x * x
    return fw.autograd.grad(z, [x], head_grads=fw.nd.array([1., 10., 100.]))


@scenario("message")
def grad_twice_without_retain(fw):
    x = _vector(fw)
    with fw.autograd.record():
        z = fw.nd.dot(x, x)
    fw.autograd.grad(z, [x])
    fw.autograd.grad(z, [x])


@scenario()
def grad_twice_with_retain(fw):
    x = _vector(fw)
    with fw.autograd.record():
        z = fw.nd.dot(x, x)
    first = fw.autograd.grad(z, [x], retain_graph=True)
    return [first, fw.autograd.grad(z, [x])]


@scenario("message")
def grad_of_no_variables(fw):
    x = _vector(fw)
    with fw.autograd.record():
        z = x * 2
    fw.autograd.grad(z, [])


@scenario("message")
def grad_unreachable_variable(fw):
    x, w = _vector(fw), _vector(fw)
    with fw.autograd.record():
        y = x * 2
        w * 1
    fw.autograd.grad(y, [x, w])


@scenario("message")
def grad_unreachable_first_variable(fw):
    x, w = _vector(fw), _vector(fw)
    with fw.autograd.record():
        y = x * 2
    fw.autograd.grad(y, [w, x])


@scenario("message")
def grad_unmarked_variable(fw):
    x = _vector(fw)
    w = fw.nd.array([3., 4., 5.])
    with fw.autograd.record():
        z = x * w
    fw.autograd.grad(z, [x, w])


@scenario("message")
def grad_of_unrecorded_head(fw):
    a = fw.nd.array([1., 2.])
    with fw.autograd.record():
        y = a * 2
    fw.autograd.grad(y, [a])


def _second_order(fw, op, outside=False):
    x = fw.nd.array([1., 2.])
    x.attach_grad()
    with fw.autograd.record():
        z = getattr(fw.nd, op)(x)
        if not outside:
            dx = fw.autograd.grad(z, [x], create_graph=True)[0]
    if outside:
        dx = fw.autograd.grad(z, [x], create_graph=True)[0]
    dx.backward()
    return [dx, x.grad]


@scenario()
def create_graph_sin(fw):
    return _second_order(fw, "sin")


@scenario()
def create_graph_log(fw):
    return _second_order(fw, "log")


@scenario()
def create_graph_tanh(fw):
    return _second_order(fw, "tanh")


@scenario()
def create_graph_after_record(fw):
    return _second_order(fw, "sin", outside=True)


# -- autograd.Function -----------------------------------------------------------------
def _sigmoid_class(fw):
    class Sigmoid(fw.autograd.Function):
        def forward(self, x):
            y = 1 / (1 + fw.nd.exp(-x))
            self.save_for_backward(y)
            return y

        def backward(self, dy):
            (y,) = self.saved_tensors
            return dy * y * (1 - y)

    return Sigmoid


@scenario()
def function_sigmoid(fw):
    x = fw.nd.array([-1., 0., 2.])
    x.attach_grad()
    with fw.autograd.record():
        m = _sigmoid_class(fw)()(x)
        loss = (m * m).sum()
    loss.backward()
    return [m, x.grad]


@scenario()
def function_two_inputs_two_outputs(fw):
    class Scaled(fw.autograd.Function):
        # forward computes a*b and a+b; backward is deliberately not their gradient
        def forward(self, a, b):
            return a * b, a + b

        def backward(self, d_product, d_sum):
            return d_product * 10 + d_sum, d_product * 100

    a, b = fw.nd.array([1., 2.]), fw.nd.array([3., 4.])
    a.attach_grad()
    b.attach_grad()
    with fw.autograd.record():
        p, q = Scaled()(a, b)
        loss = (p * 2 + q * 3).sum()
    loss.backward()
    return [p, q, a.grad, b.grad]


@scenario()
def function_outside_record(fw):
    x = fw.nd.array([0., 1.])
    y = _sigmoid_class(fw)()(x)
    return [y, fw.autograd.is_recording()]


@scenario("message")
def function_called_twice(fw):
    f = _sigmoid_class(fw)()
    x = fw.nd.array([0., 1.])
    f(x)
    f(x)


# -- the switches ----------------------------------------------------------------------
def _now(fw):
    return (fw.autograd.is_recording(), fw.autograd.is_training())


@scenario()
def switches_in_every_scope(fw):
    a = fw.autograd
    seen = [_now(fw)]
    with a.record():
        seen.append(_now(fw))
        with a.pause():
            seen.append(_now(fw))
            with a.record(train_mode=False):
                seen.append(_now(fw))
            seen.append(_now(fw))
        with a.pause(train_mode=True):
            seen.append(_now(fw))
        with a.predict_mode():
            seen.append(_now(fw))
        with a.record():
            seen.append(_now(fw))
        seen.append(_now(fw))
    seen.append(_now(fw))
    with a.record(train_mode=False):
        seen.append(_now(fw))
        with a.train_mode():
            seen.append(_now(fw))
    with a.train_mode():
        seen.append(_now(fw))
    with a.predict_mode():
        seen.append(_now(fw))
    with a.pause():
        seen.append(_now(fw))
    seen.append(_now(fw))
    return seen


@scenario()
def set_recording_and_training_return_previous(fw):
    a = fw.autograd
    seen = [a.set_recording(True), _now(fw), a.set_recording(True), a.set_recording(False),
            a.set_training(True), _now(fw), a.set_training(False), a.set_training(False),
            _now(fw)]
    return seen


@scenario()
def set_recording_records(fw):
    x = _vector(fw)
    previous = fw.autograd.set_recording(True)
    try:
        y = x * x
    finally:
        fw.autograd.set_recording(previous)
    y.backward()
    return x.grad


# -- parameters used directly ----------------------------------------------------------
@scenario()
def parameter_gradient(fw):
    p = fw.Parameter("w", shape=(3,))
    p.initialize(init=fw.init.One())
    x = fw.nd.array([1., 2., 3.])
    with fw.autograd.record():
        y = (fw.data(p) * x * fw.data(p)).sum()
    y.backward()
    return fw.values(p.grad())


@scenario()
def parameter_grad_req_add_and_stale(fw):
    p = fw.Parameter("w", shape=(3,), grad_req="add")
    q = fw.Parameter("q", shape=(3,))
    p.initialize(init=fw.init.One())
    q.initialize(init=fw.init.One())
    x = fw.nd.array([1., 2., 3.])
    for _ in range(2):
        with fw.autograd.record():
            y = (fw.data(p) * x * fw.data(q)).sum()
        y.backward()
    added = fw.values(p.grad())
    with fw.autograd.record():
        y = (fw.data(p) * x).sum()  # q unused: its gradient stays
    y.backward()
    after = [fw.values(p.grad()), fw.values(q.grad())]
    p.zero_grad()
    return [added, after, fw.values(p.grad())]


@scenario()
def parameter_and_array_together(fw):
    p = fw.Parameter("w", shape=(2,))
    p.initialize(init=fw.init.Constant(3.))
    x = fw.nd.array([1., 2.])
    x.attach_grad()
    with fw.autograd.record():
        y = (fw.data(p) * x * x).sum()
    y.backward()
    return [x.grad, fw.values(p.grad())]


@scenario()
def parameter_grad_req_null(fw):
    p = fw.Parameter("w", shape=(2,), grad_req="null")
    p.initialize(init=fw.init.One())
    x = _vector(fw)
    with fw.autograd.record():
        y = (fw.data(p).sum() * x).sum()
    y.backward()
    return x.grad


# -- blocks ----------------------------------------------------------------------------
def _dense(fw):
    net = fw.nn.Dense(2, in_units=3)
    net.initialize(fw.init.Constant(0.5))
    return net


@scenario("blocks")
def block_dense_gradients(fw):
    net = _dense(fw)
    x = fw.nd.array([[1., 2., 3.], [4., 5., 6.]])
    with fw.autograd.record():
        y = net(x)
        loss = (y * y).sum()
    loss.backward()
    return [net.weight.grad(), net.bias.grad()]


@scenario("blocks")
def block_parameter_data_grad_is_its_gradient(fw):
    net = _dense(fw)
    with fw.autograd.record():
        loss = net(fw.nd.array([[1., 2., 3.]])).sum()
    loss.backward()
    return [net.weight.data().grad, net.bias.data().grad]


@scenario("blocks")
def block_mlp_gradients(fw):
    net = fw.nn.Sequential()
    net.add(fw.nn.Dense(4, activation="relu"), fw.nn.Dense(2))
    net.initialize(fw.init.Constant(0.1))
    x = fw.nd.array([[1., -2., 3.], [0.5, 0.5, -1.]])
    with fw.autograd.record():
        loss = (net(x) ** 2).mean()
    loss.backward()
    return [p.grad() for p in net.collect_params().values()]


@scenario("blocks")
def block_unused_keeps_stale_gradient(fw):
    used, unused = _dense(fw), _dense(fw)
    x = fw.nd.array([[1., 2., 3.]])
    with fw.autograd.record():
        loss = (used(x) + unused(x)).sum()
    loss.backward()
    with fw.autograd.record():
        loss = (used(x) * 3).sum()
    loss.backward()
    return [used.weight.grad(), unused.weight.grad()]


@scenario("blocks")
def block_grad_req_add(fw):
    net = _dense(fw)
    net.collect_params().setattr("grad_req", "add")
    x = fw.nd.array([[1., 2., 3.]])
    for _ in range(2):
        with fw.autograd.record():
            loss = net(x).sum()
        loss.backward()
    first = net.weight.grad().copy()
    net.collect_params().zero_grad()
    return [first, net.weight.grad()]


@scenario("blocks")
def block_output_outside_record(fw):
    net = _dense(fw)
    y = net(fw.nd.array([[1., 2., 3.]]))
    y.backward()


@scenario("blocks")
def block_dropout_follows_training(fw):
    drop = fw.nn.Dropout(0.5)
    x = fw.nd.ones((2000,))

    def summary(y):
        v = fw.values(y)
        dropped = float((v == 0).mean())
        return [sorted(set(v.tolist())), 0.4 < dropped < 0.6]

    with fw.autograd.record():
        in_record = summary(drop(x))
    with fw.autograd.record(train_mode=False):
        predicting = summary(drop(x))
    with fw.autograd.train_mode():
        training = summary(drop(x))
    return [in_record, predicting, training, summary(drop(x))]
