"""SSIM (Wang, Bovik, Sheikh and Simoncelli, IEEE TIP 2004) as a training term: `ssim_loss`.

SSIM is not in the released NTED; `keras-nted train --weight-ssim` adds `weight * (1 - SSIM)`
to the generator loss. The SSIM is `keras_nted.metrics.gaussian_ssim` (the standard form, the
one `keras-nted evaluate` reports), so the term and the score are one quantity.
"""

from keras import ops

from keras_nted.metrics.ssim_psnr import gaussian_ssim


def ssim_loss(fake, real):
    """`1 - SSIM` of two `[-1, 1]` image batches, measured on `[0, 1]` as `keras-nted evaluate` does (float32).

    Args:
        fake, real: `(batch, height, width, channels)` image batches of one shape in `[-1, 1]`
            (SSIM is not shift-invariant: they are mapped to `[0, 1]` first).

    Returns:
        A float32 scalar tensor: one minus the mean SSIM over the batch.

    Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    >>> round(float(ssim_loss(x, x)), 4)
    0.0
    """
    to_unit = lambda image: (ops.cast(image, "float32") + 1.0) * 0.5  # noqa: E731
    return 1.0 - ops.mean(gaussian_ssim(to_unit(real), to_unit(fake), data_range=1.0))
