"""A mannequin's pose: an articulated 3-D stick figure, projected orthographically.

Arm and leg angles, torso lean and twist, head turn and one of front / three-quarter / side /
back views; a global scale and position. Keypoints are OpenPose COCO-18 pixel coordinates,
`-1` (both coordinates) where a point is outside the image or hidden (the face points that the
view turns away).

Keypoint precision: pose coordinates are quantised to multiples of `1 / 4096` of the image height.
In the released pose-file frame (256 rows, a 40-px border) that is a multiple of `1 / 16`, which a
pose `.txt` file holds exactly with four decimals, and converting back to any image size
`(H, H * 11 / 16)` is exact in floating point. So a set written to disk gives bit-identical
skeletons when read back.
"""

import dataclasses
import math

import numpy as np

from keras_nted.data.mannequin.seeds import check_mannequin_size
from keras_nted.utils.openpose import KEYPOINT_NAMES
from keras_nted.utils.openpose import NUM_KEYPOINTS
from keras_nted.utils.validation import check_int

VIEWS = ("front", "side", "back")
# Keypoints are stored as multiples of 1 / KEYPOINT_GRID of the image height (module docstring).
KEYPOINT_GRID = 4096

# The body's proportions. Body frame: x = the person's left, y = down, z = forward; lengths in
# units of body height.
TORSO = 0.29  # mid-hip to neck
SHOULDER = 0.11  # neck to shoulder joint, sideways
HIP = 0.064  # mid-hip to hip joint, sideways
UPPER_ARM, FOREARM, HAND = 0.165, 0.145, 0.072
THIGH, SHIN = 0.235, 0.235
HEAD_ABOVE_NECK = 0.1  # neck to the centre of the head
HEAD_HALF_HEIGHT = 0.066
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
        height, width = check_mannequin_size(image_size)
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
        elbow = shoulder + UPPER_ARM * direction
        forearm = _bend(direction, torso_rot @ np.array([-side * inward, -0.3, 1.0]), flex)
        return _with_hand(rng, side, elbow, elbow + FOREARM * forearm, torso_rot)
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
        elbow, wrist = _two_bone(shoulder, target, UPPER_ARM, FOREARM, pole)
        return elbow, wrist, wrist + HAND * _unit(torso_rot @ np.array([-side * 0.25, -1.0, 0.1]))
    return _with_hand(rng, side, *_two_bone(shoulder, target, UPPER_ARM, FOREARM, pole), torso_rot)


def _with_hand(rng, side, elbow, wrist, torso_rot):
    """Adds the hand's end: the forearm's direction, bent a little towards the palm."""
    hand = _bend(_unit(wrist - elbow), torso_rot @ np.array([-side * 0.3, 0.0, 1.0]), rng.uniform(0, 25))
    return elbow, wrist, wrist + HAND * hand


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
    pts["neck"] = lean @ np.array([0.0, -TORSO, 0.0])
    pts["waist"] = lean @ np.array([0.0, -0.4 * TORSO, 0.0])
    for side, prefix in ((1, "left_"), (-1, "right_")):
        pts[prefix + "shoulder"] = pts["neck"] + torso_rot @ np.array([side * SHOULDER, 0.012, 0.0])
        pts[prefix + "hip"] = np.array([side * HIP, 0.0, 0.0])
    head_rot = torso_rot @ _rot_y(math.radians(float(np.clip(rng.normal(0, 15), -35, 35))))
    head_rot = head_rot @ _rot_z(math.radians(float(np.clip(rng.normal(0, 6), -15, 15))))
    head_rot = head_rot @ _rot_x(math.radians(float(np.clip(rng.normal(0, 5), -12, 12))))
    pts["head"] = pts["neck"] + head_rot @ np.array([0.0, -HEAD_ABOVE_NECK, 0.006])
    face = {
        "nose": (0.0, 0.02, 0.062), "right_eye": (-0.022, -0.004, 0.05), "left_eye": (0.022, -0.004, 0.05),
        "right_ear": (-0.055, 0.002, -0.004), "left_ear": (0.055, 0.002, -0.004),
        "crown": (0.0, -HEAD_HALF_HEIGHT, 0.0), "hair_back": (0.0, 0.0, -0.07), "bun": (0.0, -0.068, -0.035),
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
        pts[prefix + "knee"] = pts[prefix + "hip"] + THIGH * thigh
        pts[prefix + "ankle"] = pts[prefix + "knee"] + SHIN * _bend(thigh, np.array([0.0, 0.0, -1.0]), knee)
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
    seed = check_int("seed", seed, minimum=0)
    height, width = check_mannequin_size(image_size)
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
    top = min(body["crown"][1], body["head"][1] - HEAD_HALF_HEIGHT)
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
