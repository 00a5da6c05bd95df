"""MinibatchStdDev against a numpy loop over the released group layout."""

import keras
import numpy as np
import pytest

from keras_nted.layers import MinibatchStdDev
from tests.layers.harness import run_layer_test


def minibatch_std_reference(x, group_size):
    """Sample n is grouped with n % M, n % M + M, ... (M = batch // G) and gets that group's std."""
    batch = x.shape[0]
    group = min(batch, group_size)
    columns = batch // group
    out = np.empty((batch, *x.shape[1:3], 1))
    for n in range(batch):
        members = x[[g * columns + n % columns for g in range(group)]].astype("float64")
        std = np.sqrt(members.var(axis=0) + 1e-8)  # biased variance over the group
        out[n] = std.mean()
    return np.concatenate([x, out], axis=-1)


@pytest.mark.parametrize("batch", [1, 2, 4, 8])
def test_minibatch_std_equals_numpy(batch):
    x = np.random.default_rng(batch).normal(size=(batch, 3, 2, 5)).astype("float32")
    out = keras.ops.convert_to_numpy(MinibatchStdDev(group_size=4)(x))
    assert out.shape == (batch, 3, 2, 6)
    np.testing.assert_allclose(out, minibatch_std_reference(x, 4), atol=1e-6, rtol=1e-5)


def test_group_layout_is_strided_not_contiguous():
    # Batch 8, groups of 4: samples {0, 2, 4, 6} and {1, 3, 5, 7}. Make only the odd ones vary.
    x = np.zeros((8, 1, 1, 1), "float32")
    x[1::2, 0, 0, 0] = [1.0, -1.0, 1.0, -1.0]
    std = keras.ops.convert_to_numpy(MinibatchStdDev(group_size=4)(x))[:, 0, 0, 1]
    np.testing.assert_allclose(std[0::2], 1e-4, rtol=1e-3)
    np.testing.assert_allclose(std[1::2], 1.0, rtol=1e-6)


def test_batch_not_divisible_by_group_raises():
    with pytest.raises(ValueError, match="batch=6"):
        MinibatchStdDev(group_size=4)(np.zeros((6, 2, 2, 3), "float32"))


@pytest.mark.parametrize("group_size", [0, 2.0, None])
def test_invalid_group_size_raises(group_size):
    with pytest.raises(ValueError):
        MinibatchStdDev(group_size=group_size)


def test_layer_harness():
    run_layer_test(
        MinibatchStdDev,
        {"group_size": 2},
        input_shape=(4, 3, 2, 5),
        expected_output_shape=(4, 3, 2, 6),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )
