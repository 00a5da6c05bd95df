"""keras-nted: Neural Texture Extraction and Distribution (Ren et al., CVPR 2022) for Keras 3."""

from keras_nted._backend_flag import start_command_line as _start_command_line

_start_command_line()  # `keras-nted --backend X` and the backend checks must act before Keras is imported below

from keras_nted import appearance
from keras_nted import callbacks
from keras_nted import convert
from keras_nted import data
from keras_nted import distribute
from keras_nted import export
from keras_nted import layers
from keras_nted import losses
from keras_nted import models
from keras_nted.version import __version__
