"""`keras-nted generate`: pose files, OpenPose JSON, .npy and pairs files -> released-named PNGs."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import main
from keras_nted.data import make_identity
from keras_nted.data import make_pose
from keras_nted.data import pixels_to_deepfashion
from keras_nted.data import render
from keras_nted.data import render_skeleton
from keras_nted.data import write_openpose_json
from keras_nted.data import write_pairs_file
from keras_nted.data import write_pose_file
from keras_nted.models.generator import load_generator

SOURCE_SIZE = (128, 88)  # references are stored at twice the model's 64x44 and resized
MODEL_SIZE = (64, 44)


@pytest.fixture(scope="module")
def generator(tiny_generator_path):
    return load_generator(tiny_generator_path)


def _person(seed):
    """A mannequin image (128x88 uint8) and its keypoints in that image's pixels."""
    pose = make_pose(seed, SOURCE_SIZE)
    return render(make_identity(seed), pose)[0], pose.keypoints.astype("float64")


def _save_image(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def _reference_input(path):
    """What the release feeds the model: bilinear resize, ToTensor, Normalize(0.5, 0.5)."""
    image = Image.open(path).convert("RGB").resize(MODEL_SIZE[::-1], Image.BILINEAR)
    return (np.asarray(image, "float32") / np.float32(255) - np.float32(0.5)) / np.float32(0.5)


def _expected(generator, references, skeletons):
    out = generator.predict_on_batch([np.stack(references), np.stack(skeletons)])["image"]
    return ((np.clip(np.asarray(out), -1, 1) + 1) / 2 * 255).astype(np.uint8)  # released truncation


def _read_png(path):
    return np.asarray(Image.open(path))


def _run(capsys, *args):
    code = main(["generate", *map(str, args)])
    return code, capsys.readouterr()


def test_pose_txt_one_reference_many_poses_with_strips(tmp_path, capsys, tiny_generator_path, generator):
    image, _ = _person(1)
    reference = _save_image(tmp_path / "in" / "alice.png", image)
    poses, skeletons = [], []
    for name, seed in (("pose_a", 2), ("pose_b", 3)):
        keypoints = pixels_to_deepfashion(_person(seed)[1], SOURCE_SIZE)
        write_pose_file(tmp_path / "in" / f"{name}.txt", keypoints)
        poses.append(tmp_path / "in" / f"{name}.txt")
        skeletons.append(render_skeleton(keypoints, MODEL_SIZE, frame="deepfashion"))
    out = tmp_path / "out"
    code, captured = _run(
        capsys,
        "--model",
        tiny_generator_path,
        "--reference",
        reference,
        "--pose",
        *poses,
        "-o",
        out,
        "--strip",
        "--batch-size",
        2,
    )
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == [
        "alice_2_pose_a_strip.png",
        "alice_2_pose_a_vis.png",
        "alice_2_pose_b_strip.png",
        "alice_2_pose_b_vis.png",
    ]
    assert f"2 images and 2 strips (64x44) -> {out}" in captured.out
    expected = _expected(generator, [_reference_input(reference)] * 2, skeletons)
    for i, name in enumerate(("pose_a", "pose_b")):
        result = _read_png(out / f"alice_2_{name}_vis.png")
        assert result.shape == (64, 44, 3) and result.dtype == np.uint8
        np.testing.assert_array_equal(result, expected[i])
        labelled = _read_png(out / f"alice_2_{name}_strip.png")
        band = labelled.shape[0] - 4 * 64  # the white header naming the columns; 64x44 shown at 4x
        assert labelled.shape == (band + 4 * 64, 4 * 3 * 44, 3) and 0 < band < 64
        assert (labelled[:band] < 128).any() and (labelled[:band] == 255).mean() > 0.5, "no labels on white"
        enlarged = labelled[band:]
        np.testing.assert_array_equal(enlarged, enlarged[::4, ::4].repeat(4, axis=0).repeat(4, axis=1))
        strip = enlarged[::4, ::4]
        np.testing.assert_array_equal(strip[:, 88:], expected[i])
        np.testing.assert_array_equal(strip[:, 44:88], (skeletons[i][..., :3] * 255).astype(np.uint8))


def test_openpose_json_in_reference_pixels(tmp_path, capsys, tiny_generator_path, generator):
    image, _ = _person(4)
    reference = _save_image(tmp_path / "bob.jpg", image)
    keypoints = _person(5)[1]
    keypoints[3] = -1  # a point OpenPose did not find (confidence 0)
    write_openpose_json(tmp_path / "target_keypoints.json", keypoints)
    out = tmp_path / "out"
    code, captured = _run(capsys, "--model", tiny_generator_path, "--reference", reference,
                          "--pose", tmp_path / "target_keypoints.json", "-o", out)  # fmt: skip
    assert code == 0, captured.err
    assert [p.name for p in out.iterdir()] == ["bob_2_target_vis.png"]
    # Pixel keypoints of the 128x88 reference, rendered at the model's 64x44.
    scaled = np.where(keypoints == -1, -1, keypoints * 0.5)
    skeleton = render_skeleton(scaled, MODEL_SIZE, frame="pixels")
    expected = _expected(generator, [_reference_input(reference)], [skeleton])
    np.testing.assert_array_equal(_read_png(out / "bob_2_target_vis.png"), expected[0])


def test_npy_poses_paired_in_order_over_several_batches(tmp_path, capsys, tiny_generator_path, generator):
    references, poses, inputs, skeletons = [], [], [], []
    for i in range(3):
        references.append(_save_image(tmp_path / f"ref{i}.png", _person(10 + i)[0]))
        keypoints = _person(20 + i)[1]  # pixels of the 128x88 reference: rendered at half the scale
        np.save(tmp_path / f"pose{i}.npy", keypoints)
        poses.append(tmp_path / f"pose{i}.npy")
        inputs.append(_reference_input(references[-1]))
        skeletons.append(render_skeleton(np.where(keypoints == -1, -1, keypoints * 0.5), MODEL_SIZE, frame="pixels"))
    out = tmp_path / "out"
    code, captured = _run(capsys, "--model", tiny_generator_path, "--reference", *references, "--pose", *poses,
                          "-o", out, "--batch-size", 2)  # fmt: skip
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == [f"ref{i}_2_pose{i}_vis.png" for i in range(3)]
    # The last batch is padded to the batch size (one compiled shape): compare batch by batch.
    expected = np.concatenate(
        [
            _expected(generator, inputs[:2], skeletons[:2]),
            _expected(generator, [inputs[2]] * 2, [skeletons[2]] * 2)[:1],
        ]
    )
    for i in range(3):
        np.testing.assert_array_equal(_read_png(out / f"ref{i}_2_pose{i}_vis.png"), expected[i])


def test_pairs_file_in_the_released_layout(tmp_path, capsys, tiny_generator_path, generator):
    root = tmp_path / "deepfashion"
    images = {
        "img/MEN/Pants/id_00000143/02_7_additional.jpg": 30,
        "img/MEN/Pants/id_00000143/01_1_front.jpg": 31,
        "img/WOMEN/Dresses/id_00006288/01_1_front.jpg": 32,
        "img/WOMEN/Dresses/id_00006288/03_2_side.jpg": 33,
    }
    keypoints = {}
    for path, seed in images.items():
        image, kp = _person(seed)
        _save_image(root / path.replace(".jpg", ".png"), image)  # found as .png, as the loader does
        keypoints[path] = pixels_to_deepfashion(kp, SOURCE_SIZE)
        write_pose_file(root / "pose" / path[len("img/") :].replace(".jpg", ".txt"), keypoints[path])
    names = list(images)
    write_pairs_file(root / "test_pairs.txt", [(names[1], [names[0]]), (names[3], [names[2]])])
    out = tmp_path / "out"
    code, captured = _run(capsys, "--model", tiny_generator_path, "--pairs", root / "test_pairs.txt",
                          "--root", root, "-o", out)  # fmt: skip
    assert code == 0, captured.err
    expected_names = [
        "fashionMENPantsid0000014302_7additional_2_fashionMENPantsid0000014301_1front_vis.png",
        "fashionWOMENDressesid0000628801_1front_2_fashionWOMENDressesid0000628803_2side_vis.png",
    ]
    assert sorted(p.name for p in out.iterdir()) == expected_names
    expected = _expected(
        generator,
        [_reference_input(root / names[i].replace(".jpg", ".png")) for i in (0, 2)],
        [render_skeleton(keypoints[names[i]], MODEL_SIZE) for i in (1, 3)],
    )
    for name, image in zip(expected_names, expected):
        np.testing.assert_array_equal(_read_png(out / name), image)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generate_inputs")
    image, keypoints = _person(40)
    _save_image(folder / "ref.png", image)
    write_pose_file(folder / "pose.txt", pixels_to_deepfashion(keypoints, SOURCE_SIZE))
    (folder / "short.txt").write_text("1 2\n" * 17)
    np.save(folder / "wide.npy", np.zeros((18, 3)))
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "empty.json").write_text(json.dumps({"people": []}))
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(folder / "dense.keras")
    return folder


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reference", "missing.png", "--pose", "pose.txt"], "Reference image not found: {d}/missing.png"),
        (["--reference", "ref.png", "--pose", "missing.txt"], "Pose file not found: {d}/missing.txt"),
        (["--reference", "ref.png", "--pose", "short.txt"], "must hold 18 rows"),
        (["--reference", "ref.png", "--pose", "wide.npy"], "must hold an (18, 2) array"),
        (["--reference", "ref.png", "--pose", "empty.json"], "has 0 people"),
        (["--reference", "ref.png", "--pose", "ref.png"], "Expected a pose file ending in .txt, .json, .npy"),
        (["--reference", "broken.png", "--pose", "pose.txt"], "Could not read image {d}/broken.png"),
        (["--reference", "ref.png", "ref.png", "--pose", "pose.txt", "pose.txt", "pose.txt"],
         "Got 2 reference images and 3 poses"),
        (["--reference", "ref.png", "--pose", "pose.txt", "--model", "dense.keras"],
         "Expected {d}/dense.keras to hold an NTEDGenerator. Received: Sequential"),
        (["--reference", "ref.png", "--pose", "pose.txt", "--model", "nothing.keras"],
         "Model file not found: {d}/nothing.keras"),
        (["--reference", "ref.png", "--pose", "pose.txt", "--batch-size", "0"], "Expected a positive --batch-size"),
        (["--pairs", "pairs.txt"], "--pairs needs --root"),
        (["--pairs", "pairs.txt", "--root", ".", "--pose", "pose.txt"], "not both"),
        ([], "Give --reference IMAGE... and --pose POSE..."),
    ],
    ids=[
        "missing-image", "missing-pose", "pose-not-18x2", "npy-not-18x2", "json-no-person", "not-a-pose-file",
        "unreadable-image", "count-mismatch", "not-a-generator", "missing-model", "bad-batch-size",
        "pairs-without-root", "pairs-and-files", "nothing-to-do",
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(inputs, tmp_path, capsys, tiny_generator_path, args, message):
    args = [str(inputs / a) if (inputs / a).exists() or a.startswith(("missing", "nothing", "pairs")) else a
            for a in args]  # fmt: skip
    if "--model" not in args:
        args += ["--model", str(tiny_generator_path)]
    out = tmp_path / "out"
    code, captured = _run(capsys, *args, "-o", out)
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("keras-nted generate: error: ")
    assert message.format(d=inputs) in lines[0]
    assert not out.exists()
