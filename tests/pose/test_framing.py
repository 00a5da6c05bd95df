"""Framing a photo around its person: the model's aspect, keypoints following, padding outside."""

import numpy as np
import pytest

from keras_nted.pose.framing import MODEL_ASPECT
from keras_nted.pose.framing import frame_person
from keras_nted.pose.framing import framing_box


def _standing(x=100.0, top=40.0):
    keypoints = np.full((18, 2), -1.0)
    keypoints[0] = (x, top)  # nose
    keypoints[1] = (x, top + 30)  # neck
    keypoints[8], keypoints[11] = (x - 10, top + 100), (x + 10, top + 100)  # hips
    keypoints[10], keypoints[13] = (x - 10, top + 200), (x + 10, top + 200)  # ankles
    return keypoints


def test_window_has_the_models_aspect_and_holds_the_person():
    keypoints = _standing()
    left, top, right, bottom = framing_box(keypoints)
    assert (right - left) / (bottom - top) == pytest.approx(MODEL_ASPECT, abs=1 / (bottom - top))
    present = keypoints[:, 0] != -1
    assert np.all(keypoints[present] > (left, top)) and np.all(keypoints[present] < (right, bottom))
    # The person spans most of the height, centred.
    assert 0.7 < 200 / (bottom - top) < 0.9
    assert abs((left + right) / 2 - 100) <= 1


def test_wide_pose_widens_the_window():
    keypoints = _standing()
    keypoints[4], keypoints[7] = (-60.0 + 100, 70.0), (260.0, 70.0)  # arms spread 220 px apart
    left, top, right, bottom = framing_box(keypoints)
    assert right - left > 220 and (right - left) / (bottom - top) == pytest.approx(MODEL_ASPECT, abs=0.01)


def test_pixels_and_keypoints_follow_and_outside_is_padded():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (240, 400, 3), dtype=np.uint8)
    image[0], image[-1], image[:, 0], image[:, -1] = 10, 10, 10, 10  # the border's colour
    keypoints = _standing(x=380.0, top=20.0)  # near the right edge: the window reaches outside
    framing = frame_person(image, keypoints)
    left, top, right, bottom = framing.box
    assert framing.image.shape == (bottom - top, right - left, 3) and right > 400
    present = keypoints[:, 0] != -1
    np.testing.assert_array_equal(framing.keypoints[present], keypoints[present] - (left, top))
    assert np.all(framing.keypoints[~present] == -1)
    x, y = (keypoints[1] - (left, top)).astype(int)
    np.testing.assert_array_equal(framing.image[y, x], image[int(keypoints[1, 1]), int(keypoints[1, 0])])
    assert np.all(framing.image[:, 400 - left :] == 10)  # right of the photo: the border's mean colour


def test_too_few_keypoints():
    keypoints = np.full((18, 2), -1.0)
    keypoints[0] = (5, 5)
    with pytest.raises(ValueError, match="at least two keypoints"):
        frame_person(np.zeros((10, 10, 3), np.uint8), keypoints)
