"""`PoseTransfer`: images and keypoints in, the same uint8 pixels as `keras-nted generate` out."""

import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import main
from keras_nted.data import make_identity
from keras_nted.data import make_pose
from keras_nted.data import pixels_to_deepfashion
from keras_nted.data import render
from keras_nted.data import write_pose_file
from keras_nted.models import NTEDGenerator
from keras_nted.models import PoseTransfer
from keras_nted.models import PoseTransferPreprocessor
from keras_nted.utils.images import from_uint8

SOURCE_SIZE = (128, 88)  # twice the model's 64x44: the task resizes


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("pose_transfer") / "tiny.keras"
    NTEDGenerator.from_preset("nted_tiny", name="generator").save(path)
    return path


@pytest.fixture(scope="module")
def task(model_path):
    return PoseTransfer.from_preset(model_path)


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """Three reference PNGs (one of an odd size) and three target poses as .npy and .txt files."""
    folder = tmp_path_factory.mktemp("people")
    images, keypoints = [], []
    for i in range(3):
        image = render(make_identity(i), make_pose(i, SOURCE_SIZE))[0]
        if i == 2:
            image = np.asarray(Image.fromarray(image).resize((70, 100), Image.BICUBIC))
        Image.fromarray(image).save(folder / f"ref{i}.png")
        images.append(image)
        points = make_pose(20 + i, SOURCE_SIZE).keypoints.astype("float64")
        np.save(folder / f"pose{i}.npy", points)
        write_pose_file(folder / f"pose{i}.txt", pixels_to_deepfashion(points, SOURCE_SIZE))
        keypoints.append(points)
    return folder, images, np.stack(keypoints)


def _cli(tmp_path, folder, suffix, batch_size):
    out = tmp_path / f"out_{suffix}_{batch_size}"
    references = [str(folder / f"ref{i}.png") for i in range(3)]
    poses = [str(folder / f"pose{i}.{suffix}") for i in range(3)]
    args = ["generate", "--model", "MODEL", "--reference", *references, "--pose", *poses, "-o", str(out)]
    return out, args + ["--batch-size", str(batch_size)]


def _read(out, i, suffix):
    return np.asarray(Image.open(out / f"ref{i}_2_pose{i}_vis.png"))


@pytest.mark.parametrize("batch_size", [2, 8], ids=["padded-batches", "one-batch"])
def test_equals_the_cli_pngs(task, model_path, people, tmp_path, batch_size):
    folder, images, keypoints = people
    out, args = _cli(tmp_path, folder, "npy", batch_size)
    args[args.index("MODEL")] = str(model_path)
    assert main(args) == 0
    written = np.stack([_read(out, i, "npy") for i in range(3)])

    # Pixel arrays and pixel keypoints, read (as the CLI reads a .npy) in each reference's own
    # pixels: 128x88 for two, 100x70 for the third.
    from_arrays = task.predict(images, keypoints, keypoints_frame="pixels", batch_size=batch_size)
    assert from_arrays.dtype == np.uint8 and from_arrays.shape == (3, 64, 44, 3)
    np.testing.assert_array_equal(from_arrays, written)

    # Files in, as `generate` reads them.
    from_files = task.predict(
        [folder / f"ref{i}.png" for i in range(3)], [folder / f"pose{i}.npy" for i in range(3)], batch_size=batch_size
    )
    np.testing.assert_array_equal(from_files, written)


def test_deepfashion_pose_files_and_arrays_equal_the_cli(task, model_path, people, tmp_path):
    folder, images, keypoints = people
    out, args = _cli(tmp_path, folder, "txt", 8)
    args[args.index("MODEL")] = str(model_path)
    assert main(args) == 0
    written = np.stack([_read(out, i, "txt") for i in range(3)])
    deepfashion = np.stack([pixels_to_deepfashion(k, SOURCE_SIZE) for k in keypoints])
    np.testing.assert_array_equal(task.predict(images, deepfashion, keypoints_frame="deepfashion"), written)
    np.testing.assert_array_equal(task.predict(images, [folder / f"pose{i}.txt" for i in range(3)]), written)


def test_float_images_and_stated_keypoint_size_give_the_same_pixels(task, people):
    _, images, keypoints = people
    image, points = images[0], keypoints[:2]
    expected = task.predict(image, points, keypoints_frame="pixels")
    assert expected.shape == (2, 64, 44, 3)  # one reference broadcast over two poses
    np.testing.assert_array_equal(
        task.predict(from_uint8(image), points, keypoints_frame="pixels", value_range=(-1, 1)), expected
    )
    np.testing.assert_array_equal(task.predict(image.astype("float32"), points, keypoints_frame="pixels"), expected)
    # A photo / 255.0 in its stated range (without it, refused as ambiguous: tests/test_bad_inputs.py).
    np.testing.assert_array_equal(
        task.predict(image / 255.0, points, keypoints_frame="pixels", value_range=(0, 1)), expected
    )
    # Nested lists are arrays too.
    np.testing.assert_array_equal(task.predict([image], points.tolist(), keypoints_frame="pixels"), expected)
    one = task.predict(image, points[0], keypoints_frame="pixels")  # one pose: a batch of one (its own shape)
    np.testing.assert_array_equal(task.predict(image, points[0].tolist(), keypoints_frame="pixels"), one)
    # The same keypoints stated in the pixels of a 256x176 picture.
    doubled = np.where(points == -1, -1, points * 2)
    np.testing.assert_array_equal(
        task.predict(image, doubled, keypoints_frame="pixels", keypoints_image_size=(256, 176)), expected
    )
    # ... which differ from the same numbers read in the reference's own 128x88 pixels.
    assert not np.array_equal(task.predict(image, doubled, keypoints_frame="pixels"), expected)


def test_predict_equals_generation_generate(task, people, tmp_path):
    """The library's file route (`keras_nted.generation.generate`) and `predict` give the same pixels."""
    from keras_nted import generation

    folder, images, keypoints = people
    pairs = generation.pairs_from_files([folder / f"ref{i}.png" for i in range(3)], [folder / "pose0.npy"])
    written = generation.generate(task, pairs, tmp_path / "out", batch_size=2, verbose=0)
    from_files = np.stack([np.asarray(Image.open(path)) for path in written])
    np.testing.assert_array_equal(
        task.predict(images, keypoints[0], keypoints_frame="pixels", batch_size=2), from_files
    )


def test_is_a_keras_task(task, people, tmp_path):
    import keras

    _, images, keypoints = people
    assert isinstance(task, keras.Model) and task.weights and len(task.weights) == len(task.generator.weights)
    # Called on model inputs, the task is its generator's forward pass.
    inputs = task.preprocessor(images[:2], keypoints[:2], keypoints_frame="pixels")
    called = keras.ops.convert_to_numpy(task(inputs))
    expected = keras.ops.convert_to_numpy(
        task.generator([inputs["reference_image"], inputs["target_skeleton"]])["image"]
    )
    np.testing.assert_allclose(called, expected, atol=1e-6)
    # Config and preset round trips keep the generator, the preprocessor and the weights.
    clone = PoseTransfer.from_config(task.get_config())
    assert clone.image_size == task.image_size and clone.preprocessor.image_size == task.preprocessor.image_size
    task.save_to_preset(tmp_path / "task")
    loaded = PoseTransfer.from_preset(tmp_path / "task")
    assert isinstance(loaded.generator, NTEDGenerator)
    expected = task.predict(images, keypoints, keypoints_frame="pixels")
    np.testing.assert_array_equal(loaded.predict(images, keypoints, keypoints_frame="pixels"), expected)
    with pytest.raises(ValueError, match="no keyword arguments with a saved task"):
        PoseTransfer.from_preset(tmp_path / "task", name="other")


def test_from_preset_and_constructor():
    task = PoseTransfer.from_preset("nted_tiny")
    assert isinstance(task.generator, NTEDGenerator) and task.image_size == (64, 44)
    assert isinstance(task.preprocessor, PoseTransferPreprocessor) and task.preprocessor.image_size == (64, 44)
    assert PoseTransfer(task.generator).generator is task.generator


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t, im: t.predict(im, np.zeros((18, 2))), "Expected keypoints_frame='pixels' or 'deepfashion'"),
        (lambda t, im: t.predict(im, np.zeros((18, 2)), keypoints_frame="world"), "Expected keypoints_frame in"),
        (lambda t, im: t.predict(im, np.zeros((17, 2)), keypoints_frame="pixels"), r"keypoints\[0\].shape=\(17, 2\)"),
        (
            lambda t, im: t.predict([im] * 2, np.zeros((3, 18, 2)), keypoints_frame="pixels"),
            "2 images and 3 keypoints",
        ),
        (lambda t, im: t.predict(im[..., :2], np.zeros((18, 2)), keypoints_frame="pixels"), r"shape=\(128, 88, 2\)"),
        (
            lambda t, im: t.predict(im * 2.0, np.zeros((18, 2)), keypoints_frame="pixels"),
            r"values in value_range=\(0, 255\)",
        ),
        (
            lambda t, im: t.predict(im, np.zeros((18, 2)), keypoints_frame="deepfashion", keypoints_image_size=(9, 9)),
            "keypoints_image_size applies to keypoints_frame='pixels'",
        ),
        (lambda t, im: t.predict(im, np.zeros((18, 2)), keypoints_frame="pixels", batch_size=0), "batch_size=0"),
        (lambda t, im: t.predict(im, "pose.png"), "Expected a pose file ending in"),
        (lambda t, im: PoseTransfer(object()), "Expected an NTEDGenerator. Received: generator=object"),
    ],
    ids=[
        "no-frame",
        "bad-frame",
        "bad-keypoints",
        "counts",
        "channels",
        "range",
        "size-frame",
        "batch",
        "file",
        "model",
    ],
)
def test_bad_input_names_the_argument(task, people, call, message):
    with pytest.raises(ValueError, match=message):
        call(task, people[1][0])


def test_missing_files_are_named(task, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        task.predict(tmp_path / "missing.png", np.zeros((18, 2)), keypoints_frame="pixels")
    with pytest.raises(FileNotFoundError, match="Pose file not found: .*missing.npy"):
        task.predict(np.zeros((64, 44, 3), np.uint8), tmp_path / "missing.npy")


@pytest.mark.parametrize("module", ["keras_nted.models.pose_transfer", "keras_nted.models.pose_transfer_preprocessor"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_the_mannequin_preset_carries_its_photo_note():
    """The built-in mannequin model says, on photos, what it was trained on and how to get a photo model."""
    from keras_nted.models.presets import photo_note

    mannequin = PoseTransfer.from_preset("nted_mannequin_64")
    assert "trained on mannequin renders" in mannequin.photo_note and "keras-nted convert" in mannequin.photo_note
    assert "64x44" in mannequin.photo_note and len(mannequin.photo_note.splitlines()) == 1
    assert PoseTransfer.from_preset("nted_tiny").photo_note is None  # random weights, no claim
    assert PoseTransfer(mannequin.generator).photo_note is None  # a generator of unknown origin
    assert photo_note("nted_fashion_256") is None and photo_note(None) is None
