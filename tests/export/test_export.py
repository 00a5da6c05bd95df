"""Serving export: a tiny generator trained on this backend -> SavedModel -> TensorFlow clients.

One export per backend session (module fixtures), checked by clients that do not use our code,
each a fresh TensorFlow process: `tf.saved_model.load` (`tf_client.py`), `saved_model_cli show`
and `saved_model_cli run`.
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nted.data import MannequinDataset
from keras_nted.data import render_skeleton
from keras_nted.export import ONNX_PACKAGES
from keras_nted.export import export_backend
from keras_nted.export import export_saved_model
from keras_nted.export.onnx import missing_keras_onnx_packages
from keras_nted.layers import SkeletonRenderer
from keras_nted.models import NTEDGAN
from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from keras_nted.utils.images import to_uint8
from tests.helpers import to_numpy

HERE = pathlib.Path(__file__).resolve().parent
SIZE = (64, 44)
BATCH = 3
SAVED_MODEL_CLI = pathlib.Path(sys.executable).with_name("saved_model_cli")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def trained():
    """A tiny generator trained two steps with `fit` on this backend."""
    keras.utils.set_random_seed(0)
    generator = NTEDGenerator.from_preset("nted_tiny", name="generator")
    gan = NTEDGAN(generator, NTEDDiscriminator.from_preset("nted_tiny", name="discriminator"), perceptual_loss=None)
    # The cheapest honest training: L1 + attention losses, GAN off (no discriminator step).
    gan.compile(weight_l1=10.0, gan_start_step=10)
    initial = [to_numpy(w).copy() for w in generator.weights]
    gan.fit(MannequinDataset(SIZE, batch_size=2, seed=0, steps_per_epoch=2), epochs=1, verbose=0)
    assert int(to_numpy(gan.generator_optimizer.iterations)) == 2
    assert any(not np.array_equal(a, to_numpy(b)) for a, b in zip(initial, generator.weights))
    return generator


@pytest.fixture(scope="module")
def inputs(trained):
    """Held-out mannequin pairs and the Keras model's outputs on them (on this backend)."""
    batch = MannequinDataset(SIZE, batch_size=BATCH, split="test", seed=0).get_batch(0, with_keypoints=True)
    reference_float = batch["source_image"]
    reference_uint8 = np.rint((reference_float + 1.0) * 127.5).astype(np.uint8)
    keypoints = batch["target_keypoints"].astype("float32")
    renderer = keras.Sequential([keras.Input((18, 2)), SkeletonRenderer(*SIZE)])
    in_graph = np.asarray(renderer.predict_on_batch(keypoints))
    # Compiled calls at batch 3 only (an eager JAX call compiles every op); the batch entries
    # are independent, so the batch-1 requests are compared with the first entry.
    from_skeleton = trained.predict_on_batch([reference_float, batch["target_skeleton"]])["image"]
    from_keypoints = trained.predict_on_batch([reference_float, in_graph])["image"]
    return {
        "reference_uint8": reference_uint8,
        "reference_float": reference_float,
        "keypoints": keypoints,
        "skeleton": batch["target_skeleton"],  # OpenCV's rendering (render_skeleton)
        "expected_from_skeleton": np.asarray(from_skeleton),
        "expected_served": to_uint8(from_keypoints),
    }


@pytest.fixture(scope="module")
def exported(trained, workdir):
    """The trained generator exported (on JAX and torch: by a TensorFlow-backend subprocess)."""
    (workdir / "models" / "3").mkdir(parents=True)  # an older version: the export must pick 4
    return export_saved_model(trained, workdir / "models")


@pytest.fixture(scope="module")
def clients(exported, inputs, workdir):
    """The three clients, run side by side; `{name: (exit code, stdout, stderr)}` + `arrays`."""
    np.savez(workdir / "client_inputs.npz", **{k: v for k, v in inputs.items() if not k.startswith("expected")})
    np.save(workdir / "reference.npy", inputs["reference_uint8"])
    np.save(workdir / "keypoints.npy", inputs["keypoints"])
    commands = {
        "tf_client": [sys.executable, HERE / "tf_client.py", exported, workdir / "client_inputs.npz",
                      workdir / "client_outputs.npz"],
        "show": [SAVED_MODEL_CLI, "show", "--dir", exported, "--all"],
        "run": [SAVED_MODEL_CLI, "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "serving_default",
                "--inputs", f"reference_image={workdir / 'reference.npy'};keypoints={workdir / 'keypoints.npy'}",
                "--outdir", workdir / "cli_run"],
    }  # fmt: skip
    # Client processes: TensorFlow only, nothing of the backend under test.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    processes = {
        name: subprocess.Popen(
            [str(c) for c in command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, command in commands.items()
    }
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        results[name] = (process.returncode, out, err)
    code, _, err = results["tf_client"]
    assert code == 0, err[-3000:]
    results["arrays"] = dict(np.load(workdir / "client_outputs.npz"))
    return results


def test_export_writes_the_tf_serving_layout(exported, workdir):
    assert exported == workdir / "models" / "4"
    assert (exported / "saved_model.pb").is_file() and (exported / "variables").is_dir()
    assert list((exported / "variables").glob("variables.data-*"))
    assert sorted(p.name for p in (workdir / "models").iterdir()) == ["3", "4"], "temporary folder left behind"


def test_both_signatures_run_at_batch_1_and_3_in_a_fresh_tensorflow_process(clients, inputs):
    arrays = clients["arrays"]
    assert set(arrays["signatures"]) == {"serving_default", "generate_from_skeleton"}
    for b in (1, BATCH):
        image = arrays[f"generate_from_skeleton_{b}"]
        assert image.dtype == np.float32 and image.shape == (b, *SIZE, 3)
        np.testing.assert_allclose(image, inputs["expected_from_skeleton"][:b], rtol=0, atol=1e-4)
        served = arrays[f"serving_default_{b}"]
        assert served.dtype == np.uint8 and served.shape == (b, *SIZE, 3)
        difference = np.abs(served.astype(int) - inputs["expected_served"][:b].astype(int))
        assert difference.max() <= 1, f"batch {b}: {difference.max()} levels"


def test_serving_default_is_close_to_the_opencv_path(clients, inputs):
    """The in-graph pose map is not OpenCV's: the served images differ from the OpenCV path, a little."""
    from_opencv = to_uint8(inputs["expected_from_skeleton"]).astype(int)
    served = clients["arrays"][f"serving_default_{BATCH}"].astype(int)
    assert np.abs(served - from_opencv).mean() < 2.0
    np.testing.assert_array_equal(render_skeleton(inputs["keypoints"][0], SIZE, frame="pixels"), inputs["skeleton"][0])


def test_bad_requests_are_rejected_with_clear_messages(clients):
    errors = {k[len("error_") :]: str(v) for k, v in clients["arrays"].items() if k.startswith("error_")}
    assert "expected to be a uint8 tensor but is a float tensor" in errors["float_reference"]
    assert "expected to be a float tensor but is a uint8 tensor" in errors["uint8_skeleton"]
    assert (
        "Shape of tensor reference_image [1,32,44,3] is not compatible with expected shape [?,64,44,3]"
        in (errors["small_reference"])
    )
    assert "Shape of tensor keypoints [1,17,2] is not compatible with expected shape [?,18,2]" in errors["17_keypoints"]
    assert (
        "Shape of tensor skeleton [1,64,44,18] is not compatible with expected shape [?,64,44,20]"
        in (errors["18_channel_skeleton"])
    )


def _signature_blocks(text):
    """`saved_model_cli show --all` output -> {signature name: its block of text}."""
    parts = re.split(r"signature_def\['([^']+)'\]:", text.split("Concrete Functions:")[0])
    return dict(zip(parts[1::2], parts[2::2]))


def _tensor_info(block, kind, name):
    match = re.search(rf"{kind}\['{name}'\] tensor_info:\s+dtype: (\w+)\s+shape: (\([^)]*\))", block)
    assert match, f"{kind}['{name}'] not listed in:\n{block}"
    return match.group(1), match.group(2)


def test_saved_model_cli_show_lists_both_signatures(clients):
    code, out, err = clients["show"]
    assert code == 0, err[-2000:]
    blocks = _signature_blocks(out)
    serving, from_skeleton = blocks["serving_default"], blocks["generate_from_skeleton"]
    assert _tensor_info(serving, "inputs", "reference_image") == ("DT_UINT8", "(-1, 64, 44, 3)")
    assert _tensor_info(serving, "inputs", "keypoints") == ("DT_FLOAT", "(-1, 18, 2)")
    assert _tensor_info(serving, "outputs", "image") == ("DT_UINT8", "(-1, 64, 44, 3)")
    assert _tensor_info(from_skeleton, "inputs", "reference_image") == ("DT_FLOAT", "(-1, 64, 44, 3)")
    assert _tensor_info(from_skeleton, "inputs", "skeleton") == ("DT_FLOAT", "(-1, 64, 44, 20)")
    assert _tensor_info(from_skeleton, "outputs", "image") == ("DT_FLOAT", "(-1, 64, 44, 3)")
    assert "Method name is: tensorflow/serving/predict" in serving
    # Exported on the TensorFlow backend: plain TF ops, no XLA-only call (as a JAX export has).
    assert "Conv2D" in out and "XlaCallModule" not in out


def test_saved_model_cli_run_writes_the_served_image(clients, inputs, workdir):
    code, _, err = clients["run"]
    assert code == 0, err[-2000:]
    image = np.load(workdir / "cli_run" / "image.npy")
    assert image.dtype == np.uint8 and image.shape == (BATCH, *SIZE, 3)
    assert np.abs(image.astype(int) - inputs["expected_served"].astype(int)).max() <= 1


def _missing_onnx_packages():
    """What ONNX export lacks here on this backend: [] when it can run (see `export_backend`)."""
    keras_way = not missing_keras_onnx_packages()  # torch + onnx: Keras' own exporter on torch
    tf_missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
    backend = keras.backend.backend()
    if backend == "torch":
        return missing_keras_onnx_packages()
    if backend == "jax" and keras_way:
        return []
    return tf_missing


def test_onnx_export(trained, inputs, workdir):
    missing = _missing_onnx_packages()
    if missing:
        if keras.backend.backend() == "torch":
            expected = r"needs the package onnx.*pip install onnx"
        else:
            expected = r"needs the packages tf2onnx and onnx.*pip install tf2onnx onnx"
        with pytest.raises(ImportError, match=expected):
            export_saved_model(trained, workdir / "onnx", format="onnx")
        assert not (workdir / "onnx").exists()
    if importlib.util.find_spec("onnxruntime") is None:
        missing.append("onnxruntime")
    if missing:
        pytest.skip(f"ONNX export needs {', '.join(missing)} (not installed here)")
    import onnxruntime

    path = export_saved_model(trained, workdir / "onnx", format="onnx")
    feeds = {
        "model.onnx": {"reference_image": inputs["reference_uint8"], "keypoints": inputs["keypoints"]},
        "generate_from_skeleton.onnx": {"reference_image": inputs["reference_float"], "skeleton": inputs["skeleton"]},
    }
    results = {}
    for name, feed in feeds.items():
        session = onnxruntime.InferenceSession(str(path / name))
        if export_backend("onnx") == "torch":  # Keras' exporter: the SavedModel's names, a dynamic batch
            assert [(i.name, i.shape[0]) for i in session.get_inputs()] == [(k, "batch") for k in feed]
            assert [(o.name, o.shape[0]) for o in session.get_outputs()] == [("image", "batch")]
        (results[name],) = session.run(None, {i.name: feed[i.name.split(":")[0]] for i in session.get_inputs()})
    np.testing.assert_allclose(results["generate_from_skeleton.onnx"], inputs["expected_from_skeleton"], atol=1e-4)
    served = results["model.onnx"]
    assert served.dtype == np.uint8
    assert np.abs(served.astype(int) - inputs["expected_served"].astype(int)).max() <= 1
    # Batch 1 too: the batch size is not fixed at the traced one.
    session = onnxruntime.InferenceSession(str(path / "model.onnx"))
    one = {"reference_image": inputs["reference_uint8"][:1], "keypoints": inputs["keypoints"][:1]}
    (single,) = session.run(None, one)
    assert single.shape == served[:1].shape
    assert np.abs(single.astype(int) - inputs["expected_served"][:1].astype(int)).max() <= 1


def test_bad_arguments_are_rejected_before_anything_is_written(tmp_path):
    generator = NTEDGenerator.from_preset("nted_tiny")
    with pytest.raises(TypeError, match="Expected `generator_or_path` to be an NTEDGenerator.*Received: Sequential"):
        export_saved_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), tmp_path / "out")
    with pytest.raises(ValueError, match=r"Expected `version` to be a non-negative integer. Received: version=-1"):
        export_saved_model(generator, tmp_path / "out", version=-1)
    with pytest.raises(ValueError, match=r"Expected `format` to be one of \('tf_saved_model', 'onnx'\)"):
        export_saved_model(generator, tmp_path / "out", format="tflite")
    with pytest.raises(FileNotFoundError, match="Model file not found"):
        export_saved_model(tmp_path / "missing.keras", tmp_path / "out")
    assert not (tmp_path / "out").exists()
