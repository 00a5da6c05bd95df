"""SSIM and PSNR per image, on `keras.ops`, as scikit-image computes them and the pose-transfer papers call them.

`structural_similarity` is `skimage.metrics.structural_similarity(gt, pred, channel_axis=-1,
...)` for a batch: the uniform window with the sample covariance (skimage's default) or the
Gaussian window (`truncate=3.5`, so `win_size = 2 * int(3.5 * sigma + 0.5) + 1`), the SSIM map
kept where the whole window lies inside the image (skimage computes it everywhere and crops
`(win_size - 1) // 2` pixels from each side before the mean: a "valid" separable convolution
gives exactly those pixels), and the mean over channels.

The field's names (GFLA `script/metrics.py`, copied by DPTN and PIDM, re-implemented by CFLD):

- `ssim`: win 51, uniform, sample covariance, `data_range=1`, on `[0, 1]` images;
- `ssim_256`: Gaussian, `sigma=1.5` (PIDM: 1.2), population covariance, on the 0-255 scale
  with `data_range = pred.max() - pred.min()` per image;
- `psnr`: `data_range=1`.

`gaussian_ssim` is the standard form of Wang et al. 2004 (11 x 11 Gaussian window, sigma 1.5,
population covariance, a fixed `data_range`), as the paper's MATLAB code computes it: the one
SSIM of this package outside the field's protocols, reported by `keras-nted evaluate` and
trained through by `keras_nted.losses.ssim_loss`.

Everything runs in float32. Each image and channel is centred on its own mean before the local
moments are taken: the variances `E[x^2] - E[x]^2` then cancel far less, which keeps the score
within 1e-6 of skimage's float64 (the tests check it).
"""

import numpy as np
from keras import ops


def gaussian_window(size=11, sigma=1.5):
    """The 1-D Gaussian of the SSIM window (the 2-D window is its outer product), sum 1.

    Example:
    >>> gaussian_window(3, 1.0).round(4).tolist()
    [0.2741, 0.4519, 0.2741]
    """
    x = np.arange(size, dtype="float64") - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _checked_pair(ground_truth, prediction, name):
    ground_truth = ops.cast(ground_truth, "float32")
    prediction = ops.cast(prediction, "float32")
    if len(ground_truth.shape) != 4 or tuple(ground_truth.shape) != tuple(prediction.shape):
        raise ValueError(
            f"{name} expects two (batch, height, width, channels) image batches of one shape. "
            f"Received: ground_truth.shape={tuple(ground_truth.shape)}, prediction.shape={tuple(prediction.shape)}"
        )
    return ground_truth, prediction


def _window(win_size, gaussian_weights, sigma):
    if gaussian_weights:
        if sigma <= 0:
            raise ValueError(f"Expected a positive sigma. Received: sigma={sigma}")
        size = 2 * int(3.5 * sigma + 0.5) + 1
        if win_size is not None and win_size != size:
            raise ValueError(
                f"With gaussian_weights the window follows sigma (2 * int(3.5 * sigma + 0.5) + 1 = {size} taps). "
                f"Expected win_size=None or {size}. Received: win_size={win_size}"
            )
        return gaussian_window(size, sigma)
    size = 7 if win_size is None else win_size
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"Expected an odd positive win_size. Received: win_size={win_size}")
    return np.full(size, 1.0 / size)


def per_image_range(images):
    """`max - min` of each image of a `(batch, H, W, C)` batch, `(batch,)`."""
    return ops.max(images, axis=(1, 2, 3)) - ops.min(images, axis=(1, 2, 3))


def structural_similarity(
    ground_truth,
    prediction,
    data_range=None,
    win_size=None,
    gaussian_weights=False,
    sigma=1.5,
    use_sample_covariance=True,
    k1=0.01,
    k2=0.03,
):
    """Mean SSIM of each image pair, as `skimage.metrics.structural_similarity(..., channel_axis=-1)`.

    Args:
        ground_truth, prediction: `(batch, height, width, channels)` image batches of one shape.
        data_range: the dynamic range `L` in `C1 = (k1 L)^2`, `C2 = (k2 L)^2`: a number, or
            `None` for each prediction's own `max - min` (the field's `ssim_256`).
        win_size: the side of the uniform window (odd; default 7, skimage's). With
            `gaussian_weights` it follows `sigma` and may only be left out or agree.
        gaussian_weights: a Gaussian window (`sigma`, truncated at 3.5 sigma) instead of a uniform one.
        sigma: the Gaussian's standard deviation.
        use_sample_covariance: divide the local (co)variances by `N - 1` rather than `N`
            (`N = win_size ** 2`), as skimage does by default.
        k1, k2: the stabilising constants.

    Returns:
        A `(batch,)` float32 tensor: each pair's SSIM, averaged over the valid windows and the channels.

    Raises:
        ValueError: for batches of different shapes, a window larger than the images, an even
            window, or a window that contradicts `sigma`.

    Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    >>> [round(float(v), 4) for v in structural_similarity(x, x, data_range=1.0)]
    [1.0, 1.0]

    Reference:
        Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility to
        structural similarity", IEEE TIP 2004, Eq. 13.
    """
    ground_truth, prediction = _checked_pair(ground_truth, prediction, "structural_similarity")
    window = _window(win_size, gaussian_weights, sigma)
    size = window.shape[0]
    if min(ground_truth.shape[1:3]) < size:
        raise ValueError(
            f"Expected images of at least {size} x {size} for the window. Received: shape={tuple(ground_truth.shape)}"
        )
    if data_range is None:
        data_range = ops.reshape(per_image_range(prediction), (-1, 1, 1, 1))
    channels = int(ground_truth.shape[-1])
    window = ops.convert_to_tensor(window.astype("float32"))
    # The five local moments in one depthwise convolution: x, y, x^2, y^2, x*y side by side.
    rows = ops.tile(ops.reshape(window, (size, 1, 1, 1)), (1, 1, 5 * channels, 1))
    cols = ops.tile(ops.reshape(window, (1, size, 1, 1)), (1, 1, 5 * channels, 1))
    x_mean = ops.mean(ground_truth, axis=(1, 2), keepdims=True)
    y_mean = ops.mean(prediction, axis=(1, 2), keepdims=True)
    x, y = ground_truth - x_mean, prediction - y_mean
    moments = ops.concatenate([x, y, x * x, y * y, x * y], axis=-1)
    moments = ops.depthwise_conv(ops.depthwise_conv(moments, rows, padding="valid"), cols, padding="valid")
    mu_x, mu_y, xx, yy, xy = ops.split(moments, 5, axis=-1)
    covariance_scale = size**2 / (size**2 - 1.0) if use_sample_covariance else 1.0
    var_x = covariance_scale * (xx - mu_x * mu_x)
    var_y = covariance_scale * (yy - mu_y * mu_y)
    cov = covariance_scale * (xy - mu_x * mu_y)
    mu_x, mu_y = mu_x + x_mean, mu_y + y_mean
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return ops.mean(numerator / denominator, axis=(1, 2, 3))


def ssim(ground_truth, prediction):
    """The field's `ssim` of `[0, 1]` images: win 51, uniform, sample covariance, `data_range=1`; `(batch,)`.

    GFLA's `compare_ssim(gt, pred, data_range=1, win_size=51, multichannel=True)`.
    """
    return structural_similarity(ground_truth, prediction, data_range=1.0, win_size=51)


def gaussian_ssim(ground_truth, prediction, data_range=1.0):
    """The standard SSIM (Wang et al. 2004) of each pair; `(batch,)`, differentiable.

    An 11 x 11 Gaussian window with sigma 1.5, the valid windows only, the population
    covariance, `K1 = 0.01`, `K2 = 0.03` and a fixed `data_range`: the paper's MATLAB code, and
    `skimage.metrics.structural_similarity(gt, pred, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range, channel_axis=-1)`.

    Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    >>> [round(float(v), 4) for v in gaussian_ssim(x, x, data_range=255.0)]
    [1.0]
    """
    return structural_similarity(
        ground_truth, prediction, data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )


def ssim_256(ground_truth, prediction, sigma=1.5):
    """The field's `ssim_256` of `[0, 1]` images; `(batch,)`.

    GFLA's `compare_ssim(gt * 255, pred * 255, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=pred255.max() - pred255.min())` (PIDM: `sigma=1.2`).
    SSIM does not change when the images and `data_range` are scaled together, so the images
    are not multiplied by 255 here.
    """
    return structural_similarity(
        ground_truth, prediction, data_range=None, gaussian_weights=True, sigma=sigma, use_sample_covariance=False
    )


def psnr(ground_truth, prediction, data_range=1.0):
    """Peak signal-to-noise ratio of each pair, `10 log10(data_range^2 / MSE)` in dB; `(batch,)`.

    `skimage.metrics.peak_signal_noise_ratio(gt, pred, data_range=1)` per image (the MSE over
    all pixels and channels); identical images give `inf`.
    """
    ground_truth, prediction = _checked_pair(ground_truth, prediction, "psnr")
    error = ops.mean(ops.square(ground_truth - prediction), axis=(1, 2, 3))
    return 10.0 * ops.log10(data_range**2 / error)
