"""Normalizing equal values: the variance is 0, so the output is beta (MXNet 1.9.1), never
NaN.  Keras's PyTorch `moments` computes E[x**2] - E[x]**2, negative for equal large
values (the conformance kit found it: VA-05); keras_defer computes mean((x - mean)**2)."""

import numpy as np
import pytest

from keras_defer import autograd, nd
from keras_defer.gluon import nn

EQUAL = 44.90677   # five of these: E[x**2] - E[x]**2 = -1e-4 in float32 on PyTorch


@pytest.mark.parametrize("block, shape", [
    (lambda: nn.BatchNorm(in_channels=5), (3, 5)),
    (lambda: nn.LayerNorm(in_channels=5), (3, 5)),
    (lambda: nn.InstanceNorm(in_channels=2), (2, 2, 5)),
], ids=["BatchNorm", "LayerNorm", "InstanceNorm"])
def test_normalizing_equal_large_values_gives_beta(block, shape):
    b = block()
    b.initialize()
    b.beta.set_data(nd.ones(b.beta.shape) * 0.25)
    with autograd.train_mode():   # BatchNorm: the batch's statistics
        y = b(nd.array(np.full(shape, EQUAL, "float32"))).asnumpy()
    np.testing.assert_allclose(y, 0.25, atol=1e-3)
