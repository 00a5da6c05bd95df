"""A per-part mean-colour loss: each body part of the output should have the truth's mean colour.

Not in the release. Plain L1 and SSIM on a 64x44 mannequin are minimised by a blurred body in
one blended colour about as well as by a top and trousers of their own colours (the top's and
the trousers' pixels are a few hundred of 2,816); this term compares, part by part, the mean
colour of the generated image and of the ground truth over the ground truth's part mask, so
a garment painted in its neighbour's colour costs the whole garment's error.
"""

from keras import ops

# The scored labels: every part of `keras_nted.data.mannequin.LABEL_NAMES` but the background
# (1 hair, 2 skin, 3 upper garment, 4 lower garment, 5 shoes).
PART_LABELS = (1, 2, 3, 4, 5)


def part_color_loss(fake, truth, labels, part_labels=PART_LABELS):
    """Mean over the parts present of `mean_c |mean colour of fake - mean colour of truth|` on the truth's masks.

    Args:
        fake: `(batch, height, width, 3)` generated images (any range; the truth's).
        truth: `(batch, height, width, 3)` ground-truth images.
        labels: `(batch, height, width)` integer part labels of the ground truth (the mannequin
            set's `with_labels=True` batches).
        part_labels: the label values scored, each as one part.

    Returns:
        A float32 scalar: the mean, over the (image, part) pairs where the part has at least one
        pixel, of the mean absolute difference over the channels of the two mean colours; 0 when
        no part is present.

    Raises:
        ValueError: `labels` is None (batches without part labels).

    Example:
    >>> import numpy as np
    >>> truth = np.zeros((1, 2, 2, 3), "float32"); truth[:, 1] = 1.0
    >>> labels = np.array([[[3, 3], [4, 4]]])
    >>> float(part_color_loss(np.full_like(truth, 0.5), truth, labels))
    0.5
    """
    if labels is None:
        raise ValueError(
            "Expected the ground truth's part labels (batches with `source_labels` / `target_labels`: the "
            "mannequin set's `with_labels=True`). Received: labels=None"
        )
    fake = ops.cast(fake, "float32")
    truth = ops.cast(truth, "float32")
    labels = ops.cast(labels, "int32")
    masks = ops.stack([ops.cast(ops.equal(labels, label), "float32") for label in part_labels], axis=-1)
    counts = ops.sum(masks, axis=(1, 2))  # (batch, parts)
    safe = ops.maximum(counts, 1.0)[..., None]
    fake_means = ops.einsum("bhwp,bhwc->bpc", masks, fake) / safe
    truth_means = ops.einsum("bhwp,bhwc->bpc", masks, truth) / safe
    errors = ops.mean(ops.abs(fake_means - truth_means), axis=-1)
    present = ops.cast(counts > 0, "float32")
    return ops.sum(errors * present) / ops.maximum(ops.sum(present), 1.0)
