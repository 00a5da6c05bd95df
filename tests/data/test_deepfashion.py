import logging
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_nted.data import DeepFashionDataset
from keras_nted.data import augment_image
from keras_nted.data import deepfashion
from keras_nted.data import face_center
from keras_nted.data import flatten_name
from keras_nted.data import output_name
from keras_nted.data import read_pairs_file
from keras_nted.data import read_pose_file
from keras_nted.data import render_skeleton
from keras_nted.data import sample_augmentation
from keras_nted.data import write_pairs_file
from keras_nted.data import write_pose_file
from tests.helpers import BATCH_CONTRACT_KEYS
from tests.helpers import BatchProbe

SIZE = (64, 44)
KEYS = BATCH_CONTRACT_KEYS
# Six images of three people; line 5 has two sources.
IMAGES = [f"img/WOMEN/Dresses/id_0000000{person}/0{view}_1_front.jpg" for person in range(3) for view in (1, 2)]
PAIRS = [
    (IMAGES[0], [IMAGES[1]]),
    (IMAGES[1], [IMAGES[0]]),
    (IMAGES[2], [IMAGES[3]]),
    (IMAGES[3], [IMAGES[2]]),
    (IMAGES[4], [IMAGES[5], IMAGES[4]]),
    (IMAGES[5], [IMAGES[4]]),
]


def make_root(root, size=SIZE, seed=0, extension=".png"):
    """A DeepFashion root with random images (files under img/), poses and both pairs files."""
    rng = np.random.default_rng(seed)
    for image in IMAGES:
        file = root / (os.path.splitext(image)[0] + extension)
        file.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(file)
        keypoints = np.stack([rng.uniform(40, 216, 18), rng.uniform(0, 256, 18)], axis=1)
        keypoints[rng.random(18) < 0.2] = -1
        keypoints[14:16] = rng.uniform(60, 190, (2, 2))  # both eyes, so face centres are set
        write_pose_file(deepfashion.pose_path(root, image), keypoints)
    write_pairs_file(root / "train_pairs.txt", PAIRS)
    write_pairs_file(root / "test_pairs.txt", PAIRS)
    return root


@pytest.fixture
def root(tmp_path):
    return make_root(tmp_path / "deepfashion")


def _image(root, path, augmentation):
    with Image.open(root / path.replace(".jpg", ".png")) as image:
        pixels = np.asarray(augment_image(image.convert("RGB"), augmentation))
    return (pixels.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)


def _expected_sample(root, source, target, augmentation=(SIZE[0], SIZE[1], 0, 0)):
    """What the loader must give for one pair, built from the files with the public functions."""
    out = {}
    for role, path in (("source", source), ("target", target)):
        keypoints = read_pose_file(deepfashion.pose_path(root, path))
        out[f"{role}_image"] = _image(root, path, augmentation)
        out[f"{role}_skeleton"] = render_skeleton(keypoints, SIZE, augmentation=augmentation)
        out[f"{role}_face_center"] = face_center(keypoints, SIZE, augmentation=augmentation)
    return out


def _assert_batches_equal(a, b):
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_batch_contract(root):
    dataset = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2)
    assert len(dataset) == 3  # 6 lines, one sample each, the remainder dropped
    batch = dataset[0]
    assert isinstance(batch, dict) and set(batch) == set(KEYS)
    for role in ("source", "target"):
        assert batch[f"{role}_image"].shape == (2, *SIZE, 3)
        assert batch[f"{role}_skeleton"].shape == (2, *SIZE, 20)
        assert batch[f"{role}_face_center"].shape == (2, 4)
        assert all(batch[f"{role}_{k}"].dtype == np.float32 for k in ("image", "skeleton", "face_center"))
        assert -1 <= batch[f"{role}_image"].min() and batch[f"{role}_image"].max() <= 1
        assert 0 <= batch[f"{role}_skeleton"].min() and batch[f"{role}_skeleton"].max() <= 1
    assert dataset.pairs == [(t, tuple(s)) for t, s in PAIRS]
    assert dataset.skipped == 0


def test_test_split_is_every_pair_in_order_without_augmentation(root):
    dataset = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=2)
    pairs = [(s, t) for t, sources in PAIRS for s in sources]
    assert len(dataset) == 4  # 7 pairs, the last batch partial
    assert [p for i in range(len(dataset)) for p in dataset.batch_pairs(i)] == pairs
    batch = dataset[2]
    for i, (source, target) in enumerate(dataset.batch_pairs(2)):
        expected = _expected_sample(root, source, target)
        for key in KEYS:
            np.testing.assert_array_equal(batch[key][i], expected[key], err_msg=key)
    assert dataset[3]["target_image"].shape[0] == 1
    _assert_batches_equal(DeepFashionDataset(root, "test", image_size=SIZE, batch_size=2, seed=5)[0], dataset[0])


def test_training_augmentation_is_consistent_between_image_and_keypoints(root):
    dataset = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=3, seed=1)
    batch = dataset[0]
    height, width = SIZE
    scaled = {(int(height * (1 + s)), int(width * (1 + s))) for s in np.linspace(0, 0.1, 2001)[:-1]}
    candidates = [(h, w, x, y) for h, w in sorted(scaled) for x in range(w - width + 1) for y in range(h - height + 1)]
    augmented = 0
    for i, (source, target) in enumerate(dataset.batch_pairs(0)):
        for role, path in (("source", source), ("target", target)):
            found = [aug for aug in candidates if np.array_equal(_image(root, path, aug), batch[f"{role}_image"][i])]
            assert len(found) == 1, (role, path, found)
            expected = _expected_sample(root, path, path, found[0])
            np.testing.assert_array_equal(batch[f"{role}_skeleton"][i], expected["target_skeleton"])
            np.testing.assert_array_equal(batch[f"{role}_face_center"][i], expected["target_face_center"])
            augmented += found[0] != (height, width, 0, 0)
    assert augmented > 0


def test_augmentation_is_reproducible_from_the_seed(root):
    def make(**kwargs):
        return DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2, **kwargs)

    first = make(seed=3)
    reference = [first[i] for i in range(len(first))]
    second = make(seed=3)
    for i in reversed(range(len(second))):  # any order, as workers would ask
        _assert_batches_equal(second[i], reference[i])
    other = make(seed=4)
    assert any(not np.array_equal(other[i]["target_image"], reference[i]["target_image"]) for i in range(3))
    first.on_epoch_end()
    assert first.epoch == 1
    assert any(not np.array_equal(first[i]["target_image"], reference[i]["target_image"]) for i in range(3))
    first.epoch = 0
    _assert_batches_equal(first[1], reference[1])


def test_sample_augmentation_ranges():
    rng = np.random.default_rng(0)
    draws = [sample_augmentation(rng, (256, 176), 0.1) for _ in range(300)]
    for h, w, x, y in draws:
        assert 256 <= h <= int(256 * 1.1) and 176 <= w <= int(176 * 1.1)
        assert 0 <= x <= w - 176 and 0 <= y <= h - 256
    assert max(d[2] for d in draws) > 0 and max(d[0] for d in draws) > 270
    assert sample_augmentation(rng, (256, 176), 0.0) == (256, 176, 0, 0)


def test_reads_the_released_lmdb(root):
    lmdb = pytest.importorskip("lmdb")
    files = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=3)
    expected = [files[i] for i in range(len(files))]
    files_train = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=3)[0]
    folder = root / f"{SIZE[0]}-{SIZE[1]}"
    env = lmdb.open(str(folder), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for image in IMAGES:
            png = root / image.replace(".jpg", ".png")
            txn.put(image.replace(".jpg", ".png").encode(), png.read_bytes())
            png.unlink()  # only the LMDB holds the images now
        txn.put(b"length", str(len(IMAGES)).encode())
    env.close()
    from_lmdb = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=3)
    assert "LMDB" in from_lmdb.image_source
    _assert_batches_equal(DeepFashionDataset(root, "train", image_size=SIZE, batch_size=3)[0], files_train)
    with pytest.raises(ValueError, match="use_multiprocessing=False"):
        DeepFashionDataset(root, "test", image_size=SIZE, workers=2, use_multiprocessing=True)
    assert len(from_lmdb) == len(expected)
    for i, batch in enumerate(expected):
        _assert_batches_equal(from_lmdb[i], batch)


def test_reads_jpeg_files(tmp_path):
    root = make_root(tmp_path / "jpeg", extension=".jpg")
    batch = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=2)[0]
    assert batch["source_image"].shape == (2, *SIZE, 3)


def _pooled(batch):
    features = []
    for role in ("source", "target"):
        features += [batch[f"{role}_image"].mean(axis=(1, 2)), batch[f"{role}_skeleton"].mean(axis=(1, 2))]
        features.append(batch[f"{role}_face_center"] / 100.0)
    return np.concatenate(features, axis=-1)


def test_feeds_fit_and_predict(root):
    train = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2)
    model = BatchProbe()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model(train[0])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert train.epoch >= 2  # Keras also calls on_epoch_end once before the first epoch

    test = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=2, workers=2)
    predicted = model.predict(test, verbose=0)
    expected = np.concatenate([_pooled(test[i]) for i in range(len(test))])
    np.testing.assert_allclose(predicted[:, :-1], expected, rtol=1e-5, atol=1e-6)


def test_output_names():
    assert flatten_name("img/WOMEN/Dresses/id_00006288/01_1_front.png") == "fashionWOMENDressesid0000628801_1front.png"
    assert (
        flatten_name("img/MEN/Pants/id_00000143/02_7_additional.jpg") == "fashionMENPantsid0000014302_7additional.jpg"
    )
    assert flatten_name("img/WOMEN/Blouses_Shirts/id_00000001/02_1_front.jpg").startswith(
        "fashionWOMENBlouses_Shirtsid00000001"
    )
    assert (
        output_name("img/MEN/Pants/id_00000143/02_7_additional.jpg", "img/WOMEN/Dresses/id_00006288/01_1_front.png")
        == "fashionMENPantsid0000014302_7additional_2_fashionWOMENDressesid0000628801_1front_vis.png"
    )


def test_output_names_of_a_batch(root):
    dataset = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=2)
    assert dataset.output_names(0) == [output_name(s, t) for s, t in dataset.batch_pairs(0)]


def test_pairs_file_parsing(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("a.jpg,b.jpg, c.jpg\n\nd.jpg,e.jpg\n")
    assert read_pairs_file(path) == [(1, "a.jpg", ("b.jpg", "c.jpg")), (3, "d.jpg", ("e.jpg",))]
    path.write_text("a.jpg,b.jpg\nlonely.jpg\n")
    with pytest.raises(ValueError, match=r"pairs.txt:2: .*lonely.jpg"):
        read_pairs_file(path)


# --- bad input -----------------------------------------------------------------------------


def _break(root, kind):
    """Breaks IMAGES[2] (target of line 3, source of line 4); returns the file named in the error."""
    image = root / IMAGES[2].replace(".jpg", ".png")
    pose = deepfashion.pose_path(root, IMAGES[2])
    if kind == "missing image":
        image.unlink()
        return IMAGES[2]
    if kind == "missing pose":
        os.remove(pose)
        return pose
    if kind == "pose not 18x2":
        np.savetxt(pose, np.zeros((17, 2)))
        return pose
    if kind == "nan keypoints":
        values = np.loadtxt(pose)
        values[4, 0] = np.nan
        np.savetxt(pose, values)
        return pose
    if kind == "wrong size":
        Image.new("RGB", (SIZE[1], SIZE[0] + 1)).save(image)
        return str(image)
    if kind == "not an image":
        image.write_bytes(b"definitely not a png")
        return str(image)
    raise AssertionError(kind)


BAD_INPUTS = {
    "missing image": FileNotFoundError,
    "missing pose": FileNotFoundError,
    "pose not 18x2": ValueError,
    "nan keypoints": ValueError,
    "wrong size": ValueError,
    "not an image": ValueError,
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_fails_up_front_naming_file_and_line(root, kind):
    named = _break(root, kind)
    with pytest.raises(BAD_INPUTS[kind]) as info:
        DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2)
    message = str(info.value)
    assert named in message
    assert "train_pairs.txt:3" in message
    assert "skip_bad_pairs=True" in message


@pytest.mark.parametrize("kind", ["missing image", "nan keypoints"])
def test_skip_bad_pairs_drops_and_reports(root, kind, caplog):
    _break(root, kind)
    with caplog.at_level(logging.WARNING, logger="keras_nted.data.deepfashion"):
        dataset = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2, skip_bad_pairs=True)
    assert dataset.skipped == 2  # line 3 (as target) and line 4 (as its only source)
    assert [t for t, _ in dataset.pairs] == [IMAGES[0], IMAGES[1], IMAGES[4], IMAGES[5]]
    assert "Skipped 2 of 7 pairs" in caplog.text
    test = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=2, skip_bad_pairs=True)
    assert test.skipped == 2 and all(IMAGES[2] not in p for i in range(len(test)) for p in test.batch_pairs(i))


def test_bad_source_drops_only_that_pair(root):
    os.remove(deepfashion.pose_path(root, IMAGES[5]))  # a source of line 5 and the target of line 6
    dataset = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=1, skip_bad_pairs=True)
    assert dataset.skipped == 2
    assert dataset.pairs[-1] == (IMAGES[4], (IMAGES[4],))


def test_truncated_image_fails_when_loaded_or_up_front_with_verify(root):
    image = root / IMAGES[2].replace(".jpg", ".png")
    image.write_bytes(image.read_bytes()[:120])
    dataset = DeepFashionDataset(root, "test", image_size=SIZE, batch_size=7)
    with pytest.raises(ValueError, match=r"test_pairs.txt:3: Could not decode image .*id_00000001/01_1_front.png"):
        dataset[0]
    with pytest.raises(ValueError, match=r"train_pairs.txt:3: Could not decode image"):
        DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2, verify_images=True)
    dataset = DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2, verify_images=True, skip_bad_pairs=True)
    assert dataset.skipped == 2


def test_high_resolution_originals_point_to_prepare(tmp_path):
    root = make_root(tmp_path / "highres", size=(110, 75))
    with pytest.raises(ValueError, match=r"is 110x75 \(HxW\), expected 64x44.*prepare-deepfashion"):
        DeepFashionDataset(root, "train", image_size=SIZE, batch_size=2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"split": "val"}, ValueError, "split='val'"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"scale_param": 1.5}, ValueError, "scale_param=1.5"),
        ({"image_size": (64,)}, ValueError, "image_size"),
        ({"batch_size": 7}, ValueError, "fewer than one full batch"),
    ],
)
def test_bad_arguments(root, kwargs, error, match):
    with pytest.raises(error, match=match):
        DeepFashionDataset(root, **{"image_size": SIZE, **kwargs})


def test_missing_root_and_pairs_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="root not found"):
        DeepFashionDataset(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train_pairs.txt"):
        DeepFashionDataset(tmp_path)
