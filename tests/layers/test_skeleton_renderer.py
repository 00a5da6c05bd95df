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


def _levels(pose):
    return np.rint(np.asarray(pose) * 255).astype("uint8")


def _random_poses(count, size, seed):
    """Poses over and around the image: missing points, off-image and zero-length limbs."""
    rng = np.random.default_rng(seed)
    height, width = size
    x = rng.uniform(-0.3 * width, 1.3 * width, (count, 18))
    y = rng.uniform(-0.3 * height, 1.3 * height, (count, 18))
    keypoints = np.stack([x, y], axis=-1).astype("float32")
    keypoints[rng.random((count, 18)) < 0.15] = -1.0
    same = rng.random(count) < 0.2
    keypoints[same, 5] = keypoints[same, 1]  # limb 1 (neck, left shoulder) of length zero
    keypoints[: count // 2] = np.round(keypoints[: count // 2])  # whole pixels: ties and exact angles
    return keypoints


def test_equals_the_released_maps(fixture_maps):
    assert len(fixture_maps) == NUM_CASES
    for _, released, ours in fixture_maps:
        np.testing.assert_array_equal(_levels(ours), _levels(released))


@pytest.mark.parametrize("size, count", [((64, 44), 200), ((256, 176), 8)])
def test_equals_opencv_on_random_poses(size, count):
    keypoints = _random_poses(count, size, seed=size[0])
    ours = _levels(_render(keypoints, size))
    for k, mine in zip(keypoints, ours):
        np.testing.assert_array_equal(mine, _levels(render_skeleton(k, size, frame="pixels")))


def test_missing_points_and_off_image_limbs():
    keypoints = np.stack([make_pose(seed, (64, 44)).keypoints for seed in range(3)])
    # Neck and nose far outside the image: limb 12 (neck, nose) has no pixel in the image, and
    # its distance map is 1.0 as for a missing limb (the release's FLT_MAX clipped to 255).
    keypoints[2, 1], keypoints[2, 0] = (-200.0, -300.0), (-150.0, -250.0)
    keypoints[1, 3] = -1.0
    ours = _render(keypoints, (64, 44))
    for k, mine in zip(keypoints, ours):
        np.testing.assert_array_equal(_levels(mine), _levels(render_skeleton(k, (64, 44), frame="pixels")))
    np.testing.assert_array_equal(ours[2, ..., 3 + 12], 1.0)
    np.testing.assert_array_equal(ours[1, ..., 3 + 2], 1.0)  # limb 2 (right shoulder, elbow): elbow missing


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
