import dataclasses
import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_nted.data import DeepFashionDataset
from keras_nted.data import deepfashion
from keras_nted.data import deepfashion_to_pixels
from keras_nted.data import face_center
from keras_nted.data import mannequin
from keras_nted.data import read_pairs_file
from keras_nted.data import read_pose_file
from keras_nted.data import render_skeleton
from keras_nted.data.mannequin import Garment
from keras_nted.data.mannequin import MannequinDataset
from keras_nted.data.mannequin import make_identity
from keras_nted.data.mannequin import make_pose
from keras_nted.data.mannequin import render
from keras_nted.data.mannequin import write_mannequin_dataset
from tests.helpers import BATCH_CONTRACT_KEYS
from tests.helpers import BatchProbe

SIZE = (64, 44)
KEYS = BATCH_CONTRACT_KEYS
NOSE, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = 0, 2, 3, 4, 5, 6, 7
R_ANKLE, L_ANKLE, R_EYE, L_EYE = 10, 13, 14, 15


def assert_batches_equal(a, b):
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_seeds_reproduce_and_differ():
    assert make_identity(5) == make_identity(5)
    assert make_identity(5) != make_identity(6)
    a, b = make_pose(9, SIZE), make_pose(9, SIZE)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, make_pose(10, SIZE).keypoints)
    image, labels = render(make_identity(5), a)
    again, labels_again = render(make_identity(5), b)
    np.testing.assert_array_equal(image, again)
    np.testing.assert_array_equal(labels, labels_again)


def test_batches_are_pure_functions_of_seed_split_and_index():
    data = MannequinDataset(SIZE, batch_size=2, seed=3, num_identities=4, poses_per_identity=3)
    late_first = data[2]  # built out of order, on another instance
    fresh = MannequinDataset(SIZE, batch_size=2, seed=3, num_identities=4, poses_per_identity=3)
    assert_batches_equal(fresh[0], data[0])
    assert_batches_equal(fresh[2], late_first)
    other_seed = MannequinDataset(SIZE, batch_size=2, seed=4, num_identities=4, poses_per_identity=3)
    assert not np.array_equal(other_seed[0]["source_image"], data[0]["source_image"])


def test_pairs_enumerate_every_ordered_pose_pair_once():
    for split in ("train", "test"):
        data = MannequinDataset(SIZE, batch_size=5, split=split, num_identities=3, poses_per_identity=4)
        pairs = [data.pair(j) for j in range(data.num_pairs)]
        assert data.num_pairs == 3 * 4 * 3 and len(data) == 8  # ceil(36 / 5)
        assert sorted(pairs) == sorted((k, a, b) for k in range(3) for a in range(4) for b in range(4) if a != b)
        assert data.batch_pairs(len(data) - 1)[-4:] == pairs[:4]  # the last batch wraps around
    assert pairs == sorted(pairs)  # test: identity order
    train = MannequinDataset(SIZE, num_identities=3, poses_per_identity=4)
    assert [train.pair(j) for j in range(36)] != sorted(train.pair(j) for j in range(36))
    capped = MannequinDataset(SIZE, batch_size=4, num_pairs=10, steps_per_epoch=7)
    assert len(capped) == 7 and capped.pair(10) == capped.pair(0)


def test_train_and_test_identities_are_disjoint():
    train = MannequinDataset(SIZE, split="train", num_identities=300)
    test = MannequinDataset(SIZE, split="test", num_identities=300)
    train_seeds = {mannequin.identity_seed(0, "train", k) for k in range(300)}
    test_seeds = {mannequin.identity_seed(0, "test", k) for k in range(300)}
    assert len(train_seeds) == len(test_seeds) == 300 and not train_seeds & test_seeds
    assert train.identity(7) == make_identity(mannequin.identity_seed(0, "train", 7))
    assert not {train.identity(k) for k in range(40)} & {test.identity(k) for k in range(40)}


def test_batch_contract():
    data = MannequinDataset(SIZE, batch_size=3, num_identities=2, poses_per_identity=3)
    batch = data[1]
    assert set(batch) == KEYS
    for role in ("source", "target"):
        image, skeleton, face = (batch[f"{role}_{key}"] for key in ("image", "skeleton", "face_center"))
        assert image.shape == (3, *SIZE, 3) and image.dtype == np.float32
        assert -1 <= image.min() and image.max() <= 1
        assert skeleton.shape == (3, *SIZE, 20) and skeleton.dtype == np.float32
        assert 0 <= skeleton.min() and skeleton.max() <= 1
        assert face.shape == (3, 4) and face.dtype == np.float32

    full = data.get_batch(1, with_labels=True, with_keypoints=True)
    assert set(full) == KEYS | {"source_labels", "target_labels", "source_keypoints", "target_keypoints"}
    assert_batches_equal({k: full[k] for k in KEYS}, batch)
    assert set(MannequinDataset(SIZE, with_labels=True)[0]) == KEYS | {"source_labels", "target_labels"}
    for i, (identity_index, source, target) in enumerate(data.batch_pairs(1)):
        for role, pose_index in (("source", source), ("target", target)):
            image, labels, pose = data.sample(identity_index, pose_index)
            keypoints = full[f"{role}_keypoints"][i]
            assert keypoints.shape == (18, 2) and keypoints.dtype == np.float32
            np.testing.assert_array_equal(keypoints, pose.keypoints)
            np.testing.assert_array_equal(full[f"{role}_labels"][i], labels)
            assert full[f"{role}_labels"].dtype == np.uint8
            expected = (image.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
            np.testing.assert_array_equal(batch[f"{role}_image"][i], expected)
            np.testing.assert_array_equal(
                batch[f"{role}_skeleton"][i], render_skeleton(keypoints, SIZE, frame="pixels")
            )
            np.testing.assert_array_equal(batch[f"{role}_face_center"][i], face_center(keypoints, SIZE, frame="pixels"))


def test_labels_cover_all_classes_and_match_colours():
    seen = set()
    for k in range(6):
        identity = make_identity(k)
        image, labels = render(identity, make_pose(100 + k, SIZE))
        assert image.shape == (*SIZE, 3) and image.dtype == np.uint8
        assert labels.shape == SIZE and labels.dtype == np.uint8 and labels.max() <= 5
        seen |= set(np.unique(labels).tolist())
        for label, colour in ((mannequin.BACKGROUND, identity.background), (mannequin.HAIR, identity.hair_color)):
            if (labels == label).sum() > 5:  # shading and anti-aliasing stay close to the colour
                error = np.abs(image[labels == label].astype(int) - colour).max(axis=-1)
                assert np.median(error) < 40, (k, label)
    assert seen == set(range(6))


def test_keypoints_are_inside_the_image_or_missing():
    poses = [make_pose(seed, SIZE) for seed in range(300)]
    for pose in poses:
        keypoints = pose.keypoints
        missing = np.all(keypoints == -1, axis=1)
        assert np.array_equal(missing, np.any(keypoints == -1, axis=1))  # both coordinates or none
        inside = keypoints[~missing]
        assert np.all(inside >= 0) and np.all(inside[:, 0] < SIZE[1]) and np.all(inside[:, 1] < SIZE[0])
        np.testing.assert_array_equal(
            make_pose(pose.seed, (128, 88)).keypoints, np.where(missing[:, None], -1, 2 * keypoints)
        )
        if pose.view == "back":
            assert missing[NOSE] and missing[R_EYE] and missing[L_EYE]
        if pose.view == "front" and abs(pose.yaw) < 15 and not missing[NOSE]:
            assert not missing[R_EYE] and not missing[L_EYE]
    assert {pose.view for pose in poses} == set(mannequin.VIEWS)
    # Close-ups cut the legs off; side views hide one eye.
    assert any(np.all(pose.keypoints[[R_ANKLE, L_ANKLE]] == -1) for pose in poses)
    side = [pose for pose in poses if 75 < abs(np.degrees(np.arctan2(pose.facing[1], pose.facing[0]))) < 95]
    assert side and all((pose.keypoints[R_EYE] == -1).all() != (pose.keypoints[L_EYE] == -1).all() for pose in side)


def _classes_along(image, start, direction, steps):
    """Per sample point `start + t * direction`: 1 where the pixel is more blue than red."""
    points = np.round(start + np.outer(steps, direction)).astype(int)
    pixels = image[points[:, 1], points[:, 0]].astype(int)
    return (pixels[:, 2] > pixels[:, 0]).astype(int)


def _distance_to_segment(points, a, b):
    t = np.clip((points - a) @ (b - a) / max((b - a) @ (b - a), 1e-9), 0, 1)
    return np.hypot(*(points - a - t[:, None] * (b - a)).T)


def test_stripes_follow_the_limb_they_are_on():
    """Red / blue stripes across a long sleeve: bands along the (tilted) upper arm, none across it."""
    size = (256, 176)
    sleeve = Garment("long", ((255, 0, 0), (0, 0, 255)), "stripes", period=0.06, across=True, length=1.0)
    identity = dataclasses.replace(make_identity(0), upper=sleeve)
    checked = 0
    for seed in range(200):
        pose = make_pose(seed, size)
        if abs(pose.yaw) > 20:
            continue  # front views paint the arms over the torso, whose shirt has the same label
        for shoulder, elbow, wrist in ((R_SHOULDER, R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW, L_WRIST)):
            a, b, w = (pose.keypoints[i].astype(float) for i in (shoulder, elbow, wrist))
            axis = b - a
            length = np.hypot(*axis)
            tilt = np.degrees(np.arccos(abs(axis[1]) / max(length, 1e-6)))
            if -1 in (*a, *b, *w) or length < 0.15 * pose.scale * size[0] or not 20 < tilt < 70:
                continue
            steps = np.arange(0.25 * length, 0.6 * length)
            if _distance_to_segment(a + np.outer(steps / length, b - a), b + 0.35 * (w - b), w).min() < (
                0.05 * pose.scale * size[0]
            ):
                continue  # the forearm folds back over the probed part of the upper arm
            image, labels = render(identity, pose)
            along, across = axis / length, np.array([-axis[1], axis[0]]) / length
            probe = np.round(a + np.outer(steps, along)).astype(int)
            if not np.all(labels[probe[:, 1], probe[:, 0]] == mannequin.UPPER):
                continue  # the sleeve is covered here (hair, the other arm)
            classes = _classes_along(image, a, along, steps)
            assert np.count_nonzero(np.diff(classes)) >= 1, seed  # bands along the arm
            # Across the arm, through band centres, the colour does not change.
            radius = 0.015 * pose.scale * size[0]  # well inside the sleeve
            for t, c in zip(steps[2:-2], range(2, len(steps) - 2)):
                if len(set(classes[c - 2 : c + 3])) == 1:
                    line = _classes_along(image, a + t * along, across, np.arange(-radius, radius + 1))
                    assert np.all(line == classes[c]), seed
            checked += 1
        if checked >= 4:
            break
    assert checked >= 4


def test_poses_scale_to_any_size():
    identity, pose = make_identity(1), make_pose(2, SIZE)
    image, labels = render(identity, pose, (128, 88))
    assert image.shape == (128, 88, 3) and labels.shape == (128, 88)
    np.testing.assert_array_equal(pose.keypoints_at((128, 88)), make_pose(2, (128, 88)).keypoints)
    # Pixel (2i, 2j) at twice the size has the centre of pixel (i, j): the same picture, sampled.
    small, small_labels = render(identity, pose)
    assert np.mean(small_labels == labels[::2, ::2]) > 0.95
    plain = np.isin(small_labels, (mannequin.BACKGROUND, mannequin.SKIN)) & (small_labels == labels[::2, ::2])
    assert np.abs(small.astype(float) - image[::2, ::2])[plain].mean() < 6  # patterns fade with size


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"image_size": (64, 45)}, "image_size"),
        ({"image_size": (40, 27.5)}, "image_size"),
        ({"image_size": "64x44"}, "image_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"split": "val"}, "split"),
        ({"seed": -1}, "seed"),
        ({"num_identities": 0}, "num_identities"),
        ({"poses_per_identity": 1}, "poses_per_identity"),
        ({"num_identities": 2, "poses_per_identity": 2, "num_pairs": 5}, "num_pairs"),
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        MannequinDataset(**kwargs)


def test_bad_lower_level_arguments():
    with pytest.raises(ValueError, match="Received: seed="):
        make_identity(-3)
    with pytest.raises(ValueError, match="Received: image_size="):
        make_pose(0, (64, 64))
    with pytest.raises(ValueError, match="Received: image_size="):
        render(make_identity(0), make_pose(0, SIZE), (100, 70))
    with pytest.raises(ValueError, match="Received: test_fraction="):
        write_mannequin_dataset("unused", 3, 2, test_fraction=1.0)
    with pytest.raises(ValueError, match="Received: num_identities=1"):
        write_mannequin_dataset("unused", 1, 2, test_fraction=0.5)


def test_batches_feed_fit():
    data = MannequinDataset(SIZE, batch_size=2, num_identities=2, poses_per_identity=2, workers=2)
    model = BatchProbe(expect_keys=KEYS)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    model(data[0])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("size", [SIZE, (48, 33)])
def test_written_set_reads_back_through_the_deepfashion_loader(tmp_path, size):
    """Same images, skeletons and face centres from disk as from the stream, bit for bit.

    48x33 is a size whose pixel <-> released-frame scale (176 / 33) is not a power of two.
    """
    root = tmp_path / "mannequin"
    info = write_mannequin_dataset(root, 3, 2, image_size=size, seed=5, test_fraction=0.34, verbose=0)
    assert info["splits"] == {"train": {"identities": 2, "pairs": 4}, "test": {"identities": 1, "pairs": 2}}
    assert json.loads((root / "mannequin.json").read_text())["splits"] == info["splits"]
    for split, identities in (("train", 2), ("test", 1)):
        stream = MannequinDataset(size, batch_size=2, split=split, seed=5, num_identities=identities,
                                  poses_per_identity=2)  # fmt: skip
        disk = DeepFashionDataset(root, split, image_size=size, batch_size=2, augment=False, shuffle=False)
        assert len(disk) == len(stream) == identities
        lines = read_pairs_file(root / f"{split}_pairs.txt")
        for i in range(len(stream)):
            assert_batches_equal(disk[i], stream[i])
            labels = stream.get_batch(i, with_labels=True)
            for b, (identity_index, source, target) in enumerate(stream.batch_pairs(i)):
                _, target_path, (source_path,) = lines[2 * i + b]
                assert (target_path, source_path) == (
                    stream.image_path(identity_index, target),
                    stream.image_path(identity_index, source),
                )
                label_file = root / "labels" / target_path[len("img/") :]
                np.testing.assert_array_equal(np.asarray(Image.open(label_file)), labels["target_labels"][b])
                keypoints = read_pose_file(deepfashion.pose_path(root, target_path))
                np.testing.assert_array_equal(
                    deepfashion_to_pixels(keypoints, size), stream.pose(identity_index, target).keypoints
                )


def test_check_mannequin_size():
    """`check_mannequin_size`, the mannequin aspect check."""
    assert mannequin.check_mannequin_size((128, 88)) == (128, 88)
    with pytest.raises(ValueError, match="Received: image_size="):
        mannequin.check_mannequin_size((64, 64))
