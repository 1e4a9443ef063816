"""The adapter interface: everything the kit needs from an implementation of Gluon's
parameter semantics.  The two implementations share Gluon's API, so most methods are
written once here against `self.nn`, `self.nd`, `self.Context`; a subclass imports its
framework in `load()` and answers the framework-specific questions (names, GPUs, tensors,
error kinds).
"""

import copy
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
        """(output shape, device of the output); `indices` > 0: integer inputs below it."""
        x = (self.make_indices(shape, indices, device) if indices
             else self.make_input(shape, device))
        out = self.wait(net(x))
        return self.shape_of(out), self.device_of(out)

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

    def script_header(self):
        """Imports and the recording initializer, as a user would write them."""
        return [
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
