"""SkeletonRenderer: OpenPose-18 keypoints -> NTED's 20-channel pose map, inside the graph."""

import keras
import numpy as np
from keras import ops

from keras_nted.utils.openpose import DISTANCE_STEP
from keras_nted.utils.openpose import KEYPOINT_COLORS
from keras_nted.utils.openpose import KEYPOINT_RADIUS
from keras_nted.utils.openpose import LIMB_WIDTH
from keras_nted.utils.openpose import LIMBS
from keras_nted.utils.openpose import MISSING
from keras_nted.utils.openpose import NUM_SKELETON_CHANNELS
from keras_nted.utils.validation import refuse_bools

_MISSING = float(MISSING)
# cv2.circle(radius=4, filled) covers exactly the offsets dx^2 + dy^2 <= 16.
_RADIUS_SQUARED = float(KEYPOINT_RADIUS**2)
_STICK_WIDTH = float(LIMB_WIDTH)
_DISTANCE_STEP = float(DISTANCE_STEP)
# The limb ellipse is tested with its semi-axes grown by these amounts (pixels): fillConvexPoly
# also sets the pixels its polygon's edges pass through, and ellipse2Poly rounds its vertices.
# Tuned on 300 random limbs at 256x176 against OpenCV (5.6 mask pixels differ per limb).
_MAJOR_MARGIN = 0.7
_MINOR_MARGIN = 0.6
_TINY = 1e-6

# RGB colours: the release draws into a canvas OpenCV treats as BGR, then converts to RGB.
_KEYPOINT_RGB = np.array([c[::-1] for c in KEYPOINT_COLORS], dtype="float32")
_LIMB_START = [a for a, _ in LIMBS]
_LIMB_END = [b for _, b in LIMBS]


def _truncate(x):
    """`ops.trunc(x)` (rounding towards zero, as C's `int()` does), from `floor` and `ceil`.

    The same values as `ops.trunc`; written this way because ONNX has no `Trunc` operator, so
    Keras' own ONNX export (torch, JAX) fails on `trunc`.
    """
    return ops.where(x < 0.0, ops.ceil(x), ops.floor(x))


def _columns(x, indices):
    """`x[:, indices]` for a constant list of indices, by static slicing.

    (`ops.take` along axis 1 flattens the indices with `ravel` on torch, which torch's ONNX
    exporter does not support.)
    """
    return ops.stack([x[:, i] for i in indices], axis=1)


@keras.saving.register_keras_serializable(package="keras_nted")
class SkeletonRenderer(keras.layers.Layer):
    """Renders OpenPose-18 keypoints as NTED's 20-channel pose map with `keras.ops` only.

    The in-graph counterpart of `keras_nted.data.render_skeleton` (which rasterises with
    OpenCV, bit-exact to the release): it lets a served model take keypoints instead of pose
    maps. It follows the release's rasterisation rules, so the result agrees with OpenCV on
    all but a few boundary pixels per limb:

    * Channels 0-2, the colour skeleton: a filled circle of radius 4 at each present
      keypoint's truncated position (later keypoints drawn over earlier ones), then each
      present limb blended over the canvas as `round(0.4 * canvas + 0.6 * colour)` inside its
      ellipse, in the release's order and colours (the BGR quirk included). The ellipse has
      the release's truncated centre, half-length and whole-degree angle, and semi-minor axis
      4; it is tested analytically, grown by 0.7 / 0.6 pixels to match the pixels OpenCV's
      polygon fill sets.
    * Channels 3-19, one per limb: `min(floor(d / 3), 255) / 255` with `d` the city-block
      (L1) distance in pixels to that limb's ellipse, computed in closed form (by duality,
      from the ellipse's support function on the edges of the L-infinity unit square) and
      rounded up to whole pixels; 0 on the limb, and 1.0 for a limb with a missing endpoint
      or one that lies entirely outside the image. OpenCV measures to the limb's pixels
      inside the image only, so the two differ where a limb crosses the image border.

    Hard edges (no anti-aliasing), because the model was trained on OpenCV's hard-edged maps.

    Args:
        height: output height in pixels.
        width: output width in pixels.

    Call arguments:
        keypoints: `(batch, 18, 2)` float keypoints `(x, y)` in the output image's pixel
            coordinates (the `"pixels"` frame of `keras_nted.data.keypoints` at `(height,
            width)`), OpenPose COCO-18 order; a point with a coordinate equal to -1 is
            missing, as in `render_skeleton`. NaN or infinite coordinates in a numpy array or
            list are refused with a `ValueError`; in a traced call (`predict`, a served model)
            values cannot be checked, and such a point draws nothing, as a missing one would:
            check them before (the serving signatures do).

    Returns:
        `(batch, height, width, 20)` pose maps with values in [0, 1].

    Raises:
        ValueError: for a non-positive size, keypoints that are not `(batch, 18, 2)`, or
            numpy / list keypoints that are boolean, NaN or infinite.

    Example:

    >>> keypoints = np.full((1, 18, 2), -1.0, "float32")
    >>> keypoints[0, 1], keypoints[0, 2] = (22.0, 15.0), (14.0, 16.0)  # neck, right shoulder
    >>> pose = SkeletonRenderer(64, 44)(keypoints)
    >>> pose.shape
    (1, 64, 44, 20)

    Reference:
        The released `data/fashion_data.py` (`get_label_tensor`), spec section 4.2.
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Expected `{name}` to be a positive integer. Received: {name}={value!r}")
        self.height = int(height)
        self.width = int(width)

    def build(self, keypoints_shape):
        if len(keypoints_shape) != 3 or tuple(keypoints_shape[1:]) != (len(KEYPOINT_COLORS), 2):
            raise ValueError(
                "Expected `keypoints` of shape (batch, 18, 2) (OpenPose COCO-18 x, y). "
                f"Received: keypoints.shape={tuple(keypoints_shape)}"
            )
        self.built = True

    def __call__(self, keypoints, **kwargs):
        # Values are checked where they are concrete (numpy arrays, lists), never in the graph.
        if isinstance(keypoints, (np.ndarray, list, tuple)):
            refuse_bools(keypoints, "keypoints")
            values = np.asarray(keypoints, "float64")
            if not np.all(np.isfinite(values)):
                bad = sorted({int(i) for i in np.argwhere(~np.isfinite(values))[:, -2]}) if values.ndim >= 2 else []
                raise ValueError(
                    "Expected finite `keypoints` (-1 marks a missing point). Received NaN or infinite values "
                    f"for keypoints {bad}"
                )
        return super().__call__(keypoints, **kwargs)

    def compute_output_shape(self, keypoints_shape):
        return (keypoints_shape[0], self.height, self.width, NUM_SKELETON_CHANNELS)

    def call(self, keypoints):
        keypoints = ops.cast(keypoints, "float32")
        x, y = keypoints[..., 0], keypoints[..., 1]  # (batch, 18)
        present = ops.logical_and(ops.not_equal(x, _MISSING), ops.not_equal(y, _MISSING))
        # Pixel centres at integer coordinates, as OpenCV rasterises: (1, 1, W, 1) and (1, H, 1, 1).
        columns = ops.reshape(ops.arange(self.width, dtype="float32"), (1, 1, self.width, 1))
        rows = ops.reshape(ops.arange(self.height, dtype="float32"), (1, self.height, 1, 1))

        canvas = self._circles(x, y, present, columns, rows)
        inside, distance = self._limbs(x, y, present, columns, rows)
        for i in range(len(LIMBS)):
            # uint8 arithmetic of cv2.addWeighted: (2 old + 3 colour) / 5 is never a tie.
            blended = ops.round(0.4 * canvas + 0.6 * ops.convert_to_tensor(_KEYPOINT_RGB[i]))
            canvas = ops.where(inside[..., i : i + 1], blended, canvas)
        steps = ops.minimum(ops.floor(distance / _DISTANCE_STEP), 255.0)
        pose = ops.concatenate([canvas, steps], axis=-1) / 255.0
        return ops.cast(pose, self.compute_dtype)

    def _circles(self, x, y, present, columns, rows):
        """The canvas after the keypoint circles: `(batch, H, W, 3)` in 0..255."""
        # cv2.circle's centre is (int(x), int(y)): truncation towards zero.
        dx = columns - _truncate(x)[:, None, None, :]
        dy = rows - _truncate(y)[:, None, None, :]
        covered = ops.logical_and(dx * dx + dy * dy <= _RADIUS_SQUARED, present[:, None, None, :])
        # The last keypoint drawn over a pixel sets its colour; row 0 of the table is black.
        order = ops.arange(1, len(KEYPOINT_COLORS) + 1, dtype="int32")
        top = ops.max(ops.where(covered, order, 0), axis=-1)
        table = np.concatenate([np.zeros((1, 3), "float32"), _KEYPOINT_RGB])
        return ops.take(ops.convert_to_tensor(table), top, axis=0)

    def _limbs(self, x, y, present, columns, rows):
        """Per limb: `inside` `(batch, H, W, 17)` bool and the L1 distance `(batch, H, W, 17)`."""
        xa, ya = _columns(x, _LIMB_START), _columns(y, _LIMB_START)
        xb, yb = _columns(x, _LIMB_END), _columns(y, _LIMB_END)
        drawn = ops.logical_and(_columns(present, _LIMB_START), _columns(present, _LIMB_END))
        # The release's ellipse: truncated centre and half-length, angle in whole degrees.
        center_x, center_y = _truncate((xa + xb) / 2.0), _truncate((ya + yb) / 2.0)
        half_length = _truncate(ops.sqrt(ops.square(xa - xb) + ops.square(ya - yb)) / 2.0)
        degrees = _truncate(ops.arctan2(ya - yb, xa - xb) * (180.0 / np.pi))
        angle = degrees * (np.pi / 180.0)
        major = half_length + _MAJOR_MARGIN
        minor = _STICK_WIDTH + _MINOR_MARGIN
        cos, sin = ops.cos(angle), ops.sin(angle)

        def per_pixel(v):  # (batch, 17) -> (batch, 1, 1, 17)
            return v[:, None, None, :]

        dx = columns - per_pixel(center_x)
        dy = rows - per_pixel(center_y)
        cos, sin, major = per_pixel(cos), per_pixel(sin), per_pixel(major)
        along = dx * cos + dy * sin
        across = dy * cos - dx * sin
        inside = ops.square(along / major) + ops.square(across / minor) <= 1.0
        inside = ops.logical_and(inside, per_pixel(drawn))

        # L1 distance to the ellipse E = {c + M u : |u| <= 1}, M M^T = Q:
        # dist(p) = max over |w|_inf <= 1 of w.(p - c) - sqrt(w^T Q w). The objective is concave
        # and homogeneous, so the maximum lies on an edge of the square, where it is a concave
        # function of one variable with a closed-form maximiser (clipped to the edge).
        major_sq, minor_sq = ops.square(major), minor * minor
        q_xx = major_sq * cos * cos + minor_sq * sin * sin
        q_yy = major_sq * sin * sin + minor_sq * cos * cos
        q_xy = (major_sq - minor_sq) * sin * cos
        root_det = major * minor
        best = None
        for sign in (-1.0, 1.0):
            # w = (sign, t): maximise sign dx + t dy - sqrt(q_xx + 2 sign q_xy t + q_yy t^2).
            t = -sign * q_xy / q_yy + dy * root_det / (q_yy * ops.sqrt(ops.maximum(q_yy - dy * dy, _TINY)))
            t = ops.clip(t, -1.0, 1.0)
            edge = sign * dx + t * dy - ops.sqrt(q_xx + 2.0 * sign * q_xy * t + q_yy * t * t)
            best = edge if best is None else ops.maximum(best, edge)
            # w = (t, sign), the same with the axes swapped.
            t = -sign * q_xy / q_xx + dx * root_det / (q_xx * ops.sqrt(ops.maximum(q_xx - dx * dx, _TINY)))
            t = ops.clip(t, -1.0, 1.0)
            edge = t * dx + sign * dy - ops.sqrt(q_xx * t * t + 2.0 * sign * q_xy * t + q_yy)
            best = ops.maximum(best, edge)
        # Distances between pixel centres are whole numbers: round the continuous one up.
        distance = ops.where(inside, 0.0, ops.maximum(ops.ceil(best), 0.0))
        # No limb pixel in the image (a missing endpoint, or all of it outside): OpenCV's
        # distance to nothing is FLT_MAX, which saturates to 255 steps.
        visible = ops.any(inside, axis=(1, 2), keepdims=True)
        distance = ops.where(visible, distance, 255.0 * _DISTANCE_STEP)
        return inside, distance

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width)
        return config
