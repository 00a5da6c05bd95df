"""The pipeline's pieces on hand-made inputs: anchors, decoding, NMS, regions, heatmaps, COCO-18."""

import math

import numpy as np
import pytest

from keras_nted.data.keypoints import KEYPOINT_NAMES
from keras_nted.pose import coco
from keras_nted.pose import detector
from keras_nted.pose.geometry import Region
from keras_nted.pose.geometry import letterbox_region
from keras_nted.pose.landmarks import refine_with_heatmap


def test_anchor_grid():
    anchors = detector.anchor_centers()
    assert anchors.shape == (detector.NUM_ANCHORS, 2)
    # stride 8: 28x28 cells of 2 anchors, row-major; then 14x14 x 2; then 7x7 x 6 (three stride-32 layers).
    np.testing.assert_allclose(anchors[:4], [[0.5 / 28, 0.5 / 28]] * 2 + [[1.5 / 28, 0.5 / 28]] * 2)
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(anchors[1568 + 392 : 1568 + 392 + 7], [[0.5 / 7, 0.5 / 7]] * 6 + [[1.5 / 7, 0.5 / 7]])


def test_decode_offsets_from_anchors():
    anchors = np.array([[0.25, 0.5], [0.75, 0.5]])
    raw = np.zeros((2, 12))
    raw[0, :4] = (22.4, -22.4, 44.8, 22.4)  # shift +0.1, -0.1; size 0.2 x 0.1
    raw[1, 4:6] = (-224.0, 0.0)  # keypoint 0 one input width to the left
    scores, boxes, keypoints = detector.decode(raw, np.array([[0.0], [200.0]]), anchors)
    np.testing.assert_allclose(scores, [0.5, 1 / (1 + math.exp(-100))])  # logits clipped to +-100
    np.testing.assert_allclose(boxes[0], [0.25, 0.35, 0.45, 0.45])
    np.testing.assert_allclose(keypoints[1, 0], [-0.25, 0.5])
    np.testing.assert_allclose(keypoints[1, 1:], [[0.75, 0.5]] * 3)


def test_weighted_nms_merges_overlaps_and_keeps_apart_people():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0], [0.0, 0.0, 1.0, 1.0]])
    scores = np.array([0.9, 0.6, 0.7, 0.4])  # the last is under the threshold
    keypoints = np.arange(4 * 8, dtype="float64").reshape(4, 4, 2)
    merged = detector.weighted_nms(scores, boxes, keypoints)
    assert [round(s, 3) for s, _, _ in merged] == [0.9, 0.7]
    np.testing.assert_allclose(merged[0][1], [0.04, 0.0, 1.04, 1.0])  # (0.9 * 0 + 0.6 * 0.1) / 1.5
    np.testing.assert_allclose(merged[0][2], (0.9 * keypoints[0] + 0.6 * keypoints[1]) / 1.5)
    np.testing.assert_allclose(merged[1][1], boxes[2])


@pytest.mark.parametrize(
    "top, angle", [((100, 20), 0.0), ((180, 100), math.pi / 2), ((20, 100), -math.pi / 2), ((100, 180), -math.pi)]
)
def test_region_turns_the_body_upright(top, angle):
    found = detector.Detection(0.9, (0, 0, 1, 1), np.array([[100.0, 100.0], top, [0, 0], [0, 0]]))
    region = detector.region_of_interest(found)
    assert region.center == (100.0, 100.0)
    assert region.size == pytest.approx(2 * 80 * 1.25)
    assert region.angle == pytest.approx(angle)
    # The body-size point lies straight above the centre in the region's own coordinates.
    np.testing.assert_allclose(region.to_image([[0.5, 0.5 - 0.4]]), [top], atol=1e-9)


def test_crop_and_back():
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    whole = Region(center=(30.0, 20.0), size=40.0)  # corners of the region on pixel corners
    np.testing.assert_array_equal(Region(center=(20.0, 20.0), size=40.0).crop(image, 40, (0, 255))[0], image[:, :40])
    turned = Region(center=(20.0, 20.0), size=40.0, angle=math.pi / 2).crop(image[:, :40], 40, (0, 255))[0]
    # Turned a quarter clockwise: the region's up is the image's right (output row i samples
    # image column 40 - i: the region's corners sit on pixel corners, row 0 falls outside).
    np.testing.assert_array_equal(turned[1:], np.rot90(image[:, :40])[:-1])
    assert turned[0].max() == 0
    assert whole.to_image([[0, 0], [1, 1]]).tolist() == [[10.0, 0.0], [50.0, 40.0]]
    view = letterbox_region((512, 352))
    assert view.to_image([[0, 0]]).tolist() == [[-80.0, 0.0]]
    black = view.crop(image, 32, (-1.0, 1.0))
    assert black.shape == (1, 32, 32, 3) and black[0, :, 0].max() == -1.0  # letterbox: black, then [-1, 1]


def test_heatmap_refinement():
    heatmap = np.full((64, 64, 2), -10.0)
    heatmap[20, 30, 0] = heatmap[20, 32, 0] = 5.0  # two equal peaks: the point moves between them
    heatmap[40, 40, 1] = -1.0  # best confidence under 0.5: the point stays
    points = np.array([[31 / 64, 21 / 64], [40 / 64, 40 / 64]])
    refined = refine_with_heatmap(points, heatmap)
    np.testing.assert_allclose(refined[0], [31 / 64, 20 / 64], atol=2e-4)
    np.testing.assert_array_equal(refined[1], points[1])


def test_coco18_mapping():
    points = np.stack([np.arange(33.0) + 10, np.arange(33.0) + 20], axis=1)
    visibility = np.full(33, 0.9)
    visibility[14] = 0.2  # right elbow not visible
    visibility[11] = 0.6  # left shoulder: the neck takes the smaller confidence
    points[27] = (500, 30)  # left ankle outside a 352-wide image
    keypoints, confidence = coco.to_coco18(points, visibility, (512, 352))
    name = {n: i for i, n in enumerate(KEYPOINT_NAMES)}
    assert keypoints[name["nose"]].tolist() == [10.0, 20.0]
    assert keypoints[name["left_eye"]].tolist() == [12.0, 22.0]
    assert keypoints[name["right_hip"]].tolist() == [34.0, 44.0]
    assert keypoints[name["neck"]].tolist() == [21.5, 31.5] and confidence[name["neck"]] == 0.6
    for missing in ("right_elbow", "left_ankle"):
        assert keypoints[name[missing]].tolist() == [-1, -1] and confidence[name[missing]] == 0
    assert (confidence > 0).sum() == 16


@pytest.mark.parametrize("module", ["keras_nted.pose.coco", "keras_nted.pose.detector", "keras_nted.pose.framing"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
