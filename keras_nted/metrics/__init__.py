"""The field's image metrics (SSIM, PSNR, LPIPS, FID), on `keras.ops`, and the weight files they need."""

from keras_nted.metrics.pickle_files import read_state_dict
from keras_nted.metrics.ssim import psnr
from keras_nted.metrics.ssim import ssim
from keras_nted.metrics.ssim import ssim_256
from keras_nted.metrics.ssim import structural_similarity
