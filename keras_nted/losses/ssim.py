"""SSIM as a differentiable training term, on `keras.ops`.

The same quantity as `keras_nted.evaluation.ssim` (Wang et al. 2004: 11 x 11 Gaussian window,
sigma 1.5, "valid" windows, K1 = 0.01, K2 = 0.03, biased variances, mean over channels and
pixels), computed in float32 on the backend so it can be trained through. Not in the
released NTED; `keras-nted train --weight-ssim` adds `weight * (1 - SSIM)` to the generator
loss.
"""

from keras import ops

from keras_nted.evaluation.ssim import gaussian_window


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
