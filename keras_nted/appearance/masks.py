"""Region masks for appearance control: loading and checking them, the release's `mask_select`
(paper Eq. 15), and segmenters that need no external segmentation network.

The release segments its renders with an external fashion Mask R-CNN (mmfashion's, in its
`appearance_control.py`). keras-nted
takes masks from the caller instead (arrays or PNG files), reads exact masks from the mannequin
set's part labels (`mannequin_region_mask`), and offers `DistributionSegmenter`, which estimates a
render's region from the model's own distribution maps (the paper's Fig. 4: a neural texture
paints one semantic region), seeded by a rough region such as the torso polygon of the target
keypoints (`region_seed_mask`). That estimate is an approximation, not a trained segmenter.
"""

import os

import cv2
import keras
import numpy as np
from keras import ops

from keras_nted.losses.attention import resize_nearest

REGIONS = ("upper", "lower")
# OpenPose COCO-18 keypoints of the seed polygons (the released pose files' order).
_SEED_KEYPOINTS = {
    "upper": {"right_shoulder": 2, "left_shoulder": 5, "left_hip": 11, "right_hip": 8},
    "lower": {"right_hip": 8, "left_hip": 11, "left_knee": 12, "right_knee": 9},
}
# Share of pixels that may lie strictly between "off" and "on" (anti-aliased edges).
_MAX_GREY_FRACTION = 0.1


def resize_mask(mask, size):
    """Nearest resize of a `(H, W)` or `(B, H, W)` mask to `size = (h, w)`, as torch's default
    `F.interpolate` (top-left sampling), which the release uses for its masks."""
    mask = np.asarray(mask)
    return ops.convert_to_numpy(resize_nearest(mask, size, axes=(-2, -1))).astype(mask.dtype, copy=False)


def load_mask(mask, image_size, name="mask"):
    """A region mask as a boolean `(H, W)` array, checked.

    Args:
        mask: a `(H, W)`, `(H, W, 1)`, `(1, H, W)` or `(1, H, W, 1)` array (bool, {0, 1} floats,
            or uint8 {0, 255}), or the path of an image file (PNG; read as greyscale, 0 off and
            255 on). Values must be binary up to anti-aliased edges: at most 10% of the pixels
            strictly between off and on; the mask is `value >= half`.
        image_size: `(H, W)` the mask must have (the images').
        name: the argument's name, for errors.

    Returns:
        A bool `(H, W)` numpy array with at least one pixel on and one off.

    Raises:
        FileNotFoundError: for a path that does not exist.
        ValueError: naming `name`, for an unreadable file, a wrong size or rank, values that
            are not binary, or an empty (or full) mask.

    Example:
    >>> m = np.zeros((64, 44), "uint8"); m[20:40, 10:30] = 255
    >>> int(load_mask(m, (64, 44)).sum())
    400
    """
    height, width = (int(v) for v in image_size)
    source = ""
    if isinstance(mask, (str, os.PathLike)):
        path = os.fspath(mask)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Mask file not found: {path}")
        from keras_nted.data.images import read_image

        mask = np.asarray(read_image(path, f"the mask image {path} ({name})", mode="L"))
        source = f" (file {path})"
    if hasattr(mask, "shape") and not isinstance(mask, np.ndarray):
        mask = ops.convert_to_numpy(mask)
    mask = np.asarray(mask)
    shape = mask.shape
    while mask.ndim > 2 and mask.shape[0] == 1:
        mask = mask[0]
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(
            f"Expected `{name}` of shape (H, W), (H, W, 1) or (1, H, W, 1){source}. Received: {name}.shape={shape}"
        )
    if mask.shape != (height, width):
        raise ValueError(
            f"Expected `{name}` of size {height}x{width} (the image size){source}. "
            f"Received: {name} of size {mask.shape[0]}x{mask.shape[1]}"
        )
    if mask.dtype == bool:
        values = mask.astype("float32")
    elif mask.dtype == np.uint8:
        values = mask.astype("float32") / 255.0
    else:
        values = mask.astype("float32")
        if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
            raise ValueError(
                f"Expected `{name}` values in [0, 1] (or uint8 0/255){source}. "
                f"Received: values from {np.nanmin(values):g} to {np.nanmax(values):g}"
            )
    grey = np.mean((values > 0.1) & (values < 0.9))
    if grey > _MAX_GREY_FRACTION:
        raise ValueError(
            f"Expected a binary `{name}` (0 = outside the region, 1 or 255 = inside){source}. "
            f"Received: {grey:.0%} of its pixels are neither"
        )
    mask = values >= 0.5
    if not mask.any():
        raise ValueError(f"Expected a non-empty `{name}`{source}. Received: a mask with no pixel in the region")
    if mask.all():
        raise ValueError(
            f"Expected `{name}` to leave part of the image outside the region{source}. "
            "Received: a mask covering the whole image"
        )
    return mask


def level_masks(mask, distribution_logits):
    """`mask` nearest-resized to every NTED index's size, as float32 `(1 or B, h_i, w_i)` arrays."""
    mask = np.asarray(mask, bool)
    out = []
    for logits in distribution_logits:
        small = resize_mask(mask, (logits.shape[1], logits.shape[2])).astype("float32")
        out.append(small[None] if small.ndim == 2 else small)
    return out


def masked_mean_probabilities(logits, level_mask):
    """Mean over the pixels of `level_mask` `(B, h, w)` of `softmax_k(logits)` `(B, h, w, k)`.

    Zeros where the mask is empty (the release would divide by zero). `keras.ops` only, so
    it runs inside a compiled step with the mask as a tensor argument.
    """
    level_mask = ops.cast(level_mask, "float32")
    probabilities = ops.softmax(ops.cast(logits, "float32"), axis=-1)
    total = ops.sum(probabilities * level_mask[..., None], axis=(1, 2))
    count = ops.maximum(ops.sum(level_mask, axis=(1, 2)), 1.0)
    return total / count[:, None]


def mask_select(distribution_logits, mask):
    """The release's `mask_select` (paper Eq. 15 before the threshold), with `keras.ops`.

    For every NTED index: the softmax over the `k` textures of the distribution logits,
    averaged over the pixels of `mask` nearest-resized to the logits' size.

    Args:
        distribution_logits: list of `(batch, h_i, w_i, k_i)` tensors.
        mask: bool `(H, W)` (one mask for the batch) or `(batch, H, W)` numpy array.

    Returns:
        A list of `(batch, k_i)` float32 tensors: the mean distribution probability of each
        texture inside the mask (zeros where the resized mask is empty).

    Example:
    >>> logits = [np.zeros((1, 16, 11, 4), "float32")]
    >>> keras.ops.convert_to_numpy(mask_select(logits, np.ones((64, 44), bool))[0])
    array([[0.25, 0.25, 0.25, 0.25]], dtype=float32)

    Reference:
        Ren et al., CVPR 2022, Eq. 15 (operator A); the released `appearance_control.py`.
    """
    return [
        masked_mean_probabilities(logits, ops.convert_to_tensor(small))
        for logits, small in zip(distribution_logits, level_masks(mask, distribution_logits))
    ]


def mannequin_region_mask(labels, region):
    """The exact mask of a part of a mannequin image, from its part labels.

    Args:
        labels: `(H, W)` uint8 part labels (`keras_nted.data.mannequin.LABEL_NAMES`), as
            `render` or `MannequinDataset(..., with_labels=True)` give them.
        region: `"upper"` (upper garment), `"lower"` (lower garment) or a label name
            (`"hair"`, `"skin"`, `"shoes"`, ...).

    Returns:
        A bool `(H, W)` array.

    Example:
    >>> from keras_nted.data.mannequin import make_identity, make_pose, render
    >>> _, labels = render(make_identity(0), make_pose(0, (64, 44)))
    >>> bool(mannequin_region_mask(labels, "upper").any())
    True
    """
    from keras_nted.data.mannequin import LABEL_NAMES

    names = {"upper": "upper_garment", "lower": "lower_garment"}
    label = names.get(region, region)
    if label not in LABEL_NAMES:
        raise ValueError(f"Expected region 'upper', 'lower' or one of {LABEL_NAMES}. Received: region={region!r}")
    return np.asarray(labels) == LABEL_NAMES.index(label)


def region_seed_mask(keypoints, image_size, region):
    """A rough region in the target pose from its keypoints: the core of a garment.

    `"upper"`: the quadrilateral between the shoulders and hips (the torso); `"lower"`: the
    one between the hips and knees. `DistributionSegmenter` grows it into the whole region
    the model paints with the same textures (sleeves, trouser legs, skirt).

    Args:
        keypoints: `(18, 2)` OpenPose COCO-18 pixel coordinates of an image of `image_size`,
            `-1` for missing points.
        image_size: `(H, W)`.
        region: `"upper"` or `"lower"`.

    Returns:
        A bool `(H, W)` array.

    Raises:
        ValueError: for an unknown region or when a keypoint the polygon needs is missing.
    """
    if region not in REGIONS:
        raise ValueError(f"Expected region to be one of {REGIONS}. Received: region={region!r}")
    keypoints = np.asarray(keypoints, "float64")
    if keypoints.shape != (18, 2):
        raise ValueError(f"Expected (18, 2) keypoints. Received: keypoints.shape={keypoints.shape}")
    corners = _SEED_KEYPOINTS[region]
    missing = [name for name, i in corners.items() if np.any(keypoints[i] < 0)]
    if missing:
        raise ValueError(
            f"The '{region}' region is estimated from the target pose's {', '.join(corners)}; "
            f"missing: {', '.join(missing)}. Pass a mask instead."
        )
    height, width = (int(v) for v in image_size)
    points = np.round(keypoints[list(corners.values())]).astype(np.int32)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points), 1)
    return mask.astype(bool)


def _softmax(logits):
    logits = np.asarray(logits, "float32")
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


class DistributionSegmenter:
    """Estimates a render's region from the model's own distribution maps (no segmentation net).

    For every NTED index `i`, the textures whose mean distribution probability inside the seed
    region reaches `3 / k_i` (the release's own test, Eq. 15 with sigma = 3/k) are taken as the
    region's textures; their summed distribution probability, bilinearly resized to the image
    and averaged over the NTED indices, is the region's soft mask, thresholded at `threshold`.
    This is the paper's Fig. 4 reading (a neural texture paints one semantic region) turned into
    a segmenter: an approximation whose quality depends on how disentangled the model's
    textures are, documented as such (docs/appearance_control.md).

    Args:
        seed: bool `(H, W)` rough region in the target pose, e.g. `region_seed_mask(...)` or a
            mask of the person image when the target pose is the person's own.
        threshold: soft-mask level that counts as inside.

    Call arguments:
        image: the render `(H, W, 3)` (unused; segmenters in general look at the image).
        distribution_logits: the render's list of `(1, h_i, w_i, k_i)` (or `(h_i, w_i, k_i)`)
            logits.

    Returns:
        A bool `(H, W)` numpy array (may be empty; `AppearanceControl` then keeps its mask).

    Example:
    >>> seed = np.zeros((64, 44), bool); seed[20:30, 15:30] = True
    >>> logits = [np.random.rand(1, 16, 11, 6), np.random.rand(1, 32, 22, 10)]
    >>> DistributionSegmenter(seed)(None, logits).shape
    (64, 44)

    Reference:
        Ren et al., CVPR 2022, Sec. 4 and Fig. 4.
    """

    def __init__(self, seed, threshold=0.5):
        seed = np.asarray(seed, bool)
        if seed.ndim != 2 or not seed.any():
            raise ValueError(
                "Expected a non-empty (H, W) seed mask. "
                f"Received: seed of shape {seed.shape}, {int(seed.sum())} pixels on"
            )
        if not 0 < threshold < 1:
            raise ValueError(f"Expected a threshold in (0, 1). Received: threshold={threshold!r}")
        self.seed = seed
        self.threshold = float(threshold)

    def soft_mask(self, distribution_logits):
        """The soft region map `(H, W)` in [0, 1] before thresholding."""
        height, width = self.seed.shape
        total = np.zeros((height, width), "float32")
        logits_list = [np.asarray(keras.ops.convert_to_numpy(x), "float32") for x in distribution_logits]
        for logits in logits_list:
            logits = logits[0] if logits.ndim == 4 else logits
            h, w, k = logits.shape
            probabilities = _softmax(logits)
            small = resize_mask(self.seed, (h, w))
            mean = probabilities[small].mean(axis=0) if small.any() else np.zeros((k,), "float32")
            region = probabilities[..., mean >= 3.0 / k].sum(axis=-1)
            total += cv2.resize(region.astype("float32"), (width, height), interpolation=cv2.INTER_LINEAR)
        return total / len(logits_list)

    def __call__(self, image, distribution_logits):
        return self.soft_mask(distribution_logits) >= self.threshold


def garment_image_region(generator, garment, skeleton, keypoints, region, threshold=0.5):
    """Estimates a garment's region in the garment image itself, from its own pose.

    The garment is re-rendered in its own pose (`skeleton`), and that render is segmented by
    a `DistributionSegmenter` seeded with `region_seed_mask(keypoints, ...)` (the seed itself
    included): the same approximation as for the target pose, for `AppearanceControl`'s `garment_image_mask`
    when no mask of the garment image is at hand.

    Args:
        generator: an `NTEDGenerator` or its `GeneratorParts`.
        garment: `(H, W, 3)` image in [-1, 1].
        skeleton: `(H, W, 20)` pose map of the garment image's own pose.
        keypoints: `(18, 2)` pixel keypoints of that pose (`-1` for missing points).
        region: `"upper"` or `"lower"`.
        threshold: the segmenter's threshold.

    Returns:
        A bool `(H, W)` numpy array, checked by `load_mask` (a clear error when the estimate
        is empty).
    """
    from keras_nted.appearance.blend import as_parts

    parts = as_parts(generator)
    out = parts.render(parts.encode_skeleton(skeleton), parts.extract_textures(garment))
    seed = region_seed_mask(keypoints, parts.image_size, region)
    # The seed is part of the region by construction (and all of it where a side view leaves
    # the segmenter nothing above its threshold).
    estimate = DistributionSegmenter(seed, threshold=threshold)(None, out["distribution_logits"]) | seed
    return load_mask(estimate, parts.image_size, name=f"estimated {region} region of the garment image")
