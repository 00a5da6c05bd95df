"""The field's image metrics (SSIM, PSNR, LPIPS, FID), on `keras.ops`, and the weight files they need."""

from keras_nted.metrics.fid import FeatureStatistics
from keras_nted.metrics.fid import FrechetInceptionDistance
from keras_nted.metrics.fid import frechet_distance
from keras_nted.metrics.inception import inception_from_state_dict
from keras_nted.metrics.inception import inception_kind
from keras_nted.metrics.inception import inception_v3
from keras_nted.metrics.inception import load_inception_weights
from keras_nted.metrics.lpips import LPIPS
from keras_nted.metrics.pickle_files import read_state_dict
from keras_nted.metrics.protocols import PROTOCOLS
from keras_nted.metrics.protocols import get_protocol
from keras_nted.metrics.resize import BilinearResize
from keras_nted.metrics.ssim_psnr import gaussian_ssim
from keras_nted.metrics.ssim_psnr import gaussian_window
from keras_nted.metrics.ssim_psnr import psnr
from keras_nted.metrics.ssim_psnr import ssim
from keras_nted.metrics.ssim_psnr import ssim_256
from keras_nted.metrics.ssim_psnr import structural_similarity
from keras_nted.metrics.weight_files import find_weights
from keras_nted.metrics.weight_files import obtain_weights
