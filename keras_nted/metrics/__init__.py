"""The field's image metrics (SSIM, PSNR, LPIPS, FID), on `keras.ops`, and the weight files they need."""

from keras_nted.metrics.lpips import LPIPS
from keras_nted.metrics.pickle_files import read_state_dict
from keras_nted.metrics.ssim_psnr import psnr
from keras_nted.metrics.ssim_psnr import ssim
from keras_nted.metrics.ssim_psnr import ssim_256
from keras_nted.metrics.ssim_psnr import structural_similarity
from keras_nted.metrics.weight_files import find_weights
from keras_nted.metrics.weight_files import obtain_weights
