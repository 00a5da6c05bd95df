"""Per-garment colour scores: does a generated person keep each part's colour, and keep the parts apart?

SSIM and L1 average over the whole picture, so a model that paints one blended colour over
the whole body scores about as well as one that keeps the top and the trousers apart. These
scores read the mean colour of each body part instead, using the part labels of the TARGET
image (`keras_nted.data.mannequin.LABEL_NAMES`): the generated image is judged on the pixels
where the true person has that part.

For one pair and one part, with `m(x)` the mean RGB colour (on [0, 1]) of image `x` over the
target's part mask:

    error = mean over R, G, B of |m(generated) - m(truth)|

(the mean absolute difference per channel, so 0.04 means "4% of the range off, on average per
channel"). A part's error is the mean over the pairs whose target shows at least `min_pixels`
pixels of it (a part hidden by the pose is left out, not counted as 0).

The separation asks whether the two garments stay apart:

    separation = mean over pairs of ||m_top(generated) - m_trousers(generated)||
               / mean over pairs of ||m_top(truth) - m_trousers(truth)||

with `||.||` the Euclidean norm over RGB on [0, 1], over the pairs showing both garments. It is
a ratio of means, not a mean of ratios: a pair whose true garments are almost the same colour
has a denominator near 0, and its ratio would dominate a mean of ratios. The truth itself scores
1; an output of one colour scores 0; above 1 means the output exaggerates the difference.
"""

import numpy as np

from keras_nted.data.mannequin import LABEL_NAMES

# The scored parts: their names here and their label names in the mannequin set.
PARTS = {"hair": "hair", "skin": "skin", "top": "upper_garment", "trousers": "lower_garment"}
# Fewer target pixels than this and a part is left out of that pair's scores.
DEFAULT_MIN_PIXELS = 4


def part_means(images, labels, min_pixels=DEFAULT_MIN_PIXELS):
    """The mean colour of each part in each image, over the given part labels.

    Args:
        images: `(batch, height, width, 3)` uint8 RGB.
        labels: `(batch, height, width)` integer part labels (`LABEL_NAMES` indices).
        min_pixels: parts with fewer pixels than this are marked absent.

    Returns:
        `(means, present)`: `(batch, len(PARTS), 3)` float64 colours on [0, 1] (NaN where the
        part is absent) and a `(batch, len(PARTS))` bool mask, in `PARTS` order.

    Example:
    >>> image = np.full((1, 2, 2, 3), 255, np.uint8)
    >>> means, present = part_means(image, np.full((1, 2, 2), 3), min_pixels=1)
    >>> means[0, 2].tolist(), present[0].tolist()
    ([1.0, 1.0, 1.0], [False, False, True, False])
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 4 or images.shape[-1] != 3 or labels.shape != images.shape[:3]:
        raise ValueError(
            "Expected images (batch, height, width, 3) and labels (batch, height, width). "
            f"Received: images.shape={images.shape}, labels.shape={labels.shape}"
        )
    pixels = images.astype("float64") / 255.0
    masks = np.stack([labels == LABEL_NAMES.index(label) for label in PARTS.values()], axis=1)  # (B, P, H, W)
    counts = masks.sum(axis=(2, 3))
    sums = np.einsum("bphw,bhwc->bpc", masks.astype("float64"), pixels)
    present = counts >= max(int(min_pixels), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(present[..., None], sums / counts[..., None], np.nan)
    return means, present


class GarmentScores:
    """Accumulates the per-part colour errors and the garment separation of several methods.

    Args:
        min_pixels: a part counts in a pair when the target shows at least this many pixels of it.

    Example:
    >>> truth = np.zeros((1, 4, 4, 3), np.uint8); truth[:, 2:] = 200
    >>> labels = np.full((1, 4, 4), 3); labels[:, 2:] = 4
    >>> scores = GarmentScores()
    >>> scores.update("model", truth, truth, labels)
    >>> result = scores.result()["model"]
    >>> result["top"], result["trousers"], result["separation"]
    (0.0, 0.0, 1.0)
    """

    def __init__(self, min_pixels=DEFAULT_MIN_PIXELS):
        self.min_pixels = int(min_pixels)
        self.values = {}

    def update(self, method, images, target, target_labels):
        """Add pairs: `images` (a method's uint8 output), `target` (uint8 truth), the target's labels."""
        generated, present = part_means(images, target_labels, self.min_pixels)
        truth, _ = part_means(target, target_labels, self.min_pixels)
        values = self.values.setdefault(method, {name: [] for name in (*PARTS, "apart_generated", "apart_truth")})
        errors = np.abs(generated - truth).mean(axis=-1)  # (B, P): mean over RGB
        for index, name in enumerate(PARTS):
            values[name].extend(errors[present[:, index], index].tolist())
        top, trousers = list(PARTS).index("top"), list(PARTS).index("trousers")
        both = present[:, top] & present[:, trousers]
        for key, means in (("apart_generated", generated), ("apart_truth", truth)):
            values[key].extend(np.linalg.norm(means[both, top] - means[both, trousers], axis=-1).tolist())

    def result(self):
        """`{method: {"hair", "skin", "top", "trousers", "separation", "pairs": {part: count}}}`.

        A part no pair showed scores NaN; so does the separation without a pair showing both garments.
        """
        result = {}
        for method, values in self.values.items():
            scores = {name: _mean(values[name]) for name in PARTS}
            truth = _mean(values["apart_truth"])
            scores["separation"] = _mean(values["apart_generated"]) / truth if truth > 0 else float("nan")
            scores["pairs"] = {name: len(values[name]) for name in (*PARTS, "apart_truth")}
            scores["pairs"]["separation"] = scores["pairs"].pop("apart_truth")
            result[method] = scores
        return result


def _mean(values):
    return float(np.mean(values)) if values else float("nan")


def format_garments(result, methods):
    """Markdown lines of a `GarmentScores.result()` for `methods`: `[(key, label), ...]`."""
    names = list(PARTS)
    lines = [
        "Mean-colour error per part on [0, 1] (lower is better) and garment separation (1 is the truth's):",
        "",
        "| method | " + " | ".join(names) + " | separation |",
        "|---" * (len(names) + 2) + "|",
    ]
    for key, label in methods:
        scores = result[key]
        cells = [f"{scores[name]:.4f}" for name in names] + [f"{100 * scores['separation']:.1f}%"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines
