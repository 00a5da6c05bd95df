"""Equalized-learning-rate layers (StyleGAN2 style), as used by the released NTED code.

Weights are stored at unit scale (initialised N(0, 1)) and multiplied at call time by the
He constant `1 / sqrt(fan_in)`, so that Adam sees every weight at the same scale.
"""

import math
import random

import keras
import numpy as np
from keras import ops

from keras_nted.backend import activations
from keras_nted.backend.conv import conv2d
from keras_nted.backend.conv import conv_transpose2d
from keras_nted.utils.validation import check_feature_map
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_number
from keras_nted.utils.validation import shape_of

_SQRT2 = math.sqrt(2.0)


def host_normal(stddev=1.0):
    """An initializer of normal values `N(0, stddev^2)` drawn with numpy on the host.

    Not `keras.initializers.RandomNormal`: JAX compiles its sampler once per weight shape, which
    made 5.4 s of the 6.6 s that `NTEDGenerator.from_preset("nted_mannequin_64")` took, for
    values its trained weights then replace. Each draw is seeded from Python's `random`, as
    Keras' own default seeds are, so `keras.utils.set_random_seed` makes it reproducible, with
    the same values on every backend.
    """

    def initializer(shape, dtype=None):
        rng = np.random.default_rng(random.getrandbits(64))
        return ops.convert_to_tensor(rng.standard_normal(shape, dtype=np.float32) * np.float32(stddev), dtype=dtype)

    return initializer


def _check_padding(padding):
    if padding not in ("same", "valid"):
        raise ValueError(f"Expected padding to be 'same' or 'valid'. Received: padding={padding!r}")


@keras.saving.register_keras_serializable(package="keras_nted")
class EqualizedConv2D(keras.layers.Layer):
    """2D convolution with an equalized learning rate.

    The kernel is stored at unit scale and multiplied by `1 / sqrt(in_channels * k * k)`
    in `call`, exactly as the released `EqualConv2d`.

    Args:
        filters: number of output channels.
        kernel_size: side of the square kernel.
        strides: convolution stride.
        padding: `"same"` (the released `padding=k // 2` for odd kernels at stride 1) or
            `"valid"` (no padding).
        use_bias: whether to add a bias (initialised to 0).

    Call arguments:
        inputs: `(batch, height, width, channels)` tensor.

    Returns:
        `(batch, new_height, new_width, filters)` tensor.

    Example:
    >>> layer = EqualizedConv2D(8, 3, padding="same")
    >>> layer(np.zeros((1, 16, 16, 4), "float32")).shape
    (1, 16, 16, 8)

    Reference:
        Karras et al., "Progressive Growing of GANs", Sec. 4.1 (equalized learning rate).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="same", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        filters = check_int("filters", filters)
        kernel_size = check_int("kernel_size", kernel_size)
        strides = check_int("strides", strides)
        _check_padding(padding)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.use_bias = use_bias

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError(f"EqualizedConv2D needs a known channel count. Received: input_shape={input_shape}")
        k = self.kernel_size
        self.scale = 1.0 / math.sqrt(in_channels * k * k)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(k, k, in_channels, self.filters),
            initializer=host_normal(),
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        else:
            self.bias = None

    def __call__(self, inputs, **kwargs):
        check_feature_map("inputs", shape_of(inputs), self.kernel.shape[2] if self.built else None)
        return super().__call__(inputs, **kwargs)

    def call(self, inputs):
        y = conv2d(inputs, self.kernel, strides=self.strides, padding=self.padding, scale=self.scale)
        if self.use_bias:
            y = y + self.bias
        return y

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape

        def out(n):
            if n is None:
                return None
            if self.padding == "same":
                return (n + self.strides - 1) // self.strides
            return (n - self.kernel_size) // self.strides + 1

        return (b, out(h), out(w), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            use_bias=self.use_bias,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_nted")
class EqualizedConv2DTranspose(keras.layers.Layer):
    """Transposed 2D convolution with an equalized learning rate.

    The released `EqualTransposeConv2d`: stride 2, no padding, so a `k x k` kernel maps
    `(h, w)` to `(2h + k - 2, 2w + k - 2)` (`2h + 1` for `k = 3`). The kernel is stored
    as `(k, k, filters, in_channels)` (the `keras.ops.conv_transpose` layout) and scaled by
    `1 / sqrt(in_channels * k * k)`.

    Args:
        filters: number of output channels.
        kernel_size: side of the square kernel.
        strides: stride (upsampling factor).
        use_bias: whether to add a bias (the released model never does).

    Call arguments:
        inputs: `(batch, height, width, channels)` tensor.

    Returns:
        `(batch, (height - 1) * strides + k, (width - 1) * strides + k, filters)` tensor.

    Example:
    >>> EqualizedConv2DTranspose(4, 3)(np.zeros((1, 8, 5, 6), "float32")).shape
    (1, 17, 11, 4)
    """

    def __init__(self, filters, kernel_size=3, strides=2, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        filters = check_int("filters", filters)
        kernel_size = check_int("kernel_size", kernel_size)
        strides = check_int("strides", strides)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.use_bias = use_bias

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError(
                f"EqualizedConv2DTranspose needs a known channel count. Received: input_shape={input_shape}"
            )
        k = self.kernel_size
        self.scale = 1.0 / math.sqrt(in_channels * k * k)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(k, k, self.filters, in_channels),
            initializer=host_normal(),
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        else:
            self.bias = None

    def __call__(self, inputs, **kwargs):
        check_feature_map("inputs", shape_of(inputs), self.kernel.shape[3] if self.built else None)
        return super().__call__(inputs, **kwargs)

    def call(self, inputs):
        y = conv_transpose2d(inputs, self.kernel, self.strides, scale=self.scale)
        if self.use_bias:
            y = y + self.bias
        return y

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape

        def out(n):
            return None if n is None else (n - 1) * self.strides + self.kernel_size

        return (b, out(h), out(w), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            use_bias=self.use_bias,
        )
        return config


def fused_leaky_relu(x, bias=None, negative_slope=0.2, scale=_SQRT2):
    """`scale * leaky_relu(x + bias, negative_slope)`, the StyleGAN2 fused activation."""
    return activations.fused_leaky_relu(x, bias, negative_slope, scale)


@keras.saving.register_keras_serializable(package="keras_nted")
class FusedLeakyReLU(keras.layers.Layer):
    """Per-channel bias, leaky ReLU (slope 0.2) and a gain of `sqrt(2)`.

    `y = sqrt(2) * leaky_relu(x + bias, 0.2)`, the released `FusedLeakyReLU`, which
    carries the bias of the convolution before it.

    Args:
        negative_slope: slope for negative inputs.
        scale: output gain.

    Call arguments:
        inputs: `(..., channels)` tensor.

    Returns:
        A tensor of the input's shape.

    Example:
    >>> FusedLeakyReLU()(np.ones((1, 2, 2, 3), "float32")).shape
    (1, 2, 2, 3)
    """

    def __init__(self, negative_slope=0.2, scale=_SQRT2, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = negative_slope
        self.scale = scale

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs):
        return fused_leaky_relu(inputs, self.bias, self.negative_slope, self.scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(negative_slope=self.negative_slope, scale=self.scale)
        return config


@keras.saving.register_keras_serializable(package="keras_nted")
class EqualizedDense(keras.layers.Layer):
    """Dense layer with an equalized learning rate (the released `EqualLinear`).

    `y = x @ (kernel * lr_multiplier / sqrt(in)) + bias * lr_multiplier`; with
    `activation="fused_lrelu"` the bias goes through `FusedLeakyReLU`'s formula instead.

    Args:
        units: output size.
        use_bias: whether to add a bias.
        bias_init: constant the bias starts at.
        lr_multiplier: learning-rate multiplier (the kernel starts at `N(0, 1) / lr_multiplier`).
        activation: `None` or `"fused_lrelu"`.

    Call arguments:
        inputs: `(batch, features)` tensor.

    Returns:
        `(batch, units)` tensor.

    Example:
    >>> EqualizedDense(4, activation="fused_lrelu")(np.ones((2, 8), "float32")).shape
    (2, 4)
    """

    def __init__(self, units, use_bias=True, bias_init=0.0, lr_multiplier=1.0, activation=None, **kwargs):
        super().__init__(**kwargs)
        units = check_int("units", units)
        if activation not in (None, "fused_lrelu"):
            raise ValueError(f"Expected activation to be None or 'fused_lrelu'. Received: activation={activation!r}")
        lr_multiplier = check_number("lr_multiplier", lr_multiplier)
        self.units = units
        self.use_bias = use_bias
        self.bias_init = bias_init
        self.lr_multiplier = lr_multiplier
        self.activation = activation

    def build(self, input_shape):
        in_features = input_shape[-1]
        self.scale = self.lr_multiplier / math.sqrt(in_features)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(in_features, self.units),
            initializer=host_normal(1.0 / self.lr_multiplier),
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=keras.initializers.Constant(self.bias_init)
            )
        else:
            self.bias = None

    def call(self, inputs):
        y = ops.matmul(inputs, self.kernel * self.scale)
        bias = self.bias * self.lr_multiplier if self.use_bias else None
        if self.activation == "fused_lrelu":
            return fused_leaky_relu(y, bias)
        return y if bias is None else y + bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            use_bias=self.use_bias,
            bias_init=self.bias_init,
            lr_multiplier=self.lr_multiplier,
            activation=self.activation,
        )
        return config
