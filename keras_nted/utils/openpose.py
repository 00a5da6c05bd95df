"""The OpenPose COCO-18 tables NTED's pose maps are drawn from: keypoint names, colours, limbs, sizes.

A leaf module (plain Python, no imports) so that the OpenCV rasteriser
(`keras_nted.data.skeleton.render_skeleton`) and the in-graph one
(`keras_nted.layers.SkeletonRenderer`) read one table. The values are the released data loader's
(`data/fashion_base_function.py` of the released NTED).
"""

NUM_KEYPOINTS = 18
# The value of both coordinates of a missing keypoint.
MISSING = -1.0
KEYPOINT_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)

# One colour per keypoint, drawn into a canvas OpenCV treats as BGR; the final RGB value is
# therefore the triplet reversed (keypoint 0 ends up blue), as in the release. Limb `i` is
# drawn in colour `i` too.
KEYPOINT_COLORS = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)

# The 17 drawn limbs as 0-based keypoint pairs (the release lists them 1-based and lists two
# more, (3, 17) and (6, 18), that it never draws).
LIMBS = tuple(
    (a - 1, b - 1)
    for a, b in (
        (2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11),
        (2, 12), (12, 13), (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18),
    )
)  # fmt: skip

# The pose map: 3 colour channels, then one distance channel per limb.
NUM_SKELETON_CHANNELS = 3 + len(LIMBS)
# The released drawing sizes, in pixels: the keypoint discs' radius, the limb ellipses' minor
# semi-axis, and the step of the limb distance channels.
KEYPOINT_RADIUS = 4
LIMB_WIDTH = 4
DISTANCE_STEP = 3
