import json

import numpy as np
import pytest

from keras_nted.data import keypoints as kp_io


def _keypoints(seed=0):
    rng = np.random.default_rng(seed)
    kp = np.stack([rng.uniform(40, 216, 18), rng.uniform(0, 256, 18)], axis=1)
    kp[[3, 9]] = -1
    return kp


def test_pose_file_round_trip_is_exact_and_loadtxt_compatible(tmp_path):
    keypoints = _keypoints()
    path = tmp_path / "pose" / "a" / "b.txt"
    kp_io.write_pose_file(path, keypoints)
    read = kp_io.read_pose_file(path)
    assert read.dtype == np.float64
    np.testing.assert_array_equal(read, keypoints)
    np.testing.assert_array_equal(np.loadtxt(path), keypoints)


def test_reads_integer_pose_files(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("\n".join(["128 64"] * 17 + ["-1 -1"]) + "\n")
    read = kp_io.read_pose_file(path)
    assert read[0].tolist() == [128.0, 64.0] and read[17].tolist() == [-1.0, -1.0]


@pytest.mark.parametrize(
    "text, match",
    [
        ("1 2\n" * 17, r"18 rows.*\(17, 2\)"),
        ("1 2 3\n" * 18, r"\(18, 3\)"),
        ("1 2\n" * 17 + "nan 2\n", r"NaN.*\[17\].*left_ear"),
        ("1 2\n" * 17 + "x y\n", "not a table of numbers"),
        ("", "is empty"),
    ],
)
def test_bad_pose_files_are_named(tmp_path, text, match):
    path = tmp_path / "bad_pose.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        kp_io.read_pose_file(path)
    assert str(path) in str(info.value)


def test_missing_pose_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        kp_io.read_pose_file(tmp_path / "nope.txt")


def test_write_pose_file_validates(tmp_path):
    with pytest.raises(ValueError, match=r"keypoints\.shape=\(17, 2\)"):
        kp_io.write_pose_file(tmp_path / "p.txt", np.zeros((17, 2)))


def test_openpose_json_round_trip_and_missing_points(tmp_path):
    keypoints = _keypoints(1)
    path = tmp_path / "x_keypoints.json"
    kp_io.write_openpose_json(path, keypoints)
    np.testing.assert_array_equal(kp_io.read_openpose_json(path), keypoints)


def test_openpose_json_person_choice_and_zero_confidence(tmp_path):
    first = np.arange(54, dtype=float) + 1
    first[2::3] = 0.9
    first[3 * 5 + 2] = 0.0  # left shoulder not detected
    second = np.full(54, 7.0)
    path = tmp_path / "img_keypoints.json"
    path.write_text(
        json.dumps(
            {
                "version": 1.3,
                "people": [{"pose_keypoints_2d": first.tolist()}, {"pose_keypoints_2d": second.tolist()}],
            }
        )
    )
    # Default: the person with the most confident keypoints (here the second, 18 x 7.0 > 17 x 0.9).
    np.testing.assert_array_equal(kp_io.read_openpose_json(path), np.full((18, 2), 7.0))
    read = kp_io.read_openpose_json(path, person=0)
    assert read.shape == (18, 2)
    np.testing.assert_array_equal(read[0], [1.0, 2.0])
    np.testing.assert_array_equal(read[5], [-1.0, -1.0])
    np.testing.assert_array_equal(kp_io.read_openpose_json(path, person=1), np.full((18, 2), 7.0))


@pytest.mark.parametrize(
    "content, match",
    [
        ({"people": [{"pose_keypoints_2d": [1.0] * 75}]}, "75 values.*BODY_25"),
        ({"people": []}, "0 people"),
        ({"persons": []}, "not an OpenPose"),
        ("{not json", "not an OpenPose"),
    ],
)
def test_bad_openpose_json_is_named(tmp_path, content, match):
    path = tmp_path / "bad_keypoints.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ValueError, match=match) as info:
        kp_io.read_openpose_json(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("size", [(256, 176), (512, 352), (128, 88), (1101, 750)])
def test_frame_conversions_are_inverse_and_keep_missing_points(size):
    keypoints = _keypoints(2)
    pixels = kp_io.deepfashion_to_pixels(keypoints, size)
    assert (pixels[[3, 9]] == -1).all()
    np.testing.assert_allclose(kp_io.pixels_to_deepfashion(pixels, size), keypoints, rtol=0, atol=1e-9)


def test_deepfashion_frame_geometry():
    keypoints = np.full((18, 2), -1.0)
    keypoints[0] = (40.0, 0.0)  # top-left corner of the person image
    keypoints[1] = (216.0, 256.0)  # bottom-right corner
    np.testing.assert_array_equal(kp_io.deepfashion_to_pixels(keypoints, (512, 352))[:2], [[0, 0], [352, 512]])
    augmented = kp_io.to_pixels(keypoints, (256, 176), frame="deepfashion", augmentation=(512, 352, 10, 20))
    np.testing.assert_array_equal(augmented[:2], [[-10, -20], [342, 492]])
    assert (augmented[2:] == -1).all()


def test_to_pixels_requires_an_explicit_frame():
    with pytest.raises(TypeError):
        kp_io.to_pixels(np.zeros((18, 2)), (64, 44))
    with pytest.raises(ValueError, match="frame='image'"):
        kp_io.to_pixels(np.zeros((18, 2)), (64, 44), frame="image")


def test_openpose_keypoints_2d_writes_missing_points_as_zeros_and_rounds_on_request():
    keypoints = np.array([[10.12345, 20.98765], [kp_io.MISSING, 5.0], [3.0, kp_io.MISSING]])
    confidence = np.array([0.876543, 0.9, 0.8])
    assert kp_io.openpose_keypoints_2d(keypoints, confidence) == [10.12345, 20.98765, 0.876543] + [0.0] * 6
    assert kp_io.openpose_keypoints_2d(keypoints, confidence, (3, 4)) == [10.123, 20.988, 0.8765] + [0.0] * 6


def test_rescale_pixel_keypoints_keeps_missing_points():
    keypoints = np.arange(36, dtype="float64").reshape(18, 2) + 1.0
    keypoints[3] = -1
    keypoints[4, 0] = -1
    out = kp_io.rescale_pixel_keypoints(keypoints, (64, 44), (128, 88))
    np.testing.assert_array_equal(out, np.where(keypoints == -1, -1, keypoints * 0.5))
    taller = kp_io.rescale_pixel_keypoints(keypoints, (64, 88), (128, 88))  # only y changes
    np.testing.assert_array_equal(taller[5], [keypoints[5, 0], keypoints[5, 1] / 2])


def test_read_keypoints_reads_every_pose_file_type_alike(tmp_path):
    """`.txt` (deepfashion frame), OpenPose `.json` and `.npy` (pixels), each file type with its default frame."""
    keypoints = _keypoints()
    kp_io.write_pose_file(tmp_path / "a.txt", keypoints)
    kp_io.write_openpose_json(tmp_path / "a_keypoints.json", keypoints)
    np.save(tmp_path / "a.npy", keypoints)
    for name, frame in (("a.txt", "deepfashion"), ("a_keypoints.json", "pixels"), ("a.npy", "pixels")):
        np.testing.assert_allclose(kp_io.read_keypoints(tmp_path / name), keypoints, atol=1e-3)
        assert kp_io.default_pose_frame(tmp_path / name) == frame
    with pytest.raises(ValueError, match="Expected a pose file ending in"):
        kp_io.read_keypoints(tmp_path / "a.png")
    with pytest.raises(FileNotFoundError, match="Pose file not found"):
        kp_io.read_keypoints(tmp_path / "missing.npy")
