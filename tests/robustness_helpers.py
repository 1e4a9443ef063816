"""Shared pieces of the robustness tests (serialization, validation, atomicity,
concurrency): a recording initializer, small nets, and a full snapshot of a net's
state so a test can assert that a failed operation changed nothing."""

import threading

import numpy as np
from hypothesis import HealthCheck, settings

from keras_defer import init
from keras_defer.gluon import nn

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


class Recorder(init.Initializer):
    """Records every ``_init_weight`` call (thread-safe); can fail on call number
    ``fail_at`` (1-based) once, to inject an error half-way through a first pass."""

    def __init__(self, fail_at=None, value=None):
        super().__init__()
        self.calls = []
        self.fail_at = fail_at
        self.value = value
        self._lock = threading.Lock()
        self._count = 0

    def arm(self, k):
        """Fail on the ``k``-th call from now (1-based), once."""
        with self._lock:
            self.fail_at = self._count + k
            self.calls.clear()

    def _init_weight(self, name, data):
        with self._lock:
            self._count += 1
            if self.fail_at is not None and self._count == self.fail_at:
                self.fail_at = None
                raise RuntimeError("injected failure initializing %s" % name)
            self.calls.append(str(name))
        if self.value is None:
            data[:] = np.random.uniform(-0.07, 0.07, data.shape)
        else:
            data[:] = self.value


def mlp(widths=(8, 6, 5, 4, 3), in_units=None, recorder=None, prefix=None):
    """A Sequential of Dense layers; ``in_units`` maps layer index -> in_units."""
    in_units = in_units or {}
    net = nn.Sequential(prefix=prefix)
    with net.name_scope():
        for i, width in enumerate(widths):
            kwargs = {}
            if recorder is not None:
                kwargs["bias_initializer"] = recorder
            net.add(nn.Dense(width, activation="relu" if i < len(widths) - 1 else None,
                             in_units=in_units.get(i, 0), **kwargs))
    return net


def state(net):
    """Everything observable about ``net``'s parameters and blocks."""
    params = {}
    for name, p in net.collect_params().items():
        value = None if p.variable is None else np.array(p.variable.numpy(), copy=True)
        pending = None
        if p.pending is not None:
            data = p.pending.data
            pending = (id(p.pending.init), None if data is None else np.array(data).tolist())
        params[name] = (p.shape, np.dtype(p.dtype).name, pending,
                        None if p.variable is None else id(p.variable), value)
    built = [b.built for b in net._iter_blocks()]
    return params, built


def assert_same_state(before, after):
    params_b, built_b = before
    params_a, built_a = after
    assert built_b == built_a
    assert params_b.keys() == params_a.keys()
    for name in params_b:
        sb, sa = params_b[name], params_a[name]
        assert sb[:4] == sa[:4], (name, sb[:4], sa[:4])
        if sb[4] is None:
            assert sa[4] is None, name
        else:
            np.testing.assert_array_equal(sb[4], sa[4], err_msg=name)
