"""The pose pipeline in one Keras graph (`pose.in_graph`) against the numpy/LiteRT one, on every backend.

Its steps (`pose.graph_ops`) are checked one by one against the numpy functions they rewrite,
on hand-made inputs; the whole model against `PoseEstimator` on mannequins of the pose test
set (one found by neither, three by both), a blank picture, and one photo of another size.
Distances are in torso lengths of the ground truth, as in tests/pose/test_parity.py.
"""

import math

import numpy as np
import pytest

from keras_nted.evaluation.pose import pose_test_set
from keras_nted.evaluation.pose import torso_length
from keras_nted.pose import coco
from keras_nted.pose import detector
from keras_nted.pose import framing
from keras_nted.pose import graph_ops
from keras_nted.pose.geometry import Region
from keras_nted.pose.landmarks import refine_with_heatmap
from keras_nted.pose.model_files import DETECTOR


def _numpy(x):
    from keras import ops

    return ops.convert_to_numpy(x)


def _region(r):
    return np.array([[*r.center, r.size, math.cos(r.angle), math.sin(r.angle)]], "float32")


@pytest.mark.parametrize("outside", ["zeros", "edge"])
def test_crop_samples_as_the_numpy_region_crop(outside):
    image = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    # sizes off simple fractions of 32: exact ties (a level and a half) round as OpenCV pleases
    for region in (Region((30.5, 20.0), 44.0, 0.7), Region((60.0, 45.0), 90.0, -2.5), Region((35.3, 25.1), 71.3)):
        expected = region.crop(image, 32, (0.0, 1.0), outside)
        got = _numpy(graph_ops.crop(image[None], _region(region), 32, (0.0, 1.0), outside))
        levels = np.abs(got - expected) * 255
        assert levels.max() < 1.01 and (levels > 0.01).mean() < 0.01  # a level, where a .5 rounds the other way


def test_best_cluster_is_the_first_of_weighted_nms():
    rng = np.random.default_rng(1)
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0], [0.0, 0.0, 1.0, 1.0]])
    scores = np.array([0.9, 0.6, 0.7, 0.4])  # the last overlaps the best but is under the threshold
    keypoints = rng.normal(size=(4, 4, 2))
    score, points = graph_ops.best_cluster(*(a[None].astype("float32") for a in (scores, boxes, keypoints)), 0.5, 0.3)
    expected = detector.weighted_nms(scores, boxes, keypoints)[0]
    np.testing.assert_allclose(_numpy(score)[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(_numpy(points)[0], expected[2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("top", [(100, 20), (180, 100), (20, 100), (100, 180), (130, 70)])
def test_region_of_interest(top):
    points = np.array([[100.0, 100.0], top, [0, 0], [0, 0]])
    expected = detector.region_of_interest(detector.Detection(0.9, (0, 0, 1, 1), points))
    got = _numpy(graph_ops.region_of_interest(points[None].astype("float32"), detector.ROI_SCALE))[0]
    np.testing.assert_allclose(got, _region(expected)[0], rtol=1e-6, atol=1e-6)
    uv = np.array([[[0.1, 0.2], [0.9, 0.6]]], "float32")
    np.testing.assert_allclose(_numpy(graph_ops.region_to_image(uv, got[None]))[0], expected.to_image(uv[0]), rtol=1e-5)


def test_heatmap_refinement():
    rng = np.random.default_rng(2)
    heatmap = rng.normal(-3.0, 2.0, (2, 16, 16, 5)).astype("float32")
    points = rng.uniform(-0.05, 1.05, (2, 5, 2)).astype("float32")  # some outside the heatmap
    got = _numpy(graph_ops.refine_with_heatmap(points, heatmap, 7, 0.5))
    for b in range(2):
        np.testing.assert_allclose(got[b], refine_with_heatmap(points[b], heatmap[b]), atol=1e-6)


def test_coco18_and_framing():
    rng = np.random.default_rng(3)
    points = rng.uniform(-20, 300, (3, 33, 2)).astype("float32")
    visibility = rng.uniform(0, 1, (3, 33)).astype("float32")
    visibility[1, [12, 11, 24, 23]] = 0.1  # no neck, no hips: the fallback scale
    visibility[2] = 0.1  # nothing present: no framing
    keypoints, confidence = graph_ops.to_coco18(points, visibility, (256, 200), 0.5)
    box, framed = (_numpy(v) for v in graph_ops.framing_box(keypoints, framing.MODEL_ASPECT))
    for b in range(3):
        expected = coco.to_coco18(points[b], visibility[b], (256, 200))
        np.testing.assert_allclose(_numpy(keypoints)[b], expected[0], rtol=1e-6)
        np.testing.assert_allclose(_numpy(confidence)[b], expected[1], rtol=1e-6)
        if b < 2:
            assert framed[b] and box[b].tolist() == list(framing.framing_box(expected[0]))
    assert not framed[2] and box[2].tolist() == [0, 0, 0, 0]


@pytest.fixture(scope="module")
def photos():
    """Four mannequins (the first found by neither pipeline), a blank picture of their size,
    and a mannequin in a landscape frame of another size."""
    items = pose_test_set(num_renders=4, num_photo_like=0)
    blank = np.full_like(items[0].image, 200)
    landscape = np.pad(items[2].image[40:], ((0, 0), (150, 150), (0, 0)), mode="edge")
    truths = [i.keypoints for i in items] + [
        None,
        items[2].keypoints + np.where(items[2].keypoints == -1, 0, (150, -40)),
    ]
    return [i.image for i in items] + [blank, landscape], truths


@pytest.fixture(scope="module")
def in_graph(model_paths, photos):
    from keras_nted.pose.in_graph import pose_pipeline

    model = pose_pipeline(model_paths[DETECTOR].parent)
    images, _ = photos
    same_size = model.predict(np.stack(images[:5]), verbose=0)  # compiled once: much faster than a call on JAX
    other = model.predict(images[5][None], verbose=0)
    return [{k: v[i] for k, v in same_size.items()} for i in range(5)] + [{k: v[0] for k, v in other.items()}]


@pytest.fixture(scope="module")
def numpy_people(model_paths, photos):
    from keras_nted.pose import PoseEstimator

    estimator = PoseEstimator(model_paths[DETECTOR].parent)
    return [estimator(image) for image in photos[0]]


def test_same_people_found(in_graph, numpy_people):
    assert [bool(out["found"]) for out in in_graph] == [bool(p) for p in numpy_people]
    assert [bool(p) for p in numpy_people] == [False, True, True, True, False, True]  # the cases this test means
    for out, people in zip(in_graph, numpy_people):
        if not people:
            assert np.all(out["keypoints"] == -1) and np.all(out["confidence"] == 0) and np.all(out["box"] == 0)


def test_keypoints_and_framing_match_the_numpy_pipeline(in_graph, numpy_people, photos):
    images, truths = photos
    for out, people, image, truth in zip(in_graph, numpy_people, images, truths):
        if not people:
            continue
        person = people[0]
        present = person.keypoints[:, 0] != -1
        np.testing.assert_array_equal(out["keypoints"][:, 0] != -1, present)
        error = np.linalg.norm(out["keypoints"][present] - person.keypoints[present], axis=1) / torso_length(truth)
        assert np.median(error) < 0.005 and error.max() < 0.05, (np.median(error), error.max())
        landmark_error = np.linalg.norm(out["landmarks"] - person.landmarks.points, axis=1) / torso_length(truth)
        assert np.median(landmark_error) < 0.005
        np.testing.assert_allclose(out["score"], person.detection.score, rtol=1e-3)
        np.testing.assert_allclose(out["presence"], person.landmarks.presence, atol=0.01)
        framed = framing.frame_person(image, person.keypoints)
        assert np.abs(out["box"] - framed.box).max() <= 1
        assert framed.box[1] < 0  # the window reaches above the photo: its first row is the fill
        np.testing.assert_array_equal(out["fill_color"], framed.image[0, 0])
        shift = np.asarray(framed.box[:2]) - out["box"][:2]
        moved = out["keypoints"][present] - person.keypoints[present]
        np.testing.assert_allclose(
            out["framed_keypoints"][present], framed.keypoints[present] + shift + moved, atol=1e-3
        )
