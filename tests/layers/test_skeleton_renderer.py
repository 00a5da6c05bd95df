"""SkeletonRenderer: the in-graph pose map agrees with the OpenCV rendering (render_skeleton)."""

import keras
import numpy as np
import pytest

from keras_nted.data import make_pose
from keras_nted.data import render_skeleton
from keras_nted.data import to_pixels
from keras_nted.layers import SkeletonRenderer
from tests.layers.harness import run_layer_test

NUM_CASES = 12
# Mean absolute difference per channel to OpenCV's map, per fixture case (measured: at most
# 0.0033, on a colour channel; the distance channels at most 0.0011).
TOLERANCE = 0.005


def _render(keypoints, size):
    """The renderer run compiled (inside a model): an eager JAX call compiles op by op."""
    model = keras.Sequential([keras.Input((18, 2)), SkeletonRenderer(*size)])
    return np.asarray(model.predict_on_batch(np.asarray(keypoints, "float32")))


@pytest.fixture(scope="module")
def fixture_maps(fixtures_dir):
    """The 12 released cases as (pixel keypoints, released map, in-graph map), by image size."""
    official = np.load(fixtures_dir / "official_skeleton_s0.npz")
    by_size = {}
    for i in range(NUM_CASES):
        new_h, new_w, crop_x, crop_y = (int(v) for v in official[f"param_{i}"])
        augmentation = None if new_h == -1 else (new_h, new_w, crop_x, crop_y)
        size = tuple(int(v) for v in official[f"size_{i}"])
        # The renderer takes output pixel coordinates: the release's transform is to_pixels.
        pixels = to_pixels(official[f"kp_{i}"], size, frame="deepfashion", augmentation=augmentation)
        by_size.setdefault(size, []).append((pixels, official[f"skeleton_{i}"].transpose(1, 2, 0)))
    cases = []
    for size, items in by_size.items():
        rendered = _render(np.stack([k for k, _ in items]), size)  # one batch per size
        cases += [(keypoints, released, ours) for (keypoints, released), ours in zip(items, rendered)]
    return cases


def test_agrees_with_the_released_maps_on_every_channel(fixture_maps):
    assert len(fixture_maps) == NUM_CASES
    differences = np.stack([np.abs(ours - released).mean(axis=(0, 1)) for _, released, ours in fixture_maps])
    assert differences.shape == (NUM_CASES, 20)
    assert differences.max() < TOLERANCE, np.round(differences.max(axis=0), 5)
    for _, released, ours in fixture_maps:
        levels = np.abs(np.rint(ours * 255) - np.rint(released * 255))
        # Colour: all but boundary pixels exact (measured: at least 99.2% of the values).
        assert np.mean(levels[..., :3] == 0) > 0.99
        # Distances: never more than one 3-pixel step apart (about 5% of the values are one step).
        assert levels[..., 3:].max() <= 1


def test_missing_points_and_limbs_as_released(fixture_maps):
    """Missing limbs give the constant 1.0 distance map; missing keypoints draw nothing."""
    for keypoints, released, ours in fixture_maps:
        present = np.all(keypoints != -1, axis=1)
        for channel in range(3, 20):
            if np.all(released[..., channel] == 1.0):
                np.testing.assert_array_equal(ours[..., channel], 1.0)
        if not present.any():
            np.testing.assert_array_equal(ours[..., :3], 0.0)
    assert any(not np.all(k != -1) for k, _, _ in fixture_maps), "the fixture has missing points"


def test_mannequin_poses_and_off_image_limbs():
    keypoints = np.stack([make_pose(seed, (64, 44)).keypoints for seed in range(6)])
    # Neck and nose far outside the image: limb 12 (neck, nose) has no pixel in the image, and
    # its distance map is 1.0 as for a missing limb (the release's FLT_MAX clipped to 255).
    keypoints[5, 1], keypoints[5, 0] = (-200.0, -300.0), (-150.0, -250.0)
    ours = _render(keypoints, (64, 44))
    for k, mine in zip(keypoints, ours):
        released = render_skeleton(k, (64, 44), frame="pixels")
        assert np.abs(mine - released).mean(axis=(0, 1)).max() < TOLERANCE
    np.testing.assert_array_equal(ours[5, ..., 3 + 12], 1.0)
    np.testing.assert_array_equal(render_skeleton(keypoints[5], (64, 44), frame="pixels")[..., 3 + 12], 1.0)
    assert ours.shape == (6, 64, 44, 20) and ours.min() >= 0.0 and ours.max() <= 1.0


def test_layer_harness():
    keypoints = np.stack([make_pose(seed, (16, 11)).keypoints for seed in range(2)])
    run_layer_test(
        SkeletonRenderer,
        {"height": 16, "width": 11},
        input_data=keypoints,
        expected_output_shape=(2, 16, 11, 20),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_check=False,  # no weights, and a pose map has no gradient to train through
    )


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"Expected `height` to be a positive integer. Received: height=0"):
        SkeletonRenderer(0, 44)
    with pytest.raises(ValueError, match=r"Expected `width` to be a positive integer. Received: width=4.5"):
        SkeletonRenderer(64, 4.5)
    with pytest.raises(ValueError, match=r"Expected `keypoints` of shape \(batch, 18, 2\).*\(2, 17, 2\)"):
        SkeletonRenderer(64, 44)(np.zeros((2, 17, 2), "float32"))
