"""Pictures of NTED results: attention panels and sample grids, as uint8 numpy arrays.

Everything here takes and returns numpy arrays on the host (model outputs converted with
`keras.ops.convert_to_numpy`) and never enters a compiled step; the attention panels compute the
loss's own `estimated_target` (`keras.ops`) and convert it back.
"""

import cv2
import numpy as np
from keras import ops

from keras_nted.losses.attention import estimated_target
from keras_nted.losses.attention import resize_nearest
from keras_nted.models.pose_transfer import run_generator
from keras_nted.utils.images import to_uint8

# Pictures of small images are shown enlarged (nearest neighbour) to about this height at least:
# a 64 x 44 mannequin image is 4 times, 128 x 88 twice, 256 x 176 as it is.
DISPLAY_HEIGHT = 256
# Column headers: OpenCV's compact Hershey font, black on white, at most its natural size.
_FONT = cv2.FONT_HERSHEY_PLAIN
_MAX_FONT_SCALE = 1.0


def attention_panels(extraction_softmax, distribution_logits, reference_image):
    """The NTED attention pictures: one estimated target per NTED operation.

    For NTED index `i` (maps of size `h_i x w_i` with `k_i` textures), the "estimated target"
    of `keras_nted.losses.attention.estimated_target` (the reference's colors through the
    extraction and distribution attention: the quantity the attention loss compares with the
    ground truth), nearest-upsampled to the full image size.

    Args:
        extraction_softmax: list of `(batch, h_i, w_i, k_i)` arrays (the generator's
            `extraction_softmax`).
        distribution_logits: list of `(batch, h_i, w_i, k_i)` arrays (the generator's
            `distribution_logits`), paired by index.
        reference_image: `(batch, H, W, 3)` reference images in `[-1, 1]`.

    Returns:
        A list of `(batch, H, W, 3)` float32 arrays in `[-1, 1]`, one per NTED index.

    Reference:
        The released `util/visualization/linear_attention.py` (`attn2image`).
    """
    if len(extraction_softmax) != len(distribution_logits):
        raise ValueError(
            "Expected as many extraction maps as distribution logits. Received: "
            f"{len(extraction_softmax)} and {len(distribution_logits)}"
        )
    reference = np.asarray(reference_image, dtype="float32")
    full_size = reference.shape[1:3]
    panels = []
    for softmax, logits in zip(extraction_softmax, distribution_logits):
        estimate = estimated_target(np.asarray(softmax, "float32"), np.asarray(logits, "float32"), reference)
        panels.append(ops.convert_to_numpy(resize_nearest(estimate, full_size)).astype("float32"))
    return panels


def skeleton_picture(skeleton):
    """The colour channels (0-2) of `(batch, H, W, 20)` pose maps as `[-1, 1]` images.

    Each value is placed half a level above its uint8 level, so `to_uint8` (which truncates,
    as the release does) gives back exactly `rint(255 * s)` instead of one less where
    `k / 255 * 2 - 1` rounds down in float32.
    """
    levels = np.rint(np.asarray(skeleton, dtype="float32")[..., :3] * 255.0)
    return ((levels + 0.5) / 127.5 - 1.0).astype("float32")


def sample_rows(generator, batch, with_attention=True):
    """Run `generator` on a batch and lay out one row per pair.

    Each row is `reference | target skeleton | generated | ground truth | attention panels...`
    (the ground truth is left out when the batch has no `target_image`).

    Args:
        generator: an `NTEDGenerator` (usually the EMA one).
        batch: a dict with `source_image`, `target_skeleton` and optionally `target_image`.
        with_attention: add the attention panels (`attention_panels`).

    Returns:
        `(rows, generated)`: a `(batch, H, n * W, 3)` uint8 array and the generated images
        `(batch, H, W, 3)` float32.
    """
    out = run_generator(generator, batch["source_image"], batch["target_skeleton"])
    generated = out["image"]
    columns = [batch["source_image"], skeleton_picture(batch["target_skeleton"]), generated]
    if "target_image" in batch:
        columns.append(batch["target_image"])
    if with_attention:
        columns.extend(attention_panels(out["extraction_softmax"], out["distribution_logits"], batch["source_image"]))
    rows = np.concatenate([to_uint8(c) for c in columns], axis=2)
    return rows, generated


def stack_rows(rows, gap=2, background=255):
    """Stack `(n, H, W', 3)` uint8 rows vertically with `gap` pixels of `background` between."""
    rows = list(rows)
    width = max(r.shape[1] for r in rows)
    pieces = []
    for i, row in enumerate(rows):
        if row.shape[1] < width:
            pad = np.full((row.shape[0], width - row.shape[1], 3), background, np.uint8)
            row = np.concatenate([row, pad], axis=1)
        if i:
            pieces.append(np.full((gap, width, 3), background, np.uint8))
        pieces.append(row)
    return np.concatenate(pieces, axis=0)


def display_factor(height, target=DISPLAY_HEIGHT):
    """The whole-number enlargement that shows `height`-pixel images at about `target` pixels.

    `max(1, target // height)`: 64 -> 4, 100 -> 2, 128 -> 2, 256 and above -> 1.

    Example:
    >>> display_factor(64), display_factor(128), display_factor(256)
    (4, 2, 1)
    """
    if isinstance(height, bool) or not isinstance(height, (int, np.integer)) or height < 1:
        raise ValueError(f"Expected a positive whole number of pixels. Received: height={height!r}")
    return max(1, int(target) // int(height))


def enlarge(picture, factor):
    """`picture` (`(H, W, C)`) with every pixel repeated `factor` times down and across (nearest neighbour).

    Example:
    >>> enlarge(np.arange(4, dtype=np.uint8).reshape(2, 2, 1), 2)[..., 0]
    array([[0, 0, 1, 1],
           [0, 0, 1, 1],
           [2, 2, 3, 3],
           [2, 2, 3, 3]], dtype=uint8)
    """
    picture = np.asarray(picture)
    return picture if factor == 1 else np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)


def label_columns(picture, labels, margin=2):
    """`picture` under a white header band naming each of its equal-width columns.

    The picture's own pixels are unchanged: the result is `band` rows of white with each label
    centred over its column (OpenCV's `putText`, black), then `picture`. One font scale for all
    labels: the largest (at most 1.0 of `FONT_HERSHEY_PLAIN`) at which every label fits its
    column with `margin` pixels either side.

    Args:
        picture: `(H, W, 3)` uint8, `W` a multiple of `len(labels)`.
        labels: one string per column (`""` for an unlabelled column).
        margin: pixels kept free on each side of a label.

    Returns:
        `(band + H, W, 3)` uint8; `band` depends only on `W / len(labels)` and the labels.

    Example:
    >>> picture = np.zeros((64, 88, 3), np.uint8)
    >>> labelled = label_columns(picture, ["reference", "generated"])
    >>> bool((labelled[-64:] == picture).all()), labelled.shape[0] > 64
    (True, True)
    """
    picture = np.asarray(picture)
    labels = [str(label) for label in labels]
    if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[-1] != 3:
        raise ValueError(f"Expected a (height, width, 3) uint8 picture. Received: {picture.dtype} {picture.shape}")
    if not labels or picture.shape[1] % len(labels):
        raise ValueError(
            f"Expected labels for equal-width columns of the picture's width {picture.shape[1]}. "
            f"Received: {len(labels)} labels"
        )
    column = picture.shape[1] // len(labels)
    widths = [cv2.getTextSize(label, _FONT, 1.0, 1)[0][0] for label in labels if label]
    scale = min([_MAX_FONT_SCALE] + [max(column - 2 * margin, 1) / w for w in widths if w])
    text_height = cv2.getTextSize("Ag", _FONT, scale, 1)
    band_height = text_height[0][1] + text_height[1] + 2 * margin
    band = np.full((band_height, picture.shape[1], 3), 255, np.uint8)
    for i, label in enumerate(labels):
        if label:
            (width, height), _ = cv2.getTextSize(label, _FONT, scale, 1)
            origin = (i * column + (column - width) // 2, margin + height)
            cv2.putText(band, label, origin, _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([band, picture], axis=0)
