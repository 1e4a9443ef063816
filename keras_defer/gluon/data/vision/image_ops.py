"""The image kernels behind ``vision.transforms``, in numpy (they run in worker
processes too, where the backend must not be touched; see ``gluon.data.host``).

``resize`` reproduces what MXNet's CPU ``image.resize`` computes, OpenCV's
``cv::resize``: nearest (0) and bilinear (1) with OpenCV's pixel-centre mapping and,
for uint8, its fixed-point arithmetic (11-bit coefficients, rounded), so results
match MXNet's bit for bit where OpenCV's vector path and its scalar path agree.
"""

import numpy as np

from keras_defer.errors import MXNetError

_COEF_BITS = 11
_COEF_SCALE = 1 << _COEF_BITS


def check_image(x, what="Input image"):
    if x.ndim not in (3, 4):
        raise MXNetError(
            "Check failed: (shp.ndim() == 3) || (shp.ndim() == 4): %s must have shape "
            "(height, width, channels), or (N, height, width, channels) but got [%s]"
            % (what, ",".join(str(d) for d in x.shape)))


def to_tensor(x):
    """HWC (or NHWC) in [0, 255] -> float32 CHW (NCHW) in [0, 1]."""
    check_image(x)
    axes = (2, 0, 1) if x.ndim == 3 else (0, 3, 1, 2)
    out = np.ascontiguousarray(x.transpose(axes), dtype=np.float32)
    out /= np.float32(255.0)
    return out


def normalize(x, mean, std):
    """``(x - mean[c]) / std[c]`` per channel of a CHW or NCHW tensor (dtype kept)."""
    if x.ndim not in (3, 4):
        raise MXNetError(
            "Check failed: (dshape.ndim() == 3) || (dshape.ndim() == 4): Input tensor must "
            "have shape (channels, height, width), or (N, channels, height, width), but got "
            "[%s]" % ",".join(str(d) for d in x.shape))
    channels = x.shape[-3]
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
    std = np.atleast_1d(np.asarray(std, dtype=np.float32))
    for name, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, channels):
            raise MXNetError(
                "Check failed: (param.{0}.ndim() == 1) || (param.{0}.ndim() == nchannels): "
                "Invalid {0} for input with shape [{1}]. {0} must have either 1 or {2} "
                "elements, but got [{3}]".format(
                    name, ",".join(str(d) for d in x.shape), channels,
                    ",".join(_num(v) for v in values)))
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    mean = mean.astype(dtype).reshape(-1, 1, 1)
    std = std.astype(dtype).reshape(-1, 1, 1)
    return ((x.astype(dtype, copy=False) - mean) / std).astype(dtype, copy=False)


def _num(v):
    return ("%g" % v)


def resize_shape(height, width, size, keep_ratio):
    """(new_height, new_width) for MXNet's ``image.resize``: ``size`` is an int or
    (width, height); with ``keep_ratio`` an int sets the short edge."""
    if isinstance(size, (tuple, list)):
        if len(size) == 1:
            size = int(size[0])
        else:
            return int(size[1]), int(size[0])
    size = int(size)
    if not keep_ratio:
        return size, size
    if height > width:
        return height * size // width, size
    return size, width * size // height


def resize(x, size, keep_ratio=False, interpolation=1):
    """MXNet's ``image.resize`` of an HWC or NHWC image (see module doc)."""
    check_image(x)
    if x.ndim == 4:
        return np.stack([resize(i, size, keep_ratio, interpolation) for i in x])
    h, w = x.shape[:2]
    nh, nw = resize_shape(h, w, size, keep_ratio)
    return resize_to(x, nw, nh, interpolation)


def resize_to(x, nw, nh, interpolation=1):
    """OpenCV's ``resize(x, (nw, nh), interpolation)`` of one HWC image."""
    h, w = x.shape[:2]
    if (nh, nw) == (h, w):
        return x.copy()
    if interpolation == 0:
        return _nearest(x, nw, nh)
    if interpolation != 1:
        raise NotImplementedError(
            "Resize interpolation=%d (OpenCV's %s) is not implemented in keras_defer; use "
            "0 (nearest) or 1 (bilinear)" % (interpolation, {2: "bicubic", 3: "area",
                                                               4: "lanczos"}.get(interpolation,
                                                                                 "?")))
    return _bilinear(x, nw, nh)


def _nearest(x, nw, nh):
    h, w = x.shape[:2]
    sy = np.minimum(np.floor(np.arange(nh) * (h / nh)).astype(np.int64), h - 1)
    sx = np.minimum(np.floor(np.arange(nw) * (w / nw)).astype(np.int64), w - 1)
    return x[sy][:, sx]


def _linear_taps(src_len, dst_len, clamp_weight):
    """Per output index: first and second source index, weight of the second (OpenCV's
    float ``fx``). Past a border, OpenCV clamps the weight to 0 along x
    (``clamp_weight``) but only the row indices along y, keeping the fraction."""
    scale = 1.0 / (dst_len / src_len)
    f = ((np.arange(dst_len) + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    f = f - s.astype(np.float32)
    if clamp_weight:
        low = s < 0
        f[low], s[low] = 0, 0
        high = s >= src_len - 1
        f[high], s[high] = 0, src_len - 1
    return np.clip(s, 0, src_len - 1), np.clip(s + 1, 0, src_len - 1), f


def _bilinear(x, nw, nh):
    h, w = x.shape[:2]
    x0, x1, fx = _linear_taps(w, nw, clamp_weight=True)
    y0, y1, fy = _linear_taps(h, nh, clamp_weight=False)
    if x.dtype == np.uint8:
        return _bilinear_u8(x, x0, x1, fx, y0, y1, fy)
    src = x.astype(np.float32, copy=False)
    ax0 = (np.float32(1) - fx)[:, None]
    ax1 = fx[:, None]
    rows = src[:, x0] * ax0 + src[:, x1] * ax1
    by0 = (np.float32(1) - fy)[:, None, None]
    by1 = fy[:, None, None]
    out = rows[y0] * by0 + rows[y1] * by1
    return out.astype(x.dtype, copy=False)


def _bilinear_u8(x, x0, x1, fx, y0, y1, fy):
    """OpenCV's fixed-point bilinear for uint8: 11-bit coefficients, a horizontal
    pass into int32 rows, and the vertical pass of its SIMD kernel (mulhi of the rows
    shifted by 4, then rounded by 2 bits), which is what ran in MXNet's build."""
    alpha1 = np.rint(fx * _COEF_SCALE).astype(np.int32)
    alpha0 = np.rint((np.float32(1) - fx) * _COEF_SCALE).astype(np.int32)
    beta1 = np.rint(fy * _COEF_SCALE).astype(np.int32)
    beta0 = np.rint((np.float32(1) - fy) * _COEF_SCALE).astype(np.int32)
    src = x.astype(np.int32)
    rows = src[:, x0] * alpha0[:, None] + src[:, x1] * alpha1[:, None]  # (h, nw, c)
    s0 = rows[y0] >> 4
    s1 = rows[y1] >> 4
    b0 = beta0[:, None, None]
    b1 = beta1[:, None, None]
    out = (((s0 * b0) >> 16) + ((s1 * b1) >> 16) + 2) >> 2
    return np.clip(out, 0, 255).astype(np.uint8)


def scale_down(src_size, size):
    """MXNet's ``image.scale_down``: shrink a crop (w, h) that exceeds the image."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def fixed_crop(src, x0, y0, w, h, size=None, interp=1):
    """MXNet's ``image.fixed_crop``: crop, then resize to ``size`` (w, h) if it differs."""
    out = src[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != tuple(size):
        out = resize_to(out, size[0], size[1], interp)
    return out


def center_crop(src, size, interp=1):
    """MXNet's ``image.center_crop``; returns the image and (x0, y0, w, h)."""
    h, w = src.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def random_size_crop(src, size, area, ratio, interp=1):
    """MXNet's ``image.random_size_crop`` (Python's ``random``, as MXNet draws)."""
    import random

    h, w = src.shape[:2]
    src_area = h * w
    if isinstance(area, (int, float)):
        area = (area, 1.0)
    for _ in range(10):
        target_area = random.uniform(area[0], area[1]) * src_area
        log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
        new_ratio = np.exp(random.uniform(*log_ratio))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if new_w <= w and new_h <= h:
            x0 = random.randint(0, w - new_w)
            y0 = random.randint(0, h - new_h)
            out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
            return out, (x0, y0, new_w, new_h)
    return center_crop(src, size, interp)


__all__ = ["to_tensor", "normalize", "resize", "resize_to", "center_crop", "fixed_crop",
           "random_size_crop", "scale_down"]
