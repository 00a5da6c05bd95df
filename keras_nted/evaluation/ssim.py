"""SSIM in numpy, the image-quality metric: its home is `keras_nted.losses.ssim` (beside the training term)."""

from keras_nted.losses.ssim import gaussian_window  # noqa: F401  (re-exported: moved to keras_nted.losses.ssim)
from keras_nted.losses.ssim import ssim  # noqa: F401  (re-exported: moved to keras_nted.losses.ssim)
