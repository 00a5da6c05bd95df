"""Keypoint estimation on mannequin renders: the image set, PCK and distances to a reference.

`pose_test_set` is the one list of images the pose estimator is measured on (by
`benchmarks/pose_accuracy.py`, by the parity test against mediapipe in `tests/pose/`, and by
the script that made that test's fixture): mannequins rendered at 512x352 with their
ground-truth keypoints, plus a few "photo-like" sizes made by scaling a render and padding it
with its own background into a frame of another shape. Everything is a pure function of the
seeds, so the set is the same on every machine.

Torso length, the unit of every distance here, is the distance from the neck to the midpoint
of the hips (OpenPose COCO-18 points 1, 8 and 11).
"""

import dataclasses

import numpy as np

from keras_nted.utils.openpose import KEYPOINT_NAMES
from keras_nted.utils.openpose import MISSING

RENDER_SIZE = (512, 352)
# (name, (height, width) of the frame, (height, width) of the render inside, (top, left)).
PHOTO_LIKE = (
    ("vga", (480, 640), (448, 308), (16, 300)),
    ("hd", (720, 1280), (704, 484), (8, 120)),
    ("square", (1024, 1024), (1024, 704), (0, 160)),
    ("small", (256, 176), (256, 176), (0, 0)),
)
_NECK, _RIGHT_HIP, _LEFT_HIP = (KEYPOINT_NAMES.index(n) for n in ("neck", "right_hip", "left_hip"))


@dataclasses.dataclass(frozen=True, eq=False)
class PoseTestImage:
    """One image of the set.

    Attributes:
        name: a file stem, e.g. `"mannequin_007"` or `"hd_002"`.
        image: `(height, width, 3)` uint8 RGB.
        keypoints: `(18, 2)` ground-truth COCO-18 pixel coordinates, `-1` where missing.
        view: `"front"`, `"side"` or `"back"`.
    """

    name: str
    image: np.ndarray
    keypoints: np.ndarray
    view: str


def _padded(image, frame_size, top, left):
    canvas = np.empty((*frame_size, 3), np.uint8)
    canvas[...] = image[0, 0]  # the render's top-left colour (its background, near enough)
    canvas[top : top + image.shape[0], left : left + image.shape[1]] = image
    return canvas


def pose_test_set(num_renders=120, num_photo_like=2):
    """The mannequin images keypoint estimators are measured on.

    Args:
        num_renders: mannequins `0 .. num_renders - 1` (identity and pose seed `i`) at 512x352.
        num_photo_like: for each of the `PHOTO_LIKE` frames, this many mannequins (seeds
            1000, 1001, ...) rendered at the inner size and padded into the frame.

    Returns:
        A list of `PoseTestImage`.
    """
    from keras_nted.data.mannequin import make_identity
    from keras_nted.data.mannequin import make_pose
    from keras_nted.data.mannequin import render

    images = []
    for i in range(num_renders):
        pose = make_pose(i, RENDER_SIZE)
        image = render(make_identity(i), pose)[0]
        images.append(PoseTestImage(f"mannequin_{i:03d}", image, pose.keypoints.astype("float64"), pose.view))
    for name, frame_size, inner, (top, left) in PHOTO_LIKE:
        for j in range(num_photo_like):
            seed = 1000 + j
            pose = make_pose(seed, inner)
            keypoints = pose.keypoints.astype("float64")
            keypoints = np.where(keypoints == MISSING, MISSING, keypoints + (left, top))
            image = _padded(render(make_identity(seed), pose)[0], frame_size, top, left)
            images.append(PoseTestImage(f"{name}_{j:03d}", image, keypoints, pose.view))
    return images


def torso_length(keypoints):
    """Neck to mid-hip distance of `(18, 2)` keypoints; NaN when a point is missing."""
    keypoints = np.asarray(keypoints, "float64")
    points = keypoints[[_NECK, _RIGHT_HIP, _LEFT_HIP]]
    if np.any(points == MISSING):
        return float("nan")
    return float(np.linalg.norm(points[0] - (points[1] + points[2]) / 2))


def pck_hits(predicted, truth, threshold=0.2):
    """Per ground-truth point: found within `threshold` torso lengths (`True`), or not.

    Args:
        predicted: `(18, 2)` estimated keypoints, `-1` where missing (a miss), or `None`
            when no person was found (every point a miss).
        truth: `(18, 2)` ground truth, `-1` where missing (not counted).
        threshold: the radius in torso lengths of `truth`.

    Returns:
        A bool array with one entry per point present in `truth` (empty when the truth has
        no torso to measure with).
    """
    truth = np.asarray(truth, "float64")
    present = np.all(truth != MISSING, axis=1)
    torso = torso_length(truth)
    if not np.isfinite(torso):
        return np.zeros(0, bool)
    if predicted is None:
        return np.zeros(int(present.sum()), bool)
    predicted = np.asarray(predicted, "float64")
    found = np.all(predicted != MISSING, axis=1)
    close = np.linalg.norm(predicted - truth, axis=1) <= threshold * torso
    return (found & close)[present]


def pck_by_view(results, threshold=0.2):
    """PCK per view over the images where a person was found.

    Args:
        results: `(PoseTestImage, predicted)` pairs; `predicted` is `(18, 2)` or `None`.
        threshold: in torso lengths.

    Returns:
        `{view: {"images", "found", "pck"}}` for the views present, plus `"all"`.
    """
    table = {}
    for item, predicted in results:
        for key in (item.view, "all"):
            row = table.setdefault(key, {"images": 0, "found": 0, "hits": []})
            row["images"] += 1
            if predicted is not None:
                row["found"] += 1
                row["hits"].append(pck_hits(predicted, item.keypoints, threshold))
    for row in table.values():
        hits = row.pop("hits")
        hits = np.concatenate(hits) if hits else np.zeros(0, bool)
        row["pck"] = float(hits.mean()) if hits.size else float("nan")
    order = [v for v in ("front", "side", "back", "all") if v in table]
    return {view: table[view] for view in order}


def reference_landmarks(fixture):
    """`{name: (33, 2) points and (33,) visibility, or None}` of a reference fixture's `people`."""
    out = {}
    for name, values in fixture["people"].items():
        out[name] = None if values is None else (np.asarray(values, "float64")[:, :2], np.asarray(values)[:, 2])
    return out


def parity(estimates, reference, test_set):
    """How far one estimator's 33 landmarks are from a reference's, in torso lengths.

    Args:
        estimates: `{name: (33, 2) landmark pixels, or None when nobody was found}`.
        reference: the same for the reference (e.g. `reference_landmarks(fixture)`).
        test_set: the `PoseTestImage`s (for the names and the ground-truth torso lengths).

    Returns:
        A dict: `images`, `found_by_both`, `found_only_by_estimate` and
        `found_only_by_reference` (lists of names), and over every landmark of every image
        both found, the `median`, `p90` and `max` distance divided by the ground truth's torso
        length, and the largest per-image median (`worst_image_median`).
    """
    distances, image_medians = [], []
    only_estimate, only_reference, both = [], [], []
    for item in test_set:
        mine, theirs = estimates[item.name], reference[item.name]
        if mine is None or theirs is None:
            if mine is not None:
                only_estimate.append(item.name)
            elif theirs is not None:
                only_reference.append(item.name)
            continue
        both.append(item.name)
        d = np.linalg.norm(np.asarray(mine) - np.asarray(theirs), axis=1) / torso_length(item.keypoints)
        distances.append(d)
        image_medians.append(float(np.median(d)))
    d = np.concatenate(distances) if distances else np.full(1, np.nan)
    return {
        "images": len(test_set),
        "found_by_both": both,
        "found_only_by_estimate": only_estimate,
        "found_only_by_reference": only_reference,
        "median": float(np.median(d)),
        "p90": float(np.percentile(d, 90)),
        "max": float(d.max()),
        "worst_image_median": max(image_medians, default=float("nan")),
    }
