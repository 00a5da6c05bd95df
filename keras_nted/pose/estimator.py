"""`PoseEstimator`: a photo -> the people in it, as OpenPose COCO-18 keypoints.

The two stages (`detector`, `landmarks`) run on LiteRT interpreters of the released BlazePose
files; everything around them is numpy and OpenCV, so the results are the same whatever Keras
backend is active.

Stated behaviour for awkward input:

* nobody found: an empty list;
* several people: one entry per person the detector separates (at most `max_people`), the
  most confident detection first; a second detection whose landmarks cover the same person
  (bounding boxes overlapping by more than `DUPLICATE_IOU`) is dropped;
* images under `MIN_IMAGE_SIDE` pixels on their long side are an error (nobody can be seen);
* images over `MAX_WORKING_SIDE` on their long side are shrunk to it (area averaging) before
  the networks see them, since both networks sample their input bilinearly and a far larger
  photo would alias; keypoints are in the pixels of the photo as given either way.
"""

import dataclasses

import cv2
import numpy as np

from keras_nted.pose import coco
from keras_nted.pose import model_files
from keras_nted.pose.detector import Detection
from keras_nted.pose.detector import PersonDetector
from keras_nted.pose.detector import region_of_interest
from keras_nted.pose.geometry import Region
from keras_nted.pose.landmarks import LandmarkModel
from keras_nted.pose.landmarks import Landmarks
from keras_nted.utils.validation import check_int

MIN_IMAGE_SIDE = 32
MAX_WORKING_SIDE = 1280
DUPLICATE_IOU = 0.5


@dataclasses.dataclass(frozen=True, eq=False)
class Person:
    """One person found in a photo (all coordinates in the photo's pixels).

    Attributes:
        keypoints: `(18, 2)` OpenPose COCO-18 `(x, y)`, `-1` where missing.
        confidence: `(18,)` in [0, 1], 0 where missing.
        landmarks: the 33 BlazePose `Landmarks`.
        detection: the detector's `Detection`.
        region: the `Region` the landmark network looked at.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    landmarks: Landmarks
    detection: Detection
    region: Region


def as_rgb_array(image, name="image"):
    """An image array -> `(height, width, 3)` uint8 (greyscale repeated, alpha dropped), checked."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or array.dtype != np.uint8:
        raise ValueError(
            f"Expected {name} as a uint8 array (height, width) or (height, width, 1, 3 or 4 channels). "
            f"Received: shape {array.shape}, dtype {array.dtype}"
        )
    if max(array.shape[:2]) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"Expected {name} of at least {MIN_IMAGE_SIDE} pixels on its long side (too small to find a person in). "
            f"Received: {array.shape[1]}x{array.shape[0]} (WxH)"
        )
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[..., :3])


def _box_iou(a, b):
    (ax0, ay0), (ax1, ay1) = a.min(axis=0), a.max(axis=0)
    (bx0, by0), (bx1, by1) = b.min(axis=0), b.max(axis=0)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def _scaled_person(person, factor):
    """`person` found in a shrunk image, in the pixels of the image as given (`factor`: `(x, y)`)."""
    keypoints = np.where(person.keypoints == coco.MISSING, coco.MISSING, person.keypoints * factor)
    landmarks = dataclasses.replace(person.landmarks, points=person.landmarks.points * factor)
    box = tuple((np.asarray(person.detection.box).reshape(2, 2) * factor).ravel().tolist())
    detection = dataclasses.replace(person.detection, box=box, keypoints=person.detection.keypoints * factor)
    center = tuple((np.asarray(person.region.center) * factor).tolist())
    region = Region(center, person.region.size * float(factor.mean()), person.region.angle)
    return Person(keypoints, person.confidence, landmarks, detection, region)


class PoseEstimator:
    """Finds people in photos and returns their OpenPose COCO-18 keypoints (BlazePose, LiteRT).

    Args:
        model_dir: the folder holding `pose_detection.tflite` and `pose_landmark_full.tflite`
            (default: the Keras cache, see `keras_nted.pose.model_files`). Nothing is
            downloaded: `obtain_model_files()` (or `keras-nted pose --get-models`) does that.
        max_people: the most people returned per photo.
        min_detection_score: the detector's threshold.
        min_presence: the landmark network's pose-presence threshold.
        min_visibility: keypoints less visible than this are missing.
        num_threads: threads per interpreter (default: LiteRT's).

    Raises:
        FileNotFoundError: when the model files are missing (the message says how to obtain them).
        ImportError: when `ai-edge-litert` is not installed.

    Example:

    ```python
    estimator = PoseEstimator()
    people = estimator(image)  # (height, width, 3) uint8 RGB
    if people:
        keypoints = people[0].keypoints  # (18, 2), -1 where missing
    ```
    """

    def __init__(self, model_dir=None, max_people=4, min_detection_score=0.5, min_presence=0.5,
                 min_visibility=coco.MIN_VISIBILITY, num_threads=None):  # fmt: skip
        check_int("max_people", max_people)
        paths = model_files.find_model_files(model_dir)
        self.detector = PersonDetector(
            model_files.load_interpreter(paths[model_files.DETECTOR], num_threads), min_score=min_detection_score
        )
        self.landmark_model = LandmarkModel(
            model_files.load_interpreter(paths[model_files.LANDMARKS], num_threads), min_presence=min_presence
        )
        self.max_people = int(max_people)
        self.min_visibility = min_visibility

    def __call__(self, image):
        """`(height, width, 3)` uint8 RGB -> a list of `Person`, the most confident detection first."""
        image = as_rgb_array(image)
        height, width = image.shape[:2]
        shrink = max(height, width) / MAX_WORKING_SIDE
        if shrink <= 1:
            return self._people(image)
        size = (max(1, round(width / shrink)), max(1, round(height / shrink)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        factor = np.array([width / size[0], height / size[1]])
        return [_scaled_person(p, factor) for p in self._people(small)]

    def _people(self, image):
        people = []
        for detection in self.detector(image):
            if len(people) == self.max_people:
                break
            region = region_of_interest(detection)
            landmarks = self.landmark_model(image, region)
            if landmarks is None:
                continue
            if any(_box_iou(landmarks.points, p.landmarks.points) > DUPLICATE_IOU for p in people):
                continue
            keypoints, confidence = coco.to_coco18(
                landmarks.points, landmarks.visibility, image.shape[:2], self.min_visibility
            )
            people.append(Person(keypoints, confidence, landmarks, detection, region))
        return people
