"""The model-zoo parity cases, shared by the MXNet recorder (record_model_zoo.py) and the
tests (tests/test_model_zoo.py): which nets, their inputs, and deterministic weights both
sides compute instead of storing them (a VGG alone holds 140 M numbers).

Plain numpy only: MXNet's side imports it with numpy 1.23, ours with the project's.
"""

import numpy as np

NETS = [
    'resnet18_v1', 'resnet34_v1', 'resnet50_v1', 'resnet101_v1', 'resnet152_v1',
    'resnet18_v2', 'resnet34_v2', 'resnet50_v2', 'resnet101_v2', 'resnet152_v2',
    'vgg11', 'vgg13', 'vgg16', 'vgg19', 'vgg11_bn', 'vgg13_bn', 'vgg16_bn', 'vgg19_bn',
    'alexnet', 'densenet121', 'densenet161', 'densenet169', 'densenet201',
    'squeezenet1.0', 'squeezenet1.1', 'inceptionv3',
    'mobilenet1.0', 'mobilenet0.75', 'mobilenet0.5', 'mobilenet0.25',
    'mobilenetv2_1.0', 'mobilenetv2_0.75', 'mobilenetv2_0.5', 'mobilenetv2_0.25',
]
"""Every name ``vision.get_model`` takes in MXNet 1.9.1."""

REPRESENTATIVE = ['resnet18_v1', 'resnet50_v2', 'vgg11_bn', 'alexnet', 'densenet121',
                  'squeezenet1.1', 'inceptionv3', 'mobilenet0.25', 'mobilenetv2_0.25']
"""One net per family (both ResNet versions and both block kinds; both MobileNets),
checked at full size on every backend; the rest run with KERAS_DEFER_ZOO_FULL=1."""

CONSTRUCTORS = {
    # get_model name -> the constructor's name in vision (MXNet's)
    'squeezenet1.0': 'squeezenet1_0', 'squeezenet1.1': 'squeezenet1_1',
    'inceptionv3': 'inception_v3',
    'mobilenet1.0': 'mobilenet1_0', 'mobilenet0.75': 'mobilenet0_75',
    'mobilenet0.5': 'mobilenet0_5', 'mobilenet0.25': 'mobilenet0_25',
    'mobilenetv2_1.0': 'mobilenet_v2_1_0', 'mobilenetv2_0.75': 'mobilenet_v2_0_75',
    'mobilenetv2_0.5': 'mobilenet_v2_0_5', 'mobilenetv2_0.25': 'mobilenet_v2_0_25',
}

BATCH = 2
"""Two images: BatchNorm's batch statistics in the training-mode forward see both."""

KEPT_LOGITS = 40
"""Outputs are recorded as their first KEPT_LOGITS logits plus PROJECTIONS fixed random
projections of all 1000 (a full (2, 1000) output per forward per net would be 800 KB)."""

PROJECTIONS = 8

DROPOUT_NETS = {'alexnet', 'inceptionv3', 'squeezenet1.0', 'squeezenet1.1',
                'vgg11', 'vgg13', 'vgg16', 'vgg19', 'vgg11_bn', 'vgg13_bn', 'vgg16_bn',
                'vgg19_bn'}
"""Nets holding a Dropout: their training-mode output depends on each framework's random
mask, so only what the forward leaves behind (running statistics, the inference output
after it) is compared. Every Dropout comes after the last BatchNorm in these nets."""


def input_size(name):
    return 299 if name == 'inceptionv3' else 224


def make_input(name):
    """The fixed input of ``name``: (BATCH, 3, s, s) uniform in [-1, 1)."""
    s = input_size(name)
    return np.random.RandomState(20261130).uniform(-1, 1, (BATCH, 3, s, s)).astype(np.float32)


def parameter_value(index, structural_name, shape):
    """The value of the ``index``-th parameter (in ``_collect_params_with_prefix()``
    order) named ``structural_name`` (``features.1.gamma``).

    Weights are uniform with variance 1/fan_in (fan_in: every dim but the first), so a
    convolution keeps the scale of its input; biases and BatchNorm's beta and running
    mean are small, gamma and running_var near 1: activations stay O(1) through a
    152-layer net in inference as in training mode."""
    # numpy's Generator (PCG64) draws the same float32 stream under numpy 1.23 (MXNet's
    # side) and 2.x, 10x faster than RandomState for a VGG's 100 M weights
    u = np.random.default_rng(index).random(tuple(shape), dtype=np.float32)
    kind = structural_name.rsplit('.', 1)[-1]

    def between(low, high):
        return u * np.float32(high - low) + np.float32(low)

    if kind == 'weight':
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        bound = float(np.sqrt(3.0 / fan_in))
        return between(-bound, bound)
    if kind == 'gamma':
        return between(0.8, 1.2)
    if kind == 'running_var':
        return between(0.5, 1.5)
    if kind in ('bias', 'beta', 'running_mean'):
        return between(-0.1, 0.1)
    raise ValueError('no deterministic value for parameter %r' % (structural_name,))


def projection_matrix(width):
    """The fixed (width, PROJECTIONS) matrix outputs are projected with."""
    return np.random.RandomState(7).uniform(-1, 1, (width, PROJECTIONS)).astype(np.float64)


def digest(output):
    """What is recorded of an output (BATCH, classes): its first KEPT_LOGITS logits and
    PROJECTIONS projections of all of them, in float64; (BATCH, KEPT_LOGITS+PROJECTIONS)."""
    output = np.asarray(output, dtype=np.float64)
    return np.concatenate([output[:, :KEPT_LOGITS],
                           output @ projection_matrix(output.shape[1])], axis=1)


def stats_digest(value):
    """A running statistic as (mean, root mean square) of its entries."""
    value = np.asarray(value, dtype=np.float64)
    return np.array([value.mean(), np.sqrt((value ** 2).mean())])
