"""keras-nted: Neural Texture Extraction and Distribution (Ren et al., CVPR 2022) for Keras 3."""

from keras_nted.version import __version__
from keras_nted import layers
from keras_nted import models
from keras_nted import losses
from keras_nted import data
from keras_nted import convert
from keras_nted import callbacks
