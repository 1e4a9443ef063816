"""Cases for Gluon's activation blocks (``nn.LeakyReLU`` ... ``nn.Swish``) and
``gluon.contrib.nn`` (``Concurrent``, ``HybridConcurrent``, ``Identity``), recorded
under MXNet 1.9.1 by ``record_metric_utils_layers.py`` and replayed by
``tests/test_activation_layers.py``.

Pure numpy: ``build(nn, contrib_nn, init)`` makes the net with either library's
namespaces. Each case runs one input forward (values, names, reprs, parameter
tables before and after) and one backward of ``sum(out * head)`` (gradients of the
input and of every parameter).
"""

import numpy as np


def grid_input(shape):
    """Values from -6 to 6 with an exact 0 and +-30 (exp overflow in a float32
    branch that is not selected), then shuffled."""
    size = int(np.prod(shape))
    base = np.linspace(-6.0, 6.0, max(size - 3, 1))
    base = np.concatenate([base, [0.0, 30.0, -30.0]])[:size]
    np.random.RandomState(size).shuffle(base)
    return base.reshape(shape).astype("float32")


def head(shape, seed=7):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32")


def param_value(shape, seed):
    return np.random.RandomState(seed).uniform(-0.5, 0.5, size=shape).astype("float32")


def _concurrent(cls_name, axis):
    def build(nn, cnn, init):
        net = getattr(cnn, cls_name)(axis=axis)
        with net.name_scope():
            net.add(nn.Dense(3, activation="tanh"))
            net.add(cnn.Identity())
            net.add(nn.PReLU(alpha_initializer=init.Constant(0.1)))
        return net
    return build


def _concurrent_in_sequential(nn, cnn, init):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(4))
        branches = cnn.HybridConcurrent(axis=1)
        with branches.name_scope():
            branches.add(nn.Dense(2), nn.LeakyReLU(0.2), nn.ELU())
        net.add(branches)
        net.add(nn.Dense(1, in_units=0))
    return net


def _identity_branches(nn, cnn, init):
    net = cnn.HybridConcurrent(axis=1)
    net.add(cnn.Identity(), nn.Swish(0.5), nn.SELU())
    return net


# name: (build, input shape)
CASES = {
    "leakyrelu": (lambda nn, cnn, init: nn.LeakyReLU(0.1), (4, 5)),
    "leakyrelu_zero": (lambda nn, cnn, init: nn.LeakyReLU(0), (3, 4)),
    "prelu": (lambda nn, cnn, init: nn.PReLU(), (4, 5)),
    "prelu_initializer": (lambda nn, cnn, init: nn.PReLU(alpha_initializer=init.Constant(0.3)),
                          (2, 3, 4)),
    "prelu_channels": (lambda nn, cnn, init: nn.PReLU(in_channels=3), (2, 3, 4)),
    "elu": (lambda nn, cnn, init: nn.ELU(), (4, 5)),
    "elu_alpha": (lambda nn, cnn, init: nn.ELU(alpha=0.5), (4, 5)),
    "selu": (lambda nn, cnn, init: nn.SELU(), (4, 5)),
    "gelu": (lambda nn, cnn, init: nn.GELU(), (4, 5)),
    "swish": (lambda nn, cnn, init: nn.Swish(), (4, 5)),
    "swish_beta": (lambda nn, cnn, init: nn.Swish(beta=2.0), (4, 5)),
    "identity": (lambda nn, cnn, init: cnn.Identity(), (3, 2)),
    "concurrent": (_concurrent("Concurrent", -1), (4, 5)),
    "hybrid_concurrent": (_concurrent("HybridConcurrent", 1), (4, 5)),
    "concurrent_in_sequential": (_concurrent_in_sequential, (3, 6)),
    "identity_branches": (_identity_branches, (2, 3, 2)),
    "sequential_of_activations": (
        lambda nn, cnn, init: _sequential(nn, [nn.Dense(5), nn.PReLU(), nn.Dense(4),
                                               nn.GELU(), nn.Dense(3), nn.Swish(1.5)]),
        (3, 4)),
}


def _sequential(nn, blocks):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(*blocks)
    return net
