"""A mannequin's picture: its body parts as capsules in depth order, with their part labels.

`render(identity, pose)` paints the body parts as anti-aliased tapered capsules (`Canvas`) back to
front, with the garment patterns computed in each part's own coordinates (a stripe on a sleeve
follows the arm), and returns the image with its part labels (`LABEL_NAMES`).
"""

import math

import numpy as np

from keras_nted.data.mannequin.canvas import Canvas
from keras_nted.data.mannequin.canvas import Paint
from keras_nted.data.mannequin.pose import THIGH
from keras_nted.data.mannequin.pose import TORSO
from keras_nted.data.mannequin.pose import UPPER_ARM
from keras_nted.data.mannequin.seeds import check_mannequin_size
from keras_nted.utils.openpose import KEYPOINT_NAMES

LABEL_NAMES = ("background", "hair", "skin", "upper_garment", "lower_garment", "shoes")
BACKGROUND, HAIR, SKIN, UPPER, LOWER, SHOES = range(6)
# An RGB colour per label, for pictures of label maps.
LABEL_COLORS = np.array(
    [[0, 0, 0], [140, 70, 20], [250, 200, 160], [40, 110, 230], [60, 180, 75], [230, 30, 60]],
    dtype=np.uint8,
)

_SLAB = {"round_a": False, "round_b": False}  # flat ends: torso sections, skirt


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

    >>> from keras_nted.data.mannequin import make_identity, make_pose
    >>> image, labels = render(make_identity(0), make_pose(0, (64, 44)))
    >>> image.shape, labels.shape
    ((64, 44, 3), (64, 44))
    """
    height, width = check_mannequin_size(pose.image_size if image_size is None else image_size)
    unit = pose.scale * height
    canvas = Canvas(height, width, identity.background, unit)
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
    figure = _Figure(identity, pose, height)
    return [
        (0.0, _torso(figure)),
        *(_arm(figure, prefix) for prefix in ("right_", "left_")),
        _legs(figure),
        (0.06, _head(figure)),
        _back_hair(figure),
        (-math.inf, _shadow(figure)),
    ]


def _part(group, a, b, r0, r1, paint, label, **kwargs):
    """Adds one `Canvas.capsule` call to `group`."""
    group.append(((a, b, r0, r1, paint, label), kwargs))


class _Figure:
    """What every body part is painted from: the pose in pixels, the torso's outline, the paints.

    The torso is an elliptic cylinder seen from the view's yaw, narrower at the waist.
    """

    def __init__(self, identity, pose, height):
        self.identity, self.pose = identity, pose
        self.px = {n: v[:2] * height for n, v in pose.points.items()}  # pixels
        self.depth = {n: v[2] / pose.scale for n, v in pose.points.items()}  # depth, body units
        self.unit = pose.scale * height  # pixels per body unit
        self.cos_f, self.sin_f = pose.facing
        self.build = build = identity.build
        self.skin, self.hair = Paint(identity.skin), Paint(identity.hair_color)
        lower = identity.lower
        self.shirt = Paint.of(identity.upper, span=0.33)
        self.bottoms = Paint.of(lower, span={"trousers": 0.55, "shorts": 0.2, "skirt": 0.35}[lower.kind])
        yaw = math.radians(pose.yaw)

        def half_width(front, side):
            return build * math.hypot(front * math.cos(yaw), side * math.sin(yaw))

        self.neck, self.waist, self.mid_hip = self.px["neck"], self.px["waist"], self.px["mid_hip"]
        self.axis = self.mid_hip - self.neck
        self.down = self.axis / max(float(np.hypot(*self.axis)), 1e-6)  # unit vector down the torso
        self.w_top, self.w_waist, self.w_hip = (
            half_width(0.118, 0.065),
            half_width(0.088, 0.06),
            half_width(0.104, 0.07),
        )
        self.waistband = self.neck + 0.62 * self.axis
        self.band_w = self.w_waist + 0.05 * (self.w_hip - self.w_waist)


def _torso(f):
    """The torso: skin (it shows at the neckline and the armholes only), the shirt, the waistband."""
    upper = f.identity.upper
    neck, waist, axis, down = f.neck, f.waist, f.axis, f.down
    chest_end = waist + down  # one pixel past the waist: no anti-aliased seam between sections
    hem = neck + (0.75 if upper.tucked else 0.9) * axis
    hem_w = f.w_waist + (0.42 if upper.tucked else 0.83) * (f.w_hip - f.w_waist)
    torso, upper_body, lower_top = [], [], []
    _part(torso, neck, chest_end, f.w_top, f.w_waist, f.skin, SKIN, shade=0.15, **_SLAB)
    _part(upper_body, neck, chest_end, f.w_top + 0.004, f.w_waist + 0.004, f.shirt, UPPER, shade=0.15, **_SLAB)
    _part(upper_body, waist, hem, f.w_waist + 0.004, hem_w + 0.006, f.shirt, UPPER, shade=0.15, u0=0.6 * TORSO,
          **_SLAB)  # fmt: skip
    _part(lower_top, f.waistband, f.mid_hip + 0.05 * f.unit * down, f.band_w, f.w_hip, f.bottoms, LOWER, shade=0.15,
          **_SLAB)  # fmt: skip
    return torso + (upper_body + lower_top if upper.tucked else lower_top + upper_body)


def _arm(f, prefix):
    """One arm, `(depth, parts)`: skin, the sleeve over the covered part (continuing its pattern
    from the upper arm to the forearm), the hand."""
    sleeve = {"sleeveless": 0.0, "short": 0.45, "elbow": 1.0, "long": 2.0}[f.identity.upper.kind]
    build, skin, shirt = f.build, f.skin, f.shirt
    s, e, w, h = (f.px[prefix + n] for n in ("shoulder", "elbow", "wrist", "hand"))
    r_s, r_e, r_w = 0.031 * build, 0.025 * build, 0.019 * build
    arm = []
    _part(arm, s, e, r_s, r_e, skin, SKIN)
    _part(arm, e, w, r_e, r_w, skin, SKIN)
    _part(arm, w, h, 0.021 * build, 0.016 * build, skin, SKIN, shade=0.2)
    if sleeve == 0.0:  # the shirt's shoulder strap
        _part(arm, s, s + 0.12 * (e - s), r_s + 0.004, r_s + 0.002, shirt, UPPER, round_b=False)
    else:
        cover = min(sleeve, 1.0)
        _part(arm, s, s + cover * (e - s), r_s + 0.007, r_s + cover * (r_e - r_s) + 0.007, shirt, UPPER,
              round_b=sleeve > 1.0)  # fmt: skip
        if sleeve > 1.0:
            _part(arm, e, w + 0.04 * (e - w), r_e + 0.007, r_w + 0.007, shirt, UPPER, round_b=False, u0=UPPER_ARM)
    return np.mean([f.depth[prefix + n] for n in ("shoulder", "elbow", "wrist")]) + 0.035, arm


def _legs(f):
    """Both legs, `(depth, parts)`: skin, the trouser or shorts leg, the shoe, back to front, then a
    skirt over both."""
    lower = f.identity.lower
    cover = {"trousers": 1.0, "shorts": 0.2 + 0.5 * lower.length, "skirt": 0.0}[lower.kind]
    build, skin, bottoms, px = f.build, f.skin, f.bottoms, f.px
    legs = []
    for prefix in ("right_", "left_"):
        hip, knee, ankle, heel, toe = (px[prefix + n] for n in ("hip", "knee", "ankle", "heel", "toe"))
        r_h, r_k, r_a = 0.052 * build, 0.038 * build, 0.025 * build
        leg = []
        _part(leg, hip, knee, r_h, r_k, skin, SKIN)
        _part(leg, knee, ankle, r_k, r_a, skin, SKIN)
        if cover == 1.0:  # the pattern starts at the waistband, about 0.1 above the hips
            _part(leg, hip, knee, r_h + 0.006, r_k + 0.007, bottoms, LOWER, u0=0.1)
            _part(leg, knee, ankle + 0.05 * (ankle - knee), r_k + 0.007, r_a + 0.011, bottoms, LOWER,
                  round_b=False, u0=0.1 + THIGH)  # fmt: skip
        elif cover > 0:
            _part(leg, hip, hip + cover * (knee - hip), r_h + 0.007, r_h + cover * (r_k - r_h) + 0.009, bottoms, LOWER,
                  round_b=False, u0=0.1)  # fmt: skip
        _part(leg, heel, toe, 0.026, 0.022, Paint(f.identity.shoe_color), SHOES, shade=0.25)
        legs.append((np.mean([f.depth[prefix + n] for n in ("hip", "knee", "ankle")]), leg))
    (back_depth, back_leg), (front_depth, front_leg) = sorted(legs, key=lambda leg: leg[0])
    lower_body = back_leg + front_leg
    if lower.kind == "skirt":
        knees = (px["right_knee"] + px["left_knee"]) / 2
        spread = abs(float(px["right_knee"][0] - px["left_knee"][0])) / f.unit
        _part(lower_body, f.waistband, f.mid_hip + (0.7 + 0.5 * lower.length) * (knees - f.mid_hip), f.band_w,
              max(1.05 * f.w_hip, spread / 2 + 0.075), bottoms, LOWER, shade=0.12, **_SLAB)  # fmt: skip
    return (back_depth + front_depth) / 2 - 0.1, lower_body


def _head_frame(f):
    """The head's centre, its unit up vector (pixels), its half width and half the height it adds."""
    center = f.px["head"]
    up = f.px["crown"] - center
    up = up / max(float(np.hypot(*up)), 1e-6)
    half_w = math.hypot(0.05 * f.cos_f, 0.058 * f.sin_f)
    stretch = 0.018 * f.unit * up  # the head is a capsule, taller than wide
    return center, up, half_w, stretch


def _head(f):
    """The neck (and a U neckline, wider than it), the head, the hair above a hairline that tilts
    towards the back of the head as it turns, the visible eyes."""
    cos_f, sin_f, unit, build, skin, neck = f.cos_f, f.sin_f, f.unit, f.build, f.skin, f.neck
    center, up, half_w, stretch = _head_frame(f)
    neckline = 0.008 + (f.identity.neckline - 0.008) * max(cos_f, 0.0)
    head = []
    _part(head, neck, center, 0.029 * build, 0.027, skin, SKIN, shade=0.2)
    if neckline > 0.012:
        _part(head, neck, neck + (neckline - 0.012) * unit * f.down, 0.036 * build, 0.03 * build, skin, SKIN, shade=0.1)
    _part(head, center + stretch, center - stretch, half_w, half_w, skin, SKIN, shade=0.15)
    face_side = np.array([up[1], -up[0]]) * (1.0 if sin_f >= 0 else -1.0)  # where the face points
    normal = up - 0.9 * abs(sin_f) * face_side
    normal = normal / float(np.hypot(*normal))
    hair_style = f.identity.hair_style
    hairline = {"buzz": 0.034, "short": 0.022}.get(hair_style, 0.016)
    hairline = hairline * cos_f - 0.02 * (1 - abs(cos_f)) - 0.01 * (cos_f < 0)
    thick = 0.003 if hair_style == "buzz" else 0.009
    _part(head, center + stretch, center - stretch, half_w + thick, half_w + thick, f.hair, HAIR,
          clip=(normal, float(center @ normal) + hairline * unit), shade=0.15)  # fmt: skip
    for eye in ("right_eye", "left_eye"):
        if not f.pose.hidden[KEYPOINT_NAMES.index(eye)]:
            _part(head, f.px[eye], f.px[eye], 0.0075, 0.0075, Paint((40, 30, 28)), SKIN, shade=0.0)
    return head


def _back_hair(f):
    """Long hair, a bob or a bun at the back of the head, `(depth, parts)`: behind the torso when
    the face is towards the camera, over the head and the back when it is turned away."""
    center, up, half_w, _ = _head_frame(f)
    hair_style, unit = f.identity.hair_style, f.unit
    back_hair = []
    if hair_style in ("long", "bob"):
        long = hair_style == "long"
        drop = (0.2 if long else 0.075) * unit
        _part(back_hair, center - 0.01 * unit * up, f.px["hair_back"] - drop * up, half_w + 0.011,
              half_w + (0.03 if long else 0.016), f.hair, HAIR, round_b=not long, shade=0.15)  # fmt: skip
    elif hair_style == "bun":
        _part(back_hair, f.px["bun"], f.px["bun"], 0.032, 0.032, f.hair, HAIR, shade=0.2)
    return 0.035 - 0.07 * f.cos_f, back_hair


def _shadow(f):
    """A soft contact shadow under the feet (painted behind everything)."""
    unit = f.unit
    feet = np.array([f.px[n] for n in ("right_toe", "left_toe", "right_heel", "left_heel")])
    ground = feet[:, 1].max() + 0.015 * unit
    shadow = []
    _part(
        shadow,
        np.array([feet[:, 0].min() - 0.03 * unit, ground]),
        np.array([feet[:, 0].max() + 0.03 * unit, ground]),
        0.018,
        0.018,
        Paint((0, 0, 0)),
        None,
        shade=0.0,
        opacity=0.18,
    )
    return shadow
