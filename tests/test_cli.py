import os
import subprocess
import sys

import keras
import pytest

from keras_nted._backend_flag import apply_backend_flag

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_backend_flag_is_read_only_for_the_keras_nted_command(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")  # restored afterwards: the flag may set it
    assert apply_backend_flag(["/usr/bin/keras-nted", "--backend", "jax", "demo"]) == "jax"
    assert os.environ["KERAS_BACKEND"] == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    assert apply_backend_flag(["-m", "--backend=torch", "--version"]) == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    assert apply_backend_flag(["my_script.py", "--backend", "jax"]) is None
    assert apply_backend_flag(["keras-nted", "--backend", "theano"]) is None
    assert "KERAS_BACKEND" not in os.environ


def test_backend_flag_selects_the_backend_before_keras_loads():
    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[keras.backend.backend()]
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-m", "keras_nted", "--backend", other, "--version"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"backend {other}" in result.stdout


def test_unknown_command_and_no_command():
    from keras_nted.cli import main

    assert main([]) == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
