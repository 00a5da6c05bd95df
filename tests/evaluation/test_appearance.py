"""Mannequin garment-transfer cases with a rendered ground truth, and their region scores."""

import numpy as np
import pytest

from keras_nted.data.mannequin import LABEL_NAMES
from keras_nted.evaluation.appearance import appearance_pair
from keras_nted.evaluation.appearance import appearance_scores


@pytest.fixture(scope="module")
def pair():
    return appearance_pair(2, 52)


def test_pair_holds_the_ground_truth(pair):
    assert pair["garment"].shape == pair["person"].shape == pair["ground_truth"].shape == (64, 44, 3)
    assert pair["skeleton"].shape == (64, 44, 20) and pair["keypoints"].shape == (18, 2)
    upper = LABEL_NAMES.index("upper_garment")
    np.testing.assert_array_equal(pair["person_mask"], pair["person_labels"] == upper)
    for key in ("person_mask", "garment_mask", "ground_truth_mask", "garment_image_mask"):
        assert pair[key].dtype == bool and pair[key].any()
    # A's own image and pose: its top's color is the ground truth's top color
    assert pair["garment_skeleton"].shape == (64, 44, 20) and pair["garment_keypoints"].shape == (18, 2)
    assert not np.array_equal(pair["garment_keypoints"], pair["keypoints"])
    inside = pair["person_mask"] & pair["ground_truth_mask"]
    a_top = pair["garment"][pair["garment_image_mask"]].mean(axis=0)
    assert np.abs(a_top - pair["ground_truth"][inside].mean(axis=0)).max() < 0.1
    assert np.abs(a_top - pair["person"][inside].mean(axis=0)).max() > 0.1
    # Outside both garment regions the ground truth is the person (but for anti-aliased edges).
    outside = ~(pair["person_mask"] | pair["ground_truth_mask"])
    changed = np.abs(pair["ground_truth"] - pair["person"]).max(axis=-1)[outside] > 0.05
    assert changed.mean() < 0.03  # garment edges (anti-aliased) only
    assert np.abs(pair["ground_truth"] - pair["person"])[pair["person_mask"] & pair["ground_truth_mask"]].mean() > 0.1


def test_scores_of_the_ground_truth_and_of_the_person(pair):
    truth = appearance_scores(pair["ground_truth"], pair)
    assert truth["inside_l1_to_garment"] == 0.0 and truth["inside_margin"] > 0.1
    assert truth["outside_margin"] > 0.1 and truth["body_margin"] > 0.1
    person = appearance_scores(pair["person"], pair)
    assert person["outside_l1_to_person"] == 0.0 and person["inside_margin"] < -0.1
    swapped = appearance_scores(pair["garment_in_pose"], pair)
    assert swapped["outside_margin"] < 0 and swapped["inside_margin"] > 0
    with_renders = appearance_scores(pair["ground_truth"], pair, pair["garment_in_pose"], pair["person"])
    assert with_renders["model_inside_margin"] > 0 and "model_body_color_margin" in with_renders
    assert "model_inside_margin" not in truth


def test_lower_garment_and_errors():
    lower = appearance_pair(3, 53, region="lower")
    assert lower["person_mask"].any() and lower["ground_truth_mask"].any()
    with pytest.raises(ValueError, match="Expected region 'upper' or 'lower'"):
        appearance_pair(3, 53, region="hat")
