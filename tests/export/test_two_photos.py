"""`keras-nted export --two-photos` vs `keras-nted generate --pose-from` on the same two photos.

The SavedModel is written on the TensorFlow backend (SavedModel export needs TF: from JAX or
torch the command re-runs itself on TensorFlow, tested in those passes) and read by a
pure-TensorFlow client in a fresh process (`tf_photo_client.py`). The framed reference is
the numpy path's to the pixel (tests/utils/test_framed_resize.py) and the target skeleton is
`SkeletonRenderer`'s, bit-exact with OpenCV's (tests/layers/test_skeleton_renderer.py), so the
served image equals generate's PNG pixel for pixel on these photos. The keypoints come from two
pipelines (the in-graph Keras networks, LiteRT in `generate`) that agree within 0.05 pixels at
64x44; the image tolerance against `serving_default` on generate's own inputs is 1 level (a
float sum's order in the generator differs between the two graphs).
"""

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_nted.files import write_png

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODEL = ROOT / "saved_models" / "nted_mannequin_64.keras"

BACKEND = keras.backend.backend()
on_tensorflow = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="the direct export (TensorFlow backend); other backends: test_from_another_backend"
)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from keras_nted.evaluation.pose import pose_test_set

    folder = tmp_path_factory.mktemp("two_photos")
    items = pose_test_set(num_renders=3, num_photo_like=0)  # renders 1 and 2 have a person each
    paths = {"reference": folder / "reference.png", "pose": folder / "pose.png", "blank": folder / "blank.png"}
    for path, image in zip(paths.values(), (items[1].image, items[2].image, np.full_like(items[1].image, 200))):
        write_png(path, image)
    return folder, paths


def _run(command, **env):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), **env)
    result = subprocess.run([sys.executable, *map(str, command)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _client_outputs(saved_model_dir, paths):
    outputs = saved_model_dir.parent / "outputs.npz"
    _run([HERE / "tf_photo_client.py", saved_model_dir, paths["reference"], paths["pose"], paths["blank"], outputs])
    return dict(np.load(outputs))


@pytest.fixture(scope="module")
def served(photos):
    folder, paths = photos
    _run(["-m", "keras_nted", "export", "--model", MODEL, "-o", folder / "export", "--two-photos"])
    outputs = _client_outputs(folder / "export" / "1", paths)
    _run(["-m", "keras_nted", "generate", "--reference", paths["reference"], "--pose-from", paths["pose"], "-o",
          folder / "generated"])  # fmt: skip
    generated = np.asarray(Image.open(folder / "generated" / "reference_2_pose_vis.png").convert("RGB"))
    return outputs, generated


@on_tensorflow
def test_two_photos_signatures_match_generate_pose_from(served, photos):
    from keras_nted.models import PoseTransfer
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose.framing import frame_person

    out, generated = served
    assert out["encoded_image"].shape == (1, 64, 44, 3) and out["uint8_image"].shape == (2, 64, 44, 3)
    np.testing.assert_array_equal(out["encoded_image"][0], out["uint8_image"][1])  # bytes or pixels: one result
    # generate's own inputs (numpy framing, PIL's resize, the LiteRT pipeline's keypoints) through the
    # in-graph renderer: the served image within 1 level, the keypoints within 0.05 pixels.
    _, paths = photos
    task = PoseTransfer.from_preset(MODEL)
    estimator = PoseEstimator()
    reference, pose = (
        frame_person(i, estimator(i)[0].keypoints) for i in map(_read, (paths["reference"], paths["pose"]))
    )
    scale = np.array([44, 64]) / pose.image.shape[1::-1]
    keypoints = np.where(pose.keypoints == -1, -1, pose.keypoints * scale).astype("float32")
    np.testing.assert_allclose(out["encoded_keypoints"][0], keypoints, atol=0.05)
    resized = np.asarray(Image.fromarray(reference.image).resize((44, 64), Image.BILINEAR))
    expected = keras.ops.convert_to_numpy(task.serve(resized[None], keypoints[None]))[0]
    assert np.abs(out["encoded_image"][0].astype(int) - expected).max() <= 1
    # generate's file: the same pixels (the renderers agree bit for bit; allowed: 1 level).
    assert np.abs(out["encoded_image"][0].astype(int) - generated).max() <= 1


@on_tensorflow
def test_a_photo_without_a_person_is_a_clear_error(served):
    out, _ = served
    assert "No person found in the reference photo" in str(out["error_blank_reference"])
    assert "No person found in the pose photo" in str(out["error_blank_pose"])


@pytest.mark.skipif(
    BACKEND != "torch", reason="the re-run from another backend is tested once, in the torch pass (1-2 min)"
)
def test_from_another_backend(photos):
    """On torch (or JAX) the command re-runs itself on TensorFlow (its arguments carried over): the
    SavedModel's signatures give this backend's in-graph `predict_from_photos` image within 1 level."""
    from keras_nted.models import PoseTransfer
    from keras_nted.pose import pose_pipeline
    from keras_nted.pose.model_files import find_model_files

    folder, paths = photos
    models = find_model_files()["pose_detection.tflite"].parent
    command = ["-m", "keras_nted", "export", "--model", MODEL, "-o", folder / BACKEND, "--version", 3]
    result = _run([*command, "--two-photos", "--models", models], KERAS_BACKEND=BACKEND)
    assert "TensorFlow-backend subprocess" in result.stdout and "two_photos_encoded" in result.stdout
    out = _client_outputs(folder / BACKEND / "3", paths)
    np.testing.assert_array_equal(out["encoded_image"][0], out["uint8_image"][1])
    assert "No person found in the pose photo" in str(out["error_blank_pose"])
    task = PoseTransfer.from_preset(MODEL)
    with pytest.warns(UserWarning):  # the mannequin model's photo note
        image, keypoints = task.predict_from_photos(*map(_read, (paths["reference"], paths["pose"])), pose_pipeline())
    np.testing.assert_allclose(out["encoded_keypoints"][0], keypoints, atol=0.05)
    assert np.abs(out["encoded_image"][0].astype(int) - image).max() <= 1


def test_two_photos_without_tensorflow_is_one_line(monkeypatch):
    import importlib.util

    from keras_nted.cli import CommandError
    from keras_nted.cli import parse_args
    from keras_nted.commands import export

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else find_spec(name, *a)
    )
    args = parse_args(["export", "--model", str(MODEL), "-o", "unused", "--two-photos"])
    with pytest.raises(CommandError, match="TensorFlow is not installed"):
        export.run_on_backend(args, "tensorflow")


def _read(path):
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.skipif(
    BACKEND == "tensorflow",
    reason="two_photos.onnx is written on torch (Keras' ONNX exporter): directly in the torch pass, by the "
    "command's torch-backend re-run in the JAX pass",
)
def test_two_photos_onnx_matches_predict_from_photos(photos):
    """`export --two-photos --format onnx` writes two_photos.onnx: through ONNX Runtime, the image
    within 1 level of this backend's in-graph `predict_from_photos` (measured: equal), keypoints
    within 0.01 pixels, and a photo without a person reported by its `*_found` output."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime (in the CI environment) runs the exported graph")
    from keras_nted.models import PoseTransfer
    from keras_nted.pose import pose_pipeline
    from keras_nted.pose.model_files import find_model_files

    folder, paths = photos
    models = find_model_files()["pose_detection.tflite"].parent
    command = ["-m", "keras_nted", "export", "--model", MODEL, "-o", folder / f"onnx_{BACKEND}", "--format", "onnx"]
    result = _run([*command, "--two-photos", "--models", models], KERAS_BACKEND=BACKEND)
    assert "two_photos.onnx" in result.stdout
    if BACKEND != "torch":
        assert "torch-backend subprocess" in result.stdout
    session = ort.InferenceSession(str(folder / f"onnx_{BACKEND}" / "1" / "two_photos.onnx"))
    assert [i.name for i in session.get_inputs()] == ["reference_photo", "pose_photo"]
    names = [o.name for o in session.get_outputs()]
    assert names == ["image", "keypoints", "pose_found", "reference_found"]
    reference, pose, blank = (_read(paths[k])[None] for k in ("reference", "pose", "blank"))
    out = dict(zip(names, session.run(None, {"reference_photo": reference, "pose_photo": pose})))
    assert out["image"].dtype == np.uint8 and out["image"].shape == (1, 64, 44, 3)
    assert out["reference_found"].tolist() == [True] and out["pose_found"].tolist() == [True]
    task = PoseTransfer.from_preset(MODEL)
    with pytest.warns(UserWarning):  # the mannequin model's photo note
        image, keypoints = task.predict_from_photos(reference[0], pose[0], pose_pipeline(models))
    np.testing.assert_allclose(out["keypoints"][0], keypoints, atol=0.01)
    assert np.abs(out["image"][0].astype(int) - image).max() <= 1
    missing = dict(zip(names, session.run(None, {"reference_photo": reference, "pose_photo": blank})))
    assert missing["reference_found"].tolist() == [True] and missing["pose_found"].tolist() == [False]
