"""Image-quality metrics and the held-out mannequin evaluation."""

from keras_nted.evaluation.ssim import gaussian_window
from keras_nted.evaluation.ssim import ssim
