import cv2
import numpy as np
import pytest

from keras_nted.data import skeleton
from keras_nted.data.keypoints import deepfashion_to_pixels
from keras_nted.data.skeleton import face_center
from keras_nted.data.skeleton import render_skeleton

NUM_CASES = 12


@pytest.fixture(scope="module")
def official(fixtures_dir):
    return dict(np.load(fixtures_dir / "official_skeleton_s0.npz"))


def _case(official, i):
    new_h, new_w, crop_x, crop_y = (int(v) for v in official[f"param_{i}"])
    augmentation = None if new_h == -1 else (new_h, new_w, crop_x, crop_y)
    return official[f"kp_{i}"], tuple(int(v) for v in official[f"size_{i}"]), augmentation


def _random_keypoints(rng, missing=0.2, margin=60):
    """Deepfashion-frame keypoints, some outside the image, some missing."""
    kp = np.stack([rng.uniform(40 - margin, 216 + margin, 18), rng.uniform(-margin, 256 + margin, 18)], axis=1)
    kp[rng.random(18) < missing] = -1
    return kp


@pytest.mark.parametrize("i", range(NUM_CASES))
def test_matches_released_label_tensor(official, i):
    keypoints, size, augmentation = _case(official, i)
    pose = render_skeleton(keypoints, size, frame="deepfashion", augmentation=augmentation)
    assert pose.dtype == np.float32
    np.testing.assert_array_equal(pose, official[f"skeleton_{i}"].transpose(1, 2, 0))
    face = face_center(keypoints, size, frame="deepfashion", augmentation=augmentation)
    assert face.dtype == np.float32 and face.shape == (4,)
    np.testing.assert_array_equal(face, official[f"face_{i}"])


def test_fixture_cases_cover_augmentation_and_missing_points(official):
    cases = [_case(official, i) for i in range(NUM_CASES)]
    assert any(aug is not None for _, _, aug in cases)
    assert any(aug is None for _, _, aug in cases)
    assert any((kp == -1).any() for kp, _, _ in cases)


@pytest.mark.parametrize("i", [0, 2, 6])
def test_pixels_frame_agrees_with_deepfashion_frame(official, i):
    keypoints, size, _ = _case(official, i)
    pixels = deepfashion_to_pixels(keypoints, size)
    np.testing.assert_array_equal(
        render_skeleton(pixels, size, frame="pixels"), render_skeleton(keypoints, size, frame="deepfashion")
    )


def test_renders_into_out(official):
    keypoints, size, augmentation = _case(official, 3)
    out = np.zeros((4, *size, 20), dtype=np.float32)
    result = render_skeleton(keypoints, size, augmentation=augmentation, out=out[1])
    assert np.shares_memory(result, out)
    np.testing.assert_array_equal(out[1], official["skeleton_3"].transpose(1, 2, 0))
    assert not out[0].any() and not out[2].any()
    with pytest.raises(ValueError, match=r"out\.shape=\(64, 44, 20\)"):
        render_skeleton(keypoints, size, out=np.zeros((64, 44, 20), dtype=np.float32))
    with pytest.raises(ValueError, match="out.dtype=float64"):
        render_skeleton(keypoints, size, out=np.zeros((*size, 20)))


def test_pixels_frame_with_augmentation_scales_and_crops():
    keypoints = np.full((18, 2), -1.0)
    keypoints[14], keypoints[15] = (10.0, 12.0), (20.0, 13.5)
    face = face_center(keypoints, (64, 44), frame="pixels", augmentation=(128, 88, 3, 5))
    np.testing.assert_array_equal(face, [17.0, 19.0, 37.0, 22.0])


def test_missing_points_stay_missing_under_augmentation():
    keypoints = np.full((18, 2), -1.0)
    for frame in ("deepfashion", "pixels"):
        for augmentation in (None, (70, 48, 2, 3)):
            pose = render_skeleton(keypoints, (64, 44), frame=frame, augmentation=augmentation)
            assert not pose[..., :3].any()
            assert (pose[..., 3:] == 1.0).all()
            np.testing.assert_array_equal(face_center(keypoints, (64, 44), frame, augmentation), [-1] * 4)


def test_colours_and_distance_channels():
    keypoints = np.full((18, 2), -1.0)
    keypoints[0] = (40 + 20, 20)  # nose alone: a blue dot (the BGR quirk)
    keypoints[2], keypoints[3] = (40 + 88, 128), (40 + 40, 128)  # right shoulder - right elbow
    pose = render_skeleton(keypoints, (256, 176))
    assert pose.shape == (256, 176, 20)
    np.testing.assert_array_equal(pose[20, 20, :3], [0.0, 0.0, 1.0])
    limb = skeleton.LIMBS.index((2, 3))
    distance = pose[..., 3 + limb]
    assert distance[128, 64] == 0.0  # on the limb
    assert distance[128 - 4 - 30, 64] == pytest.approx(np.floor(30 / 3) / 255, abs=1 / 255)
    others = [c for c in range(17) if c != limb]
    assert (pose[..., 3:][..., others] == 1.0).all()
    assert 0.0 <= pose.min() and pose.max() <= 1.0


def test_bounding_box_blend_equals_full_canvas_blend(monkeypatch):
    rng = np.random.default_rng(0)
    cases = [(_random_keypoints(rng), size) for size in ((64, 44), (128, 88)) for _ in range(15)]
    fast = [render_skeleton(kp, size) for kp, size in cases]

    def full_canvas_blend(canvas, polygon, color):
        limb = canvas.copy()
        cv2.fillConvexPoly(limb, polygon, color)
        canvas[...] = cv2.addWeighted(canvas, 0.4, limb, 0.6, 0)

    monkeypatch.setattr(skeleton, "_blend_limb", full_canvas_blend)
    for (kp, size), expected in zip(cases, fast):
        np.testing.assert_array_equal(render_skeleton(kp, size), expected)


def test_distance_steps_saturate_like_the_release():
    keypoints = np.full((18, 2), -1.0)
    keypoints[1], keypoints[2] = (41.0, 1.0), (43.0, 2.0)  # a short limb in the top-left corner
    size = (900, 620)  # distances up to ~1500 px, past the 3 * 255 saturation point
    pose = render_skeleton(keypoints, size)
    points = deepfashion_to_pixels(keypoints, size)
    mask = np.full(size, 255, dtype=np.uint8)
    cv2.fillConvexPoly(mask, skeleton._limb_polygon(points[1], points[2]), 0)
    steps = np.clip(cv2.distanceTransform(mask, cv2.DIST_L1, 3) / 3, 0, 255).astype(np.uint8)
    limb = skeleton.LIMBS.index((1, 2))
    np.testing.assert_array_equal(pose[..., 3 + limb], steps.astype(np.float32) / np.float32(255))
    assert pose[-1, -1, 3 + limb] == 1.0


@pytest.mark.parametrize(
    "keypoints, match",
    [
        (np.zeros((17, 2)), r"keypoints\.shape=\(17, 2\)"),
        (np.zeros((18, 3)), r"keypoints\.shape=\(18, 3\)"),
        (np.zeros(36), r"keypoints\.shape=\(36,\)"),
    ],
)
def test_rejects_bad_shapes(keypoints, match):
    with pytest.raises(ValueError, match=match):
        render_skeleton(keypoints, (64, 44))


def test_rejects_nan_naming_the_argument():
    keypoints = np.zeros((18, 2))
    keypoints[15, 1] = np.nan
    with pytest.raises(ValueError, match=r"`keypoints`.*\[15\].*left_eye"):
        render_skeleton(keypoints, (64, 44))
    with pytest.raises(ValueError, match="keypoints"):
        face_center(keypoints, (64, 44))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frame": "pixel"}, "frame='pixel'"),
        ({"image_size": (64,)}, "image_size"),
        ({"image_size": (0, 44)}, "image_size"),
        ({"augmentation": (70, 48, 2)}, "augmentation"),
        ({"augmentation": (70, 48, -1, 0)}, "augmentation"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    arguments = {"keypoints": np.zeros((18, 2)), "image_size": (64, 44), **kwargs}
    with pytest.raises(ValueError, match=match):
        render_skeleton(**arguments)


def test_openpose_tables_have_one_home():
    """`data.skeleton` and `data.keypoints` re-export the leaf `utils.openpose` tables.

    (The in-graph renderer reads them from there.)
    """
    from keras_nted.data import keypoints
    from keras_nted.utils import openpose

    assert skeleton.KEYPOINT_COLORS is openpose.KEYPOINT_COLORS and skeleton.LIMBS is openpose.LIMBS
    assert keypoints.KEYPOINT_NAMES is openpose.KEYPOINT_NAMES
    assert skeleton.NUM_SKELETON_CHANNELS == 20 == 3 + len(openpose.LIMBS)
    assert len(openpose.KEYPOINT_NAMES) == len(openpose.KEYPOINT_COLORS) == openpose.NUM_KEYPOINTS == 18
