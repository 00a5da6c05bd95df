"""BlazePose's two networks as Keras functional models, weights read from the `.tflite` files.

The same two files `keras-nted pose --get-models` obtains (`model_files`), rebuilt operator by
operator (`tflite_model`): the models run on TensorFlow, JAX and PyTorch, take any batch size
and can be saved or exported with the rest of a Keras graph; LiteRT is not needed.
"""

from keras_nted.pose.model_files import DETECTOR
from keras_nted.pose.model_files import LANDMARKS
from keras_nted.pose.model_files import find_model_files
from keras_nted.pose.tflite_model import model_from_tflite

DETECTOR_OUTPUTS = ("boxes", "scores")
LANDMARK_OUTPUTS = ("landmarks", "presence", "segmentation", "heatmap", "world_landmarks")


def detector_network(model_dir=None):
    """The person detector, `pose_detection.tflite`, as a Keras model.

    Args:
        model_dir: the folder holding the two model files (default: the Keras cache, see
            `model_files.default_model_dir`).

    Returns:
        A `keras.Model` from `(batch, 224, 224, 3)` (a letterboxed photo, values in [-1, 1]) to
        `[boxes, scores]`: `(batch, 2254, 12)` per-anchor box and keypoint offsets in input
        pixels, and `(batch, 2254, 1)` score logits (see `detector`).

    Raises:
        FileNotFoundError: when the files are missing, saying how to obtain them.
    """
    return model_from_tflite(find_model_files(model_dir)[DETECTOR], name="blazepose_detector")


def landmark_network(model_dir=None):
    """The landmark network, `pose_landmark_full.tflite`, as a Keras model.

    Args:
        model_dir: as for `detector_network`.

    Returns:
        A `keras.Model` from `(batch, 256, 256, 3)` (an upright region, values in [0, 1]) to
        `[landmarks, presence, segmentation, heatmap, world_landmarks]`: `(batch, 195)` 39
        points `(x, y, z, visibility, presence)` in input pixels and logits, `(batch, 1)` the
        pose-presence score, `(batch, 256, 256, 1)` segmentation logits, `(batch, 64, 64, 39)`
        heatmaps and `(batch, 117)` 39 points in metres (see `landmarks`).

    Raises:
        FileNotFoundError: when the files are missing, saying how to obtain them.
    """
    return model_from_tflite(find_model_files(model_dir)[LANDMARKS], name="blazepose_landmarks")
