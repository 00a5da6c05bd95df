"""Direct appearance control: interpolating, blending and swapping given textures."""

import numpy as np
import pytest
from keras import ops

from keras_nted.appearance import blend_textures
from keras_nted.appearance import interpolate_textures
from keras_nted.appearance import swap_coefficients
from keras_nted.appearance import swap_textures


def test_interpolation_is_eq_13_with_shared_and_per_sample_coefficients():
    rng = np.random.default_rng(0)
    t_r = [rng.normal(size=(2, 4, 8)).astype("float32"), rng.normal(size=(2, 3, 5)).astype("float32")]
    t_g = [rng.normal(size=(2, 4, 8)).astype("float32"), rng.normal(size=(2, 3, 5)).astype("float32")]
    shared = np.array([0.0, 1.0, 0.25, -0.5], "float32")  # unconstrained: -0.5 extrapolates
    per_sample = rng.uniform(size=(2, 3, 1)).astype("float32")
    out = [ops.convert_to_numpy(t) for t in interpolate_textures(t_r, t_g, [shared, per_sample])]
    np.testing.assert_allclose(out[0], t_r[0] + (t_g[0] - t_r[0]) * shared[None, :, None], atol=1e-6)
    np.testing.assert_allclose(out[1], t_r[1] + (t_g[1] - t_r[1]) * per_sample, atol=1e-6)
    scalar = ops.convert_to_numpy(interpolate_textures(t_r[:1], t_g[:1], [0.5])[0])
    np.testing.assert_allclose(scalar, (t_r[0] + t_g[0]) / 2, atol=1e-6)


def test_interpolation_errors():
    t = [np.zeros((1, 4, 8), "float32")]
    with pytest.raises(ValueError, match="one coefficient entry per NTED index"):
        interpolate_textures(t, t, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"Expected coefficients\[0\].*\(4,\) vector.*Received: shape=\(1, 3, 1\)"):
        interpolate_textures(t, t, [[1.0, 0.0, 1.0]])


def test_swap_coefficients():
    m = swap_coefficients([4, 3], {1: [0, 2]})
    np.testing.assert_array_equal(m[0], [0, 0, 0, 0])
    np.testing.assert_array_equal(m[1], [1, 0, 1])
    np.testing.assert_array_equal(swap_coefficients([4, 3], [[3], []])[0], [0, 0, 0, 1])
    with pytest.raises(ValueError, match=r"texture indices in \[0, 3\) for NTED index 1"):
        swap_coefficients([4, 3], [[], [3]])
    with pytest.raises(ValueError, match=r"NTED indices in \[0, 2\)"):
        swap_coefficients([4, 3], {2: [0]})
    with pytest.raises(ValueError, match="one list of texture indices per NTED index"):
        swap_coefficients([4, 3], [[0]])


def test_swap_equals_blend_with_one_hot_coefficients(shipped_parts, pair):
    args = (shipped_parts, pair["person"], pair["garment"], pair["skeleton"])
    swapped = swap_textures(*args, {0: [10], 1: [4], 2: [3], 3: [3]})["image"]
    coefficients = [np.eye(16, dtype="float32")[j] for j in (10, 4, 3, 3)]
    np.testing.assert_allclose(swapped, blend_textures(*args, coefficients)["image"], atol=1e-6)
    person = blend_textures(*args, [0.0] * 4)["image"]
    assert np.abs(swapped - person).max() > 0.1  # those textures carry the person's appearance
