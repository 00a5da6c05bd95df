"""`keras-nted export`: TF Serving layout, versions, one-line errors, nothing overwritten."""

import importlib.util

import pytest

from keras_nted.cli import main
from keras_nted.export import existing_versions


def _run(capsys, *args):
    code = main(["export", *map(str, args)])
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
    if any(importlib.util.find_spec(name) is None for name in ("tf2onnx", "onnx")):
        onnx = (tiny_generator_path, tmp_path / "out", "--format", "onnx")
        cases.append((onnx, "needs the packages tf2onnx and onnx"))
    for args, message in cases:
        code, captured = _run(capsys, *args)
        assert code == 2, args
        assert captured.err.startswith("keras-nted export: error: ") and message in captured.err, captured.err
        assert captured.err.strip().count("\n") == 0, captured.err
    assert not (tmp_path / "out").exists()


def test_bad_format_is_a_usage_error(tmp_path, capsys, tiny_generator_path):
    with pytest.raises(SystemExit) as error:
        main(["export", str(tiny_generator_path), str(tmp_path), "--format", "tflite"])
    assert error.value.code == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
