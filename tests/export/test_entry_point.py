"""`python -m keras_nted.export`: the export subprocess's entry point reports its outcome as JSON."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

from keras_nted.models import NTEDGenerator

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="exporting needs TensorFlow")


def _run(tmp_path, *args):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    outcome = tmp_path / "outcome.json"
    command = [sys.executable, "-m", "keras_nted.export", *map(str, args), "--outcome", str(outcome)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    return result, json.loads(outcome.read_text())


def test_success_and_errors_are_reported_as_json(tmp_path):
    model = tmp_path / "tiny.keras"
    NTEDGenerator.from_preset("nted_tiny", name="generator").save(model)
    result, outcome = _run(tmp_path, model, tmp_path / "models", "--version", 7)
    assert result.returncode == 0, result.stderr[-3000:]
    assert outcome == {"path": str(tmp_path / "models" / "7")}
    assert (tmp_path / "models" / "7" / "saved_model.pb").is_file()

    result, outcome = _run(tmp_path, model, tmp_path / "models", "--version", 7)
    assert result.returncode == 1
    assert outcome["error"]["type"] == "FileExistsError"
    assert "Export version 7 already exists" in outcome["error"]["message"]
