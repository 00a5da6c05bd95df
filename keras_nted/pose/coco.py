"""BlazePose's 33 landmarks -> OpenPose COCO-18 keypoints, the order the released NTED reads.

BlazePose (0 nose, 2/5 left/right eye, 7/8 ears, 11/12 shoulders, 13/14 elbows, 15/16 wrists,
23/24 hips, 25/26 knees, 27/28 ankles, left before right) names sides from the person's own
point of view, as OpenPose does. The neck, which BlazePose lacks, is the midpoint of the
shoulders. A point is missing (`-1`) when the network's visibility for it is below
`MIN_VISIBILITY` (for the neck: either shoulder's), or when it lies outside the image.
"""

import numpy as np

from keras_nted.utils.openpose import KEYPOINT_NAMES
from keras_nted.utils.openpose import MISSING

MIN_VISIBILITY = 0.5
# COCO-18 name -> BlazePose landmark index (the neck is derived from the shoulders).
BLAZEPOSE_INDEX = {
    "nose": 0,
    "right_shoulder": 12,
    "right_elbow": 14,
    "right_wrist": 16,
    "left_shoulder": 11,
    "left_elbow": 13,
    "left_wrist": 15,
    "right_hip": 24,
    "right_knee": 26,
    "right_ankle": 28,
    "left_hip": 23,
    "left_knee": 25,
    "left_ankle": 27,
    "right_eye": 5,
    "left_eye": 2,
    "right_ear": 8,
    "left_ear": 7,
}
_NECK = KEYPOINT_NAMES.index("neck")
_SHOULDERS = (BLAZEPOSE_INDEX["right_shoulder"], BLAZEPOSE_INDEX["left_shoulder"])


def to_coco18(points, visibility, image_size, min_visibility=MIN_VISIBILITY):
    """COCO-18 keypoints and confidences from 33 BlazePose landmarks.

    Args:
        points: `(33, 2)` `(x, y)` pixels.
        visibility: `(33,)` in [0, 1].
        image_size: `(height, width)` of the photo: points outside it are missing.
        min_visibility: points less visible than this are missing.

    Returns:
        `(keypoints, confidence)`: `(18, 2)` float64 pixels with `-1` for missing points, and
        `(18,)` confidences (the visibility; the neck's is the smaller shoulder's), 0 where missing.

    Example:

    >>> kp, c = to_coco18(np.full((33, 2), 10.0), np.ones(33), (64, 44))
    >>> kp[1].tolist(), float(c[1])
    ([10.0, 10.0], 1.0)
    """
    points = np.asarray(points, "float64")
    visibility = np.asarray(visibility, "float64")
    keypoints = np.full((len(KEYPOINT_NAMES), 2), MISSING)
    confidence = np.zeros(len(KEYPOINT_NAMES))
    for name, index in BLAZEPOSE_INDEX.items():
        keypoints[KEYPOINT_NAMES.index(name)] = points[index]
        confidence[KEYPOINT_NAMES.index(name)] = visibility[index]
    keypoints[_NECK] = points[list(_SHOULDERS)].mean(axis=0)
    confidence[_NECK] = visibility[list(_SHOULDERS)].min()
    height, width = image_size
    inside = np.all((keypoints >= 0) & (keypoints < (width, height)), axis=1)
    missing = (confidence < min_visibility) | ~inside
    keypoints[missing] = MISSING
    confidence[missing] = 0.0
    return keypoints, confidence
