"""Parity with mediapipe 0.10.21's own Pose solution, and accuracy on the mannequins' ground truth.

The reference is tests/pose/fixtures/mediapipe_0.10.21.json, made by make_mediapipe_fixture.py
in a separate venv on `keras_nted.evaluation.pose.pose_test_set()` (128 images).
"""

import json
import pathlib

import numpy as np
import pytest

from keras_nted.evaluation.pose import RENDER_SIZE
from keras_nted.evaluation.pose import parity
from keras_nted.evaluation.pose import pck_by_view
from keras_nted.evaluation.pose import pose_test_set
from keras_nted.evaluation.pose import reference_landmarks
from keras_nted.pose.coco import to_coco18

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "mediapipe_0.10.21.json"
# The one image of the 128 on which the two pipelines disagree about a person: the landmark
# network's pose-presence score is near its 0.5 threshold and moves across it with a
# region of interest a pixel or two larger or turned by 0.05 rad (ours: 0.16).
BORDERLINE = {"mannequin_006"}


@pytest.fixture(scope="module")
def results(estimator):
    test_set = pose_test_set()
    people = {item.name: estimator(item.image) for item in test_set}
    with open(FIXTURE) as f:
        reference = reference_landmarks(json.load(f))
    return test_set, people, reference


def test_fixture_covers_the_test_set(results):
    test_set, _, reference = results
    assert sorted(reference) == sorted(item.name for item in test_set)
    assert sum(v is not None for v in reference.values()) == 107


def test_same_people_found_and_landmarks_agree(results):
    test_set, people, reference = results
    mine = {name: (p[0].landmarks.points if p else None) for name, p in people.items()}
    result = parity(mine, {name: (r[0] if r else None) for name, r in reference.items()}, test_set)
    assert set(result["found_only_by_estimate"]) | set(result["found_only_by_reference"]) <= BORDERLINE
    assert len(result["found_by_both"]) >= 106
    assert result["median"] < 0.02  # of the torso length (measured: 0.006)
    assert result["p90"] < 0.05  # (measured: 0.028)
    photo_like = [item.name for item in test_set if item.image.shape[:2] != RENDER_SIZE]
    assert set(photo_like) <= set(result["found_by_both"])  # every other size: found by both


def test_pck_against_ground_truth_matches_the_reference(results):
    test_set, people, reference = results
    renders = [item for item in test_set if item.image.shape[:2] == RENDER_SIZE]
    mine = pck_by_view([(item, people[item.name][0].keypoints if people[item.name] else None) for item in renders])
    theirs = pck_by_view([
        (item, to_coco18(*reference[item.name], RENDER_SIZE)[0] if reference[item.name] else None) for item in renders
    ])  # fmt: skip
    for view in ("front", "side", "back", "all"):
        assert abs(mine[view]["pck"] - theirs[view]["pck"]) < 0.02, (view, mine[view], theirs[view])
    assert mine["front"]["pck"] > 0.85 and mine["all"]["pck"] > 0.75  # measured: 0.892, 0.778


def test_keypoints_are_in_the_photos_pixels(results):
    test_set, people, _ = results
    for item in test_set:
        for person in people[item.name]:
            present = person.keypoints[:, 0] != -1
            height, width = item.image.shape[:2]
            assert np.all((person.keypoints[present] >= 0) & (person.keypoints[present] < (width, height)))
            assert np.all(person.confidence[present] >= 0.5) and np.all(person.confidence[~present] == 0)
