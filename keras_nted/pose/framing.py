"""Framing: a photo of any size cut and padded around its person to the model's aspect.

NTED was trained on person-centred crops of 256x176 (11:16, width to height) in which a
standing person fills most of the height. `frame_person` finds the window of that aspect around
a person's keypoints:

* vertically, the keypoints' extent widened by `HEAD_MARGIN` torso lengths above (the top of the
  head lies above the eyes and ears) and `FOOT_MARGIN` below (the soles lie below the ankles),
  then divided by `PERSON_HEIGHT` (the share of the frame's height the person takes, as in
  the training images);
* horizontally, centred on the keypoints' extent, and wider (with the height following) when
  the person's width with `SIDE_MARGIN` torso lengths each side would not fit.

The window is cut out of the photo at its own resolution (no resampling: the model's loader
resizes); parts outside the photo are filled with the mean colour of the photo's border, the
nearest thing to its background. Keypoints follow by a shift.
"""

import dataclasses

import numpy as np

from keras_nted.data.keypoints import validate_keypoints
from keras_nted.utils.openpose import KEYPOINT_NAMES
from keras_nted.utils.openpose import MISSING

MODEL_ASPECT = 176 / 256  # width / height of the released DeepFashion crops
PERSON_HEIGHT = 0.88
HEAD_MARGIN = 0.45
FOOT_MARGIN = 0.12
SIDE_MARGIN = 0.15
_NECK, _RIGHT_HIP, _LEFT_HIP = (KEYPOINT_NAMES.index(n) for n in ("neck", "right_hip", "left_hip"))


@dataclasses.dataclass(frozen=True, eq=False)
class Framing:
    """A photo framed around a person.

    Attributes:
        image: `(height, width, 3)` uint8, `width / height` = the aspect asked for (to a pixel).
        keypoints: `(18, 2)` in the pixels of `image`, `-1` where missing.
        box: `(left, top, right, bottom)` of the window in the photo's pixels (may reach outside it).
    """

    image: np.ndarray
    keypoints: np.ndarray
    box: tuple


def _body_scale(keypoints, present):
    """A length for the margins: the torso (neck to mid-hip), else a quarter of the extent."""
    hips = [i for i in (_RIGHT_HIP, _LEFT_HIP) if present[i]]
    if present[_NECK] and hips:
        return float(np.linalg.norm(keypoints[_NECK] - keypoints[hips].mean(axis=0)))
    extent = keypoints[present].max(axis=0) - keypoints[present].min(axis=0)
    return float(max(extent.max() / 4, 1.0))


def framing_box(keypoints, aspect=MODEL_ASPECT):
    """The window `(left, top, right, bottom)`, integers, of `width / height = aspect` around keypoints.

    Args:
        keypoints: `(18, 2)` pixel coordinates, `-1` where missing; at least two points present.
        aspect: the window's width / height.

    Raises:
        ValueError: with fewer than two keypoints present.
    """
    keypoints = validate_keypoints(keypoints)
    present = np.all(keypoints != MISSING, axis=1)
    if present.sum() < 2:
        raise ValueError(f"Expected at least two keypoints to frame a person. Received {int(present.sum())}.")
    scale = _body_scale(keypoints, present)
    (x0, y0), (x1, y1) = keypoints[present].min(axis=0), keypoints[present].max(axis=0)
    top, bottom = y0 - HEAD_MARGIN * scale, y1 + FOOT_MARGIN * scale
    height = (bottom - top) / PERSON_HEIGHT
    height = max(height, (x1 - x0 + 2 * SIDE_MARGIN * scale) / aspect)
    height = max(int(round(height)), 2)
    width = max(int(round(height * aspect)), 1)
    left = int(round((x0 + x1) / 2 - width / 2))
    top = int(round((top + bottom) / 2 - height / 2))
    return left, top, left + width, top + height


def frame_person(image, keypoints, aspect=MODEL_ASPECT):
    """Cuts and pads `image` to a window of `aspect` around a person, keypoints following.

    Args:
        image: `(height, width, 3)` uint8.
        keypoints: `(18, 2)` of the person, pixels of `image`, `-1` where missing.
        aspect: width / height of the result (default: the model's, 176 / 256).

    Returns:
        A `Framing`.

    Example:

    >>> kp = np.full((18, 2), -1.0); kp[1] = (50, 20); kp[8] = (50, 60); kp[10] = (50, 95)
    >>> framing = frame_person(np.zeros((100, 200, 3), np.uint8), kp)
    >>> framing.image.shape, framing.box
    ((111, 76, 3), (12, -5, 88, 106))
    """
    image = np.asarray(image)
    left, top, right, bottom = framing_box(keypoints, aspect)
    height, width = image.shape[:2]
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    out = np.empty((bottom - top, right - left, 3), np.uint8)
    out[...] = np.rint(border.reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = image[sy0:sy1, sx0:sx1]
    keypoints = validate_keypoints(keypoints)
    shifted = np.where(keypoints == MISSING, MISSING, keypoints - (left, top))
    return Framing(out, shifted, (left, top, right, bottom))
