"""SkeletonRenderer: OpenPose-18 keypoints -> NTED's 20-channel pose map, inside the graph."""

import keras
import numpy as np
from keras import ops

from keras_nted.layers.opencv_raster import city_block_distance
from keras_nted.layers.opencv_raster import ellipse_vertices
from keras_nted.layers.opencv_raster import polygon_rows
from keras_nted.utils.gather import gather
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
_DISTANCE_STEP = float(DISTANCE_STEP)

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


@keras.saving.register_keras_serializable(package="keras_nted")
class SkeletonRenderer(keras.layers.Layer):
    """Renders OpenPose-18 keypoints as NTED's 20-channel pose map with `keras.ops` only.

    The in-graph counterpart of `keras_nted.data.render_skeleton` (which rasterises with
    OpenCV, bit-exact to the release): it lets a served model take keypoints instead of pose
    maps. It reproduces OpenCV's integer drawing rules (`keras_nted.layers.opencv_raster`), so
    its uint8 levels equal `render_skeleton`'s on every channel:

    * Channels 0-2, the colour skeleton: a filled circle of radius 4 at each present
      keypoint's truncated position (later keypoints drawn over earlier ones), then each
      present limb blended over the canvas as `round(0.4 * canvas + 0.6 * colour)` inside the
      pixels `cv2.fillConvexPoly` sets for `cv2.ellipse2Poly`'s polygon (truncated centre and
      half-length, whole-degree angle, semi-minor axis 4), in the release's order and colours.
    * Channels 3-19, one per limb: `min(floor(d / 3), 255) / 255` with `d` the city-block
      distance to the limb's pixels inside the image (`cv2.distanceTransform(DIST_L1)`); 1.0
      for a limb with a missing endpoint or no pixel in the image.

    The keypoint geometry (centre, length, angle) is float32 where OpenCV's caller uses
    float64: a value within about 1e-5 pixel or degree of a whole number may truncate the
    other way (whole-pixel keypoints and the exact angles 0, 45, 90, ... are handled).

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
        inside, distance = self._limbs(x, y, present)
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

    def _limbs(self, x, y, present):
        """Per limb: `inside` `(batch, H, W, 17)` bool and the L1 distance `(batch, H, W, 17)`."""
        xa, ya = gather(x, _LIMB_START, axis=1), gather(y, _LIMB_START, axis=1)
        xb, yb = gather(x, _LIMB_END, axis=1), gather(y, _LIMB_END, axis=1)
        drawn = ops.logical_and(gather(present, _LIMB_START, axis=1), gather(present, _LIMB_END, axis=1))
        # The release's ellipse: truncated centre and half-length, angle in whole degrees.
        center_x, center_y = _truncate((xa + xb) / 2.0), _truncate((ya + yb) / 2.0)
        half_length = _truncate(ops.sqrt(ops.square(xa - xb) + ops.square(ya - yb)) / 2.0)
        rise, run = ya - yb, xa - xb
        degrees = _truncate(ops.arctan2(rise, run) * (180.0 / np.pi))
        # The angles a float32 arctan2 may land a hair below, exact in double: 0, +-45, +-90, ...
        steep = ops.abs(rise) == ops.abs(run)
        degrees = ops.where(
            ops.logical_and(steep, rise != 0.0), ops.sign(rise) * ops.where(run > 0, 45.0, 135.0), degrees
        )
        degrees = ops.where(ops.logical_and(run == 0.0, rise != 0.0), ops.sign(rise) * 90.0, degrees)
        degrees = ops.where(rise == 0.0, ops.where(run < 0, 180.0, 0.0), degrees)
        as_int = [ops.cast(v, "int32") for v in (center_x, center_y, half_length, degrees)]
        vertex_x, vertex_y = ellipse_vertices(*as_int, minor=LIMB_WIDTH)
        left, right = polygon_rows(vertex_x, vertex_y, self.height, self.width)  # (batch, 17, H)
        drawn3 = drawn[..., None]
        left = ops.where(drawn3, left, self.width)
        right = ops.where(drawn3, right, -1)
        columns = ops.arange(self.width, dtype="int32")
        inside = ops.logical_and(left[..., None] <= columns, columns <= right[..., None])  # (batch, 17, H, W)
        distance = city_block_distance(left, right, self.width)
        inside = ops.transpose(inside, (0, 2, 3, 1))
        distance = ops.transpose(ops.cast(ops.minimum(distance, 255 * DISTANCE_STEP), "float32"), (0, 2, 3, 1))
        return inside, distance

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width)
        return config
