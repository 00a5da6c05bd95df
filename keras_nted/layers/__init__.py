"""Public layers of keras-nted (all built on `keras.ops` only)."""

from keras_nted.layers.equalized import EqualizedConv2D
from keras_nted.layers.equalized import EqualizedConv2DTranspose
from keras_nted.layers.equalized import EqualizedDense
from keras_nted.layers.equalized import FusedLeakyReLU
from keras_nted.layers.framed_resize import FramedResize
from keras_nted.layers.merge import ScaledAdd
from keras_nted.layers.minibatch_std import MinibatchStdDev
from keras_nted.layers.nted import NTED
from keras_nted.layers.nted import NTEDDistribution
from keras_nted.layers.nted import NTEDExtraction
from keras_nted.layers.resample import Blur
from keras_nted.layers.resample import Upsample
from keras_nted.layers.resample import upfirdn2d
from keras_nted.layers.skeleton_renderer import SkeletonRenderer
