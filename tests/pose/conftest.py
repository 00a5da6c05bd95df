"""Pose estimation tests: numpy and LiteRT only, so they run in one backend pass.

The model files come the way a user gets them: `obtain_model_files()` (pip downloads the
mediapipe 0.10.21 wheel once into the Keras cache, or finds the files already there).
"""

import keras
import pytest

RUNS_ON = "tensorflow"


def pytest_collection_modifyitems(config, items):
    if keras.backend.backend() == RUNS_ON:
        return
    skip = pytest.mark.skip(reason=f"backend-independent numpy/LiteRT code: runs once, in the {RUNS_ON} pass")
    for item in items:
        if "tests/pose/" in item.nodeid.replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def model_dir():
    from keras_nted.pose.model_files import DETECTOR
    from keras_nted.pose.model_files import obtain_model_files

    return obtain_model_files()[DETECTOR].parent


@pytest.fixture(scope="session")
def estimator(model_dir):
    from keras_nted.pose import PoseEstimator

    return PoseEstimator(model_dir)


@pytest.fixture(scope="session")
def mannequin():
    """A 512x352 mannequin render (seed 1, front view) and its ground-truth keypoints."""
    from keras_nted.data import make_identity
    from keras_nted.data import make_pose
    from keras_nted.data import render

    pose = make_pose(1, (512, 352))
    return render(make_identity(1), pose)[0], pose.keypoints.astype("float64")
