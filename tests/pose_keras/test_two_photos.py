"""`PoseTransfer.predict_from_photos` (in-graph, every backend) vs `pose.repose` (LiteRT and numpy)."""

import pathlib

import numpy as np
import pytest

from keras_nted.pose.model_files import DETECTOR

MODEL = pathlib.Path(__file__).resolve().parents[2] / "saved_models" / "nted_mannequin_64.keras"


@pytest.fixture(scope="module")
def setup(model_paths):
    from keras_nted.evaluation.pose import pose_test_set
    from keras_nted.models import PoseTransfer
    from keras_nted.pose import pose_pipeline

    items = pose_test_set(num_renders=3, num_photo_like=0)  # renders 1 and 2 have a person each
    return PoseTransfer.from_preset(MODEL), pose_pipeline(model_paths[DETECTOR].parent), items[1].image, items[2].image


def test_predict_from_photos_matches_the_litert_path(setup, model_paths):
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose.photos import repose

    task, pose_model, reference, pose = setup
    image, keypoints = task.predict_from_photos(reference, pose, pose_model)
    assert image.shape == (64, 44, 3) and image.dtype == np.uint8 and keypoints.shape == (18, 2)
    expected = repose(task, reference, pose, PoseEstimator(model_paths[DETECTOR].parent))
    difference = np.abs(image.astype(int) - expected)
    # The skeleton: SkeletonRenderer here, OpenCV there (a few boundary pixels per limb).
    assert difference.mean() < 0.5, difference.mean()
    assert (difference > 1).mean() < 0.05


def test_predict_from_photos_without_a_person(setup):
    task, pose_model, reference, pose = setup
    with pytest.raises(ValueError, match="No person found in the pose photo"):
        task.predict_from_photos(reference, np.full_like(pose, 200), pose_model)
    with pytest.raises(ValueError, match="Expected reference_photo as uint8"):
        task.predict_from_photos(reference.astype("float32"), pose, pose_model)
