"""keras_defer (Gluon's parameter semantics on Keras 3).  Imports keras_defer lazily."""

import numpy as np

from conformance.adapters.base import Adapter


class KerasDeferAdapter(Adapter):
    name = "keras_defer"
    module = "keras_defer"
    # docs/divergences.md #1, #2, #14 and #15 (keras_defer)
    divergences = frozenset({"atomic_first_pass", "set_data_uninitialized_unchanged",
                             "deepcopy_compiled", "batchnorm_checks_shapes"})

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

    def reset_names(self):
        self.naming.reset_counters()

    def num_gpus(self):
        return self.kd.num_gpus()

    def to_numpy(self, tensor):
        return np.asarray(tensor)

    def device_of(self, tensor):
        device = getattr(tensor, "device", None)
        if device is None and hasattr(tensor, "value"):
            device = tensor.value.device
        return repr(self.Context.from_device_string(device))

    def classify(self, exc):
        errors = self.kd.errors
        if isinstance(exc, errors.DeferredInitializationError):
            return "deferred"
        if isinstance(exc, errors.ShapeMismatchError):
            return "shape_mismatch"
        if isinstance(exc, RuntimeError) and "grad_req='null'" in str(exc):
            return "no_grad"
        if isinstance(exc, RuntimeError) and "has not been initialized" in str(exc):
            return "not_initialized"
        return None
