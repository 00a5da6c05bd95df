"""`keras-nted control`: appearance control from files -> release-style strips and coefficients."""

import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import main
from keras_nted.evaluation.appearance import appearance_pair
from keras_nted.utils.images import to_uint8


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A held-out mannequin case on disk: garment and person PNGs, the target pose as .npy."""
    folder = tmp_path_factory.mktemp("control_inputs")
    pair = appearance_pair(2, 52)
    Image.fromarray(to_uint8(pair["garment"])).save(folder / "alice.png")
    Image.fromarray(to_uint8(pair["person"])).save(folder / "bob.png")
    np.save(folder / "bob_pose.npy", pair["keypoints"])  # pixels of the 64x44 person image
    np.save(folder / "alice_pose.npy", pair["garment_keypoints"])
    Image.fromarray(pair["person_mask"].astype(np.uint8) * 255).save(folder / "top.png")
    Image.fromarray(pair["garment_image_mask"].astype(np.uint8) * 255).save(folder / "alice_top.png")
    return folder, pair


def _run(capsys, *args):
    code = main(["control", *map(str, args)])
    return code, capsys.readouterr()


def _read(path):
    return np.asarray(Image.open(path))


def test_region_upper_writes_strips_and_coefficients(files, tmp_path, capsys):
    folder, pair = files
    out = tmp_path / "out"
    code, captured = _run(capsys, "--garment", folder / "alice.png", "--person", folder / "bob.png",
                          "--pose", folder / "bob_pose.npy", "--region", "upper", "--steps", 3,
                          "--snapshots", "0,3", "--loss", "l1", "-o", out)  # fmt: skip
    assert code == 0, captured.err
    stem = "alice_2_bob_2_bob_pose"
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}_0.png", f"{stem}_3.png", f"{stem}_coefficients.npz"]
    assert "2 strips and the coefficients (64x44, l1 loss without the color term, 3 steps" in captured.out
    for iteration in (0, 3):
        labelled = _read(out / f"{stem}_{iteration}.png")
        band = labelled.shape[0] - 4 * 64  # the white header naming the columns; 64x44 shown at 4x
        assert labelled.shape == (band + 4 * 64, 4 * 4 * 44, 3) and labelled.dtype == np.uint8 and 0 < band < 64
        assert (labelled[:band] < 128).any() and (labelled[:band] == 255).mean() > 0.5, "no labels on white"
        strip = labelled[band:][::4, ::4]
        assert np.abs(strip[:, :44].astype(int) - _read(folder / "alice.png")).max() <= 1
        assert np.abs(strip[:, 44:88].astype(int) - _read(folder / "bob.png")).max() <= 1
        skeleton = (pair["skeleton"][..., :3] * 255).astype(int)
        assert np.abs(strip[:, 88:132].astype(int) - skeleton).max() <= 1
    assert (
        np.abs(_read(out / f"{stem}_3.png")[-256:, 528:].astype(int) - _read(out / f"{stem}_0.png")[-256:, 528:]).max()
        > 0
    )
    saved = np.load(out / f"{stem}_coefficients.npz")
    for i in range(4):
        assert saved[f"coefficients_{i}"].shape == (16,)
        assert set(np.unique(saved[f"initial_coefficients_{i}"])) <= {0.0, 1.0}
        assert saved[f"initial_coefficients_{i}"].sum() >= 1
    assert saved["history_loss"].shape == (4,) and saved["history_loss"][-1] < saved["history_loss"][0]


def test_region_mask_png(files, tmp_path, capsys):
    folder, _ = files
    out = tmp_path / "out"
    code, captured = _run(capsys, "--garment", folder / "alice.png", "--person", folder / "bob.png",
                          "--pose", folder / "bob_pose.npy", "--region", folder / "top.png", "--steps", 1,
                          "--snapshots", "1", "--loss", "l1", "-o", out)  # fmt: skip
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == [
        "alice_2_bob_2_bob_pose_1.png",
        "alice_2_bob_2_bob_pose_coefficients.npz",
    ]


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.zeros((32, 22), np.uint8), "of size 64x44 (the image size)"),
        (np.zeros((64, 44), np.uint8), "Expected a non-empty `--region mask`"),
    ],
    ids=["wrong size", "empty"],
)
def test_bad_masks_exit_2_with_one_line(files, tmp_path, capsys, mask, message):
    folder, _ = files
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, captured = _run(
        capsys,
        "--garment",
        folder / "alice.png",
        "--person",
        folder / "bob.png",
        "--pose",
        folder / "bob_pose.npy",
        "--region",
        tmp_path / "mask.png",
        "-o",
        tmp_path / "out",
    )
    assert code == 2
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--garment": "missing.png"}, "--garment image not found"),
        ({"--region": "nowhere.png"}, "--region must be 'upper', 'lower' or a mask file"),
        ({"--snapshots": "0,500"}, "Expected --snapshots between 0 and --steps (200)"),
        ({"--steps": "-1"}, "Expected --steps >= 0"),
        ({"--garment-pose": "nowhere.npy"}, "nowhere.npy"),
        ({"--garment-region": "nowhere.png"}, "Mask file not found: nowhere.png"),
    ],
    ids=[
        "missing garment",
        "missing mask",
        "snapshot past the end",
        "negative steps",
        "missing garment pose",
        "missing garment region",
    ],
)
def test_bad_arguments_exit_2_with_one_line(files, tmp_path, capsys, change, message):
    folder, _ = files
    args = {"--garment": folder / "alice.png", "--person": folder / "bob.png", "--pose": folder / "bob_pose.npy",
            "--region": "upper", "-o": tmp_path / "out"}  # fmt: skip
    args.update(change)
    code, captured = _run(capsys, *[x for item in args.items() for x in item])
    assert code == 2
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1


def test_auto_loss_falls_back_to_l1_without_vgg_weights(files, tmp_path, capsys):
    folder, _ = files
    code, captured = _run(capsys, "--garment", folder / "alice.png", "--person", folder / "bob.png",
                          "--pose", folder / "bob_pose.npy", "--region", "upper", "--steps", 1, "--snapshots", "1",
                          "--vgg-weights", tmp_path / "no_vgg19.h5", "-o", tmp_path / "out")  # fmt: skip
    assert code == 0, captured.err
    assert (
        "using the pixel L1 loss instead" in captured.out and "l1 loss without the color term, 1 steps" in captured.out
    )


@pytest.mark.parametrize("flag, name", [("--garment-pose", "alice_pose.npy"), ("--garment-region", "alice_top.png")])
def test_garment_region_turns_on_the_color_term(files, tmp_path, capsys, flag, name):
    folder, _ = files
    out = tmp_path / "out"
    code, captured = _run(capsys, "--garment", folder / "alice.png", "--person", folder / "bob.png",
                          "--pose", folder / "bob_pose.npy", "--region", "upper", flag, folder / name,
                          "--steps", 2, "--snapshots", "2", "--loss", "l1", "-o", out)  # fmt: skip
    assert code == 0, captured.err
    assert "l1 loss with the color term, 2 steps" in captured.out
    arrays = np.load(out / "alice_2_bob_2_bob_pose_coefficients.npz")
    color = arrays["history_color"]
    assert color.shape == (3,) and color[0] > 0
    assert "history_colour" not in arrays  # one spelling


def test_bad_garment_region_exits_2_before_the_model_loads(files, tmp_path, capsys):
    folder, _ = files
    Image.fromarray(np.zeros((64, 44), np.uint8)).save(tmp_path / "empty.png")
    cases = [
        (
            ("--region", "upper", "--garment-region", tmp_path / "empty.png"),
            "Expected a non-empty `--garment-region mask`",
        ),
        (
            ("--region", folder / "top.png", "--garment-pose", folder / "alice_pose.npy"),
            "give the garment image's region as --garment-region",
        ),
    ]
    for extra, message in cases:
        code, captured = _run(capsys, "--garment", folder / "alice.png", "--person", folder / "bob.png",
                              "--pose", folder / "bob_pose.npy", *extra, "--model", tmp_path / "no_model.keras",
                              "-o", tmp_path / "out")  # fmt: skip
        assert code == 2
        assert message in captured.err and len(captured.err.strip().splitlines()) == 1
        assert not (tmp_path / "out").exists()
