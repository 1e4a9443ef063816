"""``mxnet.gluon.data.vision.transforms``: image transforms as Gluon blocks.

Each transform is a Block (a HybridBlock where MXNet's is one) with MXNet's name,
prefix and repr, and ``Compose`` is MXNet's ``Sequential`` that groups consecutive
hybrid transforms into a hybridized ``HybridSequential``. Calling one does not go
through Keras: a transform computes on the image's numpy value (``image_ops``, the
same arithmetic as MXNet's operators) and returns the kind it was given (an NDArray
for an NDArray; a ``HostNDArray`` inside a DataLoader worker, see ``gluon.data.host``),
so it is cheap per sample and safe in forked workers. ``hybridize()`` only sets the
flag: there is nothing to compile.
"""

import random

import numpy as np

from keras_defer.block import Block, HybridBlock
from keras_defer.gluon.data import host
from keras_defer.gluon.data.vision import image_ops
from keras_defer.nn import HybridSequential as _NNHybridSequential
from keras_defer.nn import Sequential

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomResizedCrop", "CropResize", "RandomFlipLeftRight", "RandomFlipTopBottom",
           "RandomApply"]

_NUMERIC = (int, float, np.integer, np.floating)


class _ImageTransform:
    """What every transform shares: ``__call__`` runs ``_transform`` on the numpy value
    and gives back the input's kind (see module doc)."""

    def _transform(self, image):
        raise NotImplementedError

    def __call__(self, x, *args):
        return host.like(x, self._transform(host.host_value(x)))

    def forward(self, x, *args):
        return self(x, *args)

    def hybridize(self, active=True, **kwargs):
        object.__setattr__(self, "_active", bool(active))


def _transform_value(block, image):
    """``block`` applied to the numpy ``image``: a transform's own kernel; a user's
    block gets an NDArray and its result is read back."""
    if isinstance(block, _ImageTransform):
        return block._transform(image)
    return host.host_value(block(host.ndarray(image)))


class _TransformSequence(_ImageTransform):
    """A sequence of transforms, run child by child on one numpy value, without Keras
    (see module doc)."""

    def _transform(self, image):
        for block in self._children.values():
            image = _transform_value(block, image)
        return image


class HybridSequential(_TransformSequence, _NNHybridSequential):
    """The ``HybridSequential`` ``Compose`` groups hybrid transforms in (MXNet's name,
    prefix and repr)."""

    def hybridize(self, active=True, **kwargs):
        object.__setattr__(self, "_active", bool(active))
        for child in self._children.values():
            child.hybridize(active, **kwargs)


class Compose(_TransformSequence, Sequential):
    """Sequentially composes multiple transforms.

    Consecutive HybridBlocks are grouped into one hybridized ``HybridSequential``
    (a lone one is added as it is), as in MXNet:

    >>> Compose([Resize(300), CenterCrop(256), ToTensor()])
    Compose(
      (0): Resize(...)
      (1): CenterCrop(...)
      (2): ToTensor(...)
    )
    """

    def __init__(self, transforms):
        super().__init__()
        transforms = list(transforms) + [None]  # MXNet appends to the caller's list
        hybrid = []
        for i in transforms:
            if isinstance(i, HybridBlock):
                hybrid.append(i)
                continue
            elif len(hybrid) == 1:
                self.add(hybrid[0])
                hybrid = []
            elif len(hybrid) > 1:
                hblock = HybridSequential()
                for j in hybrid:
                    hblock.add(j)
                hblock.hybridize()
                self.add(hblock)
                hybrid = []

            if i is not None:
                self.add(i)

    def hybridize(self, active=True, **kwargs):
        object.__setattr__(self, "_active", bool(active))
        for child in self._children.values():
            child.hybridize(active, **kwargs)


class Cast(_ImageTransform, HybridBlock):
    """Cast input to ``dtype`` (default 'float32')."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._cast_to = dtype  # MXNet's ``_dtype``: a Keras layer's own attribute here

    def _transform(self, image):
        return image.astype(np.dtype(self._cast_to))


class ToTensor(_ImageTransform, HybridBlock):
    """An image (H x W x C) or batch (N x H x W x C) in [0, 255] -> a float32 tensor
    (C x H x W) or (N x C x H x W) in [0, 1]."""

    def __init__(self):
        super().__init__()

    def _transform(self, image):
        return image_ops.to_tensor(image)


class Normalize(_ImageTransform, HybridBlock):
    """``(x[c] - mean[c]) / std[c]`` for each channel of a (C x H x W) or
    (N x C x H x W) tensor; a scalar mean or std applies to every channel."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean = mean
        self._std = std

    def _transform(self, image):
        return image_ops.normalize(image, self._mean, self._std)


class Resize(_ImageTransform, HybridBlock):
    """Resize an image (H x W x C) or batch (N x H x W x C) to ``size`` (an int, or
    (W, H)); ``keep_ratio`` with an int resizes the short edge. ``interpolation``:
    0 nearest, 1 bilinear (OpenCV's, as MXNet; others are not implemented here)."""

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__()
        self._keep = keep_ratio
        self._size = size
        self._interpolation = interpolation

    def _transform(self, image):
        return image_ops.resize(image, self._size, self._keep, self._interpolation)


class CropResize(_ImageTransform, HybridBlock):
    """Crop (x, y, width, height), then resize to ``size`` if given."""

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        super().__init__()
        self._x = x
        self._y = y
        self._width = width
        self._height = height
        self._size = size
        self._interpolation = interpolation

    def _transform(self, image):
        image_ops.check_image(image)
        if image.ndim == 4:
            out = image[:, self._y:self._y + self._height, self._x:self._x + self._width]
        else:
            out = image[self._y:self._y + self._height, self._x:self._x + self._width]
        if self._size:
            interp = 1 if self._interpolation is None else self._interpolation
            out = image_ops.resize(out, self._size, False, interp)
        return out


class CenterCrop(_ImageTransform, Block):
    """Crop the centre of an image (H x W x C) to ``size`` (an int, or (W, H));
    an image smaller than ``size`` is cropped as MXNet does, then resized up."""

    def __init__(self, size, interpolation=1):
        super().__init__()
        if isinstance(size, _NUMERIC):
            size = (size, size)
        self._args = (size, interpolation)

    def _transform(self, image):
        return image_ops.center_crop(image, *self._args)[0]


class RandomResizedCrop(_ImageTransform, Block):
    """Crop a random area (``scale`` of the image) of random aspect ratio (``ratio``),
    then resize it to ``size``; drawn with Python's ``random``, as MXNet does."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=1):
        super().__init__()
        if isinstance(size, _NUMERIC):
            size = (size, size)
        self._args = (size, scale, ratio, interpolation)

    def _transform(self, image):
        return image_ops.random_size_crop(image, *self._args)[0]


class RandomFlipLeftRight(_ImageTransform, HybridBlock):
    """Flip an image (H x W x C) left to right with probability 0.5 (numpy's global
    generator)."""

    def __init__(self):
        super().__init__()

    def _transform(self, image):
        if np.random.random_sample() < 0.5:
            return np.ascontiguousarray(image[..., :, ::-1, :])
        return image


class RandomFlipTopBottom(_ImageTransform, HybridBlock):
    """Flip an image (H x W x C) top to bottom with probability 0.5 (numpy's global
    generator)."""

    def __init__(self):
        super().__init__()

    def _transform(self, image):
        if np.random.random_sample() < 0.5:
            return np.ascontiguousarray(image[..., ::-1, :, :])
        return image


class RandomApply(_TransformSequence, Sequential):
    """Apply ``transforms`` with probability ``p`` (Python's ``random``, as MXNet)."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms = transforms
        self.p = p

    def __call__(self, x, *args):
        if self.p < random.random():
            return x
        return super().__call__(x, *args)

    def _transform(self, image):
        return _transform_value(self.transforms, image)
