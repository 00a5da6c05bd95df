"""Keypoints -> the released 20-channel pose map (skeleton) and face centre.

The rasterisation uses OpenCV exactly as the released implementation does, so the result is
bit-identical to its label tensor (the released `data/fashion_base_function.py`, checked against
`official_skeleton_s0.npz`).
"""

import math

import cv2
import numpy as np

from keras_nted.data.keypoints import to_pixels
from keras_nted.data.keypoints import validate_image_size

# The OpenPose tables live in utils.openpose (the in-graph renderer reads them too); these names
# are re-exported here.
from keras_nted.utils.openpose import DISTANCE_STEP
from keras_nted.utils.openpose import KEYPOINT_COLORS
from keras_nted.utils.openpose import KEYPOINT_RADIUS
from keras_nted.utils.openpose import LIMB_WIDTH
from keras_nted.utils.openpose import LIMBS
from keras_nted.utils.openpose import MISSING
from keras_nted.utils.openpose import NUM_SKELETON_CHANNELS


def _limb_polygon(a, b):
    """The ellipse polygon of the limb from point `a` to point `b` (pixel `(x, y)` pairs)."""
    center = (int((a[0] + b[0]) / 2), int((a[1] + b[1]) / 2))
    length = ((a[1] - b[1]) ** 2 + (a[0] - b[0]) ** 2) ** 0.5
    angle = int(math.degrees(math.atan2(a[1] - b[1], a[0] - b[0])))
    return cv2.ellipse2Poly(center, (int(length / 2), LIMB_WIDTH), angle, 0, 360, 1)


def _blend_limb(canvas, polygon, color):
    """`canvas = addWeighted(canvas, 0.4, canvas + filled polygon, 0.6, 0)`, in place.

    The blend leaves pixels outside the polygon unchanged (`round(0.4 v + 0.6 v) = v` for every
    uint8 `v`), so it is done on the polygon's bounding box only.
    """
    x0, y0 = np.maximum(polygon.min(axis=0), 0)
    x1, y1 = np.minimum(polygon.max(axis=0) + 1, (canvas.shape[1], canvas.shape[0]))
    if x0 >= x1 or y0 >= y1:
        return
    region = canvas[y0:y1, x0:x1]
    limb = region.copy()
    cv2.fillConvexPoly(limb, polygon - np.array([x0, y0], dtype=polygon.dtype), color)
    region[...] = cv2.addWeighted(region, 0.4, limb, 0.6, 0)


def render_skeleton(keypoints, image_size, frame="deepfashion", augmentation=None, out=None):
    """Renders OpenPose-18 keypoints as NTED's 20-channel pose map.

    Channels 0-2 are the colour skeleton (a filled circle of radius 4 per keypoint, then 17
    limbs as ellipses blended 0.4 / 0.6 over it, colours with the release's BGR quirk).
    Channels 3-19 hold, per limb, the city-block distance to that limb in steps of 3 pixels,
    `min(floor(d / 3), 255) / 255`: 0 on the limb, and the constant 1.0 for a limb with a
    missing endpoint. This reproduces the released label tensor bit for bit.

    Args:
        keypoints: `(18, 2)` array of `(x, y)` in `frame`; `-1` marks a missing coordinate.
        image_size: `(height, width)` of the output map.
        frame: `"deepfashion"` for the released pose-file frame (the 256x256 low-resolution
            image with 40-pixel borders), or `"pixels"` for the output image's own pixel
            coordinates. See `keras_nted.data.keypoints`.
        augmentation: optional training augmentation `(scaled_height, scaled_width, crop_x,
            crop_y)`: the image was resized to the scaled size, then cropped back to
            `image_size` at `(crop_x, crop_y)`; the keypoints are transformed the same way.
        out: optional float32 array of shape `(height, width, 20)` to write the result into
            (e.g. a slice of a batch), saving a copy.

    Returns:
        A float32 numpy array of shape `(height, width, 20)` with values in [0, 1] (`out`
        when given).

    Raises:
        ValueError: if `keypoints` is not `(18, 2)` or holds NaN, or for a bad `frame`,
            `image_size`, `augmentation` or `out`.

    Example:

    >>> kp = np.full((18, 2), -1.0)
    >>> kp[1], kp[2] = (128.0, 60.0), (110.0, 62.0)   # neck, right shoulder
    >>> pose = render_skeleton(kp, (256, 176))
    >>> pose.shape, float(pose[..., 4].max())        # channel 4 = limb 1 (missing)
    ((256, 176, 20), 1.0)
    """
    height, width = validate_image_size(image_size)
    if out is not None and (out.shape != (height, width, NUM_SKELETON_CHANNELS) or out.dtype != np.float32):
        raise ValueError(
            f"Expected `out` as a float32 array of shape {(height, width, NUM_SKELETON_CHANNELS)}. "
            f"Received: out.shape={out.shape}, out.dtype={out.dtype}"
        )
    points = to_pixels(keypoints, (height, width), frame=frame, augmentation=augmentation)
    present = np.all(points != MISSING, axis=1)

    canvas = np.zeros((height, width, 3), dtype="uint8")
    for i in np.flatnonzero(present):
        center = (int(points[i, 0]), int(points[i, 1]))
        cv2.circle(canvas, center, KEYPOINT_RADIUS, KEYPOINT_COLORS[i], thickness=-1)

    # uint8 planes of the limb distances in steps of 3 px; a missing limb is 255 (-> 1.0):
    # OpenCV's distance to no zero pixel is FLT_MAX, which the release clips to 255.
    distances = []
    missing_limb = np.full((height, width), 255, dtype="uint8")
    mask = np.empty((height, width), dtype="uint8")
    for i, (a, b) in enumerate(LIMBS):
        if not (present[a] and present[b]):
            distances.append(missing_limb)
            continue
        polygon = _limb_polygon(points[a], points[b])
        _blend_limb(canvas, polygon, KEYPOINT_COLORS[i])
        mask.fill(255)
        cv2.fillConvexPoly(mask, polygon, 0)
        if mask.all():
            # The limb lies entirely outside the image: FLT_MAX again, which the release clips
            # to 255 (convertScaleAbs below would wrap it to 0).
            distances.append(missing_limb)
            continue
        distance = cv2.distanceTransform(mask, cv2.DIST_L1, 3)
        # DIST_L1 distances are integers, so round(|d / 3 - 1 / 3|) saturated to uint8 equals
        # the release's `uint8(clip(d / 3, 0, 255))` (floor), in one pass.
        distances.append(cv2.convertScaleAbs(distance, alpha=1 / DISTANCE_STEP, beta=-1 / DISTANCE_STEP))
    planes = cv2.merge([canvas[..., 2], canvas[..., 1], canvas[..., 0], *distances])  # BGR -> RGB
    # k / 255 in float32, the way ToTensor divides.
    return np.divide(planes, np.float32(255), out=out, dtype="float32")


def face_center(keypoints, image_size, frame="deepfashion", augmentation=None):
    """The face centre NTED's face loss crops around: both eyes in output pixel coordinates.

    Args:
        keypoints: `(18, 2)` array of `(x, y)` in `frame`; `-1` marks a missing coordinate.
        image_size: `(height, width)` of the output image.
        frame: `"deepfashion"` or `"pixels"`, as in `render_skeleton`.
        augmentation: optional `(scaled_height, scaled_width, crop_x, crop_y)`, as in
            `render_skeleton`.

    Returns:
        A float32 array `(4,)`: `(right_eye_x, right_eye_y, left_eye_x, left_eye_y)`, or
        `(-1, -1, -1, -1)` when either eye's `int(x)` is -1 (the release's test, which also
        treats an eye with `-2 < x <= -1` after the transform as missing).

    Raises:
        ValueError: as `render_skeleton`.
    """
    points = to_pixels(keypoints, image_size, frame=frame, augmentation=augmentation)
    right_eye, left_eye = points[14], points[15]
    if int(right_eye[0]) != MISSING and int(left_eye[0]) != MISSING:
        return np.array([*right_eye, *left_eye], dtype="float32")
    return np.full((4,), MISSING, dtype="float32")
