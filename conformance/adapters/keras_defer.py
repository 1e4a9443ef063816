"""keras_defer (Gluon's parameter semantics, NDArray and autograd on Keras 3).  Imports
keras_defer lazily.

`self.ndarrays` is MXNet's nd namespace of NDArrays: `keras_defer.nd` once it returns
NDArrays, `keras_defer.nd.api` while `keras_defer.nd.array` still returns a backend
tensor (decided at load time, so the adapter works before and after that switch).
Divergences by backend: on JAX, `autograd.record()` raises ('no_recording') and without
jax_enable_x64 64-bit dtypes are 32-bit ('jax_32bit')."""

import numpy as np

from conformance.adapters.base import Adapter


class KerasDeferAdapter(Adapter):
    name = "keras_defer"
    module = "keras_defer"
    # docs/divergences.md #1, #2, #14 and #15 (keras_defer), and 'numpy_operands' (NDArray
    # arithmetic takes numpy operands; ND-13); by backend (_backend_divergences): #18
    # ('no_recording' on JAX) and 'jax_32bit'
    divergences = frozenset({"atomic_first_pass", "set_data_uninitialized_unchanged",
                             "deepcopy_compiled", "batchnorm_checks_shapes", "numpy_operands",
                             "atomic_stale_step",   # + docs/divergences.md T3
                             "atomic_load",   # + docs/divergences.md F8
                             "checksum_trailer",   # + docs/divergences.md F1
                             "reinit_keeps_array",   # + docs/divergences.md A1
                             "copy_trains",   # + docs/divergences.md A2
                             "batchnorm_stats_at_forward",  # + docs/divergences.md (BatchNorm)
                             "rnn_checks_direction_shapes"})  # + docs/divergences.md R1

    def load(self):
        import keras_defer
        from keras_defer import init, nd, naming
        from keras_defer.gluon import nn, rnn

        self.kd = keras_defer
        self.nn = nn
        self.rnn = rnn
        self.init = init
        self.nd = nd
        self.naming = naming
        self.initializer_base = init.Initializer
        self.Context = keras_defer.Context
        self.ndarrays = self._nd_namespace(nd)
        try:
            from keras_defer import autograd
        except ImportError as exc:  # being written: the autograd clauses fail, saying so
            self.autograd, self._autograd_missing = None, "%s: %s" % (type(exc).__name__, exc)
        else:
            self.autograd, self._autograd_missing = autograd, None
        self.divergences = self.divergences | self._backend_divergences()
        self.losses, self._losses_missing = self._optional("keras_defer.gluon.loss")
        self._trainer_missing = None
        try:  # being written: the trainer clauses fail, saying so
            from keras_defer import lr_scheduler, optimizer
            from keras_defer.gluon import Trainer
        except ImportError as exc:
            self._trainer_missing = "%s: %s" % (type(exc).__name__, exc)
        else:
            self.optimizer, self.lr_scheduler, self.Trainer = optimizer, lr_scheduler, Trainer
        self.gluon = self.kd.gluon

    @staticmethod
    def _optional(module):
        """(module, None), or (None, why it cannot be imported yet)."""
        import importlib
        try:
            return importlib.import_module(module), None
        except ImportError as exc:  # being written: its clauses fail, saying so
            return None, "%s: %s" % (type(exc).__name__, exc)

    def tr_backward(self, params, grads, device):
        """Where the backend records (TensorFlow, PyTorch), MXNet's recorded backward.
        On JAX (divergence 'no_recording') no backward can run: the gradient is written
        (p.grad()[:] = g) and marked fresh as keras_defer's backward marks it
        (Parameter._fresh_grad, keras_defer/parameter.py _write_grad), so the trainer
        clauses run on JAX too."""
        if "no_recording" not in self.divergences:
            return super().tr_backward(params, grads, device)
        for p, g in zip(params, grads):
            self.tr_write_grad(p, g, device)
            p._fresh_grad = True
        return None

    def identity(self, net, name, device):
        """The Keras variable: what optimizers, Keras models and distribution hold (DI-29)."""
        return self.param(net, name).variable

    def seed(self, value):
        self.kd.random.seed(value)

    def train_step(self, net, shape, device, indices=0):
        """As Gluon's; on JAX (divergence 'no_recording') the forward pass runs unrecorded
        and every trainable parameter's gradient is written as ones and marked fresh, as
        keras_defer's backward marks it (tr_backward)."""
        if "no_recording" not in self.divergences:
            return super().train_step(net, shape, device, indices)
        x = (self.make_indices(shape, indices, device) if indices
             else self.make_input(shape, device))
        trainer = self.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
        net(x)
        for p in net.collect_params().values():
            if p.grad_req != "null":
                p.grad()[:] = 1.0
                p._fresh_grad = True
        trainer.step(shape[0], ignore_stale_grad=True)
        return None

    def loss_available(self):
        return self._losses_missing

    def trainer_available(self):
        return self._trainer_missing

    @staticmethod
    def _nd_namespace(nd):
        """keras_defer.nd if it is MXNet's nd namespace of NDArrays, else nd.api."""
        array = getattr(nd, "array", None)
        if getattr(nd, "NDArray", None) is not None and \
                isinstance(array([0.0]), nd.NDArray):
            return nd
        from keras_defer.nd import api
        return api

    def _backend_divergences(self):
        import keras
        if keras.backend.backend() != "jax":
            return frozenset()
        import jax
        out = {"no_recording"}
        if not jax.config.read("jax_enable_x64"):
            out.add("jax_32bit")
        return frozenset(out)

    def ag_available(self):
        return self._autograd_missing

    def array_script_header(self):
        if self.ndarrays is self.nd:
            return super().array_script_header()
        return ["import numpy as np", "from keras_defer import autograd",
                "from keras_defer.nd import api as nd", ""]

    def reset_names(self):
        self.naming.reset_counters()

    def ff_file_error(self):
        return self.kd.errors.MXNetError

    def ff_reset_names_line(self):
        return ("from keras_defer import naming; naming.reset_counters()  # names start "
                "again, as in a new process")

    def num_gpus(self):
        return self.kd.num_gpus()

    def to_numpy(self, tensor):
        return np.asarray(tensor)

    def device_of(self, array):
        # A net's output and Parameter.data() are NDArrays, as MXNet's; data()'s
        # context is where its variable lives.
        if not isinstance(array, self.nd.NDArray):
            raise TypeError("expected an NDArray, got %s" % type(array).__name__)
        return repr(array.context)

    def classify(self, exc):
        errors = self.kd.errors
        text = str(exc)
        kind = self.classify_array_error(exc, errors.MXNetError)
        if kind is not None:
            return kind
        if isinstance(exc, errors.MXNetError) and "record() is not available" in text:
            return "no_recording"
        if isinstance(exc, errors.DeferredInitializationError):
            return "deferred"
        if isinstance(exc, errors.ShapeMismatchError):
            return "shape_mismatch"
        if isinstance(exc, RuntimeError) and "grad_req='null'" in str(exc):
            return "no_grad"
        if isinstance(exc, RuntimeError) and "has not been initialized" in str(exc):
            return "not_initialized"
        if isinstance(exc, RuntimeError) and "not initialized: call initialize()" in text:
            return "not_initialized"   # save_parameters' message (keras_defer/serialization.py)
        return None
