"""`keras-nted export`: TF Serving layout, versions, one-line errors, nothing overwritten."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nted.cli import main
from keras_nted.export import existing_versions
from keras_nted.export.onnx import missing_keras_onnx_packages

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(capsys, model, export_dir, *args):
    code = main(["export", "--model", str(model), "-o", str(export_dir), *map(str, args)])
    return code, capsys.readouterr()


def test_export_picks_the_next_version_and_never_overwrites(tmp_path, capsys, tiny_generator_path):
    models = tmp_path / "models"
    (models / "3").mkdir(parents=True)
    (models / "notes").mkdir()  # not a version
    (models / "10").write_text("a file, not a version folder")
    code, captured = _run(capsys, tiny_generator_path, models)
    assert code == 0, captured.err
    assert f"Wrote SavedModel version 4 to {models / '4'}" in captured.out
    assert (models / "4" / "saved_model.pb").is_file() and (models / "4" / "variables").is_dir()
    assert sorted(p.name for p in models.iterdir()) == ["10", "3", "4", "notes"], "temporary folder left behind"
    assert existing_versions(models) == [3, 4]

    before = {p: p.stat().st_mtime_ns for p in (models / "4").rglob("*")}
    code, captured = _run(capsys, tiny_generator_path, models, "--version", 4)
    assert code == 2
    assert captured.err.strip().count("\n") == 0
    assert "Export version 4 already exists" in captured.err and "Nothing was overwritten" in captured.err
    assert "the next free one is 5" in captured.err
    assert {p: p.stat().st_mtime_ns for p in (models / "4").rglob("*")} == before


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys, tiny_generator_path):
    cases = [
        ((tmp_path / "missing.keras", tmp_path / "out"), "Model file not found"),
        ((tiny_generator_path.with_suffix(".h5"), tmp_path / "out"), "Model file not found"),
        ((tiny_generator_path, tmp_path / "out", "--version", -1), "Expected a non-negative --version"),
    ]
    not_keras = tmp_path / "model.h5"
    not_keras.write_text("not a model")
    cases.append(((not_keras, tmp_path / "out"), "Expected a .keras model file"))
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip file")
    cases.append(((corrupt, tmp_path / "out"), "Could not load"))  # on JAX / torch: the subprocess's error
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    cases.append(((tiny_generator_path, a_file), "Expected the export directory to be a folder"))
    onnx = (tiny_generator_path, tmp_path / "out", "--format", "onnx")
    keras_way = keras.backend.backend() != "tensorflow" and not missing_keras_onnx_packages()
    if keras.backend.backend() == "torch" and not keras_way:
        cases.append((onnx, "needs the package onnx"))
    elif not keras_way and any(importlib.util.find_spec(name) is None for name in ("tf2onnx", "onnx")):
        cases.append((onnx, "needs the packages tf2onnx and onnx"))
    for args, message in cases:
        code, captured = _run(capsys, *args)
        assert code == 2, args
        assert captured.err.startswith("keras-nted export: error: ") and message in captured.err, captured.err
        assert captured.err.strip().count("\n") == 0, captured.err
    assert not (tmp_path / "out").exists()


def test_bad_format_is_a_usage_error(tmp_path, capsys, tiny_generator_path):
    with pytest.raises(SystemExit) as error:
        main(["export", "--model", str(tiny_generator_path), "-o", str(tmp_path), "--format", "tflite"])
    assert error.value.code == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err


def test_onnx_export_without_tensorflow(tmp_path, tiny_generator_path):
    """`--format onnx` on torch with TensorFlow and tf2onnx hidden: Keras' own exporter.

    (From JAX the same export runs in a torch-backend subprocess: tests/export/test_export.py's
    `test_onnx_export` takes that route in the JAX session.)
    """
    backend = keras.backend.backend()
    if backend != "torch":
        pytest.skip("Keras' ONNX export runs on torch: this test runs in the torch session")
    missing = [
        name for name in (*missing_keras_onnx_packages(), "onnxruntime") if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.skip(f"Keras' ONNX export needs {', '.join(missing)} (not installed here)")
    import onnxruntime

    # TensorFlow hidden as if not installed: `import` fails and `find_spec` answers None (torch
    # asks it at import; tests/blocked_imports' finder raises there instead).
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules.update(tensorflow=None, tf2onnx=None)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    paths = [str(hide), str(ROOT), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    command = [sys.executable, "-m", "keras_nted", "--backend", backend, "export", "--model", str(tiny_generator_path),
               "-o", str(tmp_path / "models"), "--format", "onnx"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Exporting {tiny_generator_path} ..." in result.stdout
    version = tmp_path / "models" / "1"
    assert sorted(p.name for p in version.iterdir()) == ["generate_from_skeleton.onnx", "model.onnx"]
    env["KERAS_BACKEND"] = backend
    probe = [
        sys.executable,
        "-c",
        "import keras_nted.export, sys; print('tensorflow' in sys.modules and sys.modules['tensorflow'])",
    ]
    assert subprocess.run(probe, env=env, capture_output=True, text=True).stdout.strip() == "None"  # still hidden

    generator = keras.saving.load_model(tiny_generator_path)
    rng = np.random.default_rng(0)
    reference = rng.uniform(-1.0, 1.0, (2, 64, 44, 3)).astype("float32")
    skeleton = rng.uniform(0.0, 1.0, (2, 64, 44, 20)).astype("float32")
    session = onnxruntime.InferenceSession(str(version / "generate_from_skeleton.onnx"))
    (image,) = session.run(["image"], {"reference_image": reference, "skeleton": skeleton})
    expected = keras.ops.convert_to_numpy(generator.predict_on_batch([reference, skeleton])["image"])
    np.testing.assert_allclose(image, expected, atol=1e-4)
