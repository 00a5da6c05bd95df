"""BlazePose as Keras models: these tests run on every backend (unlike tests/pose, which runs
its numpy/LiteRT code once, in the TensorFlow pass).

The model files come as in tests/pose: `obtain_model_files()` finds them in the Keras cache or
has pip download the mediapipe 0.10.21 wheel once (CI does so on its first run). Only where
that download is impossible (offline, nothing cached) do the tests that need the files skip,
saying so.
"""

import pytest


@pytest.fixture(scope="session")
def model_paths():
    from keras_nted.pose.model_files import obtain_model_files

    try:
        return obtain_model_files()
    except OSError as error:
        pytest.skip(
            f"the BlazePose model files are missing and could not be downloaded ({error}); "
            "run `keras-nted pose --get-models`"
        )


@pytest.fixture(scope="session")
def photos():
    """Two mannequin renders (512x352, seeds 1 and 2): realistic inputs for the networks."""
    from keras_nted.data import make_identity
    from keras_nted.data import make_pose
    from keras_nted.data import render

    return [render(make_identity(seed), make_pose(seed, (512, 352)))[0] for seed in (1, 2)]
