"""On the shipped mannequin model, a garment moves: inside the region the result is closer to the
new garment, outside closer to the person (benchmarks/appearance_control.py runs 10 pairs x 200
steps; this is the short version)."""

import pytest

from keras_nted.appearance import AppearanceControl
from keras_nted.evaluation.appearance import appearance_pair
from keras_nted.evaluation.appearance import appearance_scores


@pytest.mark.slow
@pytest.mark.parametrize("garment, person", [(2, 52), (5, 55)])
def test_upper_garment_moves(shipped_parts, garment, person):
    pair = appearance_pair(garment, person)
    control = AppearanceControl(shipped_parts, steps=200, loss="l1", verbose=0)
    result = control(pair["garment"], pair["person"], pair["skeleton"], garment_mask=pair["garment_mask"],
                     person_mask=pair["person_mask"], garment_image_mask=pair["garment_image_mask"])  # fmt: skip
    scores = appearance_scores(result.image, pair)
    assert scores["inside_margin"] > 0.05, scores
    assert scores["outside_margin"] > 0.05, scores
    assert scores["inside_color_margin"] > 0.05, scores
    # the edit, not the model's blur, moves the region: it gains over the person merely
    # re-rendered (measured: +0.46 and +0.19; the re-render alone is at -0.13 and -0.08)
    assert scores["inside_margin"] > appearance_scores(result.person_render, pair)["inside_margin"] + 0.03
    # measured: 50% and 23% (the rest is mostly the model's blur outside, which no edit removes)
    assert result.history["loss"][-1] < 0.95 * result.history["loss"][0]
