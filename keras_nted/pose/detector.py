"""Stage one: the BlazePose person detector (`pose_detection.tflite`) and its output decoding.

The network is a single-shot detector over 2254 fixed anchors on a 224x224 letterboxed view of
the photo (values in [-1, 1]). Per anchor it gives a score logit and 12 values: a box
`(x, y, w, h)` and four keypoints `(x, y)`, all offsets in input pixels from the anchor's
centre. Keypoint 0 is the middle of the hips and keypoint 1 a point whose distance from it
gives the body's size and whose direction gives its tilt; `region_of_interest` turns the two
into the upright square the landmark network looks at.

Numbers from the reference pipeline's configuration (mediapipe 0.10.21, `pose_detection`
and `pose_detection_to_roi` graphs): anchors of strides 8, 16, 32, 32, 32 with two anchors
per cell and layer, centred in their cells, of unit size; scores through a sigmoid, kept
from 0.5; weighted non-maximum suppression at an IoU of 0.3; the region twice the
keypoint distance, scaled by 1.25, turned so that keypoint 1 lies straight above keypoint 0.
"""

import dataclasses
import math

import numpy as np

from keras_nted.pose.geometry import Region
from keras_nted.pose.geometry import letterbox_region

INPUT_SIZE = 224
ANCHOR_STRIDES = (8, 16, 32, 32, 32)
ANCHORS_PER_CELL = 2
NUM_ANCHORS = 2254
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25
_SCORE_CLIP = 100.0


@dataclasses.dataclass(frozen=True)
class Detection:
    """A person found by the detector, in pixels of the photo.

    Attributes:
        score: the detector's confidence in [0, 1].
        box: `(x_min, y_min, x_max, y_max)`.
        keypoints: `(4, 2)`: hip centre, body-size point, and two more the pipeline ignores.
    """

    score: float
    box: tuple
    keypoints: np.ndarray


def anchor_centers(input_size=INPUT_SIZE, strides=ANCHOR_STRIDES, per_cell=ANCHORS_PER_CELL):
    """`(NUM_ANCHORS, 2)` anchor centres `(x, y)` in [0, 1], in the network's output order.

    Layers of equal stride share one grid: each of its cells holds `per_cell` anchors per
    layer, one after the other (rows outer, columns inner).

    >>> anchor_centers().shape
    (2254, 2)
    """
    centers, layer = [], 0
    while layer < len(strides):
        same = 1
        while layer + same < len(strides) and strides[layer + same] == strides[layer]:
            same += 1
        cells = math.ceil(input_size / strides[layer])
        grid = (np.arange(cells) + 0.5) / cells
        xs, ys = np.meshgrid(grid, grid)
        cell_centers = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centers.append(np.repeat(cell_centers, per_cell * same, axis=0))
        layer += same
    return np.concatenate(centers)


def decode(raw_boxes, raw_scores, anchors):
    """The network's outputs -> `(scores, boxes, keypoints)` in the input's [0, 1] coordinates.

    Args:
        raw_boxes: `(NUM_ANCHORS, 12)`.
        raw_scores: `(NUM_ANCHORS,)` or `(NUM_ANCHORS, 1)` logits.
        anchors: `(NUM_ANCHORS, 2)` from `anchor_centers`.

    Returns:
        `scores (N,)`, `boxes (N, 4)` as `(x_min, y_min, x_max, y_max)` and `keypoints (N, 4, 2)`.
    """
    raw_boxes = np.asarray(raw_boxes, "float64").reshape(-1, 12)
    logits = np.clip(np.asarray(raw_scores, "float64").reshape(-1), -_SCORE_CLIP, _SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    values = raw_boxes / INPUT_SIZE
    center = values[:, 0:2] + anchors
    half = values[:, 2:4] / 2
    boxes = np.concatenate([center - half, center + half], axis=1)
    keypoints = values[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :]
    return scores, boxes, keypoints


def _iou(box, boxes):
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = area + areas - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)


def weighted_nms(scores, boxes, keypoints, min_score=MIN_SCORE, iou_threshold=NMS_IOU):
    """Weighted non-maximum suppression: each cluster becomes its score-weighted mean.

    From the best remaining detection, every remaining one that overlaps it by more than
    `iou_threshold` (itself included) joins its cluster; the cluster's box and keypoints are
    the score-weighted means of its members and its score the best one's.

    Returns:
        A list of `(score, box (4,), keypoints (4, 2))`, best first.
    """
    keep = scores >= min_score
    scores, boxes, keypoints = scores[keep], boxes[keep], keypoints[keep]
    order = np.argsort(-scores, kind="stable")
    scores, boxes, keypoints = scores[order], boxes[order], keypoints[order]
    merged = []
    while scores.size:
        cluster = _iou(boxes[0], boxes) > iou_threshold
        cluster[0] = True
        weights = scores[cluster] / scores[cluster].sum()
        box = np.tensordot(weights, boxes[cluster], axes=1)
        points = np.tensordot(weights, keypoints[cluster], axes=1)
        merged.append((float(scores[0]), box, points))
        scores, boxes, keypoints = scores[~cluster], boxes[~cluster], keypoints[~cluster]
    return merged


def region_of_interest(detection):
    """The upright square the landmark network looks at, from a `Detection`.

    Centred on the hip centre; side `2 * 1.25 * |k1 - k0|`; turned so that keypoint 1 is
    straight above keypoint 0.
    """
    hips, top = np.asarray(detection.keypoints[0], "float64"), np.asarray(detection.keypoints[1], "float64")
    dx, dy = top - hips
    angle = math.pi / 2 - math.atan2(-dy, dx)
    angle = angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))  # into [-pi, pi)
    size = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    return Region(center=(float(hips[0]), float(hips[1])), size=size, angle=angle)


class PersonDetector:
    """Runs `pose_detection.tflite` on a photo and returns the people found, best first.

    Args:
        interpreter: a LiteRT interpreter of the detector (`model_files.load_interpreter`).
        min_score: detections below this confidence are dropped.
    """

    def __init__(self, interpreter, min_score=MIN_SCORE):
        self.interpreter = interpreter
        self.min_score = min_score
        self.anchors = anchor_centers()
        self._input = interpreter.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"][1:]): d["index"] for d in interpreter.get_output_details()}
        self._boxes, self._scores = outputs[(NUM_ANCHORS, 12)], outputs[(NUM_ANCHORS, 1)]

    def __call__(self, image):
        """`(height, width, 3)` uint8 -> a list of `Detection`, best first."""
        view = letterbox_region(image.shape[:2])
        self.interpreter.set_tensor(self._input, view.crop(image, INPUT_SIZE, (-1.0, 1.0)))
        self.interpreter.invoke()
        raw_boxes = self.interpreter.get_tensor(self._boxes)[0]
        raw_scores = self.interpreter.get_tensor(self._scores)[0]
        scores, boxes, keypoints = decode(raw_boxes, raw_scores, self.anchors)
        detections = []
        for score, box, points in weighted_nms(scores, boxes, keypoints, self.min_score):
            corners = view.to_image(box.reshape(2, 2))
            detections.append(Detection(score, tuple(corners.ravel().tolist()), view.to_image(points)))
        return detections
