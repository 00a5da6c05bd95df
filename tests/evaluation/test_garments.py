import numpy as np
import pytest

from keras_nted.evaluation.garments import PARTS
from keras_nted.evaluation.garments import GarmentScores
from keras_nted.evaluation.garments import part_means

# Label values of the mannequin set (LABEL_NAMES): 0 background, 1 hair, 2 skin, 3 top, 4 trousers.
HAIR, SKIN, TOP, TROUSERS = 1, 2, 3, 4


@pytest.fixture(scope="module")
def pairs():
    """Two 8x6 targets: hair, skin, top and trousers in bands of distinct colours, on a background."""
    labels = np.zeros((2, 8, 6), np.int64)
    labels[:, 0:2, 1:5] = HAIR
    labels[:, 2:3, 1:5] = SKIN
    labels[:, 3:5, 1:5] = TOP
    labels[:, 5:8, 1:5] = TROUSERS
    truth = np.zeros((2, 8, 6, 3), np.uint8)
    colours = {HAIR: (40, 20, 10), SKIN: (220, 180, 150), TOP: (200, 30, 60), TROUSERS: (20, 40, 160)}
    for label, colour in colours.items():
        truth[labels == label] = colour
    truth[1] = 255 - truth[1]  # the second person: other colours
    return truth, labels


def scores_of(images, truth, labels, min_pixels=4):
    scores = GarmentScores(min_pixels=min_pixels)
    scores.update("model", images, truth, labels)
    return scores.result()["model"]


def test_the_truth_scores_zero_error_and_separation_one(pairs):
    truth, labels = pairs
    result = scores_of(truth, truth, labels)
    assert all(result[part] == 0.0 for part in PARTS)
    assert result["separation"] == pytest.approx(1.0)
    assert result["pairs"] == {"hair": 2, "skin": 2, "top": 2, "trousers": 2, "separation": 2}


def test_one_colour_output_scores_separation_zero(pairs):
    truth, labels = pairs
    flat = np.full_like(truth, 128)
    result = scores_of(flat, truth, labels)
    assert result["separation"] == 0.0
    assert result["top"] > 0.1 and result["trousers"] > 0.1


def test_a_known_shift_gives_the_known_error(pairs):
    truth, labels = pairs
    shifted = truth.astype(np.int64)
    # +51 levels (0.2) on red in the top only, of the first pair; the second pair is left exact.
    shifted[0][labels[0] == TOP] += (51, 0, 0)
    result = scores_of(np.clip(shifted, 0, 255).astype(np.uint8), truth, labels)
    # The first pair's top: |0.2| on one channel of three, mean over RGB: 0.2 / 3; mean over 2 pairs.
    assert result["top"] == pytest.approx(0.2 / 3 / 2)
    assert result["trousers"] == result["hair"] == result["skin"] == 0.0
    # Outside the target's top the output is not read: changing the background changes nothing.
    background = shifted.copy()
    background[labels == 0] = 255
    assert scores_of(np.clip(background, 0, 255).astype(np.uint8), truth, labels)["top"] == result["top"]


def test_separation_is_a_ratio_of_means_and_small_parts_are_left_out(pairs):
    truth, labels = pairs
    # The generated trousers of the first pair take the top's colour: that pair's garments merge.
    merged = truth.copy()
    merged[0][labels[0] == TROUSERS] = truth[0][labels[0] == TOP][0]
    result = scores_of(merged, truth, labels)
    means, _ = part_means(truth, labels)
    apart = np.linalg.norm(means[:, 2] - means[:, 3], axis=-1)  # PARTS order: hair, skin, top, trousers
    assert result["separation"] == pytest.approx(apart[1] / apart.sum())
    # A part with fewer target pixels than min_pixels is not scored (hair: 8 pixels).
    assert scores_of(truth, truth, labels, min_pixels=9)["pairs"]["hair"] == 0
    assert np.isnan(scores_of(truth, truth, labels, min_pixels=9)["hair"])


def test_part_means_refuses_mismatched_shapes(pairs):
    truth, labels = pairs
    with pytest.raises(ValueError, match="Expected images .* Received: images.shape=.*labels.shape="):
        part_means(truth, labels[:, :4])
