"""ScaledAdd: the `(a + b) / sqrt(2)` merges of the released generator and discriminator."""

import math

import keras
import numpy as np

from keras_nted.layers import ScaledAdd
from tests.layers.harness import run_layer_test


def test_scaled_add_equals_numpy():
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(2, 3, 4)).astype("float32") for _ in range(3))
    out = ScaledAdd(1 / math.sqrt(2))([a, b])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), (a + b) / math.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ScaledAdd()([a, b, c])), a + b + c, rtol=1e-6)
    assert ScaledAdd(0.5).compute_output_shape([(None, 3, 4), (None, 3, 4)]) == (None, 3, 4)


def test_layer_harness():
    run_layer_test(
        ScaledAdd,
        {"scale": 0.5},
        # A tuple: on TensorFlow keras' training check cannot feed a list of inputs (tf.data).
        input_shape=((2, 3, 4), (2, 3, 4)),
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )
