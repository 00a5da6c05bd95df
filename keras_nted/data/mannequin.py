"""A procedural data set of clothed "mannequins": the embedded default for training and tests.

DeepFashion cannot be downloaded here, so the project ships a person-image generator whose output
has everything the real data set has: images of dressed figures in varied poses and views, their
OpenPose COCO-18 keypoints, and, in addition, per-pixel part labels (for appearance control).

Everything is a pure function of integer seeds:

- an `Identity` (`make_identity(seed)`) fixes the body build, skin tone, hair, an upper garment
  (sleeve length, colours, pattern), a lower garment (trousers, shorts or a skirt), shoes and the
  background colour;
- a `Pose` (`make_pose(seed, image_size)`) is an articulated 3-D stick figure (arm and leg angles,
  torso lean and twist, head turn, one of front / three-quarter / side / back views) projected
  orthographically, with a global scale and position; its keypoints are in pixel coordinates,
  `-1` (both coordinates) where a point is outside the image or hidden (the face points that
  the view turns away);
- `render(identity, pose)` paints the body parts as anti-aliased tapered capsules in depth order,
  with the garment patterns computed in each part's own coordinates (a stripe on a sleeve follows
  the arm), and returns the image with its part labels (`LABEL_NAMES`).

`MannequinDataset` streams pairs (two poses of one identity) as the batches the trainer takes, and
`write_mannequin_dataset` writes a set in the released DeepFashion layout, which the DeepFashion
loader reads back with the same images and skeletons.

Keypoint precision: pose coordinates are quantised to multiples of `1 / 4096` of the image height.
In the released pose-file frame (256 rows, a 40-px border) that is a multiple of `1 / 16`, which a
pose `.txt` file holds exactly with four decimals, and converting back to any image size
`(H, H * 11 / 16)` is exact in floating point. So a set written to disk gives bit-identical
skeletons when read back.
"""

import colorsys
import dataclasses
import json
import math
import os

import cv2
import keras
import numpy as np

# The loader's uint8 -> [-1, 1] table: streamed images equal a written set's, read back, bit for bit.
from keras_nted.data.deepfashion import images_to_unit_range
from keras_nted.data.deepfashion import pose_path
from keras_nted.data.deepfashion import write_pairs_file
from keras_nted.data.keypoints import KEYPOINT_NAMES
from keras_nted.data.keypoints import NUM_KEYPOINTS
from keras_nted.data.keypoints import pixels_to_deepfashion
from keras_nted.data.keypoints import write_pose_file
from keras_nted.data.skeleton import face_center
from keras_nted.data.skeleton import render_skeleton
from keras_nted.version import __version__

LABEL_NAMES = ("background", "hair", "skin", "upper_garment", "lower_garment", "shoes")
BACKGROUND, HAIR, SKIN, UPPER, LOWER, SHOES = range(6)
# An RGB colour per label, for pictures of label maps.
LABEL_COLORS = np.array(
    [[0, 0, 0], [140, 70, 20], [250, 200, 160], [40, 110, 230], [60, 180, 75], [230, 30, 60]],
    dtype=np.uint8,
)

SPLITS = ("train", "test")
VIEWS = ("front", "side", "back")
PATTERNS = ("solid", "stripes", "checks", "dots", "gradient")
SLEEVES = ("sleeveless", "short", "elbow", "long")
LOWER_KINDS = ("trousers", "shorts", "skirt")
HAIR_STYLES = ("short", "buzz", "bob", "long", "bun")

# Keypoints are stored as multiples of 1 / KEYPOINT_GRID of the image height (module docstring).
KEYPOINT_GRID = 4096
_SPLIT_CODES = {"train": 1, "test": 2}
_DEFAULT_IDENTITIES = {"train": 2000, "test": 100}


# ------------------------------------------------------------------------------------------------
# Seeds and argument checks
# ------------------------------------------------------------------------------------------------


def _check_seed(seed, name="seed"):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Expected a non-negative integer. Received: {name}={seed!r}")
    return int(seed)


def _check_positive(value, name, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Expected an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_image_size(image_size):
    """Validates a mannequin image size: `(height, width)` with `width = height * 11 / 16`.

    Args:
        image_size: a pair of positive integers, e.g. `(64, 44)`, `(256, 176)`.

    Returns:
        `(height, width)` as a tuple of Python ints.

    Raises:
        ValueError: when it is not such a pair.
    """
    try:
        height, width = (int(v) for v in image_size)
        valid = all(float(v) == int(v) for v in image_size)
    except (TypeError, ValueError):
        valid = False
    if not valid or height < 16 or width * 16 != height * 11:
        raise ValueError(
            "Expected image_size=(height, width) with height a positive multiple of 16 and "
            "width = height * 11 / 16, e.g. (64, 44), (128, 88), (256, 176). "
            f"Received: image_size={image_size!r}"
        )
    return height, width


def _check_split(split):
    if split not in _SPLIT_CODES:
        raise ValueError(f"Expected split to be one of {SPLITS}. Received: split={split!r}")
    return split


def _derive_seed(*entropy):
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def identity_seed(seed, split, index):
    """The seed of identity `index` of a split: train and test draw from separate streams.

    Args:
        seed: the data set's seed, a non-negative integer.
        split: `"train"` or `"test"`.
        index: the identity's index in its split.

    Returns:
        A 64-bit integer for `make_identity`.
    """
    return _derive_seed(_check_seed(seed), _SPLIT_CODES[_check_split(split)], 1, _check_seed(index, "index"))


def pose_seed(seed, split, identity_index, pose_index):
    """The seed of pose `pose_index` of identity `identity_index` of a split.

    Args:
        seed: the data set's seed, a non-negative integer.
        split: `"train"` or `"test"`.
        identity_index: the identity's index in its split.
        pose_index: the pose's index for that identity.

    Returns:
        A 64-bit integer for `make_pose`.
    """
    return _derive_seed(
        _check_seed(seed),
        _SPLIT_CODES[_check_split(split)],
        2,
        _check_seed(identity_index, "identity_index"),
        _check_seed(pose_index, "pose_index"),
    )


# ------------------------------------------------------------------------------------------------
# Identity
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Garment:
    """One garment's look.

    Attributes:
        kind: for an upper garment one of `SLEEVES`, for a lower one one of `LOWER_KINDS`.
        colors: `(base, pattern)` RGB triplets (ints in [0, 255]).
        pattern: one of `PATTERNS`.
        period: the pattern's period in units of body height.
        across: stripes run across the part's axis (rings around a sleeve, horizontal bands on an
            upright torso) when True, along it when False.
        length: (skirts and shorts) from 0.5 (short) to 1 (long).
        tucked: (upper garments) the hem goes under the lower garment's waistband.
    """

    kind: str
    colors: tuple
    pattern: str
    period: float
    across: bool
    length: float
    tucked: bool = False


@dataclasses.dataclass(frozen=True)
class Identity:
    """A mannequin's appearance, independent of its pose (see `make_identity`).

    Attributes:
        seed: the seed it was made from.
        skin: RGB skin tone.
        hair_style: one of `HAIR_STYLES`.
        hair_color: RGB.
        upper: the upper `Garment` (`kind` is the sleeve length).
        lower: the lower `Garment` (`kind` is trousers, shorts or skirt).
        shoe_color: RGB.
        background: RGB background colour.
        build: limb and torso thickness factor (about 0.85 to 1.15).
        neckline: depth of the neckline in units of body height.
    """

    seed: int
    skin: tuple
    hair_style: str
    hair_color: tuple
    upper: Garment
    lower: Garment
    shoe_color: tuple
    background: tuple
    build: float
    neckline: float


_SKIN_TONES = np.array(
    [[255, 228, 206], [241, 198, 170], [226, 176, 142], [198, 138, 102], [160, 106, 74],
     [120, 78, 54], [88, 58, 42]],
    dtype=np.float64,
)  # fmt: skip
_HAIR_COLORS = (
    (26, 22, 20), (58, 38, 26), (98, 64, 38), (146, 104, 62), (210, 176, 112), (150, 62, 34),
    (168, 166, 160), (236, 214, 170),
)  # fmt: skip
_NEUTRALS = (
    (245, 245, 242), (30, 30, 34), (128, 128, 130), (28, 38, 74), (200, 180, 150), (90, 60, 40),
    (180, 30, 40),
)  # fmt: skip


def _rgb(h, s, v):
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _garment_colors(rng):
    if rng.random() < 0.3:
        base = _NEUTRALS[rng.integers(len(_NEUTRALS))]
        h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in base))
    else:
        h, s, v = rng.random(), rng.uniform(0.25, 0.85), rng.uniform(0.3, 0.95)
        base = _rgb(h, s, v)
    choice = rng.random()
    if choice < 0.35:  # white or near-black accents
        accent = (240, 240, 236) if v < 0.6 else (24, 24, 28)
    elif choice < 0.7:  # another hue
        accent = _rgb(h + rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.9), rng.uniform(0.35, 0.95))
    else:  # a lighter or darker shade of the base
        accent = _rgb(h, s * 0.7, v * 0.45) if v > 0.5 else _rgb(h, s * 0.8, min(1.0, v + 0.45))
    return base, accent


def _make_garment(rng, kinds, kind_probs, pattern_probs, tucked=False):
    kind = kinds[rng.choice(len(kinds), p=kind_probs)]
    colors = _garment_colors(rng)
    pattern = PATTERNS[rng.choice(len(PATTERNS), p=pattern_probs)]
    return Garment(
        kind=kind,
        colors=colors,
        pattern=pattern,
        period=float(rng.uniform(0.035, 0.08)),
        across=bool(rng.random() < 0.7),
        length=float(rng.uniform(0.5, 1.0)),
        tucked=tucked,
    )


def make_identity(seed):
    """Draws a mannequin's appearance from a seed.

    Args:
        seed: a non-negative integer; equal seeds give equal identities.

    Returns:
        An `Identity`.

    Raises:
        ValueError: if `seed` is not a non-negative integer.

    Example:

    >>> identity = make_identity(7)
    >>> identity.upper.kind in SLEEVES
    True
    """
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    tone = rng.uniform(0, len(_SKIN_TONES) - 1)
    low = int(tone)
    high = min(low + 1, len(_SKIN_TONES) - 1)
    skin = _SKIN_TONES[low] + (tone - low) * (_SKIN_TONES[high] - _SKIN_TONES[low])
    skin = tuple(int(c) for c in np.clip(skin + rng.normal(0, 4, 3), 0, 255))
    hair_style = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=[0.3, 0.1, 0.2, 0.3, 0.1])]
    hair_color = _HAIR_COLORS[rng.integers(len(_HAIR_COLORS))]
    upper = _make_garment(
        rng, SLEEVES, [0.15, 0.4, 0.15, 0.3], [0.35, 0.25, 0.15, 0.1, 0.15], tucked=bool(rng.random() < 0.3)
    )
    lower = _make_garment(rng, LOWER_KINDS, [0.55, 0.2, 0.25], [0.6, 0.15, 0.15, 0.05, 0.05])
    if rng.random() < 0.6:
        shoe_color = ((20, 20, 22), (245, 245, 245), (92, 58, 34), (60, 60, 64))[rng.integers(4)]
    else:
        shoe_color = _rgb(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9))
    if rng.random() < 0.7:
        grey = rng.uniform(205, 250)
        background = tuple(int(np.clip(grey + rng.normal(0, 4), 0, 255)) for _ in range(3))
    else:
        background = _rgb(rng.random(), rng.uniform(0.08, 0.3), rng.uniform(0.75, 0.95))
    return Identity(
        seed=seed,
        skin=skin,
        hair_style=hair_style,
        hair_color=hair_color,
        upper=upper,
        lower=lower,
        shoe_color=shoe_color,
        background=background,
        build=float(rng.uniform(0.85, 1.15)),
        neckline=float(rng.uniform(0.01, 0.05)),
    )


# ------------------------------------------------------------------------------------------------
# Pose: a 3-D stick figure, projected
# ------------------------------------------------------------------------------------------------
# Body frame: x = the person's left, y = down, z = forward; lengths in units of body height.

_TORSO = 0.29  # mid-hip to neck
_SHOULDER = 0.11  # neck to shoulder joint, sideways
_HIP = 0.064  # mid-hip to hip joint, sideways
_UPPER_ARM, _FOREARM, _HAND = 0.165, 0.145, 0.072
_THIGH, _SHIN = 0.235, 0.235
_HEAD_ABOVE_NECK = 0.1  # neck to the centre of the head
_HEAD_HALF_HEIGHT = 0.066
_ARM_MODES = ("down", "bent", "hip", "pocket", "raised", "face")
# A face point is visible while its surface normal's component towards the camera exceeds this.
_FACE_VISIBILITY = {"nose": -0.25, "right_eye": 0.08, "left_eye": 0.08, "right_ear": -0.45, "left_ear": -0.45}
_LEG_MODES = ("stand", "relaxed", "wide", "walk", "cross")


@dataclasses.dataclass(frozen=True, eq=False)
class Pose:
    """A mannequin's pose (see `make_pose`).

    Attributes:
        seed: the seed it was made from.
        image_size: `(height, width)` the keypoints are for.
        keypoints: `(18, 2)` float32 OpenPose COCO-18 `(x, y)` pixel coordinates of `image_size`,
            pixel centres at integers, `-1` for both coordinates of a point outside the image or
            hidden by the view (nose and eyes from behind, the far eye and ear from the side).
        view: `"front"`, `"side"` or `"back"`.
        yaw: the body's turn in degrees (0 faces the camera, 90 shows the right side, 180 the back).
        scale: body height in units of image height.
        points: named rendering points, `(x, y, depth)` in units of image height (x from the left,
            y from the top, depth towards the camera), quantised like the keypoints.
        hidden: `(18,)` bool, the keypoints the view hides (whether or not inside the image).
        facing: the head's turn as `(cos, sin)` of its yaw.
    """

    seed: int
    image_size: tuple
    keypoints: np.ndarray
    view: str
    yaw: float
    scale: float
    points: dict = dataclasses.field(repr=False)
    hidden: np.ndarray = dataclasses.field(repr=False)
    facing: tuple = dataclasses.field(repr=False)

    def keypoints_at(self, image_size):
        """The keypoints for another image size (exact: see the module docstring).

        Args:
            image_size: `(height, width)` with `width = height * 11 / 16`.

        Returns:
            `(18, 2)` float32 pixel coordinates, `-1` for missing points.
        """
        height, width = check_image_size(image_size)
        return _keypoints_from_points(self.points, self.hidden, height, width)


def _unit(v):
    n = math.sqrt(float(v @ v))
    return v / n if n > 1e-9 else v


def _rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a):  # yaw: turns the forward axis (z) towards the image's +x
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a):  # lean: tips the up direction towards +x
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _limb_direction(side, abduction, flexion):
    """Unit direction from abduction (sideways, 0 = down) and flexion (forwards), degrees."""
    a, b = math.radians(abduction), math.radians(flexion)
    return np.array([side * math.sin(a) * math.cos(b), math.cos(a) * math.cos(b), math.sin(b)])


def _bend(direction, toward, angle):
    """`direction` rotated by `angle` degrees towards `toward` (in their common plane)."""
    perp = toward - (toward @ direction) * direction
    if perp @ perp < 1e-9:
        perp = np.array([0.0, 0.0, 1.0]) - direction[2] * direction
    perp = _unit(perp)
    a = math.radians(angle)
    return math.cos(a) * direction + math.sin(a) * perp


def _two_bone(root, target, upper, lower, pole):
    """Elbow/knee and end positions reaching for `target` with the joint bent towards `pole`."""
    offset = target - root
    reach = min(max(math.sqrt(float(offset @ offset)), abs(upper - lower) + 1e-3), upper + lower - 1e-3)
    axis = _unit(offset)
    cos_a = (upper * upper + reach * reach - lower * lower) / (2 * upper * reach)
    perp = pole - (pole @ axis) * axis
    perp = _unit(perp) if perp @ perp > 1e-9 else _unit(np.cross(axis, [0.0, 0.0, 1.0]))
    joint = root + upper * (cos_a * axis + math.sqrt(max(0.0, 1 - cos_a * cos_a)) * perp)
    return joint, root + reach * axis


def _arm(rng, mode, side, pts, torso_rot):
    """Elbow, wrist and hand end of one arm (side +1: left, -1: right) in the body frame."""
    shoulder = pts[("left_" if side > 0 else "right_") + "shoulder"]
    if mode in ("down", "bent", "raised"):
        if mode == "down":
            direction = _limb_direction(side, rng.uniform(4, 22), rng.uniform(-12, 15))
            flex, inward = rng.uniform(0, 25), rng.uniform(0, 0.5)
        elif mode == "bent":
            direction = _limb_direction(side, rng.uniform(5, 40), rng.uniform(-10, 45))
            flex, inward = rng.uniform(35, 115), rng.uniform(0, 1.2)
        else:
            direction = _limb_direction(side, rng.uniform(70, 165), rng.uniform(-15, 35))
            flex, inward = rng.uniform(0, 80), rng.uniform(-0.5, 0.5)
        direction = torso_rot @ direction
        elbow = shoulder + _UPPER_ARM * direction
        forearm = _bend(direction, torso_rot @ np.array([-side * inward, -0.3, 1.0]), flex)
        return _with_hand(rng, side, elbow, elbow + _FOREARM * forearm, torso_rot)
    hip = pts[("left_" if side > 0 else "right_") + "hip"]
    if mode == "hip":
        target = hip + torso_rot @ np.array([side * 0.045, -0.06, rng.uniform(-0.02, 0.02)])
        pole = torso_rot @ np.array([side * 1.0, 0.0, -0.5])
    elif mode == "pocket":
        target = hip + torso_rot @ np.array([side * 0.02, 0.03, rng.uniform(0.02, 0.06)])
        pole = torso_rot @ np.array([side * 0.6, 0.0, -1.0])
    else:  # "face": a hand beside the cheek or at the hair, not over the face
        target = pts["head"] + torso_rot @ np.array([side * rng.uniform(0.075, 0.1), rng.uniform(-0.02, 0.06), 0.02])
        pole = torso_rot @ np.array([side * 1.0, 0.8, -0.2])
        elbow, wrist = _two_bone(shoulder, target, _UPPER_ARM, _FOREARM, pole)
        return elbow, wrist, wrist + _HAND * _unit(torso_rot @ np.array([-side * 0.25, -1.0, 0.1]))
    return _with_hand(rng, side, *_two_bone(shoulder, target, _UPPER_ARM, _FOREARM, pole), torso_rot)


def _with_hand(rng, side, elbow, wrist, torso_rot):
    """Adds the hand's end: the forearm's direction, bent a little towards the palm."""
    hand = _bend(_unit(wrist - elbow), torso_rot @ np.array([-side * 0.3, 0.0, 1.0]), rng.uniform(0, 25))
    return elbow, wrist, wrist + _HAND * hand


def _legs(rng, mode):
    """(abduction, flexion, knee bend) for the right and left leg, degrees."""
    if mode == "stand":
        a = rng.uniform(-1, 7)
        return [(a + rng.normal(0, 1), rng.normal(0, 3), rng.uniform(0, 6)) for _ in range(2)]
    if mode == "relaxed":  # contrapposto: one straight leg, one relaxed
        legs = [(rng.uniform(1, 5), rng.normal(0, 2), rng.uniform(0, 4)),
                (rng.uniform(4, 14), rng.uniform(0, 18), rng.uniform(10, 35))]  # fmt: skip
        return legs if rng.random() < 0.5 else legs[::-1]
    if mode == "wide":
        return [(rng.uniform(9, 20), rng.normal(0, 3), rng.uniform(0, 8)) for _ in range(2)]
    if mode == "walk":
        stride = rng.uniform(12, 30)
        legs = [(rng.uniform(0, 4), stride, rng.uniform(0, 12)),
                (rng.uniform(0, 4), -rng.uniform(8, stride), rng.uniform(10, 35))]  # fmt: skip
        return legs if rng.random() < 0.5 else legs[::-1]
    legs = [(-rng.uniform(6, 11), rng.uniform(4, 10), rng.uniform(0, 8)), (rng.uniform(1, 5), 0.0, rng.uniform(0, 6))]
    return legs if rng.random() < 0.5 else legs[::-1]


def _skeleton_3d(rng):
    """Named points of a posed body (body frame, units of body height) and the head's rotation."""
    lean = _rot_z(math.radians(float(np.clip(rng.normal(0, 4), -10, 10))))
    lean = lean @ _rot_x(math.radians(float(np.clip(rng.normal(0, 3), -8, 8))))
    twist = _rot_y(math.radians(float(np.clip(rng.normal(0, 8), -20, 20))))
    torso_rot = lean @ twist
    pts = {"mid_hip": np.zeros(3)}
    pts["neck"] = lean @ np.array([0.0, -_TORSO, 0.0])
    pts["waist"] = lean @ np.array([0.0, -0.4 * _TORSO, 0.0])
    for side, prefix in ((1, "left_"), (-1, "right_")):
        pts[prefix + "shoulder"] = pts["neck"] + torso_rot @ np.array([side * _SHOULDER, 0.012, 0.0])
        pts[prefix + "hip"] = np.array([side * _HIP, 0.0, 0.0])
    head_rot = torso_rot @ _rot_y(math.radians(float(np.clip(rng.normal(0, 15), -35, 35))))
    head_rot = head_rot @ _rot_z(math.radians(float(np.clip(rng.normal(0, 6), -15, 15))))
    head_rot = head_rot @ _rot_x(math.radians(float(np.clip(rng.normal(0, 5), -12, 12))))
    pts["head"] = pts["neck"] + head_rot @ np.array([0.0, -_HEAD_ABOVE_NECK, 0.006])
    face = {
        "nose": (0.0, 0.02, 0.062), "right_eye": (-0.022, -0.004, 0.05), "left_eye": (0.022, -0.004, 0.05),
        "right_ear": (-0.055, 0.002, -0.004), "left_ear": (0.055, 0.002, -0.004),
        "crown": (0.0, -_HEAD_HALF_HEIGHT, 0.0), "hair_back": (0.0, 0.0, -0.07), "bun": (0.0, -0.068, -0.035),
    }  # fmt: skip
    for name, offset in face.items():
        pts[name] = pts["head"] + head_rot @ np.array(offset)

    arm_modes = [_ARM_MODES[rng.choice(len(_ARM_MODES), p=[0.36, 0.2, 0.15, 0.12, 0.09, 0.08])] for _ in range(2)]
    if arm_modes[0] == arm_modes[1] == "face":
        arm_modes[1] = "down"
    for side, prefix, mode in ((1, "left_", arm_modes[0]), (-1, "right_", arm_modes[1])):
        pts[prefix + "elbow"], pts[prefix + "wrist"], pts[prefix + "hand"] = _arm(rng, mode, side, pts, torso_rot)

    leg_mode = _LEG_MODES[rng.choice(len(_LEG_MODES), p=[0.3, 0.25, 0.15, 0.22, 0.08])]
    for (abduction, flexion, knee), side, prefix in zip(_legs(rng, leg_mode), (-1, 1), ("right_", "left_")):
        thigh = _limb_direction(side, abduction, flexion)
        pts[prefix + "knee"] = pts[prefix + "hip"] + _THIGH * thigh
        pts[prefix + "ankle"] = pts[prefix + "knee"] + _SHIN * _bend(thigh, np.array([0.0, 0.0, -1.0]), knee)
        toe = _rot_y(side * math.radians(rng.uniform(5, 25))) @ np.array([0.0, 0.0, 1.0])
        pts[prefix + "heel"] = pts[prefix + "ankle"] + np.array([0.0, 0.03, -0.025])
        pts[prefix + "toe"] = pts[prefix + "ankle"] + np.array([0.0, 0.038, 0.0]) + 0.095 * toe
    eye_normal = np.array([0.34, 0.0, 0.94])
    ear_normal = np.array([1.0, 0.0, -0.2])
    normals = {
        "nose": np.array([0.0, 0.0, 1.0]),
        "right_eye": eye_normal * [-1, 1, 1], "left_eye": eye_normal,
        "right_ear": ear_normal * [-1, 1, 1], "left_ear": ear_normal,
    }  # fmt: skip
    return pts, head_rot, {name: head_rot @ n for name, n in normals.items()}


def make_pose(seed, image_size=(256, 176)):
    """Draws a posed mannequin skeleton from a seed.

    The pose itself does not depend on `image_size` (only the keypoints' pixel units do), so one
    seed gives the same picture at every size.

    Args:
        seed: a non-negative integer; equal seeds give equal poses.
        image_size: `(height, width)` with `width = height * 11 / 16`.

    Returns:
        A `Pose` whose `keypoints` are `(18, 2)` float32 pixel coordinates (`-1`: missing).

    Raises:
        ValueError: for a bad `seed` or `image_size`.

    Example:

    >>> pose = make_pose(3, (64, 44))
    >>> pose.keypoints.shape
    (18, 2)
    """
    seed = _check_seed(seed)
    height, width = check_image_size(image_size)
    rng = np.random.default_rng(seed)
    u = rng.random()
    if u < 0.4:
        yaw = rng.normal(0, 12)
    elif u < 0.6:
        yaw = rng.choice([-1, 1]) * rng.uniform(25, 55)
    elif u < 0.8:
        yaw = rng.choice([-1, 1]) * rng.uniform(65, 100)
    else:
        yaw = 180 + rng.normal(0, 15)
    yaw = float((yaw + 180) % 360 - 180)
    pts, head_rot, normals = _skeleton_3d(rng)

    view_rot = _rot_y(math.radians(yaw))
    body = {n: view_rot @ p for n, p in pts.items()}  # (x image-right, y down, depth towards the camera)
    top = min(body["crown"][1], body["head"][1] - _HEAD_HALF_HEIGHT)
    bottom = max(body[n][1] for n in ("right_heel", "right_toe", "left_heel", "left_toe")) + 0.03
    close_up = rng.random() < 0.12
    height_frac = rng.uniform(1.25, 1.8) if close_up else rng.uniform(0.8, 0.94)
    scale = height_frac / (bottom - top)  # image heights per body height
    top_margin = rng.uniform(0.015, 0.06) if close_up else rng.uniform(0.01, max(0.011, 0.985 - height_frac))
    center_x = 0.5 * 11 / 16 + rng.normal(0, 0.02)
    points = {}
    for n, (x, y, z) in body.items():
        x = center_x + (x - body["mid_hip"][0]) * scale
        y = top_margin + (y - top) * scale
        x, y = (round(v * KEYPOINT_GRID) / KEYPOINT_GRID for v in (x, y))
        points[n] = np.array([x, y, z * scale])
    # A face point is hidden where its surface normal turns away from the camera.
    hidden = np.zeros(NUM_KEYPOINTS, bool)
    for n, threshold in _FACE_VISIBILITY.items():
        hidden[KEYPOINT_NAMES.index(n)] = (view_rot @ normals[n])[2] < threshold
    head_yaw = math.atan2(float((view_rot @ head_rot)[0, 2]), float((view_rot @ head_rot)[2, 2]))
    view = "front" if abs(yaw) <= 45 else ("back" if abs(yaw) >= 135 else "side")
    return Pose(
        seed=seed,
        image_size=(height, width),
        keypoints=_keypoints_from_points(points, hidden, height, width),
        view=view,
        yaw=yaw,
        scale=float(scale),
        points=points,
        hidden=hidden,
        facing=(math.cos(head_yaw), math.sin(head_yaw)),
    )


def _keypoints_from_points(points, hidden, height, width):
    grid = np.array([points[n][:2] for n in KEYPOINT_NAMES]) * KEYPOINT_GRID
    keypoints = grid * height / KEYPOINT_GRID  # exact: integer * integer / power of two
    outside = (
        hidden
        | (keypoints[:, 0] < 0)
        | (keypoints[:, 0] >= width)
        | (keypoints[:, 1] < 0)
        | (keypoints[:, 1] >= height)
    )
    keypoints[outside] = -1.0
    return keypoints.astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------


class _Paint:
    """Colour of a part: a base colour, optionally patterned (part-local coordinates)."""

    __slots__ = ("base", "accent", "pattern", "period", "across", "span")

    def __init__(self, base, accent=None, pattern="solid", period=1.0, across=True, span=1.0):
        self.base = np.asarray(base, np.float32)
        self.accent = self.base if accent is None else np.asarray(accent, np.float32)
        self.pattern, self.period, self.across = pattern, period, across
        self.span = span  # a gradient's length along the garment, body units

    @classmethod
    def of(cls, garment, span):
        return cls(garment.colors[0], garment.colors[1], garment.pattern, garment.period, garment.across, span)


def _stripes(coord, period, pixel):
    """Anti-aliased 0/1 bands of width period / 2 along `coord`; `pixel` = one pixel in coord units."""
    tri = np.abs(np.mod(coord * (1.0 / period), 1.0) - 0.5)
    return np.clip(0.5 + (0.25 - tri) * (2 * period / pixel), 0.0, 1.0)


def _pattern_mask(paint, u, v, pixel):
    """How much of the accent colour each pixel shows, in [0, 1]; `u`, `v` in body units."""
    period = paint.period
    if paint.pattern == "gradient":
        return np.clip(u * (1.0 / paint.span), 0.0, 1.0) + 0.0 * v
    if paint.pattern == "stripes":
        mask = _stripes(u if paint.across else v, period, pixel)
    elif paint.pattern == "checks":
        mask = np.abs(_stripes(u, period, pixel) - _stripes(v, period, pixel))
    else:  # dots on a staggered lattice
        row = np.floor(v * (1.0 / period))
        du = np.mod(u * (1.0 / period) + 0.5 * row, 1.0) - 0.5
        dv = v * (1.0 / period) - row - 0.5
        dist = np.sqrt(du * du + dv * dv) * period
        mask = np.clip(0.5 + (0.28 * period - dist) / pixel, 0.0, 1.0)
    # Patterns finer than a few pixels fade to their mean colour instead of aliasing.
    fade = min(1.0, max(0.0, (period / pixel - 2.5) / 2.5))
    return mask if fade == 1.0 else 0.5 + (mask - 0.5) * fade


class _Canvas:
    """An RGB float canvas and a label map that anti-aliased capsules are painted onto."""

    def __init__(self, height, width, background, unit):
        self.height, self.width, self.unit = height, width, unit  # unit: pixels per body height
        shade = np.linspace(1.0, 0.9, height, dtype=np.float32)[:, None, None]
        self.image = np.broadcast_to(np.asarray(background, np.float32) * shade, (height, width, 3)).copy()
        self.labels = np.zeros((height, width), np.uint8)

    def capsule(
        self, a, b, r0, r1, paint, label, round_a=True, round_b=True, clip=None, shade=0.3, opacity=1.0, u0=0.0
    ):
        """Paints the tapered capsule from `a` (radius r0) to `b` (r1); points in pixels, radii in body units.

        `clip` is `(normal, offset)`: keep pixels p with `p . normal >= offset` (pixels).
        Flat ends (`round_a` / `round_b` False) cut the capsule square at its end points.
        The pattern's coordinates are `(u0 + distance along the axis, distance across it)`, in
        body units: `u0` continues a pattern from the previous part of a chain (upper arm, forearm).
        """
        r0, r1 = r0 * self.unit, r1 * self.unit
        reach = max(r0, r1) + 1.5
        x0 = max(int(math.floor(min(a[0], b[0]) - reach)), 0)
        x1 = min(int(math.ceil(max(a[0], b[0]) + reach)) + 1, self.width)
        y0 = max(int(math.floor(min(a[1], b[1]) - reach)), 0)
        y1 = min(int(math.ceil(max(a[1], b[1]) + reach)) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        px = np.arange(x0 - a[0], x1 - a[0], dtype=np.float32)[None, :]
        py = np.arange(y0 - a[1], y1 - a[1], dtype=np.float32)[:, None]
        dx, dy = float(b[0] - a[0]), float(b[1] - a[1])
        length = math.hypot(dx, dy)
        if length < 1e-3:
            dx, dy, length = 0.0, 1e-3, 1e-3
        ex, ey = dx / length, dy / length
        along = px * ex + py * ey  # pixels from a along the axis
        across = py * ex - px * ey
        t = np.clip(along * (1.0 / length), 0.0, 1.0)
        radius = r0 + (r1 - r0) * t
        qa = along - t * length
        dist = np.sqrt(qa * qa + across * across) - radius
        if not round_a:
            dist = np.maximum(dist, -along)
        if not round_b:
            dist = np.maximum(dist, along - length)
        if clip is not None:
            (nx, ny), offset = clip
            dist = np.maximum(dist, offset - (px + a[0]) * nx - (py + a[1]) * ny)
        alpha = np.clip(0.5 - dist, 0.0, 1.0)
        if opacity != 1.0:
            alpha *= opacity
        elif label is not None:
            self.labels[y0:y1, x0:x1][alpha >= 0.5] = label
        if paint.pattern == "solid":
            color = paint.base
        else:
            inv = 1.0 / self.unit
            mask = _pattern_mask(paint, along * inv + u0, across * inv, inv)
            color = paint.base + mask[..., None] * (paint.accent - paint.base)
        if shade:
            rel = across / np.maximum(radius, 0.5)
            color = color * (1.0 - shade * np.minimum(rel * rel, 1.0))[..., None]
        region = self.image[y0:y1, x0:x1]
        region += alpha[..., None] * (color - region)


def render(identity, pose, image_size=None):
    """Paints a mannequin.

    Args:
        identity: an `Identity` (`make_identity`).
        pose: a `Pose` (`make_pose`).
        image_size: `(height, width)`; defaults to `pose.image_size`. The pose scales to any size.

    Returns:
        `(image, labels)`: `(height, width, 3)` uint8 RGB and `(height, width)` uint8 part labels
        (indices into `LABEL_NAMES`: 0 background, 1 hair, 2 skin, 3 upper garment, 4 lower
        garment, 5 shoes; a pixel takes the label of the front-most part covering at least half
        of it).

    Raises:
        ValueError: for a bad `image_size`.

    Example:

    >>> image, labels = render(make_identity(0), make_pose(0, (64, 44)))
    >>> image.shape, labels.shape
    ((64, 44, 3), (64, 44))
    """
    height, width = check_image_size(pose.image_size if image_size is None else image_size)
    unit = pose.scale * height
    canvas = _Canvas(height, width, identity.background, unit)
    for _, parts in sorted(_parts(identity, pose, height), key=lambda group: group[0]):
        for args, kwargs in parts:
            canvas.capsule(*args, **kwargs)
    return np.clip(canvas.image + 0.5, 0, 255).astype(np.uint8), canvas.labels


def _parts(identity, pose, height):
    """Depth-keyed groups of capsule calls `(args, kwargs)`, painted back to front.

    Group depths are in body units towards the camera: the torso is 0, an arm is in front of it
    when beside it (+0.035), the legs are always behind it (-0.1, so that the shirt hem and the
    waistband cover the thighs), and the head always in front (the neck makes the neckline).
    """
    P = {n: v[:2] * height for n, v in pose.points.items()}  # pixels
    Z = {n: v[2] / pose.scale for n, v in pose.points.items()}  # depth, body units
    unit = pose.scale * height  # pixels per body unit
    cos_f, sin_f = pose.facing
    build = identity.build
    skin, hair = _Paint(identity.skin), _Paint(identity.hair_color)
    upper, lower = identity.upper, identity.lower
    shirt = _Paint.of(upper, span=0.33)
    bottoms = _Paint.of(lower, span={"trousers": 0.55, "shorts": 0.2, "skirt": 0.35}[lower.kind])
    slab = {"round_a": False, "round_b": False}  # flat ends: torso sections, skirt
    groups = []

    def part(group, a, b, r0, r1, paint, label, **kwargs):
        group.append(((a, b, r0, r1, paint, label), kwargs))

    # Torso: an elliptic cylinder seen from the view's yaw, narrower at the waist; the skin
    # shows at the neckline and the armholes only.
    yaw = math.radians(pose.yaw)

    def half_width(front, side):
        return build * math.hypot(front * math.cos(yaw), side * math.sin(yaw))

    neck, waist, mid_hip = P["neck"], P["waist"], P["mid_hip"]
    axis = mid_hip - neck
    down = axis / max(float(np.hypot(*axis)), 1e-6)  # unit vector down the torso
    w_top, w_waist, w_hip = half_width(0.118, 0.065), half_width(0.088, 0.06), half_width(0.104, 0.07)
    chest_end = waist + down  # one pixel past the waist: no anti-aliased seam between sections
    waistband, band_w = neck + 0.62 * axis, w_waist + 0.05 * (w_hip - w_waist)
    hem = neck + (0.75 if upper.tucked else 0.9) * axis
    hem_w = w_waist + (0.42 if upper.tucked else 0.83) * (w_hip - w_waist)
    torso, upper_body, lower_top = [], [], []
    part(torso, neck, chest_end, w_top, w_waist, skin, SKIN, shade=0.15, **slab)
    part(upper_body, neck, chest_end, w_top + 0.004, w_waist + 0.004, shirt, UPPER, shade=0.15, **slab)
    part(upper_body, waist, hem, w_waist + 0.004, hem_w + 0.006, shirt, UPPER, shade=0.15, u0=0.6 * _TORSO, **slab)
    part(lower_top, waistband, mid_hip + 0.05 * unit * down, band_w, w_hip, bottoms, LOWER, shade=0.15, **slab)
    torso += upper_body + lower_top if upper.tucked else lower_top + upper_body
    groups.append((0.0, torso))

    # Arms: skin, the sleeve over the covered part (continuing its pattern from the upper arm to
    # the forearm), the hand.
    sleeve = {"sleeveless": 0.0, "short": 0.45, "elbow": 1.0, "long": 2.0}[upper.kind]
    for prefix in ("right_", "left_"):
        s, e, w, h = (P[prefix + n] for n in ("shoulder", "elbow", "wrist", "hand"))
        r_s, r_e, r_w = 0.031 * build, 0.025 * build, 0.019 * build
        arm = []
        part(arm, s, e, r_s, r_e, skin, SKIN)
        part(arm, e, w, r_e, r_w, skin, SKIN)
        part(arm, w, h, 0.021 * build, 0.016 * build, skin, SKIN, shade=0.2)
        if sleeve == 0.0:  # the shirt's shoulder strap
            part(arm, s, s + 0.12 * (e - s), r_s + 0.004, r_s + 0.002, shirt, UPPER, round_b=False)
        else:
            cover = min(sleeve, 1.0)
            part(arm, s, s + cover * (e - s), r_s + 0.007, r_s + cover * (r_e - r_s) + 0.007, shirt, UPPER,
                 round_b=sleeve > 1.0)  # fmt: skip
            if sleeve > 1.0:
                part(arm, e, w + 0.04 * (e - w), r_e + 0.007, r_w + 0.007, shirt, UPPER, round_b=False, u0=_UPPER_ARM)
        groups.append((np.mean([Z[prefix + n] for n in ("shoulder", "elbow", "wrist")]) + 0.035, arm))

    # Legs (skin, the trouser or shorts leg, the shoe), back to front, then a skirt over both.
    cover = {"trousers": 1.0, "shorts": 0.2 + 0.5 * lower.length, "skirt": 0.0}[lower.kind]
    legs = []
    for prefix in ("right_", "left_"):
        hip, knee, ankle, heel, toe = (P[prefix + n] for n in ("hip", "knee", "ankle", "heel", "toe"))
        r_h, r_k, r_a = 0.052 * build, 0.038 * build, 0.025 * build
        leg = []
        part(leg, hip, knee, r_h, r_k, skin, SKIN)
        part(leg, knee, ankle, r_k, r_a, skin, SKIN)
        if cover == 1.0:  # the pattern starts at the waistband, about 0.1 above the hips
            part(leg, hip, knee, r_h + 0.006, r_k + 0.007, bottoms, LOWER, u0=0.1)
            part(leg, knee, ankle + 0.05 * (ankle - knee), r_k + 0.007, r_a + 0.011, bottoms, LOWER,
                 round_b=False, u0=0.1 + _THIGH)  # fmt: skip
        elif cover > 0:
            part(leg, hip, hip + cover * (knee - hip), r_h + 0.007, r_h + cover * (r_k - r_h) + 0.009, bottoms, LOWER,
                 round_b=False, u0=0.1)  # fmt: skip
        part(leg, heel, toe, 0.026, 0.022, _Paint(identity.shoe_color), SHOES, shade=0.25)
        legs.append((np.mean([Z[prefix + n] for n in ("hip", "knee", "ankle")]), leg))
    (back_depth, back_leg), (front_depth, front_leg) = sorted(legs, key=lambda leg: leg[0])
    lower_body = back_leg + front_leg
    if lower.kind == "skirt":
        knees = (P["right_knee"] + P["left_knee"]) / 2
        spread = abs(float(P["right_knee"][0] - P["left_knee"][0])) / unit
        part(lower_body, waistband, mid_hip + (0.7 + 0.5 * lower.length) * (knees - mid_hip), band_w,
             max(1.05 * w_hip, spread / 2 + 0.075), bottoms, LOWER, shade=0.12, **slab)  # fmt: skip
    groups.append(((back_depth + front_depth) / 2 - 0.1, lower_body))

    # Head: the neck (and a U neckline, wider than it), the head, the hair above a hairline that
    # tilts towards the back of the head as it turns, the visible eyes.
    center = P["head"]
    up = P["crown"] - center
    up = up / max(float(np.hypot(*up)), 1e-6)
    half_w = math.hypot(0.05 * cos_f, 0.058 * sin_f)
    stretch = 0.018 * unit * up  # the head is a capsule, taller than wide
    neckline = 0.008 + (identity.neckline - 0.008) * max(cos_f, 0.0)
    head = []
    part(head, neck, center, 0.029 * build, 0.027, skin, SKIN, shade=0.2)
    if neckline > 0.012:
        part(head, neck, neck + (neckline - 0.012) * unit * down, 0.036 * build, 0.03 * build, skin, SKIN, shade=0.1)
    part(head, center + stretch, center - stretch, half_w, half_w, skin, SKIN, shade=0.15)
    face_side = np.array([up[1], -up[0]]) * (1.0 if sin_f >= 0 else -1.0)  # where the face points
    normal = up - 0.9 * abs(sin_f) * face_side
    normal = normal / float(np.hypot(*normal))
    hairline = {"buzz": 0.034, "short": 0.022}.get(identity.hair_style, 0.016)
    hairline = hairline * cos_f - 0.02 * (1 - abs(cos_f)) - 0.01 * (cos_f < 0)
    thick = 0.003 if identity.hair_style == "buzz" else 0.009
    part(head, center + stretch, center - stretch, half_w + thick, half_w + thick, hair, HAIR,
         clip=(normal, float(center @ normal) + hairline * unit), shade=0.15)  # fmt: skip
    for eye in ("right_eye", "left_eye"):
        if not pose.hidden[KEYPOINT_NAMES.index(eye)]:
            part(head, P[eye], P[eye], 0.0075, 0.0075, _Paint((40, 30, 28)), SKIN, shade=0.0)
    groups.append((0.06, head))

    # Long hair, a bob or a bun hangs at the back of the head: behind the torso when the face is
    # towards the camera, over the head and the back when it is turned away.
    back_hair = []
    if identity.hair_style in ("long", "bob"):
        long = identity.hair_style == "long"
        drop = (0.2 if long else 0.075) * unit
        part(back_hair, center - 0.01 * unit * up, P["hair_back"] - drop * up, half_w + 0.011,
             half_w + (0.03 if long else 0.016), hair, HAIR, round_b=not long, shade=0.15)  # fmt: skip
    elif identity.hair_style == "bun":
        part(back_hair, P["bun"], P["bun"], 0.032, 0.032, hair, HAIR, shade=0.2)
    groups.append((0.035 - 0.07 * cos_f, back_hair))

    # A soft contact shadow under the feet, behind everything.
    feet = np.array([P[n] for n in ("right_toe", "left_toe", "right_heel", "left_heel")])
    ground = feet[:, 1].max() + 0.015 * unit
    shadow = []
    part(shadow, np.array([feet[:, 0].min() - 0.03 * unit, ground]), np.array([feet[:, 0].max() + 0.03 * unit, ground]),
         0.018, 0.018, _Paint((0, 0, 0)), None, shade=0.0, opacity=0.18)  # fmt: skip
    groups.append((-math.inf, shadow))
    return groups


# ------------------------------------------------------------------------------------------------
# Data set
# ------------------------------------------------------------------------------------------------

_DATASET_FOLDER = "MANNEQUIN"


class MannequinDataset(keras.utils.PyDataset):
    """Batches of mannequin pose-transfer pairs, generated on the fly.

    A split holds `num_identities` identities with `poses_per_identity` poses each; every ordered
    pair of two different poses of one identity is a sample (source -> target), so a split has
    `num_identities * P * (P - 1)` pairs. Identities and poses come from seeds derived from
    `(seed, split, identity, pose)` (`identity_seed`, `pose_seed`): the train and test identities
    are disjoint, and batch `i` is a pure function of `(seed, split, i)` and the constructor
    arguments, whichever worker builds it. The train split visits the pairs in a fixed
    pseudo-random order (identities mixed across batches); the test split in identity order.

    Every batch holds exactly `batch_size` pairs: the pair sequence wraps around at its end, so a
    compiled train step never sees a ragged batch.

    `keras_nted.data.mannequin.write_mannequin_dataset` (`keras-nted make-mannequin`) writes the same
    images, keypoints and pairs in the released DeepFashion layout.

    Args:
        image_size: `(height, width)` with `width = height * 11 / 16`, e.g. `(64, 44)`,
            `(256, 176)`.
        batch_size: pairs per batch.
        split: `"train"` or `"test"`.
        seed: non-negative integer seed of the whole data set.
        num_identities: identities in the split (default 2000 for train, 100 for test).
        poses_per_identity: poses per identity, at least 2.
        num_pairs: use only the first `num_pairs` pairs of the split's order (default: all).
        steps_per_epoch: batches per epoch (default: enough to cover `num_pairs` once).
        with_labels: add `source_labels` / `target_labels` to the batches.
        with_keypoints: add `source_keypoints` / `target_keypoints` to the batches.
        workers: number of threads (or processes) `fit` builds batches with.
        use_multiprocessing: build batches in processes instead of threads.
        max_queue_size: batches `fit` prepares ahead.

    Call arguments (`dataset[index]`):
        index: batch index in `[0, len(dataset))`.

    Returns:
        A dict of numpy arrays, the same keys and conventions as
        `keras_nted.data.DeepFashionDataset`: `source_image`, `target_image`
        `(batch, height, width, 3)` float32 in [-1, 1]; `source_skeleton`, `target_skeleton`
        `(batch, height, width, 20)` float32 in [0, 1] (`render_skeleton(keypoints, image_size,
        frame="pixels")`); `source_face_center`, `target_face_center` `(batch, 4)` float32
        (`face_center`). With `with_labels=True` also `source_labels`, `target_labels`
        `(batch, height, width)` uint8 (`LABEL_NAMES`); with `with_keypoints=True` also
        `source_keypoints`, `target_keypoints` `(batch, 18, 2)` float32 pixel coordinates (`-1`:
        missing). The extra keys are off by default so that the default batches have exactly the
        trainer's keys; `get_batch` returns them on request. `model.fit(dataset)` passes the dict
        to `train_step` as `data`.

    Raises:
        ValueError: for a bad argument (naming it).

    Example:

    ```python
    data = keras_nted.data.MannequinDataset(image_size=(64, 44), batch_size=2, seed=0)
    batch = data[0]
    batch["source_image"].shape     # (2, 64, 44, 3)
    batch["target_skeleton"].shape  # (2, 64, 44, 20)
    data.get_batch(0, with_labels=True)["target_labels"].shape  # (2, 64, 44)
    ```
    """

    def __init__(
        self,
        image_size=(64, 44),
        batch_size=2,
        split="train",
        seed=0,
        num_identities=None,
        poses_per_identity=4,
        num_pairs=None,
        steps_per_epoch=None,
        with_labels=False,
        with_keypoints=False,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        self.image_size = check_image_size(image_size)
        self.batch_size = _check_positive(batch_size, "batch_size")
        self.split = _check_split(split)
        self.seed = _check_seed(seed)
        if num_identities is None:
            num_identities = _DEFAULT_IDENTITIES[split]
        self.num_identities = _check_positive(num_identities, "num_identities")
        self.poses_per_identity = _check_positive(poses_per_identity, "poses_per_identity", minimum=2)
        available = self.num_identities * self.poses_per_identity * (self.poses_per_identity - 1)
        if num_pairs is None:
            num_pairs = available
        elif _check_positive(num_pairs, "num_pairs") > available:
            raise ValueError(
                f"Expected num_pairs <= num_identities * P * (P - 1) = {available} "
                f"(P = poses_per_identity = {self.poses_per_identity}). Received: num_pairs={num_pairs}"
            )
        self.num_pairs = int(num_pairs)
        if steps_per_epoch is None:
            steps_per_epoch = -(-self.num_pairs // self.batch_size)
        self.steps_per_epoch = _check_positive(steps_per_epoch, "steps_per_epoch")
        self.with_labels = bool(with_labels)
        self.with_keypoints = bool(with_keypoints)
        # The train order is an affine permutation j -> (a j + c) mod N with gcd(a, N) = 1:
        # O(1) memory for any N, and consecutive batches draw from far-apart identities.
        self._order = (1, 0)
        if split == "train" and available > 1:
            rng = np.random.default_rng(_derive_seed(self.seed, _SPLIT_CODES[split], 3))
            multiplier = int(rng.integers(1, available))
            while math.gcd(multiplier, available) != 1:
                multiplier = multiplier % (available - 1) + 1
            self._order = (multiplier, int(rng.integers(available)))

    def __len__(self):
        return self.steps_per_epoch

    def pair(self, index):
        """The pair `index` of the split's order, as `(identity, source_pose, target_pose)` indices.

        Args:
            index: a non-negative integer; it wraps around at `num_pairs`.

        Returns:
            A tuple of three ints.
        """
        multiplier, offset = self._order
        poses = self.poses_per_identity
        available = self.num_identities * poses * (poses - 1)
        j = (multiplier * (int(index) % self.num_pairs) + offset) % available
        identity, rest = divmod(j, poses * (poses - 1))
        source, target = divmod(rest, poses - 1)
        return identity, source, target + (target >= source)

    def batch_pairs(self, index):
        """The `(identity, source_pose, target_pose)` indices of batch `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        start = index * self.batch_size
        return [self.pair(j) for j in range(start, start + self.batch_size)]

    def identity(self, identity_index):
        """The `Identity` of identity `identity_index` of this split."""
        return make_identity(identity_seed(self.seed, self.split, identity_index))

    def pose(self, identity_index, pose_index):
        """The `Pose` (at `image_size`) of pose `pose_index` of identity `identity_index`."""
        return make_pose(pose_seed(self.seed, self.split, identity_index, pose_index), self.image_size)

    def image_path(self, identity_index, pose_index, pose=None):
        """The image's path in the written DeepFashion layout (`write_mannequin_dataset`).

        `img/MANNEQUIN/<Train|Test>/id_<identity, 8 digits>/01_<pose + 1>_<view>.png`, which
        flattens (`keras_nted.data.flatten_name`) to e.g. `fashionMANNEQUINTrainid0000000301_2front.png`.

        Args:
            identity_index: the identity's index in this split.
            pose_index: the pose's index.
            pose: the `Pose`, if already made (its view names the file).

        Returns:
            A `/`-separated relative path.
        """
        pose = self.pose(identity_index, pose_index) if pose is None else pose
        return (
            f"img/{_DATASET_FOLDER}/{self.split.capitalize()}/id_{identity_index:08d}/"
            f"01_{pose_index + 1}_{pose.view}.png"
        )

    def sample(self, identity_index, pose_index):
        """One rendered image: `(image, labels, pose)`.

        Args:
            identity_index: the identity's index in this split.
            pose_index: the pose's index.

        Returns:
            `image` `(height, width, 3)` uint8, `labels` `(height, width)` uint8 and the `Pose`
            (its `keypoints` in pixel coordinates).
        """
        pose = self.pose(identity_index, pose_index)
        image, labels = render(self.identity(identity_index), pose)
        return image, labels, pose

    def get_batch(self, index, with_labels=None, with_keypoints=None):
        """Batch `index`, optionally with the part labels and keypoints.

        Args:
            index: batch index in `[0, len(self))`.
            with_labels: add `source_labels` / `target_labels` (default: the constructor's).
            with_keypoints: add `source_keypoints` / `target_keypoints` (default: the
                constructor's).

        Returns:
            The batch dict described in the class docstring.
        """
        with_labels = self.with_labels if with_labels is None else with_labels
        with_keypoints = self.with_keypoints if with_keypoints is None else with_keypoints
        pairs = self.batch_pairs(index)
        fields = {role: [] for role in ("source", "target")}
        for identity_index, source, target in pairs:
            identity = self.identity(identity_index)
            for role, pose_index in (("source", source), ("target", target)):
                pose = self.pose(identity_index, pose_index)
                image, labels = render(identity, pose)
                fields[role].append((image, labels, pose.keypoints))
        batch = {}
        for role, items in fields.items():
            images, labels, keypoints = (np.stack(column) for column in zip(*items))
            batch[f"{role}_image"] = images_to_unit_range(images)
            batch[f"{role}_skeleton"] = np.stack(
                [render_skeleton(k, self.image_size, frame="pixels") for k in keypoints]
            )
            batch[f"{role}_face_center"] = np.stack(
                [face_center(k, self.image_size, frame="pixels") for k in keypoints]
            )
            if with_labels:
                batch[f"{role}_labels"] = labels
            if with_keypoints:
                batch[f"{role}_keypoints"] = keypoints
        return batch

    def __getitem__(self, index):
        return self.get_batch(index)


# ------------------------------------------------------------------------------------------------
# Writing the released layout
# ------------------------------------------------------------------------------------------------


def write_mannequin_dataset(
    out_dir, num_identities, poses_per_identity, image_size=(128, 88), seed=0, test_fraction=0.1, verbose=1
):
    """Writes a mannequin set in the released DeepFashion layout, plus part-label maps.

    The set is exactly what `MannequinDataset(image_size, split=..., seed=seed,
    num_identities=..., poses_per_identity=...)` streams: `keras_nted.data.DeepFashionDataset`
    reads it back with the same images, skeletons and face centres (without augmentation). Layout:

    - `img/MANNEQUIN/<Train|Test>/id_XXXXXXXX/01_<pose>_<view>.png`: the images (RGB PNG at
      `image_size`, which the loader reads as images already at the training size);
    - `pose/...txt` (same relative path): OpenPose COCO-18 keypoints in the released 256x256
      frame with the 40-pixel border, `-1` for missing (`keras_nted.data.write_pose_file`);
    - `labels/...png` (same relative path): uint8 part labels, values index `LABEL_NAMES`;
    - `train_pairs.txt`, `test_pairs.txt`: one `target,source` line per ordered pair of two poses
      of one identity, in the stream's order;
    - `mannequin.json` (the generation parameters) and `README.txt`.

    Args:
        out_dir: the folder to write (created if missing; existing files are overwritten).
        num_identities: identities in total, split into train and test.
        poses_per_identity: poses per identity, at least 2.
        image_size: `(height, width)` with `width = height * 11 / 16`.
        seed: non-negative integer seed.
        test_fraction: the share of identities in the test split, in [0, 1); a positive
            fraction gives at least one test identity.
        verbose: 1 shows a progress bar, 0 is silent.

    Returns:
        A dict of the generation parameters (also written to `mannequin.json`).

    Raises:
        ValueError: for a bad argument (naming it).

    Example:

    ```python
    write_mannequin_dataset("/tmp/mannequin", num_identities=10, poses_per_identity=3,
                            image_size=(128, 88))
    test = keras_nted.data.DeepFashionDataset("/tmp/mannequin", "test", image_size=(128, 88))
    ```
    """
    image_size = check_image_size(image_size)
    num_identities = _check_positive(num_identities, "num_identities")
    poses_per_identity = _check_positive(poses_per_identity, "poses_per_identity", minimum=2)
    seed = _check_seed(seed)
    if not 0 <= test_fraction < 1:
        raise ValueError(f"Expected test_fraction in [0, 1). Received: test_fraction={test_fraction!r}")
    num_test = max(1, int(round(num_identities * test_fraction))) if test_fraction > 0 else 0
    counts = {"train": num_identities - num_test, "test": num_test}
    if counts["train"] < 1:
        raise ValueError(
            f"Expected num_identities large enough for at least one train identity with "
            f"test_fraction={test_fraction}. Received: num_identities={num_identities}"
        )
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    progress = keras.utils.Progbar(num_identities * poses_per_identity, verbose=verbose, unit_name="image")
    info = {
        "generator": "keras_nted.data.mannequin",
        "keras_nted_version": __version__,
        "image_size": list(image_size),
        "seed": seed,
        "num_identities": num_identities,
        "poses_per_identity": poses_per_identity,
        "test_fraction": test_fraction,
        "splits": {},
        "label_names": list(LABEL_NAMES),
    }
    for split, count in counts.items():
        pairs = []
        if count:
            data = MannequinDataset(image_size, split=split, seed=seed, num_identities=count,
                                    poses_per_identity=poses_per_identity)  # fmt: skip
            paths = {}
            for identity_index in range(count):
                for pose_index in range(poses_per_identity):
                    image, labels, pose = data.sample(identity_index, pose_index)
                    path = data.image_path(identity_index, pose_index, pose)
                    paths[identity_index, pose_index] = path
                    _write_png(os.path.join(out_dir, path), image[..., ::-1])  # OpenCV writes BGR
                    _write_png(os.path.join(out_dir, "labels", path[len("img/") :]), labels)
                    # Round away the conversion's last-bit error: the values are multiples of
                    # 1/16 (KEYPOINT_GRID), which the loader's inverse maps back exactly.
                    keypoints = np.round(pixels_to_deepfashion(pose.keypoints, image_size) * 16) / 16
                    write_pose_file(pose_path(out_dir, path), keypoints)
                    progress.add(1)
            for j in range(data.num_pairs):
                identity_index, source, target = data.pair(j)
                pairs.append((paths[identity_index, target], (paths[identity_index, source],)))
        write_pairs_file(os.path.join(out_dir, f"{split}_pairs.txt"), pairs)
        info["splits"][split] = {"identities": count, "pairs": len(pairs)}
    with open(os.path.join(out_dir, "mannequin.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    with open(os.path.join(out_dir, "README.txt"), "w", encoding="utf-8") as f:
        f.write(_README.format(**info, **{f"{s}_{k}": v for s, d in info["splits"].items() for k, v in d.items()}))
    return info


def _write_png(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, array, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"Could not write {path}")


_README = """\
A procedural "mannequin" person-image data set in the released DeepFashion layout, written by
keras-nted {keras_nted_version} (keras_nted.data.mannequin.write_mannequin_dataset / keras-nted make-mannequin).

image size (HxW): {image_size[0]}x{image_size[1]}; seed: {seed}
identities: {train_identities} train, {test_identities} test (disjoint); poses per identity: {poses_per_identity}
pairs: {train_pairs} train, {test_pairs} test (every ordered pair of two poses of one identity)

img/MANNEQUIN/<Train|Test>/id_XXXXXXXX/01_<pose>_<view>.png   RGB images
pose/...txt     OpenPose COCO-18 keypoints (x y per line) in the released 256x256 frame
                (x includes the 40-px border), -1 for missing points
labels/...png   part labels: 0 background, 1 hair, 2 skin, 3 upper garment, 4 lower garment, 5 shoes
train_pairs.txt, test_pairs.txt   one "target,source" line per pair
mannequin.json  the generation parameters

Read it with keras_nted.data.DeepFashionDataset(root, split, image_size=({image_size[0]}, {image_size[1]})).
"""
