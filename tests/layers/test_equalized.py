"""Equalized-learning-rate layers against keras' own layers and numpy (the released `EqualConv2d`,
`EqualTransposeConv2d`, `EqualLinear`, `FusedLeakyReLU`)."""

import math

import keras
import numpy as np
import pytest

from keras_nted.layers import EqualizedConv2D
from keras_nted.layers import EqualizedConv2DTranspose
from keras_nted.layers import EqualizedDense
from keras_nted.layers import FusedLeakyReLU
from tests.layers.harness import run_layer_test

# Weight shapes repeat across tests/layers on purpose: on JAX every new shape of a randomly
# initialised weight compiles a random-number kernel (about a second of CPU each).
IN_CHANNELS = 8


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _random_bias(layer, seed):
    layer.bias.assign(np.random.default_rng(seed).normal(size=layer.bias.shape).astype("float32"))


def _leaky_relu_gain(x, slope=0.2):
    return np.sqrt(2.0) * np.where(x >= 0, x, slope * x)


@pytest.mark.parametrize(
    "kernel_size,padding,strides,use_bias",
    # Every padding x stride pair, bias on and off, both kernel sizes the models use (kept few:
    # each new shape is a compilation on JAX).
    [
        (3, "same", 1, True),
        (3, "same", 2, False),
        (3, "valid", 1, False),
        (3, "valid", 2, True),
        (1, "same", 1, False),
        (1, "valid", 2, True),
    ],
)
def test_conv2d_equals_keras_conv2d_with_scaled_kernel(kernel_size, padding, strides, use_bias):
    x = np.random.default_rng(0).normal(size=(2, 9, 6, IN_CHANNELS)).astype("float32")
    layer = EqualizedConv2D(4, kernel_size, strides=strides, padding=padding, use_bias=use_bias)
    layer.build(x.shape)
    assert layer.scale == pytest.approx(1.0 / math.sqrt(IN_CHANNELS * kernel_size * kernel_size))
    reference = keras.layers.Conv2D(
        4, kernel_size, strides=strides, padding=padding, use_bias=use_bias, kernel_initializer="zeros"
    )
    reference.build(x.shape)
    if use_bias:
        _random_bias(layer, 1)
        reference.set_weights([_numpy(layer.kernel) * layer.scale, _numpy(layer.bias)])
    else:
        reference.set_weights([_numpy(layer.kernel) * layer.scale])
    out = _numpy(layer(x))
    np.testing.assert_allclose(out, _numpy(reference(x)), atol=1e-5, rtol=1e-5)
    assert out.shape == layer.compute_output_shape(x.shape)


def test_conv2d_initialisation():
    layer = EqualizedConv2D(4, 3)
    layer.build((None, 8, 8, IN_CHANNELS))
    kernel = _numpy(layer.kernel)
    assert kernel.shape == (3, 3, IN_CHANNELS, 4)
    # Unit-scale N(0, 1) storage (288 draws): the He constant is applied in `call`, not stored.
    assert abs(kernel.std() - 1.0) < 0.2 and abs(kernel.mean()) < 0.2
    np.testing.assert_array_equal(_numpy(layer.bias), 0.0)


def _conv_transpose_reference(x, kernel):
    """Stride-2, unpadded transposed convolution by scattering: out[2i + a, 2j + b] += x[i, j] w[a, b]."""
    batch, height, width, _ = x.shape
    k = kernel.shape[0]
    out = np.zeros((batch, 2 * (height - 1) + k, 2 * (width - 1) + k, kernel.shape[2]), "float64")
    for a in range(k):
        for b in range(k):
            # kernel[a, b] is (filters, in_channels).
            out[:, a : a + 2 * height : 2, b : b + 2 * width : 2, :] += x @ kernel[a, b].T
    return out


@pytest.mark.parametrize("use_bias", [False, True])
def test_conv2d_transpose_equals_keras_conv2d_transpose(use_bias):
    x = np.random.default_rng(0).normal(size=(2, 5, 4, IN_CHANNELS)).astype("float32")
    layer = EqualizedConv2DTranspose(6, 3, use_bias=use_bias)
    layer.build(x.shape)
    assert layer.scale == pytest.approx(1.0 / math.sqrt(IN_CHANNELS * 9))
    reference = keras.layers.Conv2DTranspose(
        6, 3, strides=2, padding="valid", use_bias=use_bias, kernel_initializer="zeros"
    )
    reference.build(x.shape)
    weights = [_numpy(layer.kernel) * layer.scale]
    if use_bias:
        _random_bias(layer, 1)
        weights.append(_numpy(layer.bias))
    reference.set_weights(weights)
    out = _numpy(layer(x))
    assert out.shape == (2, 11, 9, 6) == layer.compute_output_shape(x.shape)  # (2H + 1, 2W + 1)
    np.testing.assert_allclose(out, _numpy(reference(x)), atol=1e-5, rtol=1e-5)
    expected = _conv_transpose_reference(x, _numpy(layer.kernel) * layer.scale)
    if use_bias:
        expected = expected + _numpy(layer.bias)
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("activation", [None, "fused_lrelu"])
@pytest.mark.parametrize("lr_multiplier", [1.0, 0.01])
def test_dense_equals_numpy(activation, lr_multiplier):
    x = np.random.default_rng(0).normal(size=(3, IN_CHANNELS)).astype("float32")
    layer = EqualizedDense(4, bias_init=0.5, lr_multiplier=lr_multiplier, activation=activation)
    layer.build(x.shape)
    np.testing.assert_allclose(_numpy(layer.bias), 0.5)
    _random_bias(layer, 1)
    kernel, bias = _numpy(layer.kernel).astype("float64"), _numpy(layer.bias).astype("float64")
    y = x @ (kernel * lr_multiplier / np.sqrt(IN_CHANNELS)) + bias * lr_multiplier
    expected = _leaky_relu_gain(y) if activation else y
    np.testing.assert_allclose(_numpy(layer(x)), expected, atol=1e-5, rtol=1e-5)
    assert layer.compute_output_shape(x.shape) == (3, 4)


def test_dense_initialisation_scales_with_lr_multiplier():
    layer = EqualizedDense(4, lr_multiplier=0.01)
    layer.build((None, IN_CHANNELS))
    # N(0, 1 / lr_multiplier), so that kernel * lr_multiplier starts at unit scale (32 draws).
    assert abs(_numpy(layer.kernel).std() * 0.01 - 1.0) < 0.4


def test_dense_without_bias():
    x = np.random.default_rng(0).normal(size=(2, IN_CHANNELS)).astype("float32")
    layer = EqualizedDense(4, use_bias=False, lr_multiplier=0.5)
    out = _numpy(layer(x))
    assert layer.bias is None and len(layer.weights) == 1
    expected = x @ (_numpy(layer.kernel) * 0.5 / np.sqrt(IN_CHANNELS))
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


def test_fused_leaky_relu_equals_numpy():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 6)).astype("float32")
    layer = FusedLeakyReLU()
    layer.build(x.shape)
    np.testing.assert_array_equal(_numpy(layer.bias), 0.0)
    _random_bias(layer, 1)
    expected = _leaky_relu_gain(x + _numpy(layer.bias))
    np.testing.assert_allclose(_numpy(layer(x)), expected, atol=1e-5, rtol=1e-5)
    custom = FusedLeakyReLU(negative_slope=0.1, scale=1.0)
    np.testing.assert_allclose(_numpy(custom(x)), np.where(x >= 0, x, 0.1 * x), atol=1e-6)


@pytest.mark.parametrize(
    "layer_cls,init_kwargs,input_shape,output_shape,num_weights",
    [
        (EqualizedConv2D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 5, 4, 8), (2, 5, 4, 4), 2),
        (
            EqualizedConv2D,
            {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "valid", "use_bias": False},
            (2, 7, 6, 8),
            (2, 3, 2, 4),
            1,
        ),
        (EqualizedConv2DTranspose, {"filters": 6, "kernel_size": 3}, (2, 3, 4, 8), (2, 7, 9, 6), 1),
        (EqualizedDense, {"units": 4, "lr_multiplier": 0.1, "activation": "fused_lrelu"}, (2, 8), (2, 4), 2),
        (FusedLeakyReLU, {}, (2, 3, 4, 5), (2, 3, 4, 5), 1),
    ],
    ids=["conv_same", "conv_valid_s2", "conv_transpose", "dense", "fused_lrelu"],
)
def test_layer_harness(layer_cls, init_kwargs, input_shape, output_shape, num_weights):
    run_layer_test(
        layer_cls,
        init_kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=num_weights,
        expected_num_non_trainable_weights=0,
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: EqualizedConv2D(0, 3),
        lambda: EqualizedConv2D(4, 2.5),
        lambda: EqualizedConv2D(True, 3),
        lambda: EqualizedConv2D(4, 3, strides=0),
        lambda: EqualizedConv2D(4, 3, padding="causal"),
        lambda: EqualizedConv2DTranspose(-1),
        lambda: EqualizedConv2DTranspose(4, kernel_size=0),
        lambda: EqualizedConv2DTranspose(4, strides=None),
        lambda: EqualizedDense(0),
        lambda: EqualizedDense(4, activation="relu"),
        lambda: EqualizedDense(4, lr_multiplier=0),
    ],
    ids=[
        "conv_filters_0",
        "conv_kernel_float",
        "conv_filters_bool",
        "conv_strides_0",
        "conv_padding",
        "convT_filters",
        "convT_kernel",
        "convT_strides",
        "dense_units",
        "dense_activation",
        "dense_lr",
    ],
)
def test_invalid_arguments_raise(make):
    with pytest.raises(ValueError):
        make()


def test_conv2d_unknown_channels_raise():
    with pytest.raises(ValueError, match="channel"):
        EqualizedConv2D(4, 3).build((None, 8, 8, None))


def test_conv2d_transpose_unknown_channels_raise():
    with pytest.raises(ValueError, match="channel"):
        EqualizedConv2DTranspose(4, 3).build((None, 8, 8, None))
