"""Model files: obtained through pip and verified, and one-line errors when they are not there."""

import os
import shutil
import sys
import zipfile

import pytest

from keras_nted.pose import model_files
from keras_nted.pose.model_files import MODEL_FILES


def test_obtained_files_are_the_released_ones(model_dir):
    paths = model_files.find_model_files(model_dir)
    assert sorted(paths) == ["pose_detection.tflite", "pose_landmark_full.tflite"]
    for name, (_, expected) in MODEL_FILES.items():
        assert model_files.sha256(paths[name]) == expected


def test_missing_files_say_how_to_obtain_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pose_detection.tflite, pose_landmark_full.tflite not found in .*"
                       r"keras-nted pose --get-models"):  # fmt: skip
        model_files.find_model_files(tmp_path)


def test_default_folder_is_in_the_keras_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert model_files.default_model_dir() == tmp_path / "models" / "blazepose-0.10.21"
    with pytest.raises(FileNotFoundError, match="--get-models"):
        model_files.find_model_files()


def test_a_changed_file_is_refused(model_dir, tmp_path):
    for name in MODEL_FILES:
        shutil.copy(model_dir / name, tmp_path / name)
    with open(tmp_path / "pose_landmark_full.tflite", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="pose_landmark_full.tflite is not the mediapipe 0.10.21 model"):
        model_files.find_model_files(tmp_path)


def _wheel(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for member, source in files.items():
            archive.write(source, member)
    return path


def test_files_are_taken_from_a_wheel_and_checked(model_dir, tmp_path):
    members = {member: model_dir / name for name, (member, _) in MODEL_FILES.items()}
    wheel = _wheel(tmp_path / "mediapipe-0.10.21-py3-none-any.whl", members)
    paths = model_files.obtain_model_files(tmp_path / "models", wheel=wheel)
    assert paths["pose_detection.tflite"] == tmp_path / "models" / "pose_detection.tflite"
    assert (tmp_path / "models" / "pose_landmark_full.tflite").read_bytes() == (
        model_dir / "pose_landmark_full.tflite"
    ).read_bytes()
    assert sorted(os.listdir(tmp_path / "models")) == sorted(MODEL_FILES)  # no temporary left


def test_a_wrong_wheel_leaves_nothing(model_dir, tmp_path):
    member = MODEL_FILES["pose_detection.tflite"][0]
    swapped = _wheel(
        tmp_path / "swapped.whl",
        {
            member: model_dir / "pose_landmark_full.tflite",
            MODEL_FILES["pose_landmark_full.tflite"][0]: model_dir / "pose_landmark_full.tflite",
        },
    )
    with pytest.raises(ValueError, match="does not have the expected SHA-256"):
        model_files.extract_model_files(swapped, tmp_path / "a")
    assert os.listdir(tmp_path / "a") == []
    with pytest.raises(ValueError, match="has no mediapipe/modules/pose_detection"):
        model_files.extract_model_files(_wheel(tmp_path / "empty.whl", {}), tmp_path / "b")
    (tmp_path / "text.whl").write_text("not a zip")
    with pytest.raises(ValueError, match="is not a wheel"):
        model_files.extract_model_files(tmp_path / "text.whl", tmp_path / "c")


def test_offline_download_fails_with_advice(tmp_path, monkeypatch):
    # No index and an empty find-links folder: pip cannot find the wheel, as offline.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    with pytest.raises(OSError, match=r"Could not download the mediapipe==0.10.21 wheel .*--wheel.*--models"):
        model_files.obtain_model_files(tmp_path / "models")
    assert not (tmp_path / "models" / "pose_detection.tflite").exists()


def test_missing_interpreter_says_what_to_install(monkeypatch, model_dir):
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ImportError, match=r"pip install 'keras-nted\[pose\]'"):
        model_files.load_interpreter(model_dir / "pose_detection.tflite")
