"""The adapter interface: everything the kit needs from an implementation of Gluon's
parameter semantics, MXNet 1.x's NDArray and autograd.  The two implementations share
MXNet's API, so most methods are written once here against `self.nn`, `self.nd`,
`self.Context` (the parameter groups) and `self.ndarrays` (MXNet's `nd` namespace
returning NDArrays), `self.autograd` (the ndarray and autograd groups); a subclass
imports its framework in `load()` and answers the framework-specific questions (names,
GPUs, tensors, error kinds).

Each NDArray/autograd method is one user-level action (`x[key]`, `x += y`,
`y.backward(head)`), so a planted bug overrides exactly one of them
(tests/test_conformance_meta.py); arrays go back to the kit as NDArrays and are read
with `nd_values` (numpy) and `nd_facts`.  The loss group reaches `self.losses` (MXNet's
`gluon.loss`) through `loss_*`, the trainer group `self.gluon` (Parameter, Trainer) and
`self.lr_scheduler` through `tr_*`: one user-level action each, as above.
"""

import copy
import operator
import os
import tempfile

from conformance import arch as A
from conformance import recording


class Adapter:
    name = "abstract"
    module = None            # the import name used in reproducer scripts
    divergences = frozenset()  # documented divergences from Gluon (model.DIVERGENCES)

    def __init__(self):
        self._loaded = False

    # -- framework-specific -------------------------------------------------------------
    def load(self):
        """Import the framework; set self.nn, self.rnn, self.nd, self.init,
        self.initializer_base and self.Context (Gluon's Context class)."""
        raise NotImplementedError

    def reset_names(self):
        raise NotImplementedError

    def num_gpus(self):
        raise NotImplementedError

    def to_numpy(self, tensor):
        raise NotImplementedError

    def shape_of(self, tensor):
        return tuple(int(d) for d in tensor.shape)

    def classify(self, exc):
        """The model's abstract error kind for `exc`, or None if it is none of them."""
        raise NotImplementedError

    @staticmethod
    def classify_array_error(exc, mxnet_error):
        """The kinds of the ndarray/autograd groups, told by MXNet 1.9.1's own texts
        (an implementation reproducing MXNet raises the same), or None."""
        text = str(exc)
        kind = Adapter.classify_trainer_error(exc)
        if kind is not None:
            return kind
        if isinstance(exc, TypeError) and "not supported" in text:
            return "type_error"
        if isinstance(exc, mxnet_error) and "not in a computational graph" in text:
            return "not_in_graph"
        if isinstance(exc, mxnet_error) and "no inputs in computation graph" in text:
            return "no_inputs"
        return None

    def array_script_header(self):
        """The imports of a reproducer script of the ndarray and autograd groups."""
        return ["import numpy as np", "from %s import autograd, nd" % self.module, ""]

    # -- shared ---------------------------------------------------------------------------
    def devices(self):
        """Device names the backend reports, e.g. ['cpu(0)', 'gpu(0)']."""
        return ["cpu(0)"] + ["gpu(%d)" % i for i in range(self.num_gpus())]

    def context(self, device):
        kind, index = device.rstrip(")").split("(")
        return self.Context(kind, int(index))

    def make_input(self, shape, device):
        return self.nd.random.uniform(shape=shape, ctx=self.context(device))

    def make_indices(self, shape, high, device):
        """Integer indices in [0, high) as float32 (what Gluon's Embedding is fed)."""
        import numpy as np
        values = np.random.randint(0, high, size=shape).astype("float32")
        return self.nd.array(values, ctx=self.context(device))

    def make_array(self, shape, value, device):
        return self.nd.full(shape, value, ctx=self.context(device))

    def ensure_loaded(self):
        if not self._loaded:
            self.load()
            self._loaded = True
            self.Recording = self._recording_class()

    def _recording_class(self):
        base = self.initializer_base

        class Recording(base):
            """Records `_init_weight(name, data)` and fills `data` with the call number."""

            def _init_weight(self, name, data):
                data[:] = recording.record(name, data.shape)

        return Recording

    def build(self, arch):
        namespace = {"nn": self.nn, "rnn": self.rnn}
        exec("\n".join(A.source_lines(arch)), namespace)
        return namespace["net"]

    def param(self, net, name):
        return net.collect_params()[name]

    def initialize(self, net, initializer, force_reinit, device):
        kwargs = {"ctx": self.context(device), "force_reinit": force_reinit}
        if initializer == "recording":
            kwargs["init"] = self.Recording()
        net.initialize(**kwargs)

    def device_of(self, tensor):
        """'cpu(0)'-style name of the device holding `tensor`."""
        raise NotImplementedError

    def forward(self, net, shape, device, indices=0):
        """(output shape, device of the output); `indices` > 0: integer inputs below it.
        The input and output stay readable (`forward_io`) for the values clauses."""
        self.last_forward = None
        x = (self.make_indices(shape, indices, device) if indices
             else self.make_input(shape, device))
        out = self.wait(net(x))
        self.last_forward = (x, out)
        return self.shape_of(out), self.device_of(out)

    def forward_io(self):
        """(input, output) of the last forward pass as numpy arrays, or None."""
        last = getattr(self, "last_forward", None)
        if last is None:
            return None
        return self.nd_values(last[0]), self.nd_values(last[1])

    def forward_training(self, net, shape, device, indices=0, record=True):
        """A training pass (VA-05/06): `with autograd.record(): y = net(x)` then
        `y.backward()`; record=False (no recording backend): `with autograd.train_mode():
        y = net(x)`.  Returns the output shape; `forward_io` reads x and y."""
        self.last_forward = None
        x = (self.make_indices(shape, indices, device) if indices
             else self.make_input(shape, device))
        if record:
            with self.autograd.record():
                out = net(x)
            out.backward()
        else:
            with self.autograd.train_mode():
                out = net(x)
        out = self.wait(out)
        self.last_forward = (x, out)
        return self.shape_of(out)

    def set_values(self, net, name, values, device):
        """net.collect_params()[name].set_data(nd.array(values)) (values: float32 numpy)."""
        self.param(net, name).set_data(self.ndarrays.array(values, ctx=self.context(device)))

    def wait(self, tensor):
        """Block until `tensor` is computed (so that errors surface here)."""
        return tensor

    def data_device(self, net, name, device):
        return self.device_of(self.param(net, name).data(self.context(device)))

    def param_table(self, net, select=None):
        params = net.collect_params(select) if select is not None else net.collect_params()
        return [(name, tuple(int(d) for d in p.shape)) for name, p in params.items()]

    def block_repr(self, net):
        return repr(net)

    def params_repr(self, net, select=None):
        params = net.collect_params(select) if select is not None else net.collect_params()
        return repr(params)

    def data(self, net, name, device):
        return self.to_numpy(self.param(net, name).data(self.context(device)))

    def grad(self, net, name, device):
        return self.param(net, name).grad(self.context(device))

    def list_ctx(self, net, name):
        return [str(c) for c in self.param(net, name).list_ctx()]

    def set_data(self, net, name, shape, value, device):
        self.param(net, name).set_data(self.make_array(shape, value, device))

    def hybridize(self, net):
        net.hybridize()

    def deepcopy(self, net):
        return copy.deepcopy(net)

    def save_load(self, net, fresh, device):
        """Save `net`'s parameters, load them into the net `fresh`."""
        handle, path = tempfile.mkstemp(suffix=".params", prefix="conformance-")
        os.close(handle)
        try:
            net.save_parameters(path)
            fresh.load_parameters(path, ctx=self.context(device))
        finally:
            if os.path.exists(path):
                os.remove(path)

    # -- the lifecycle's blind spots (DI-29..36): arrays, seeds, grad_req, save alone ----
    def identity(self, net, name, device):
        """The object whose identity is the parameter's array: kept while the
        implementation keeps the array (DI-29).  Gluon: the NDArray data() returns."""
        return self.param(net, name).data(self.context(device))

    def grad_req(self, net, name):
        return self.param(net, name).grad_req

    def seed(self, value):
        """mx.random.seed(value)."""
        self.mx.random.seed(value)

    def seed_line(self, value):
        """The script line of seed(value): a reproduction script starts from the random
        state its example started from (checks.common.Trial seeds every example)."""
        return ("import %s; %s.random.seed(%d)  # the random state the kit starts each "
                "example from" % (self.module, self.module, value))

    def save_parameters(self, net, path):
        """net.save_parameters(path) on its own."""
        net.save_parameters(path)

    def load_parameters(self, net, path, device):
        net.load_parameters(path, ctx=self.context(device))

    def train_step(self, net, shape, device, indices=0):
        """One training iteration: record net(x).sum(), backward, an sgd Trainer's step."""
        x = (self.make_indices(shape, indices, device) if indices
             else self.make_input(shape, device))
        trainer = self.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
        with self.autograd.record():
            loss = net(x).sum()
        loss.backward()
        trainer.step(shape[0], ignore_stale_grad=True)
        self.wait(loss)

    def script_header(self):
        """Imports and the recording initializer, as a user would write them."""
        return [
            "import copy",  # the deepcopy move writes copy.deepcopy(net)
            "",
            "from %s import init, nd" % self.module,
            "from %s.gluon import nn, rnn" % self.module,
            "",
            "class Recording(init.Initializer):",
            "    calls = 0",
            "    def _init_weight(self, name, data):",
            "        Recording.calls += 1",
            "        print('Init', name, data.shape)",
            "        data[:] = Recording.calls",
            "",
        ]

    # -- NDArray (group ndarray): self.ndarrays is MXNet's nd namespace ------------------
    def nd_create(self, how, device, values=None, shape=None, fill=None, dtype=None,
                  source_dtype=None):
        """how: 'list' (nd.array(nested list)), 'numpy' (nd.array(np.array(values,
        source_dtype))), 'zeros', 'ones', 'full'; dtype None: the default."""
        nd, ctx = self.ndarrays, self.context(device)
        kwargs = {"ctx": ctx} if dtype is None else {"ctx": ctx, "dtype": dtype}
        if how == "list":
            return nd.array(values.tolist(), **kwargs)
        if how == "numpy":
            return nd.array(values.astype(source_dtype), **kwargs)
        if how == "full":
            return nd.full(shape, fill, **kwargs)
        return getattr(nd, how)(shape, **kwargs)

    def nd_values(self, x):
        """x's values as a numpy array (x.asnumpy())."""
        return x.asnumpy()

    def nd_facts(self, x):
        """(shape, ndim, size, dtype, context name) as the NDArray reports them."""
        return x.shape, x.ndim, x.size, x.dtype, str(x.context)

    def nd_repr(self, x):
        return repr(x)

    def nd_getitem(self, x, key):
        return x[key]

    def nd_setitem(self, x, key, value):
        """x[key] = value (a scalar, an NDArray or a numpy array)."""
        x[key] = value

    def nd_augmented_setitem(self, x, key, op, scalar):
        """x[key] op= scalar (Python: t = x[key]; t op= scalar; x[key] = t)."""
        if op == "+":
            x[key] += scalar
        elif op == "-":
            x[key] -= scalar
        else:
            x[key] *= scalar

    def nd_augmented(self, x, op, other):
        """x op= other; returns what the name x is bound to afterwards."""
        return {"+": operator.iadd, "-": operator.isub, "*": operator.imul}[op](x, other)

    def nd_assign_sum(self, y, x):
        """y[:] = x + y."""
        y[:] = x + y

    def nd_reshape(self, x, codes):
        return x.reshape(codes)

    def nd_reduce(self, x, op, axis, keepdims):
        return getattr(x, op)(axis=axis, keepdims=keepdims)

    def nd_binary(self, x, op, other, reflected=False):
        """x op other (reflected: other op x) for arithmetic and comparison operators."""
        fn = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
              "<": operator.lt, "<=": operator.le}[op]
        return fn(other, x) if reflected else fn(x, other)

    def nd_astype(self, x, dtype):
        return x.astype(dtype)

    def nd_copy(self, x):
        return x.copy()

    # -- autograd (group autograd): self.autograd is MXNet's autograd module ------------
    def ag_attach(self, x, grad_req):
        x.attach_grad(grad_req=grad_req)

    def ag_grad(self, x):
        """x.grad as numpy, or None."""
        g = x.grad
        return None if g is None else self.nd_values(g)

    def ag_state(self):
        return self.autograd.is_recording(), self.autograd.is_training()

    def ag_scope(self, kind, train_mode=None):
        """The context manager autograd.record/pause(train_mode) or train_mode()/predict_mode()."""
        if kind in ("record", "pause"):
            fn = getattr(self.autograd, kind)
            return fn() if train_mode is None else fn(train_mode=train_mode)
        return getattr(self.autograd, kind)()

    def ag_op(self, op, args, axis=None):
        """One statement of a program (autograd_model.Statement) on NDArrays."""
        nd = self.ndarrays
        if op in ("add", "subtract", "multiply"):
            fn = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul}[op]
            return fn(*args)
        if op in ("dot", "exp", "tanh", "sigmoid", "relu", "square", "negative"):
            return getattr(nd, op)(*args)
        if op in ("sum", "mean"):
            return getattr(args[0], op)() if axis is None else getattr(args[0], op)(axis=axis)
        raise ValueError(op)

    def ag_backward(self, y, head=None):
        if head is None:
            y.backward()
        else:
            y.backward(head)

    def ag_gradients(self, heads, variables):
        """autograd.grad(heads, variables): the gradients as numpy arrays."""
        return [self.nd_values(g) for g in self.autograd.grad(heads, variables)]

    def ag_available(self):
        """None, or why the autograd module could not be imported."""
        return None

    # -- losses (group loss): self.losses is MXNet's gluon.loss module ---------------------
    def loss_available(self):
        """None, or why the loss module could not be imported."""
        return None

    def loss_script_header(self):
        return ["import numpy as np", "from %s import autograd, gluon, nd" % self.module, ""]

    def loss_block(self, name, kwargs):
        """gluon.loss.<name>(**kwargs)."""
        return getattr(self.losses, name)(**kwargs)

    def _loss_inputs(self, inputs, keyword_inputs, device):
        """Positional NDArrays (Gluon 1.9.1's Block.__call__ takes no keywords):
        the inputs, then sample_weight (None if only pos_weight is given), pos_weight."""
        ctx = self.context(device)
        args = [self.ndarrays.array(a, ctx=ctx) for a in inputs]
        extra = [keyword_inputs.get("sample_weight"), keyword_inputs.get("pos_weight")]
        while extra and extra[-1] is None:
            extra.pop()
        args += [None if v is None else self.ndarrays.array(v, ctx=ctx) for v in extra]
        return args, {}

    def loss_call(self, block, inputs, keyword_inputs, device):
        """block(*inputs, **keyword_inputs) on float32 NDArrays: the loss NDArray."""
        args, kwargs = self._loss_inputs(inputs, keyword_inputs, device)
        return block(*args, **kwargs)

    def loss_grad(self, block, inputs, keyword_inputs, device):
        """The gradient of block(...).sum() w.r.t. the first input, recorded (numpy)."""
        args, kwargs = self._loss_inputs(inputs, keyword_inputs, device)
        args[0].attach_grad()
        with self.autograd.record():
            total = block(*args, **kwargs).sum()
        total.backward()
        return self.nd_values(args[0].grad)

    # -- optimizers and the Trainer (group trainer): self.gluon, self.optimizer,
    # -- self.lr_scheduler are MXNet's gluon, optimizer and lr_scheduler modules ------------
    def trainer_available(self):
        """None, or why the Trainer/optimizer modules could not be imported."""
        return None

    def trainer_script_header(self):
        return ["import os, tempfile", "import numpy as np",
                "from %s import autograd, gluon, init, lr_scheduler, nd" % self.module, ""]

    def tr_parameter(self, name, values, grad_req, lr_mult, wd_mult, device):
        """gluon.Parameter(name, shape, grad_req, lr_mult, wd_mult), initialized on
        `device`, its data set to `values`."""
        p = self.gluon.Parameter(name, shape=values.shape, grad_req=grad_req,
                                 lr_mult=lr_mult, wd_mult=wd_mult)
        ctx = self.context(device)
        p.initialize(ctx=ctx)
        p.set_data(self.ndarrays.array(values, ctx=ctx))
        return p

    def tr_scheduler(self, kind, kwargs):
        cls = {"factor": "FactorScheduler", "multifactor": "MultiFactorScheduler",
               "poly": "PolyScheduler", "cosine": "CosineScheduler"}[kind]
        return getattr(self.lr_scheduler, cls)(**kwargs)

    def tr_trainer(self, params, as_dict, name, optimizer_params):
        """gluon.Trainer(list of params, or {name: param}, name, optimizer_params).

        MXNet 1.9.1 prints (not warns) "learning rate from ``lr_scheduler`` has been
        overwritten ..." when learning_rate and a scheduler's base_lr differ: kept out of
        the report."""
        import contextlib
        import io
        given = {p.name: p for p in params} if as_dict else list(params)
        with contextlib.redirect_stdout(io.StringIO()):
            return self.gluon.Trainer(given, name, optimizer_params)

    def tr_backward(self, params, grads, device):
        """A recorded backward giving each of `params` the gradient in `grads`:
        sum((p.data() * g).sum()).backward()."""
        ctx = self.context(device)
        heads = [self.ndarrays.array(g, ctx=ctx) for g in grads]
        with self.autograd.record():
            total = None
            for p, g in zip(params, heads):
                term = (p.data(ctx) * g).sum()
                total = term if total is None else total + term
        total.backward()

    def tr_write_grad(self, param, g, device):
        """p.grad()[:] = g (no backward: the gradient is not fresh)."""
        param.grad(self.context(device))[:] = self.ndarrays.array(g, ctx=self.context(device))

    def tr_step(self, trainer, batch_size, ignore_stale_grad):
        trainer.step(batch_size, ignore_stale_grad=ignore_stale_grad)

    def tr_weight(self, param, device):
        return self.nd_values(param.data(self.context(device)))

    def tr_learning_rate(self, trainer):
        return trainer.learning_rate

    def tr_set_learning_rate(self, trainer, lr):
        trainer.set_learning_rate(lr)

    def tr_set_mult(self, param, attr, value):
        setattr(param, attr, value)

    def tr_save_states(self, trainer, path):
        trainer.save_states(path)

    def tr_load_states(self, trainer, path):
        trainer.load_states(path)

    @staticmethod
    def classify_trainer_error(exc):
        """The trainer group's kinds, told by MXNet 1.9.1's UserWarning texts."""
        text = str(exc)
        if isinstance(exc, UserWarning) and "has not been updated by backward since last" in text:
            return "stale_grad"
        if isinstance(exc, UserWarning) and "LRScheduler of the optimizer has already" in text:
            return "scheduler_defined"
        return None

    # -- MXNet's file formats (group file_format): self.ndarrays' save/load, a net's ---------
    # -- save_parameters/load_parameters and its ParameterDict's save/load -------------------
    def ff_file_error(self):
        """The class nd.load raises for bytes that are not an NDArray list file."""
        return self.MXNetError

    def ff_error_kind(self, exc):
        """'bad_file', 'load_mismatch' (with the class: 'AssertionError'/'ValueError'),
        or None."""
        if isinstance(exc, self.ff_file_error()) and not isinstance(exc, AssertionError):
            return "bad_file"
        if isinstance(exc, AssertionError):
            return "load_mismatch"
        if isinstance(exc, ValueError) and "is not present in" in str(exc):
            return "load_mismatch"
        return None

    def ff_save(self, path, data, device):
        """nd.save(path, data): `data` a numpy array, a list of them or a dict name ->
        numpy array, each made an NDArray of its dtype on `device`."""
        ctx = self.context(device)

        def nd(v):
            return self.ndarrays.array(v, dtype=v.dtype, ctx=ctx)
        if isinstance(data, dict):
            given = {k: nd(v) for k, v in data.items()}
        elif isinstance(data, list):
            given = [nd(v) for v in data]
        else:
            given = nd(data)
        self.ndarrays.save(path, given)

    def ff_load(self, path):
        """nd.load(path) as ('list' | 'dict' | the type's name, names, numpy arrays)."""
        out = self.ndarrays.load(path)
        if isinstance(out, dict):
            return "dict", list(out), [self.nd_values(v) for v in out.values()]
        if isinstance(out, list):
            return "list", [], [self.nd_values(v) for v in out]
        return type(out).__name__, [], []

    def ff_save_parameters(self, net, path):
        net.save_parameters(path)

    def ff_save_param_dict(self, net, path, strip_prefix):
        net.collect_params().save(path, strip_prefix=strip_prefix)

    def ff_load_parameters(self, net, path, device):
        net.load_parameters(path, ctx=self.context(device))

    def ff_load_param_dict(self, net, path, device):
        net.collect_params().load(path, ctx=self.context(device))

    def ff_values(self, net, name, device):
        """The Parameter's value (numpy, as stored: dtype kept), or None if data() raises."""
        try:
            return self.nd_values(self.param(net, name).data(self.context(device)))
        except Exception:  # noqa: BLE001 - not initialized, or deferred: no value
            return None

    def ff_set(self, net, name, values, device):
        """net.collect_params()[name].set_data(nd.array(values))."""
        ctx = self.context(device)
        self.param(net, name).set_data(self.ndarrays.array(values, ctx=ctx))

    def ff_outputs(self, block, x, device):
        """block(nd.array(x)) as numpy (x: a float32 numpy array)."""
        out = block(self.ndarrays.array(x, ctx=self.context(device)))
        return self.nd_values(out)

    def ff_export(self, net, path, epoch):
        """net.export(path, epoch): path-symbol.json and path-%04d.params."""
        net.export(path, epoch)

    def ff_imports(self, symbol_file, param_file, device):
        """gluon.SymbolBlock.imports(symbol_file, ['data'], param_file, ctx)."""
        return self.gluon.SymbolBlock.imports(symbol_file, ["data"], param_file,
                                              ctx=self.context(device))

    def ff_reset_names_line(self):
        """The script line that restarts the name counters (as a new process would)."""
        return "# (a new process: the name counters start again)"
