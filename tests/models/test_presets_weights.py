"""Presets with weights: the shipped mannequin preset, `save_to_preset` / `from_preset` round trips, handles."""

import json
import pathlib

import keras
import numpy as np
import pytest

from keras_nted.models import DEFAULT_PRESET
from keras_nted.models import NTEDGAN
from keras_nted.models import PRESETS
from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from keras_nted.models import list_presets
from keras_nted.models.preset_io import builtin_weights_path
from keras_nted.version import __version__
from tests.helpers import to_numpy

REPO = pathlib.Path(__file__).resolve().parents[2]


def tiny_inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    reference = rng.uniform(-1, 1, (batch, 64, 44, 3)).astype("float32")
    skeleton = rng.uniform(0, 1, (batch, 64, 44, 20)).astype("float32")
    return [reference, skeleton]


def image(generator, inputs):
    return to_numpy(generator(inputs)["image"])


def test_mannequin_preset_equals_the_shipped_keras_file():
    inputs = tiny_inputs()
    expected = image(keras.saving.load_model(REPO / "saved_models" / "nted_mannequin_64.keras", safe_mode=True), inputs)
    generator = NTEDGenerator.from_preset("nted_mannequin_64")
    np.testing.assert_array_equal(image(generator, inputs), expected)
    # The weights come from the preset: without them the same config gives another picture.
    random = NTEDGenerator.from_preset("nted_mannequin_64", load_weights=False)
    assert np.max(np.abs(image(random, inputs) - expected)) > 0.1


def test_shipped_model_is_package_data_and_the_repository_file_links_to_it():
    path = builtin_weights_path(DEFAULT_PRESET)
    assert path.is_file() and path.suffix == ".keras"
    assert (REPO / "keras_nted") in path.parents
    assert (REPO / "saved_models" / "nted_mannequin_64.keras").resolve() == path.resolve()


def test_list_presets_says_which_presets_have_weights():
    presets = list_presets()
    assert list(presets) == sorted(PRESETS)
    assert {name for name, p in presets.items() if p["weights"]} == {"nted_mannequin_64"}
    assert presets["nted_mannequin_64"]["image_size"] == (64, 44)
    assert NTEDGenerator.presets == presets
    assert NTEDGAN.presets == presets
    # The bundled file is a generator: the discriminator of that preset has no weights.
    assert not NTEDDiscriminator.presets["nted_mannequin_64"]["weights"]
    with pytest.raises(ValueError, match="section"):
        list_presets("trainer")


def test_config_only_presets_build_with_load_weights():
    generator = NTEDGenerator.from_preset("nted_tiny", load_weights=True, name="g")
    assert generator.name == "g" and generator.image_size == (64, 44)


def test_generator_round_trip_through_a_preset_directory(tmp_path):
    inputs = tiny_inputs()
    generator = NTEDGenerator.from_preset("nted_tiny", name="tiny_generator")
    expected = image(generator, inputs)
    directory = generator.save_to_preset(tmp_path / "preset")
    assert sorted(p.name for p in directory.iterdir()) == [
        "README.md", "config.json", "metadata.json", "model.weights.h5",
    ]  # fmt: skip
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["keras_nted_version"] == __version__
    assert metadata["class_name"] == "NTEDGenerator"
    assert metadata["parameter_count"] == generator.count_params()
    assert "backend" not in json.dumps(metadata)  # the files are backend-agnostic
    assert "NTEDGenerator.from_preset" in (directory / "README.md").read_text()

    loaded = NTEDGenerator.from_preset(str(directory))
    assert loaded.name == "tiny_generator"
    np.testing.assert_array_equal(image(loaded, inputs), expected)
    # Keras reads the directory too (its own unzipped format).
    np.testing.assert_array_equal(image(keras.saving.load_model(directory), inputs), expected)
    # Overrides replace saved constructor arguments; load_weights=False keeps only the config.
    assert NTEDGenerator.from_preset(directory, name="renamed").name == "renamed"
    fresh = NTEDGenerator.from_preset(directory, load_weights=False)
    assert fresh.count_params() == generator.count_params()
    assert np.max(np.abs(image(fresh, inputs) - expected)) > 0


def test_discriminator_round_trip(tmp_path):
    discriminator = NTEDDiscriminator.from_preset("nted_tiny")
    images = tiny_inputs()[0]
    expected = to_numpy(discriminator(images))
    discriminator.save_to_preset(tmp_path)
    np.testing.assert_array_equal(to_numpy(NTEDDiscriminator.from_preset(tmp_path)(images)), expected)


def test_gan_preset_carries_the_trained_generator_and_round_trips(tmp_path):
    inputs = tiny_inputs()
    shipped = image(NTEDGenerator.from_preset("nted_mannequin_64"), inputs)
    gan = NTEDGAN.from_preset("nted_mannequin_64", vgg_weights="none")
    np.testing.assert_array_equal(image(gan.generator, inputs), shipped)
    np.testing.assert_array_equal(image(gan.ema_generator, inputs), shipped)

    gan.save_to_preset(tmp_path)
    loaded = NTEDGAN.from_preset(tmp_path)
    np.testing.assert_array_equal(image(loaded.ema_generator, inputs), shipped)
    for a, b in zip(loaded.discriminator.get_weights(), gan.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.training_defaults == gan.training_defaults
    # A saved preset holds its loss networks and image size: asking to change them is an error, not a no-op.
    with pytest.raises(ValueError, match="Expected no vgg_weights, face_loss with a saved preset"):
        NTEDGAN.from_preset(tmp_path, vgg_weights="none", face_loss=False)


def test_a_preset_of_another_class_is_refused(tmp_path):
    NTEDGenerator.from_preset("nted_tiny").save_to_preset(tmp_path)
    with pytest.raises(ValueError, match="preset of NTEDDiscriminator. Received: class_name='NTEDGenerator'"):
        NTEDDiscriminator.from_preset(tmp_path)


def test_a_directory_without_weights_is_refused(tmp_path):
    NTEDGenerator.from_preset("nted_tiny").save_to_preset(tmp_path)
    (tmp_path / "model.weights.h5").unlink()
    with pytest.raises(FileNotFoundError, match="model.weights.h5"):
        NTEDGenerator.from_preset(tmp_path)
    assert NTEDGenerator.from_preset(tmp_path, load_weights=False).image_size == (64, 44)


@pytest.mark.parametrize(
    "preset, message",
    [
        ("nted_fashion", "Unknown preset 'nted_fashion'. Expected a built-in name"),
        ("kaggle://keras/nted/keras/mannequin", "resolves only hf:// handles.*kaggle://keras/nted"),
        ("s3://bucket/preset", "Received: preset='s3://bucket/preset'"),
        (42, "Received: preset=42"),
    ],
)
def test_unknown_presets_are_named(preset, message):
    with pytest.raises(ValueError, match=message):
        NTEDGenerator.from_preset(preset)


def test_a_file_is_not_a_preset(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="Expected a preset directory"):
        NTEDGenerator.from_preset(str(path))


def test_an_hf_handle_goes_to_keras_and_fails_offline_naming_it(monkeypatch):
    # No network here: Keras' own resolution fails (no huggingface_hub, or no connection).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="Could not resolve the preset handle 'hf://keras-nted/no-such-preset'"):
        NTEDGenerator.from_preset("hf://keras-nted/no-such-preset")
