import cv2
import numpy as np

from keras_nted.cli import main
from keras_nted.demo import demo_batch
from keras_nted.demo import write_demo
from keras_nted.models.generator import load_generator
from keras_nted.models.pose_transfer import run_generator
from keras_nted.utils.images import to_uint8


def test_demo_writes_the_grid(tiny_generator_path, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--model", str(tiny_generator_path), "-o", str(out), "--identities", "2", "--poses", "3"]) == 0
    printed = capsys.readouterr().out
    for name in ("results.png", "ground_truth.png", "attention.png"):
        assert str(out / name) in printed
    grid = cv2.imread(str(out / "results.png"))
    # 64x44 images shown at 4x: a skeleton row and 2 identity rows (2-pixel gaps), reference + 3 poses,
    # under a white header band naming the columns.
    height = 4 * (3 * 64 + 2 * 2)
    band = grid.shape[0] - height
    assert grid.shape == (band + height, 4 * 4 * 44, 3) and 0 < band < 64
    assert (grid[:band] < 128).any() and (grid[:band] == 255).mean() > 0.5, "no labels on white"
    assert (grid[band : band + 4 * 64, : 4 * 44] == 255).all()  # the blank corner above the references
    attention = cv2.imread(str(out / "attention.png"))
    # reference, skeleton, generated, ground truth, then the 4 NTED operations of nted_tiny (2 levels x 2)
    assert attention.shape[1] == 4 * 44 * (4 + 4)
    assert attention.shape[0] > 4 * (2 * 64 + 2)  # two rows (2-pixel gap) under their header


def test_demo_missing_model(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "none.keras"), "-o", str(tmp_path / "demo")]) != 0
    err = capsys.readouterr().err
    assert "Model file not found" in err and len(err.strip().splitlines()) == 1


def test_results_grid_below_its_header_is_the_generator_output(tiny_generator_path, tmp_path):
    """The header is added above; every cell below is what the generator makes, unscaled in value."""
    generator = load_generator(tiny_generator_path)
    write_demo(generator, tmp_path, num_identities=2, num_poses=3)
    grid = cv2.imread(str(tmp_path / "results.png"))[..., ::-1]
    grid = grid[grid.shape[0] - 4 * (3 * 64 + 2 * 2) :][::4, ::4]  # below the header, back to 1x
    batch = demo_batch((64, 44), num_identities=2, num_poses=3)
    sources = np.repeat(batch["source_image"], 3, axis=0)
    skeletons = np.tile(batch["target_skeleton"], (2, 1, 1, 1))
    expected = to_uint8(run_generator(generator, sources, skeletons)["image"]).reshape(2, 3, 64, 44, 3)
    for i in range(2):
        row = grid[(i + 1) * 66 : (i + 1) * 66 + 64]
        np.testing.assert_array_equal(row[:, :44], to_uint8(batch["source_image"][i]))
        for j in range(3):
            np.testing.assert_array_equal(row[:, (j + 1) * 44 : (j + 2) * 44], expected[i, j])
