"""FastConv2D, FastMaxPooling2D, FastAveragePooling2D: Keras' layers' results through keras_nted.backend's forms."""

import keras
import numpy as np
import pytest

from keras_nted.backend import autodiff
from keras_nted.layers.fast import FastAveragePooling2D
from keras_nted.layers.fast import FastConv2D
from keras_nted.layers.fast import FastMaxPooling2D
from tests.helpers import to_numpy
from tests.layers.harness import run_layer_test

CONVOLUTIONS = [
    # (kernel_size, strides, padding, activation, use_bias): Inception's and LPIPS' forms, and the fallbacks.
    (3, 1, "same", "relu", True),
    ((1, 7), 1, "same", "relu", True),
    ((3, 1), 1, "same", None, False),
    (3, 2, "valid", "relu", True),
    (4, 1, "same", "relu", True),  # an even kernel: torch pads before the convolution
    (3, 2, "same", "relu", True),  # "same" at stride 2: Keras' own form
    (1, 1, "valid", "sigmoid", True),  # another activation: Keras' own form
]


def _inputs(shape=(2, 9, 8, 5), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("kernel_size, strides, padding, activation, use_bias", CONVOLUTIONS)
def test_conv_matches_keras_conv2d(kernel_size, strides, padding, activation, use_bias):
    x = _inputs()
    args = dict(filters=6, kernel_size=kernel_size, strides=strides, padding=padding, activation=activation)
    reference = keras.layers.Conv2D(**args, use_bias=use_bias, bias_initializer="random_normal")
    fast = FastConv2D(**args, use_bias=use_bias)
    expected = to_numpy(reference(x))
    fast.build(x.shape)
    fast.set_weights(reference.get_weights())
    with autodiff.no_grad():  # torch's inference form (ReLU inside oneDNN's convolution on the CPU)
        np.testing.assert_allclose(to_numpy(fast(x)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(fast(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "layer, reference, pool_size, strides, padding",
    [
        (FastMaxPooling2D, keras.layers.MaxPooling2D, 3, 2, "valid"),
        (FastMaxPooling2D, keras.layers.MaxPooling2D, 3, 1, "same"),
        (FastAveragePooling2D, keras.layers.AveragePooling2D, 3, 1, "same"),
        (FastAveragePooling2D, keras.layers.AveragePooling2D, 2, 2, "same"),  # Keras' own form
    ],
)
def test_pools_match_keras_pools(layer, reference, pool_size, strides, padding):
    x = _inputs(seed=1)
    expected = to_numpy(reference(pool_size, strides=strides, padding=padding)(x))
    np.testing.assert_allclose(to_numpy(layer(pool_size, strides=strides, padding=padding)(x)), expected, rtol=1e-6)


def test_layer_harness():
    run_layer_test(
        FastConv2D,
        {"filters": 4, "kernel_size": (1, 3), "padding": "same", "activation": "relu"},
        input_shape=(2, 5, 6, 3),
        expected_output_shape=(2, 5, 6, 4),
        expected_num_trainable_weights=2,
    )
    run_layer_test(
        FastMaxPooling2D,
        {"pool_size": 3, "strides": 1, "padding": "same"},
        input_shape=(2, 5, 6, 3),
        expected_output_shape=(2, 5, 6, 3),
        expected_num_trainable_weights=0,
    )
