"""MXNet Gluon 1.9.1: the ground truth.  Imports mxnet lazily."""

from conformance.adapters.base import Adapter


class MXNetAdapter(Adapter):
    name = "mxnet"
    module = "mxnet"
    divergences = frozenset()

    def load(self):
        import mxnet as mx
        from mxnet import autograd, gluon, init, nd

        self.mx = mx
        self.nd = nd
        self.ndarrays = nd
        self.autograd = autograd
        self.nn = gluon.nn
        self.rnn = gluon.rnn
        self.init = init
        self.initializer_base = init.Initializer
        self.Context = mx.Context
        self.DeferredInitializationError = gluon.parameter.DeferredInitializationError
        self.MXNetError = mx.base.MXNetError
        self.gluon = gluon
        self.losses = gluon.loss
        self.optimizer = mx.optimizer
        self.lr_scheduler = mx.lr_scheduler

    def reset_names(self):
        self.mx.name.NameManager._current.value = self.mx.name.NameManager()

    def ff_reset_names_line(self):
        return ("import mxnet; mxnet.name.NameManager._current.value = "
                "mxnet.name.NameManager()  # names start again, as in a new process")

    def num_gpus(self):
        return self.mx.context.num_gpus()

    def wait(self, tensor):
        tensor.wait_to_read()  # MXNet runs operators asynchronously
        return tensor

    def to_numpy(self, tensor):
        return tensor.asnumpy()

    def device_of(self, tensor):
        return str(tensor.context)

    def classify(self, exc):
        text = str(exc)
        kind = self.classify_array_error(exc, self.MXNetError)
        if kind is not None:
            return kind
        if isinstance(exc, self.DeferredInitializationError):
            return "deferred"
        if isinstance(exc, self.MXNetError) and "Shape inconsistent" in text:
            return "shape_mismatch"
        if isinstance(exc, self.MXNetError) and (
                "Cannot find attribute shape" in text
                or "Graph attr dependency shape is required" in text):
            # A hybridized net whose shape inference failed once keeps the failed graph
            # in its CachedOp: later wrong inputs are refused with these messages instead
            # (observed in MXNet 1.9.1; right inputs still run).
            return "shape_mismatch"
        if isinstance(exc, self.MXNetError) and "reshape size must match" in text:
            return "shape_mismatch"  # InstanceNorm with parameters of the wrong size
        if isinstance(exc, ValueError) and "cannot be pickled" in text:
            return "not_copyable"  # deepcopy of a net holding a CachedOp (C pointers)
        if isinstance(exc, ValueError) and "shape cannot be inferred" in text:
            return "shape_mismatch"
        if isinstance(exc, AssertionError) and "Cannot initialize Parameter" in text \
                and "invalid shape" in text:
            # a bidirectional RNN whose other direction's input weight, given by set_data,
            # left this one no columns (model.NetModel._fused_input_weights)
            return "shape_mismatch"
        if isinstance(exc, AssertionError) and "incompatible" in text:
            return "shape_mismatch"  # Gluon's bare assert on a contradicting shape
        if isinstance(exc, RuntimeError) and "grad_req='null'" in text:
            return "no_grad"
        if isinstance(exc, (RuntimeError, AssertionError)) and "has not been initialized" in text:
            return "not_initialized"
        return None
