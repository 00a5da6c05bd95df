"""The install users make: a built wheel in a fresh virtual environment with JAX alone runs `keras-nted demo`.

Cost (2-core CPU, pip's cache warm): wheel 3 s, install about 10 s (35 s cold), demo 20 s.
"""

import importlib.metadata
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import keras
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
# What the wheel is built from: the package and the files pyproject.toml names (not the
# checkout, whose .venv, build/ and egg-info a build would otherwise read or write).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "keras_nted")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        keras.backend.backend() != "jax",
        reason="runs in the JAX pass only: the wheel is installed with JAX alone, whatever the runner's backend",
    ),
]


def ci_pins(*names):
    """`name==version` lines of requirements-ci.txt, so the fresh venv resolves the versions CI tests."""
    lines = (REPO / "requirements-ci.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip().split("==")[0] in names]


def setuptools_version():
    try:
        return tuple(int(part) for part in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return ()


def clean_env(**extra):
    """The environment without this checkout on `PYTHONPATH` (pip and the venv would see its package)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return dict(env, **extra)


def run(command, cwd, **extra_env):
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=clean_env(**extra_env))
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    # The test environment's setuptools where it is recent enough (pyproject.toml asks >= 77): no download.
    isolation = ["--no-build-isolation"] if setuptools_version() >= (77,) else []
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), "."], source)
    (path,) = out.glob("keras_nted-*.whl")
    return path


def test_wheel_holds_the_license_and_the_shipped_model(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_nted/models/preset_files/nted_mannequin_64.keras" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Provides-Extra: yaml" in metadata


def test_fresh_venv_with_jax_only_runs_the_demo(wheel, tmp_path):
    venv = tmp_path / "venv"
    # A venv without pip of its own; the test environment's pip installs into it (`--python`).
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
         f"{wheel}[jax]", *ci_pins("keras", "jax")],
        tmp_path,
    )  # fmt: skip
    probe = "import importlib.util as u; print([m for m in ('tensorflow', 'torch', 'keras_nted') if u.find_spec(m)])"
    assert run([str(python), "-c", probe], tmp_path).stdout.strip() == "['keras_nted']"
    env = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = run([str(venv / "bin" / "keras-nted"), "demo", "-o", "demo_output"], tmp_path, **env)
    # The model came from the installed package, not from a checkout.
    assert f"model: {venv}" in result.stdout and "site-packages" in result.stdout
    for name in ("results.png", "ground_truth.png", "attention.png"):
        picture = tmp_path / "demo_output" / name
        assert picture.is_file() and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
