"""Appearance control (paper Sec. 4): move a region's look from one reference to another by
interpolating neural textures, with optimised (`AppearanceControl`) or given (`blend_textures`,
`swap_textures`) coefficients."""

from keras_nted.appearance.blend import blend_textures
from keras_nted.appearance.blend import interpolate_textures
from keras_nted.appearance.blend import swap_coefficients
from keras_nted.appearance.blend import swap_textures
from keras_nted.appearance.control import AppearanceControl
from keras_nted.appearance.masks import DistributionSegmenter
from keras_nted.appearance.masks import garment_image_region
from keras_nted.appearance.masks import load_mask
from keras_nted.appearance.masks import mannequin_region_mask
from keras_nted.appearance.masks import mask_select
from keras_nted.appearance.masks import region_seed_mask
from keras_nted.appearance.objective import color_loss
from keras_nted.appearance.objective import initial_coefficients
from keras_nted.appearance.objective import regularization_loss
from keras_nted.appearance.parts import GeneratorParts
from keras_nted.appearance.pictures import control_strip
from keras_nted.appearance.pictures import write_control_outputs
from keras_nted.appearance.result import AppearanceResult
