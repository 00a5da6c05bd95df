import cv2

from keras_nted.cli import main


def test_demo_writes_the_grid(tiny_generator_path, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--model", str(tiny_generator_path), "-o", str(out), "--identities", "2", "--poses", "3"]) == 0
    printed = capsys.readouterr().out
    for name in ("results.png", "ground_truth.png", "attention.png"):
        assert str(out / name) in printed
    grid = cv2.imread(str(out / "results.png"))
    # 64x44 images shown at 2x: a skeleton row and 2 identity rows (2-pixel gaps), reference + 3 poses,
    # under a white header band naming the columns.
    height = 2 * (3 * 64 + 2 * 2)
    band = grid.shape[0] - height
    assert grid.shape == (band + height, 2 * 4 * 44, 3) and 0 < band < 64
    assert (grid[:band] < 128).any() and (grid[:band] == 255).mean() > 0.5, "no labels on white"
    assert (grid[band : band + 2 * 64, : 2 * 44] == 255).all()  # the blank corner above the references
    attention = cv2.imread(str(out / "attention.png"))
    # reference, skeleton, generated, ground truth, then the 4 NTED operations of nted_tiny (2 levels x 2)
    assert attention.shape[1] == 2 * 44 * (4 + 4)
    assert attention.shape[0] > 2 * (2 * 64 + 2)  # two rows (2-pixel gap) under their header


def test_demo_missing_model(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "none.keras"), "-o", str(tmp_path / "demo")]) != 0
    err = capsys.readouterr().err
    assert "Model file not found" in err and len(err.strip().splitlines()) == 1
