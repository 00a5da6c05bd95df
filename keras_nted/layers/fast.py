"""Keras' `Conv2D`, `MaxPooling2D` and `AveragePooling2D`, computed in the form each backend runs fastest.

The same layers (arguments, weights, shapes, configs: subclasses), whose `call` goes through
`keras_nted.backend.conv.conv2d_bias_relu` and `keras_nted.backend.pooling` where their
arguments allow (channels-last, square strides and windows, no dilation or groups, a ReLU or
no activation) and through Keras' own otherwise. On torch this takes the NCHW copies that
Keras' layers make of every input and output away, and adds the bias and the ReLU inside and
in place of the convolution's output; the frozen feature extractors (FID's Inception,
LPIPS' trunks) are built from them.
"""

import keras
from keras import layers

from keras_nted.backend.conv import conv2d_bias_relu
from keras_nted.backend.pooling import average_pool2d
from keras_nted.backend.pooling import max_pool2d


def _square(pair):
    return pair[0] == pair[1]


def _backend_pool(layer):
    """Whether a pooling layer's arguments have the backend form (channels-last, square window and strides)."""
    return layer.data_format == "channels_last" and _square(layer.pool_size) and _square(layer.strides)


@keras.saving.register_keras_serializable(package="keras_nted")
class FastConv2D(layers.Conv2D):
    """`keras.layers.Conv2D`, with the convolution, bias and ReLU as one backend call.

    Takes `keras.layers.Conv2D`'s arguments and gives its results (to float32 rounding).

    Example:
    >>> layer = FastConv2D(8, (1, 7), padding="same", activation="relu")
    >>> layer(np.zeros((2, 17, 17, 4), "float32")).shape
    (2, 17, 17, 8)
    """

    def _fast(self):
        return (
            self.data_format == "channels_last"
            and _square(self.strides)
            and self.dilation_rate == (1, 1)
            and self.groups == 1
            and self.activation in (keras.activations.relu, keras.activations.linear)
        )

    def call(self, inputs):
        if not self._fast():
            return super().call(inputs)
        relu = self.activation is keras.activations.relu
        return conv2d_bias_relu(inputs, self.kernel, self.bias, self.strides[0], self.padding, relu=relu)


@keras.saving.register_keras_serializable(package="keras_nted")
class FastMaxPooling2D(layers.MaxPooling2D):
    """`keras.layers.MaxPooling2D` through `keras_nted.backend.pooling.max_pool2d` (square windows and strides)."""

    def call(self, inputs):
        if _backend_pool(self):
            return max_pool2d(inputs, self.pool_size[0], self.strides[0], self.padding)
        return super().call(inputs)


@keras.saving.register_keras_serializable(package="keras_nted")
class FastAveragePooling2D(layers.AveragePooling2D):
    """`keras.layers.AveragePooling2D` through `keras_nted.backend.pooling.average_pool2d` (square windows, strides)."""

    def call(self, inputs):
        if _backend_pool(self):
            return average_pool2d(inputs, self.pool_size[0], self.strides[0], self.padding)
        return super().call(inputs)
