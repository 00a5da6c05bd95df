import io

import numpy as np
import pytest
from PIL import Image

from keras_nted import cli
from keras_nted.data import DeepFashionDataset
from keras_nted.data import write_pairs_file
from keras_nted.data import write_pose_file
from keras_nted.data.prepare import parse_sizes

ORIGINAL = (110, 75)  # a stand-in for the 1101x750 high-resolution originals
IMAGES = [f"img/MEN/Pants/id_0000014{i}/0{view}_1_front.jpg" for i in range(2) for view in (1, 2)]


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "deepfashion"
    rng = np.random.default_rng(0)
    for image in IMAGES:
        (root / image).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*ORIGINAL, 3), dtype=np.uint8)).save(root / image, quality=95)
        keypoints = np.stack([rng.uniform(40, 216, 18), rng.uniform(0, 256, 18)], axis=1)
        write_pose_file(root / "pose" / image[len("img/") :].replace(".jpg", ".txt"), keypoints)
    write_pairs_file(root / "train_pairs.txt", [(IMAGES[0], [IMAGES[1]]), (IMAGES[1], [IMAGES[0]])])
    write_pairs_file(root / "test_pairs.txt", [(IMAGES[2], [IMAGES[3]])])
    return root


def _expected(root, image, size):
    with Image.open(root / image) as original:
        return np.asarray(original.convert("RGB").resize((size[1], size[0]), Image.BICUBIC))


def test_writes_resized_png_files(root, capsys):
    assert cli.main(["prepare-deepfashion", str(root), "--image-size", "64x44,32x22"]) == 0
    for size in ((64, 44), (32, 22)):
        for image in IMAGES:
            written = root / f"{size[0]}-{size[1]}" / image.replace(".jpg", ".png")
            with Image.open(written) as png:
                assert png.mode == "RGB" and png.size == (size[1], size[0])
                np.testing.assert_array_equal(np.asarray(png), _expected(root, image, size))
    out = capsys.readouterr().out
    assert "64x44" in out and "4/4" in out  # the progress bar, in images
    dataset = DeepFashionDataset(root, "test", image_size=(64, 44), batch_size=1)
    assert "64-44" in dataset.image_source
    expected = _expected(root, IMAGES[2], (64, 44)).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(dataset[0]["target_image"][0], (expected - np.float32(0.5)) / np.float32(0.5))


def test_writes_the_released_lmdb(root):
    lmdb = pytest.importorskip("lmdb")
    assert cli.main(["prepare-deepfashion", str(root), "--image-size", "64x44", "--lmdb", "--quiet"]) == 0
    env = lmdb.open(str(root / "64-44"), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(b"length") == b"4"
        assert txn.stat()["entries"] == 5
        with Image.open(io.BytesIO(txn.get(IMAGES[1].replace(".jpg", ".png").encode()))) as png:
            assert png.format == "PNG"
            np.testing.assert_array_equal(np.asarray(png), _expected(root, IMAGES[1], (64, 44)))
    env.close()
    dataset = DeepFashionDataset(root, "train", image_size=(64, 44), batch_size=2)
    assert "LMDB" in dataset.image_source
    assert dataset[0]["source_image"].shape == (2, 64, 44, 3)


def test_missing_image_is_named_with_its_line(root, capsys):
    (root / IMAGES[3]).unlink()
    assert cli.main(["prepare-deepfashion", str(root), "--image-size", "64x44"]) == 2
    error = capsys.readouterr().err
    assert "test_pairs.txt:1" in error and IMAGES[3] in error
    assert not (root / "64-44").exists()  # checked before anything is written


@pytest.mark.parametrize("sizes", ["64", "64x", "64x44,0x3", "big"])
def test_bad_sizes(root, capsys, sizes):
    assert cli.main(["prepare-deepfashion", str(root), "--image-size", sizes]) == 2
    assert "HEIGHTxWIDTH" in capsys.readouterr().err


def test_bad_root(tmp_path, capsys):
    assert cli.main(["prepare-deepfashion", str(tmp_path / "nowhere")]) == 2
    assert "root not found" in capsys.readouterr().err
    assert cli.main(["prepare-deepfashion", str(tmp_path)]) == 2
    assert "No pairs file" in capsys.readouterr().err


def test_parse_sizes():
    assert parse_sizes("256x176, 512X352") == ((256, 176), (512, 352))
