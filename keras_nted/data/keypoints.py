"""OpenPose COCO-18 keypoints: validation, coordinate frames and file I/O.

Keypoints are `(18, 2)` arrays of `(x, y)` in OpenPose COCO-18 order (`KEYPOINT_NAMES`), with
`-1` marking a missing coordinate. Two coordinate frames exist and every function takes the
frame explicitly:

* `"deepfashion"`: the frame of the released pose `.txt` files, the 256x256 low-resolution
  DeepFashion image in which the 176-pixel-wide person image sits between two 40-pixel borders.
  `x = 40` is the left edge of the person image, `y` runs over its 256 rows.
* `"pixels"`: the pixel coordinates of the image the keypoints belong to.

Missing coordinates stay `-1` through every conversion.

Every keypoint reader (pose `.txt`, OpenPose `.json`, `.npy`, arrays given to the Python API)
ends in `validate_keypoints`, and the serving signatures check the same rule in the graph: a
coordinate must be finite and at most `MAX_COORDINATE` in absolute value (OpenCV draws with
int32 pixel coordinates; a pose 100,000 pixels off any image is a mistake, not a pose).
"""

import json
import logging
import os

import numpy as np

# The OpenPose COCO-18 table lives in utils.openpose; these names are re-exported here.
from keras_nted.utils.openpose import KEYPOINT_NAMES
from keras_nted.utils.openpose import MISSING
from keras_nted.utils.openpose import NUM_KEYPOINTS
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import holds_bools
from keras_nted.utils.validation import refuse_bools

FRAMES = ("deepfashion", "pixels")
# The largest |x| or |y| a keypoint may have, in any frame (see the module docstring).
MAX_COORDINATE = 100_000.0

# The released pose-file frame: a 176x256 person image with a 40-pixel border left and right.
DEEPFASHION_WIDTH = 176
DEEPFASHION_HEIGHT = 256
DEEPFASHION_BORDER = 40


def validate_keypoints(keypoints, name="keypoints"):
    """Checks an `(18, 2)` keypoint array and returns it as a float64 copy.

    Args:
        keypoints: array-like `(18, 2)` of `(x, y)`; `-1` marks a missing coordinate.
        name: the argument name used in error messages.

    Returns:
        A float64 numpy array of shape `(18, 2)`.

    Raises:
        ValueError: if the shape is not `(18, 2)`, a value is a boolean, NaN or infinite, or
            larger than `MAX_COORDINATE` in absolute value.
    """
    refuse_bools(keypoints, name)
    array = np.array(keypoints, dtype="float64")
    if array.shape != (NUM_KEYPOINTS, 2):
        raise ValueError(
            f"Expected `{name}` of shape (18, 2) (OpenPose COCO-18 x, y). Received: {name}.shape={array.shape}"
        )
    if not np.all(np.isfinite(array)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(array))[:, 0]})
        raise ValueError(
            f"Expected finite `{name}` (use -1 for a missing point). Received NaN or "
            f"infinite values for keypoints {bad} ({', '.join(KEYPOINT_NAMES[i] for i in bad)})."
        )
    if np.any(np.abs(array) > MAX_COORDINATE):
        i = int(np.argwhere(np.abs(array) > MAX_COORDINATE)[0, 0])
        raise ValueError(
            f"Expected `{name}` coordinates within +-{MAX_COORDINATE:g} pixels (use -1 for a missing point). "
            f"Received: keypoint {i} ({KEYPOINT_NAMES[i]}) at {tuple(array[i].tolist())}"
        )
    return array


def validate_image_size(image_size, name="image_size"):
    """Checks an `(height, width)` pair of positive integers and returns it as a tuple."""
    try:
        height, width = (int(v) for v in image_size)
        ok = all(int(v) == v for v in image_size)
    except (TypeError, ValueError):
        ok = False
    if not ok or height < 1 or width < 1:
        raise ValueError(
            f"Expected `{name}` as (height, width), two positive integers. Received: {name}={image_size!r}"
        )
    return height, width


def validate_augmentation(augmentation, image_size):
    """Checks a `(scaled_height, scaled_width, crop_x, crop_y)` tuple and returns it as ints."""
    try:
        values = tuple(int(v) for v in augmentation)
        ok = len(values) == 4 and all(int(v) == v for v in augmentation)
    except (TypeError, ValueError):
        ok = False
    if not ok or values[0] < 1 or values[1] < 1 or values[2] < 0 or values[3] < 0:
        raise ValueError(
            "Expected `augmentation` as (scaled_height, scaled_width, crop_x, crop_y): positive "
            f"scaled sizes and non-negative crop offsets, all integers (image_size={tuple(image_size)}). "
            f"Received: augmentation={augmentation!r}"
        )
    return values


def to_pixels(keypoints, image_size, frame, augmentation=None):
    """Maps keypoints into the pixel coordinates of an (augmented) output image.

    Without `augmentation` the output image is `image_size`. With it, the image was resized to
    `(scaled_height, scaled_width)` and then cropped back to `image_size` at `(crop_x, crop_y)`,
    as the training augmentation does (`keras_nted.data.deepfashion.sample_augmentation`), and the
    keypoints follow:

    * `frame="deepfashion"`: `x' = (x - 40) * scaled_width / 176 - crop_x`,
      `y' = y * scaled_height / 256 - crop_y` (without augmentation the scaled size is
      `image_size` and the crop is 0).
    * `frame="pixels"`: `x' = x * scaled_width / width - crop_x`, likewise for `y`.

    Coordinates that are `-1` on input are `-1` on output (each coordinate on its own, as in
    the release). As in the release, a coordinate that the transform maps to exactly -1 reads
    as missing afterwards.

    Args:
        keypoints: `(18, 2)` array of `(x, y)` in `frame`.
        image_size: `(height, width)` of the output image.
        frame: `"deepfashion"` (the released pose-file frame) or `"pixels"` (the output
            image's own pixel coordinates before augmentation).
        augmentation: optional `(scaled_height, scaled_width, crop_x, crop_y)`.

    Returns:
        A float64 `(18, 2)` array of pixel coordinates, `-1` where missing.

    Raises:
        ValueError: for a bad shape, NaN keypoints, an unknown frame or bad sizes.

    Example:

    >>> kp = np.full((18, 2), -1.0); kp[0] = (128.0, 64.0)
    >>> to_pixels(kp, (512, 352), frame="deepfashion")[0]
    array([176., 128.])
    """
    keypoints = validate_keypoints(keypoints)
    height, width = validate_image_size(image_size)
    if frame not in FRAMES:
        raise ValueError(f"Expected `frame` to be one of {FRAMES}. Received: frame={frame!r}")
    if augmentation is None:
        scaled_height, scaled_width, crop_x, crop_y = height, width, 0, 0
    else:
        scaled_height, scaled_width, crop_x, crop_y = validate_augmentation(augmentation, image_size)
    missing = keypoints == MISSING
    if frame == "deepfashion":
        # Evaluated as the release does, (W / 176) rescaled by scaled_W / W, so that int()
        # truncation of the results (used for drawing) agrees bit for bit.
        scale_x = 1.0 / DEEPFASHION_WIDTH * width
        scale_y = 1.0 / DEEPFASHION_HEIGHT * height
        if augmentation is not None:
            scale_x = scale_x / width * scaled_width
            scale_y = scale_y / height * scaled_height
        x = (keypoints[:, 0] - DEEPFASHION_BORDER) * scale_x - crop_x
        y = keypoints[:, 1] * scale_y - crop_y
    else:
        x = keypoints[:, 0] * (scaled_width / width) - crop_x
        y = keypoints[:, 1] * (scaled_height / height) - crop_y
    points = np.stack([x, y], axis=1)
    points[missing] = MISSING
    return points


def deepfashion_to_pixels(keypoints, image_size):
    """Converts keypoints from the released pose-file frame to an image's pixel coordinates.

    Args:
        keypoints: `(18, 2)` array in the `"deepfashion"` frame (see the module docstring).
        image_size: `(height, width)` of the image.

    Returns:
        A float64 `(18, 2)` array in pixel coordinates; missing points stay `-1`.
    """
    return to_pixels(keypoints, image_size, frame="deepfashion")


def pixels_to_deepfashion(keypoints, image_size):
    """Converts keypoints from an image's pixel coordinates to the released pose-file frame.

    The inverse of `deepfashion_to_pixels`: `x = x_pixels * 176 / width + 40`,
    `y = y_pixels * 256 / height`.

    Args:
        keypoints: `(18, 2)` array in the pixel coordinates of an image of `image_size`.
        image_size: `(height, width)` of that image (e.g. `(1101, 750)` for the high-resolution
            DeepFashion images OpenPose usually runs on).

    Returns:
        A float64 `(18, 2)` array in the `"deepfashion"` frame; missing points stay `-1`.
    """
    keypoints = validate_keypoints(keypoints)
    height, width = validate_image_size(image_size)
    missing = keypoints == MISSING
    points = np.stack(
        [
            keypoints[:, 0] * (DEEPFASHION_WIDTH / width) + DEEPFASHION_BORDER,
            keypoints[:, 1] * (DEEPFASHION_HEIGHT / height),
        ],
        axis=1,
    )
    points[missing] = MISSING
    return points


def read_pose_file(path):
    """Reads a released pose `.txt` file (18 lines of `x y`, the `"deepfashion"` frame).

    The format is whatever `np.loadtxt` reads as an `(18, 2)` array, the way the released code
    reads it.

    Args:
        path: the `.txt` file.

    Returns:
        A float64 `(18, 2)` array; `-1` marks a missing coordinate.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file, if it does not parse as 18x2 numbers or holds NaN.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Pose file not found: {path}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"Pose file {path} is empty; expected 18 rows of 'x y' (OpenPose COCO-18).")
    try:
        array = np.loadtxt(path, dtype="float64", ndmin=2)
    except ValueError as e:
        raise ValueError(f"Pose file {path} is not a table of numbers: {e}") from None
    return checked_pose_array(array, path, "18 rows of 'x y'")


def checked_pose_array(array, path, expected):
    """`validate_keypoints(array)`, with every error naming the pose file it came from.

    Args:
        array: the keypoints read from `path`.
        path: the pose file, for the messages.
        expected: what the file must hold, e.g. `"18 rows of 'x y'"`.
    """
    if array.shape != (NUM_KEYPOINTS, 2):
        raise ValueError(
            f"Pose file {path} must hold {expected} (OpenPose COCO-18). Received an array of shape {array.shape}."
        )
    try:
        return validate_keypoints(array)
    except ValueError as e:
        raise ValueError(f"Pose file {path}: {e}") from None


# The coordinate frame each pose file type is in unless told otherwise.
DEFAULT_POSE_FRAMES = {".txt": "deepfashion", ".json": "pixels", ".npy": "pixels"}


def default_pose_frame(path):
    """`"deepfashion"` for a released pose `.txt`, `"pixels"` for OpenPose `.json` and `.npy`."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in DEFAULT_POSE_FRAMES:
        raise ValueError(
            f"Expected a pose file ending in {', '.join(DEFAULT_POSE_FRAMES)} (released pose .txt, "
            f"OpenPose *_keypoints.json or an (18, 2) .npy). Received: {path}"
        )
    return DEFAULT_POSE_FRAMES[suffix]


def read_keypoints(path, person=None):
    """Reads `(18, 2)` keypoints from a pose `.txt`, an OpenPose `.json` or an `.npy` file.

    The one reader of pose files: every value is checked by `validate_keypoints` (finite, within `MAX_COORDINATE`).

    Args:
        path: the pose file.
        person: for an OpenPose `.json` with several people, the index of the one to use
            (default: the most confident, see `read_openpose_json`).

    Returns:
        A float64 `(18, 2)` array in the file's own frame; `-1` marks a missing coordinate.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file, if it is not an `(18, 2)` pose.
    """
    path = os.fspath(path)
    default_pose_frame(path)  # rejects unknown file types first
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Pose file not found: {path}")
    if path.lower().endswith(".txt"):
        return read_pose_file(path)
    if path.lower().endswith(".json"):
        return read_openpose_json(path, person)
    try:
        array = np.load(path, allow_pickle=False)
        if not isinstance(array, np.ndarray):  # an .npz archive under an .npy name
            array.close()
            raise ValueError(f"it holds a {type(array).__name__}")
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"Pose file {path} is not a numpy .npy array: {e}") from None
    return checked_pose_array(array, path, "an (18, 2) array of x, y")


def rescale_pixel_keypoints(keypoints, image_size, pose_image_size):
    """Pixel keypoints of an image of `pose_image_size` -> pixels of `image_size` (`-1` kept).

    Args:
        keypoints: `(18, 2)` `(x, y)` pixel coordinates, `-1` for missing ones.
        image_size: `(height, width)` to map to (the model's).
        pose_image_size: `(height, width)` the keypoints refer to.

    Returns:
        A float64 `(18, 2)` array.

    Example:
    >>> rescale_pixel_keypoints(np.full((18, 2), 10.0), (64, 44), (128, 88))[0].tolist()
    [5.0, 5.0]
    """
    keypoints = validate_keypoints(keypoints)
    scale = np.array([image_size[1] / pose_image_size[1], image_size[0] / pose_image_size[0]])
    return np.where(keypoints == MISSING, MISSING, keypoints * scale)


def write_pose_file(path, keypoints):
    """Writes keypoints in the `"deepfashion"` frame as a released-style pose `.txt` file.

    Values are written with full float64 precision, so `read_pose_file` (and `np.loadtxt`)
    return exactly what was written. Parent folders are created.

    Args:
        path: the `.txt` file to write.
        keypoints: `(18, 2)` array in the `"deepfashion"` frame, `-1` for missing.
    """
    keypoints = validate_keypoints(keypoints)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.savetxt(path, keypoints, fmt="%.18e")


def read_openpose_json(path, person=None):
    """Reads one person's COCO-18 keypoints from an OpenPose `*_keypoints.json` file.

    OpenPose writes `{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...]}, ...]}` in the
    pixel coordinates of the image it ran on. A point with confidence 0 is missing and becomes
    `(-1, -1)`. A UTF-8 byte-order mark (as Windows tools write) is accepted.

    Args:
        path: the JSON file.
        person: index into `people`; default (`None`): the person whose keypoint confidences
            sum highest (the first of equals), which is the only one when there is one. The
            choice is logged when the file holds several people.

    Returns:
        A float64 `(18, 2)` array in the `"pixels"` frame of the image OpenPose ran on. Use
        `pixels_to_deepfashion` to get the released pose-file frame.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file, if it is not OpenPose JSON with a COCO-18 pose for `person`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"OpenPose JSON file not found: {path}")
    if person is not None:
        check_int("person", person, minimum=0)
    try:
        with open(path, encoding="utf-8-sig") as f:
            people = json.load(f)["people"]
        if not isinstance(people, list):
            raise TypeError(f"`people` is a {type(people).__name__}, expected a list")
        poses = []
        for entry in people:
            values = entry.get("pose_keypoints_2d", entry.get("pose_keypoints"))
            if holds_bools(values):
                raise TypeError("`pose_keypoints_2d` holds booleans, expected numbers")
            poses.append(np.asarray(values, dtype="float64"))
    # RecursionError: arrays nested thousands deep; OverflowError: an integer beyond any float.
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError, AttributeError,
            RecursionError, OverflowError) as e:  # fmt: skip
        message = " ".join(str(e).split())[:200]
        raise ValueError(f"{path} is not an OpenPose keypoints JSON file ({type(e).__name__}: {message}).") from None
    for values in poses:
        if values.shape != (NUM_KEYPOINTS * 3,):
            raise ValueError(
                f"{path}: expected a COCO-18 `pose_keypoints_2d` of 54 values (18 x, y, confidence). "
                f"Received {values.size} values (a BODY_25 model gives 75; run OpenPose with "
                "--model_pose COCO)."
            )
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{path}: keypoints contain NaN or infinite values.")
    if not poses:
        raise ValueError(f"{path} has 0 people (`people` is empty): OpenPose found no one in that image.")
    if person is None:
        person = int(np.argmax([values[2::3].sum() for values in poses]))
        if len(poses) > 1:
            logging.getLogger(__name__).info(
                "%s has %d people; using person %d, the most confident "
                "(generate --person N, control --pose-person N choose).",
                path,
                len(poses),
                person,
            )
    elif person >= len(poses):
        raise ValueError(f"{path} has {len(poses)} people; cannot read person index {person}.")
    values = poses[person].reshape(NUM_KEYPOINTS, 3)
    points = values[:, :2].copy()
    points[values[:, 2] == 0] = MISSING
    try:
        return validate_keypoints(points)
    except ValueError as e:
        raise ValueError(f"Pose file {path}: {e}") from None


def openpose_keypoints_2d(keypoints, confidence, decimals=None):
    """One person's OpenPose `pose_keypoints_2d`: `x, y, confidence` per point, a missing
    point (a coordinate `-1`) as `0, 0, 0`.

    Args:
        keypoints: `(18, 2)` pixel coordinates.
        confidence: `(18,)` confidences of the present points.
        decimals: `None`, or `(for coordinates, for confidences)` to round to.
    """
    values = []
    for (x, y), c in zip(np.asarray(keypoints).tolist(), np.asarray(confidence).tolist()):
        if x == MISSING or y == MISSING:
            values += [0.0, 0.0, 0.0]
        elif decimals is None:
            values += [x, y, c]
        else:
            values += [round(x, decimals[0]), round(y, decimals[0]), round(c, decimals[1])]
    return values


def write_openpose_json(path, keypoints):
    """Writes one person as an OpenPose `*_keypoints.json` file (missing points get confidence 0).

    Args:
        path: the JSON file to write.
        keypoints: `(18, 2)` array in pixel coordinates, `-1` for missing coordinates.
    """
    keypoints = validate_keypoints(keypoints)
    values = openpose_keypoints_2d(keypoints, np.ones(len(keypoints)))
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"version": 1.3, "people": [{"pose_keypoints_2d": values}]}, f)
