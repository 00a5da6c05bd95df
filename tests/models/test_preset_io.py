"""`keras_nted.models.preset_io`: what `from_preset` accepts, and the KerasHub-style preset directory."""

import json

import keras
import numpy as np
import pytest

from keras_nted.models import preset_io
from tests.helpers import to_numpy


def test_preset_kinds(tmp_path):
    assert preset_io.preset_kind("nted_tiny") == "builtin"
    assert preset_io.preset_kind("hf://owner/name") == "handle"
    assert preset_io.preset_kind(tmp_path) == "directory"
    (tmp_path / "model.keras").write_text("")
    for preset, message in [
        ("kaggle://owner/model", "resolves only hf:// handles"),
        (str(tmp_path / "model.keras"), "Expected a preset directory (written by save_to_preset). Received a file"),
        ("nted_tinny", "Unknown preset 'nted_tinny'. Expected a built-in name (nted_"),
        ("", "Expected a preset name, directory or handle. Received: preset=''"),
        (None, "Received: preset=None"),
    ]:
        with pytest.raises(ValueError) as info:
            preset_io.preset_kind(preset)
        assert message in str(info.value)


def test_list_presets_sections():
    whole, discriminator = preset_io.list_presets(), preset_io.list_presets("discriminator")
    assert list(whole) == sorted(whole) and "nted_tiny" in whole
    assert whole["nted_tiny"]["image_size"] == (64, 44) and not whole["nted_tiny"]["weights"]
    assert whole["nted_mannequin_64"]["weights"] and not discriminator["nted_mannequin_64"]["weights"]
    assert preset_io.builtin_weights_path("nted_mannequin_64").is_file()
    assert preset_io.builtin_weights_path("nted_tiny") is None
    with pytest.raises(ValueError, match="Received: section='gan'"):
        preset_io.list_presets("gan")


def test_build_options_are_refused_for_saved_presets_only(tmp_path):
    preset_io.refuse_build_options("nted_tiny", image_size=True)
    preset_io.refuse_build_options(tmp_path, image_size=False)
    with pytest.raises(ValueError, match="Expected no image_size, vgg_weights with a saved preset"):
        preset_io.refuse_build_options(tmp_path, image_size=True, vgg_weights=True, face_weights=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    inputs = keras.Input((4, 6, 3))
    model = keras.Sequential([inputs, keras.layers.Conv2D(2, 3, padding="same", name="conv")], name="tiny_model")
    directory = preset_io.save_preset(model, tmp_path_factory.mktemp("preset") / "tiny", description="A test.")
    return model, directory


def test_save_preset_writes_kerashub_files(saved):
    model, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == [
        "README.md",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["class_name"] == "Sequential" and metadata["parameter_count"] == model.count_params() == 56
    assert json.loads((directory / "config.json").read_text())["compile_config"] is None
    card = (directory / "README.md").read_text()
    assert card.startswith("# tiny_model") and "| image size | 4 x 6 |" in card and "A test." in card


def test_load_directory_round_trip_and_errors(saved, tmp_path):
    model, directory = saved
    x = np.random.default_rng(0).uniform(-1, 1, (1, 4, 6, 3)).astype("float32")
    loaded = preset_io.load_directory(keras.Sequential, directory)
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))
    fresh = preset_io.load_directory(keras.Sequential, directory, load_weights=False)
    assert not np.array_equal(to_numpy(fresh(x)), to_numpy(model(x)))

    class Other(keras.Model):
        pass

    with pytest.raises(ValueError, match="to hold a preset of Other. Received: class_name='Sequential'"):
        preset_io.load_directory(Other, directory)
    with pytest.raises(FileNotFoundError, match="Expected a preset directory holding config.json. Missing:"):
        preset_io.load_directory(keras.Sequential, tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        preset_io.load_directory(keras.Sequential, tmp_path)
