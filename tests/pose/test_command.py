"""`keras-nted pose` and `keras-nted generate --pose-from`: photo files in, files out."""

import json

import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import main
from keras_nted.data import read_openpose_json


@pytest.fixture(scope="module")
def photos(tmp_path_factory, mannequin):
    from keras_nted.data import make_identity
    from keras_nted.data import make_pose
    from keras_nted.data import render

    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(mannequin[0]).save(folder / "alice.png")
    # A photo-like frame: another mannequin on a wider canvas, as a JPEG.
    other = render(make_identity(2), make_pose(2, (448, 308)))[0]
    canvas = np.empty((480, 640, 3), np.uint8)
    canvas[...] = other[0, 0]
    canvas[16:464, 300:608] = other
    Image.fromarray(canvas).save(folder / "bob.jpg", quality=95)
    Image.fromarray(np.full((300, 200, 3), 230, np.uint8)).save(folder / "empty.png")
    return folder


def _run(capsys, *args):
    code = main([*map(str, args)])
    return code, capsys.readouterr()


def test_keypoint_files_as_openpose_writes_them(photos, tmp_path, capsys, model_dir, estimator):
    out = tmp_path / "out"
    code, captured = _run(capsys, "pose", photos / "alice.png", photos / "bob.jpg", photos / "empty.png",
                          "-o", out, "--picture", "--models", model_dir)  # fmt: skip
    assert code == 0, captured.err
    assert f"3 images, 2 with a person -> {out}" in captured.out
    assert sorted(p.name for p in out.iterdir()) == [
        "alice_keypoints.json", "alice_pose.png", "bob_keypoints.json", "bob_pose.png", "empty_keypoints.json",
        "empty_pose.png",
    ]  # fmt: skip
    assert json.loads((out / "empty_keypoints.json").read_text())["people"] == []
    for name in ("alice.png", "bob.jpg"):
        stem = name.split(".")[0]
        values = json.loads((out / f"{stem}_keypoints.json").read_text())["people"][0]["pose_keypoints_2d"]
        assert len(values) == 54
        expected = estimator(np.asarray(Image.open(photos / name).convert("RGB")))[0].keypoints
        np.testing.assert_allclose(read_openpose_json(out / f"{stem}_keypoints.json"), expected, atol=1e-3)
    picture = np.asarray(Image.open(out / "bob_pose.png"))
    assert picture.shape == (480, 640, 3) and picture[..., 0].max() == 255  # skeleton colours drawn


def test_get_models_from_a_wheel_then_estimate(photos, tmp_path, capsys, model_dir):
    import zipfile

    from keras_nted.pose.model_files import MODEL_FILES

    wheel = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, (member, _) in MODEL_FILES.items():
            archive.write(model_dir / name, member)
    code, captured = _run(capsys, "pose", "--get-models", "--wheel", wheel, "--models", tmp_path / "m",
                          photos / "alice.png", "-o", tmp_path / "out")  # fmt: skip
    assert code == 0, captured.err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted(MODEL_FILES)
    assert len(json.loads((tmp_path / "out" / "alice_keypoints.json").read_text())["people"]) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["alice.png", "--models", "{tmp}"], "not found in {tmp}. Run `keras-nted pose --get-models`"),
        (
            ["alice.png", "--person", "1", "--models", "{models}"],
            "1 people found in {photos}/alice.png; there is no person 1",
        ),
        (["empty.png", "--person", "0", "--models", "{models}"], "No person found in {photos}/empty.png"),
        (
            ["alice.png", "{photos}/sub/alice.png", "--models", "{models}"],
            "would both be written as alice_keypoints.json",
        ),
        (["missing.png"], "Image file not found: {photos}/missing.png"),
        (["--models", "{models}"], "Give IMAGE... -o DIR (or --get-models"),
        (["--wheel", "x.whl", "alice.png"], "--wheel goes with --get-models"),
    ],
    ids=[
        "no-model-files",
        "person-out-of-range",
        "person-in-empty-photo",
        "same-stem",
        "missing-image",
        "nothing-to-do",
        "wheel-without-get-models",
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(photos, tmp_path, capsys, model_dir, args, message):
    (photos / "sub").mkdir(exist_ok=True)
    Image.open(photos / "alice.png").save(photos / "sub" / "alice.png")
    names = {"tmp": tmp_path, "models": model_dir, "photos": photos}
    args = [a.format(**names) for a in args]
    args = [str(photos / a) if a.endswith(".png") and "/" not in a else a for a in args]
    out = tmp_path / "out"
    code, captured = _run(capsys, "pose", *args, "-o", out)
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-nted pose: error: "), captured.err
    assert message.format(**names) in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_generate_reposes_a_photo_into_another_photos_pose(photos, tmp_path, capsys, model_dir, estimator):
    from keras_nted.models import DEFAULT_PRESET
    from keras_nted.models import PoseTransfer
    from keras_nted.models.generator import load_generator
    from keras_nted.models.preset_io import builtin_weights_path
    from keras_nted.pose.photos import read_photo
    from keras_nted.pose.photos import repose

    out = tmp_path / "out"
    code, captured = _run(capsys, "generate", "--reference", photos / "alice.png", "--pose-from", photos / "bob.jpg",
                          "--models", model_dir, "-o", out, "--strip")  # fmt: skip
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == ["alice_2_bob_strip.png", "alice_2_bob_vis.png"]
    # The default model is the mannequin one: one line says so, and where a photo model comes from.
    notes = [line for line in captured.err.splitlines() if "trained on mannequin renders" in line]
    assert len(notes) == 1 and "keras-nted convert" in notes[0], captured.err
    result = np.asarray(Image.open(out / "alice_2_bob_vis.png"))
    generator = load_generator(builtin_weights_path(DEFAULT_PRESET))
    assert result.shape == (*generator.image_size, 3)
    # The Python API gives the same image from the same two photos; the preset's task says the same note.
    with pytest.warns(UserWarning, match="trained on mannequin renders, not photos"):
        expected = repose(
            PoseTransfer.from_preset(DEFAULT_PRESET), read_photo(photos / "alice.png"), read_photo(photos / "bob.jpg"),
            estimator,
        )  # fmt: skip
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reference", "alice.png", "--pose-from", "empty.png"], "No person found in {photos}/empty.png"),
        (["--reference", "empty.png", "--pose-from", "alice.png"], "No person found in {photos}/empty.png"),
        (["--reference", "alice.png", "--pose-from", "alice.png", "--reference-person", "3"], "there is no person 3"),
        (["--reference", "alice.png", "--pose-from", "alice.png", "--pose", "x.txt"], "not both"),
        (["--reference", "alice.png", "--pose", "x.txt", "--reference-person", "1"], "go with --pose-from"),
        (["--reference", "alice.png", "alice.png", "--pose-from", "bob.jpg", "bob.jpg", "bob.jpg"],
         "Got 2 reference images and 3 poses"),
    ],
    ids=["pose-photo-empty", "reference-empty", "reference-person", "pose-and-pose-from", "reference-person-alone",
         "counts"],
)  # fmt: skip
def test_generate_bad_photos_one_line(photos, tmp_path, capsys, model_dir, args, message):
    args = [str(photos / a) if a.endswith((".png", ".jpg")) else a for a in args]
    out = tmp_path / "out"
    code, captured = _run(capsys, "generate", *args, "--models", model_dir, "-o", out)
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-nted generate: error: "), captured.err
    assert message.format(photos=photos) in lines[0]
    assert not out.exists()
