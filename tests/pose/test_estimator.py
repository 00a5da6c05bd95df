"""`PoseEstimator` on awkward input: nobody, several people, tiny and huge images, odd arrays."""

import cv2
import numpy as np
import pytest

from keras_nted.evaluation.pose import torso_length
from keras_nted.pose import PoseEstimator
from keras_nted.pose.estimator import MAX_WORKING_SIDE


def test_one_person_close_to_the_ground_truth(estimator, mannequin):
    image, truth = mannequin
    people = estimator(image)
    assert len(people) == 1
    present = (truth[:, 0] != -1) & (people[0].keypoints[:, 0] != -1)
    assert present.sum() >= 14
    error = np.linalg.norm(people[0].keypoints[present] - truth[present], axis=1) / torso_length(truth)
    assert np.median(error) < 0.1


def test_nobody(estimator):
    assert estimator(np.full((400, 300, 3), 200, np.uint8)) == []


def test_two_people_most_confident_first(estimator, mannequin, model_dir):
    from keras_nted.data import make_identity
    from keras_nted.data import make_pose
    from keras_nted.data import render

    image, _ = mannequin
    other = render(make_identity(2), make_pose(2, (512, 352)))[0]
    people = estimator(np.concatenate([image, other], axis=1))
    assert len(people) == 2
    assert people[0].detection.score >= people[1].detection.score
    hips = sorted(p.keypoints[[8, 11], 0].mean() for p in people)
    assert hips[0] < 352 < hips[1]  # one person on each side
    assert len(PoseEstimator(model_dir, max_people=1)(np.concatenate([image, other], axis=1))) == 1


def test_huge_image_is_shrunk_and_keypoints_come_back_in_its_pixels(estimator, mannequin):
    image, truth = mannequin
    huge = cv2.resize(image, (352 * 8, 512 * 8), interpolation=cv2.INTER_LINEAR)
    assert max(huge.shape) > MAX_WORKING_SIDE
    small, large = estimator(image)[0], estimator(huge)[0]
    both = (small.keypoints[:, 0] != -1) & (large.keypoints[:, 0] != -1)
    assert both.sum() >= 14
    error = np.linalg.norm(large.keypoints[both] / 8 - small.keypoints[both], axis=1) / torso_length(truth)
    assert np.median(error) < 0.03


def test_small_and_tiny_images(estimator, mannequin):
    image, _ = mannequin
    small = cv2.resize(image, (44, 64), interpolation=cv2.INTER_AREA)
    assert isinstance(estimator(small), list)  # small, but searched: a person or nobody, no error
    with pytest.raises(ValueError, match="at least 32 pixels on its long side.*20x24"):
        estimator(np.zeros((24, 20, 3), np.uint8))


def _keypoints(people):
    return [p.keypoints for p in people]


def test_greyscale_and_alpha_are_accepted_odd_arrays_are_not(estimator, mannequin, model_dir):
    image, _ = mannequin
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(_keypoints(estimator(grey)), _keypoints(estimator(np.stack([grey] * 3, -1))))
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], -1)
    np.testing.assert_array_equal(_keypoints(estimator(rgba)), _keypoints(estimator(image)))
    with pytest.raises(ValueError, match="uint8 array"):
        estimator(image.astype("float32"))
    with pytest.raises(ValueError, match="max_people"):
        PoseEstimator(model_dir, max_people=0)
