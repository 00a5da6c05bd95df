"""The BlazePose pipeline's steps around its two networks, on `keras.ops`, batched.

The numpy pipeline (`geometry`, `detector`, `landmarks`, `coco`, `framing`) written again for
a graph: every shape here follows from the input's, so a SavedModel or an ONNX file can hold
it. A square region of an image is a `(batch, 5)` tensor `(center_x, center_y, size, cos,
sin)` (a `geometry.Region` with its angle as cosine and sine); points are `(x, y)` pixels.

Two steps of the numpy pipeline have shapes that depend on the data; here they are bounded:

* the weighted non-maximum suppression makes a list of people of any length. Only its first
  entry is kept: the best-scoring anchor and every anchor scoring at least `min_score` that
  overlaps it by more than `iou_threshold`, blended by score, over all 2254 anchors (a mask,
  not a list). This is the numpy pipeline's first cluster exactly; the others are not formed.
* the framing cuts a window whose size depends on the person: here only its box comes out.
"""

import numpy as np
from keras import ops

from keras_nted.pose.coco import BLAZEPOSE_INDEX
from keras_nted.pose.framing import FOOT_MARGIN
from keras_nted.pose.framing import HEAD_MARGIN
from keras_nted.pose.framing import PERSON_HEIGHT
from keras_nted.pose.framing import SIDE_MARGIN
from keras_nted.utils.gather import gather
from keras_nted.utils.openpose import KEYPOINT_NAMES

SCORE_CLIP = 100.0  # score logits are clipped to +-this before the sigmoid, as `detector.decode` does
MISSING = -1.0


def _columns(region):
    return [region[:, i : i + 1] for i in range(5)]


def letterbox(image):
    """`(batch, 5)` the square around each whole image of `(batch, height, width, 3)`, its long side
    (`geometry.letterbox_region`)."""
    shape = ops.shape(image)
    ones = ops.ones_like(image[:, 0, 0, 0], dtype="float32")
    height, width = ops.cast(shape[1], "float32") * ones, ops.cast(shape[2], "float32") * ones
    return ops.stack([width / 2, height / 2, ops.maximum(height, width), ones, 0 * ones], axis=1)


def region_to_image(points, region):
    """`(batch, n, 2)` region coordinates `(u, v)` in [0, 1] -> image pixels (`geometry.Region.to_image`)."""
    points, region = ops.convert_to_tensor(points, "float32"), ops.convert_to_tensor(region, "float32")
    cx, cy, size, cos, sin = (ops.expand_dims(c, -1) for c in _columns(region))
    u, v = (points[..., 0:1] - 0.5) * size, (points[..., 1:2] - 0.5) * size
    return ops.concatenate([cos * u - sin * v + cx, sin * u + cos * v + cy], axis=-1)


def sample_pixels(flat_image, index, weight, valid):
    """Weighted pixels `flat_image[index]` (`(batch * height * width, 3)`), 0 where not `valid`."""
    taps = ops.take(flat_image, ops.reshape(index, (-1,)), axis=0)
    taps = ops.reshape(taps, ops.shape(index) + (3,))
    return taps * ops.expand_dims(ops.where(valid, weight, 0.0), -1)


def crop(image, region, output_size, value_range, outside="zeros"):
    """Regions of images resampled to `(output_size, output_size)`, bilinear (`geometry.Region.crop`).

    Output pixel `(i, j)` samples the image at the region's point `(j, i) / output_size`, from
    the four pixels around it (pixel centres at integer coordinates); the result is rounded to
    whole levels as OpenCV's `warpAffine` rounds its uint8 output, then mapped to `value_range`.

    Args:
        image: `(batch, height, width, 3)`, uint8 or float, values 0-255.
        region: `(batch, 5)`.
        output_size: the side of the result.
        value_range: `(low, high)` that levels 0 and 255 map to.
        outside: `"zeros"` (pixels outside the image are black) or `"edge"` (the nearest edge pixel).

    Returns:
        `(batch, output_size, output_size, 3)` float32.
    """
    image, region = ops.convert_to_tensor(image), ops.convert_to_tensor(region, "float32")
    shape = ops.shape(image)
    batch, height, width = shape[0], shape[1], shape[2]
    cx, cy, size, cos, sin = _columns(region)
    step = size / output_size
    grid = np.arange(output_size, dtype="float32")
    cols, rows = (ops.convert_to_tensor(a.reshape(1, -1)) for a in np.meshgrid(grid, grid))
    x = cx - (cos - sin) * size / 2 + (cos * cols - sin * rows) * step
    y = cy - (sin + cos) * size / 2 + (sin * cols + cos * rows) * step
    x0, y0 = ops.floor(x), ops.floor(y)
    fx, fy = x - x0, y - y0
    last_x, last_y = ops.cast(width - 1, "float32"), ops.cast(height - 1, "float32")
    flat = ops.reshape(ops.cast(image, "float32"), (-1, 3))
    first = ops.reshape(ops.arange(batch, dtype="int32") * height * width, (-1, 1))
    total = 0.0
    for dy, wy in ((0.0, 1 - fy), (1.0, fy)):
        for dx, wx in ((0.0, 1 - fx), (1.0, fx)):
            tap_x, tap_y = x0 + dx, y0 + dy
            valid = (tap_x >= 0) & (tap_x <= last_x) & (tap_y >= 0) & (tap_y <= last_y)
            if outside == "edge":
                valid = ops.ones_like(valid)
            tap_x, tap_y = ops.clip(tap_x, 0.0, last_x), ops.clip(tap_y, 0.0, last_y)
            index = first + ops.cast(tap_y, "int32") * width + ops.cast(tap_x, "int32")
            total = total + sample_pixels(flat, index, wx * wy, valid)
    low, high = value_range
    levels = ops.reshape(ops.round(total), (batch, output_size, output_size, 3))
    return levels * np.float32((high - low) / 255.0) + np.float32(low)


def decode(raw_boxes, raw_scores, anchors, input_size):
    """The detector's outputs -> `scores (batch, n)`, `boxes (batch, n, 4)`, `keypoints (batch, n, 4, 2)`.

    As `detector.decode`: boxes `(x_min, y_min, x_max, y_max)` and keypoints in the input's [0, 1].
    """
    raw_boxes, raw_scores = ops.convert_to_tensor(raw_boxes, "float32"), ops.convert_to_tensor(raw_scores, "float32")
    scores = ops.sigmoid(ops.clip(raw_scores[..., 0], -SCORE_CLIP, SCORE_CLIP))
    count = anchors.shape[0]
    anchors = ops.convert_to_tensor(anchors, "float32")  # a tensor, not an array: torch's exporter traces it
    values = raw_boxes / input_size
    center = values[..., 0:2] + anchors
    half = values[..., 2:4] / 2
    boxes = ops.concatenate([center - half, center + half], axis=-1)
    keypoints = ops.reshape(values[..., 4:12], (-1, count, 4, 2)) + anchors[:, None, :]
    return scores, boxes, keypoints


def box_iou(box, boxes):
    """`(batch, 4)` against `(batch, n, 4)` -> `(batch, n)` intersection over union (0 for empty unions)."""
    box = ops.expand_dims(box, 1)
    extent = ops.clip(
        ops.minimum(box[..., 2:], boxes[..., 2:]) - ops.maximum(box[..., :2], boxes[..., :2]), 0.0, np.inf
    )
    intersection = extent[..., 0] * extent[..., 1]
    area = (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])
    areas = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    union = area + areas - intersection
    return ops.where(union > 0, intersection / ops.where(union > 0, union, 1.0), 0.0)


def best_cluster(scores, boxes, keypoints, min_score, iou_threshold):
    """The first cluster of `detector.weighted_nms`: the best detection blended with its overlaps.

    Returns:
        `(score (batch,), keypoints (batch, 4, 2))`: the best score and the score-weighted mean
        of the keypoints of every detection scoring at least `min_score` that overlaps the best
        one by more than `iou_threshold` (itself included). Where no score reaches `min_score`
        the keypoints are those of the best detection, and its score says so.
    """
    scores, boxes, keypoints = (ops.convert_to_tensor(v, "float32") for v in (scores, boxes, keypoints))
    best = ops.one_hot(ops.argmax(scores, axis=1), ops.shape(scores)[1], dtype="float32")
    best_box = ops.sum(boxes * ops.expand_dims(best, -1), axis=1)
    member = (box_iou(best_box, boxes) > iou_threshold) | (best > 0)
    weights = ops.where(member & (scores >= min_score), scores, 0.0)
    weights = ops.where(ops.sum(weights, axis=1, keepdims=True) > 0, weights, best)
    weights = weights / ops.sum(weights, axis=1, keepdims=True)
    points = ops.sum(keypoints * weights[:, :, None, None], axis=1)
    return ops.max(scores, axis=1), points


def region_of_interest(keypoints, scale):
    """`(batch, 4, 2)` detector keypoints in pixels -> `(batch, 5)` the upright region (`detector.region_of_interest`).

    Centred on keypoint 0, side `2 * scale * |k1 - k0|`, turned so that keypoint 1 lies straight
    above keypoint 0: the angle `pi / 2 - atan2(-dy, dx)` has cosine `-dy / r` and sine `dx / r`.
    """
    keypoints = ops.convert_to_tensor(keypoints, "float32")
    hips, top = keypoints[:, 0], keypoints[:, 1]
    dx, dy = top[:, 0] - hips[:, 0], top[:, 1] - hips[:, 1]
    distance = ops.sqrt(dx * dx + dy * dy)
    safe = ops.where(distance > 0, distance, 1.0)
    cos = ops.where(distance > 0, -dy / safe, 0.0)
    sin = ops.where(distance > 0, dx / safe, 1.0)
    return ops.stack([hips[:, 0], hips[:, 1], 2.0 * scale * distance, cos, sin], axis=1)


def refine_with_heatmap(points, heatmap, kernel_size, min_confidence):
    """`landmarks.refine_with_heatmap`, batched: `(batch, n, 2)` `(u, v)` and `(batch, rows, cols, >= n)`.

    Each point's window is `kernel_size` cells square around the cell it falls in (cut at the
    heatmap's edges); a point outside the heatmap, or whose window's best confidence is under
    `min_confidence`, stays.
    """
    points, heatmap = ops.convert_to_tensor(points, "float32"), ops.convert_to_tensor(heatmap, "float32")
    shape = ops.shape(heatmap)
    rows, cols, channels = heatmap.shape[1], heatmap.shape[2], heatmap.shape[3]
    count = points.shape[1]
    col = ops.sign(points[..., 0]) * ops.floor(ops.abs(points[..., 0]) * cols)  # int(): towards zero
    row = ops.sign(points[..., 1]) * ops.floor(ops.abs(points[..., 1]) * rows)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    offsets = ops.convert_to_tensor(np.arange(kernel_size, dtype="float32") - (kernel_size - 1) // 2)
    window_rows = ops.clip(row, -1.0, rows)[..., None, None] + offsets[:, None]  # (batch, n, k, 1)
    window_cols = ops.clip(col, -1.0, cols)[..., None, None] + offsets[None, :]  # (batch, n, 1, k)
    valid = (window_rows >= 0) & (window_rows < rows) & (window_cols >= 0) & (window_cols < cols)
    cell = ops.cast(ops.clip(window_rows, 0, rows - 1) * cols + ops.clip(window_cols, 0, cols - 1), "int32")
    channel = ops.convert_to_tensor(np.arange(count, dtype="int32")[:, None, None])
    first = ops.reshape(ops.arange(shape[0], dtype="int32") * (rows * cols * channels), (-1, 1, 1, 1))
    index = first + cell * channels + channel
    logits = gather(ops.reshape(heatmap, (-1,)), ops.reshape(index, (-1,)))
    confidence = ops.where(valid, ops.sigmoid(ops.reshape(logits, ops.shape(index))), 0.0)
    total = ops.sum(confidence, axis=(2, 3))
    move = inside & (ops.max(confidence, axis=(2, 3)) >= min_confidence) & (total > 0)
    safe = ops.where(total > 0, total, 1.0)
    u = ops.sum(confidence * window_cols, axis=(2, 3)) / safe / cols
    v = ops.sum(confidence * window_rows, axis=(2, 3)) / safe / rows
    return ops.where(ops.expand_dims(move, -1), ops.stack([u, v], axis=-1), points)


_NECK, _RIGHT_HIP, _LEFT_HIP = (KEYPOINT_NAMES.index(n) for n in ("neck", "right_hip", "left_hip"))
_SHOULDERS = (BLAZEPOSE_INDEX["right_shoulder"], BLAZEPOSE_INDEX["left_shoulder"])


def to_coco18(points, visibility, image_size, min_visibility):
    """`coco.to_coco18`, batched: `(batch, 33, 2)` and `(batch, 33)` -> keypoints and confidences.

    Args:
        points, visibility: BlazePose landmarks in pixels and their visibility.
        image_size: `(height, width)`; points outside are missing.
        min_visibility: points less visible than this are missing.

    Returns:
        `(batch, 18, 2)` pixels, `-1` where missing, and `(batch, 18)` confidences, 0 where missing.
    """
    points, visibility = ops.convert_to_tensor(points, "float32"), ops.convert_to_tensor(visibility, "float32")
    order = [BLAZEPOSE_INDEX.get(name, 0) for name in KEYPOINT_NAMES]  # the neck's is replaced below
    is_neck = ops.convert_to_tensor(np.arange(len(KEYPOINT_NAMES)) == _NECK)
    right, left = _SHOULDERS
    neck = (points[:, right] + points[:, left]) / 2
    keypoints = ops.where(is_neck[:, None], ops.expand_dims(neck, 1), gather(points, order, axis=1))
    neck_confidence = ops.minimum(visibility[:, right], visibility[:, left])
    confidence = ops.where(is_neck, ops.expand_dims(neck_confidence, 1), gather(visibility, order, axis=1))
    height, width = (ops.cast(v, "float32") for v in image_size)
    x, y = keypoints[..., 0], keypoints[..., 1]
    present = (confidence >= min_visibility) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    return ops.where(ops.expand_dims(present, -1), keypoints, MISSING), ops.where(present, confidence, 0.0)


def _body_scale(keypoints, present, extent):
    """`framing`'s margin unit: neck to the present hips' midpoint, else a quarter of the extent (at least 1)."""
    hips = ops.cast(ops.stack([present[:, _RIGHT_HIP], present[:, _LEFT_HIP]], axis=1), "float32")
    count = ops.sum(hips, axis=1, keepdims=True)
    hip_points = ops.stack([keypoints[:, _RIGHT_HIP], keypoints[:, _LEFT_HIP]], axis=1)
    middle = ops.sum(hip_points * hips[..., None], axis=1) / ops.maximum(count, 1.0)
    torso = ops.sqrt(ops.sum(ops.square(keypoints[:, _NECK] - middle), axis=-1))
    fallback = ops.maximum(ops.max(extent, axis=-1) / 4, 1.0)
    return ops.where(present[:, _NECK] & (count[:, 0] > 0), torso, fallback)


def framing_box(keypoints, aspect):
    """`framing.framing_box`, batched: `(batch, 18, 2)` (`-1` where missing) -> `(batch, 4)` and a flag.

    Returns:
        `(box, framed)`: `(left, top, right, bottom)` as whole numbers in float32, and `(batch,)`
        whether at least two keypoints are present (where not, the box is all zeros).
    """
    keypoints = ops.convert_to_tensor(keypoints, "float32")
    present = ops.all(keypoints != MISSING, axis=-1)
    framed = ops.sum(ops.cast(present, "int32"), axis=1) >= 2
    big = np.float32(3e38)
    low = ops.min(ops.where(present[..., None], keypoints, big), axis=1)
    high = ops.max(ops.where(present[..., None], keypoints, -big), axis=1)
    low, high = ops.where(framed[:, None], low, 0.0), ops.where(framed[:, None], high, 1.0)
    scale = _body_scale(keypoints, present, high - low)
    top, bottom = low[:, 1] - HEAD_MARGIN * scale, high[:, 1] + FOOT_MARGIN * scale
    height = ops.maximum((bottom - top) / PERSON_HEIGHT, (high[:, 0] - low[:, 0] + 2 * SIDE_MARGIN * scale) / aspect)
    height = ops.maximum(ops.round(height), 2.0)
    width = ops.maximum(ops.round(height * aspect), 1.0)
    left = ops.round((low[:, 0] + high[:, 0]) / 2 - width / 2)
    top = ops.round((top + bottom) / 2 - height / 2)
    box = ops.stack([left, top, left + width, top + height], axis=1)
    return ops.where(framed[:, None], box, 0.0), framed


def border_color(image):
    """`(batch, 3)` the mean colour of each image's border rows and columns, rounded (`framing.frame_person`'s fill)."""
    image = ops.cast(image, "float32")
    border = ops.concatenate([image[:, 0], image[:, -1], image[:, :, 0], image[:, :, -1]], axis=1)
    return ops.round(ops.mean(border, axis=1))
