"""SSIM (Wang, Bovik, Sheikh and Simoncelli, IEEE TIP 2004): the numpy metric and the `keras.ops` training term.

The standard form: an 11 x 11 Gaussian window with sigma 1.5 (normalised to sum 1), local
statistics over the "valid" windows only (no padding), `K1 = 0.01`, `K2 = 0.03`, the
(biased) Gaussian-weighted variances, and for colour images the mean over channels of the
per-channel SSIM maps. This is what `skimage.metrics.structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=...)` and the
paper's MATLAB code compute.

Two forms of the one quantity: `ssim`, in numpy (float64), the metric `keras-nted evaluate`
reports (`keras_nted.evaluation.ssim` re-exports it); `structural_similarity`, on `keras.ops`
in float32, so it can be trained through. SSIM is not in the released NTED;
`keras-nted train --weight-ssim` adds `weight * (1 - SSIM)` (`ssim_loss`) to the generator loss.
"""

import numpy as np
from keras import ops


def gaussian_window(size=11, sigma=1.5):
    """The 1-D Gaussian of the SSIM window (the 2-D window is its outer product), sum 1."""
    x = np.arange(size, dtype="float64") - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(x, kernel):
    """Separable 'valid' filtering of `(..., H, W, C)` along H and W."""
    size = kernel.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=-3)  # (..., H', W, C, size)
    x = windows @ kernel
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=-2)  # (..., H', W', C, size)
    return windows @ kernel


def ssim(x, y, data_range=255.0, window_size=11, sigma=1.5, k1=0.01, k2=0.03, reduce=True):
    """Mean SSIM of two images or two batches of images.

    Args:
        x, y: arrays of the same shape `(H, W, C)` or `(batch, H, W, C)` (or `(H, W)`), both
            on the scale `[0, data_range]` (e.g. uint8 images with the default 255, or
            floats in [0, 1] with `data_range=1`).
        data_range: the dynamic range `L` in `C1 = (k1 L)^2`, `C2 = (k2 L)^2`.
        window_size, sigma: the Gaussian window (11, 1.5).
        k1, k2: the stabilising constants (0.01, 0.03).
        reduce: `True`: one float, the mean over images; `False`: one value per image.

    Returns:
        A float, or a `(batch,)` array with `reduce=False`.

    Raises:
        ValueError: for different shapes or images smaller than the window.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.shape != y.shape:
        raise ValueError(f"Expected images of the same shape. Received: {x.shape} and {y.shape}")
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    if x.ndim == 3:
        x, y = x[None], y[None]
    if x.ndim != 4:
        raise ValueError(f"Expected (H, W), (H, W, C) or (batch, H, W, C) images. Received shape: {x.shape}")
    if min(x.shape[1:3]) < window_size:
        raise ValueError(f"Expected images of at least {window_size} x {window_size}. Received shape: {x.shape}")
    kernel = gaussian_window(window_size, sigma)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    mu_x = _filter_valid(x, kernel)
    mu_y = _filter_valid(y, kernel)
    xx = _filter_valid(x * x, kernel) - mu_x**2
    yy = _filter_valid(y * y, kernel) - mu_y**2
    xy = _filter_valid(x * y, kernel) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (xx + yy + c2))
    per_image = ssim_map.mean(axis=(1, 2, 3))
    return float(per_image.mean()) if reduce else per_image


def structural_similarity(x, y, data_range=1.0, window_size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Mean SSIM of two image batches `(B, H, W, C)`, as a float32 scalar tensor.

    Args:
        x, y: image batches of the same shape on `[0, data_range]` (SSIM is not
            shift-invariant: map `[-1, 1]` images to `[0, 1]` first, as `ssim_loss` does).
        data_range: the dynamic range `L` in `C1 = (k1 L)^2`, `C2 = (k2 L)^2`.
        window_size, sigma, k1, k2: the standard 11, 1.5, 0.01, 0.03.

    Returns:
        The mean SSIM over images, channels and valid windows.

    Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    >>> round(float(structural_similarity(x, x)), 4)
    1.0
    """
    x = ops.cast(x, "float32")
    y = ops.cast(y, "float32")
    if tuple(x.shape) != tuple(y.shape) or len(x.shape) != 4:
        raise ValueError(f"Expected two (batch, H, W, C) batches of one shape. Received: {x.shape} and {y.shape}")
    channels = int(x.shape[-1])
    window = ops.convert_to_tensor(gaussian_window(window_size, sigma).astype("float32"))
    rows = ops.tile(ops.reshape(window, (window_size, 1, 1, 1)), (1, 1, channels, 1))
    cols = ops.tile(ops.reshape(window, (1, window_size, 1, 1)), (1, 1, channels, 1))

    def blur(image):
        image = ops.depthwise_conv(image, rows, strides=1, padding="valid")
        return ops.depthwise_conv(image, cols, strides=1, padding="valid")

    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return ops.mean(numerator / denominator)


def ssim_loss(fake, real):
    """`1 - SSIM` of two `[-1, 1]` image batches, measured on `[0, 1]` as `keras-nted evaluate` does (float32)."""
    to_unit = lambda image: (ops.cast(image, "float32") + 1.0) * 0.5  # noqa: E731
    return 1.0 - structural_similarity(to_unit(fake), to_unit(real), data_range=1.0)
