"""`keras_nted.models.config`: configurations from presets and files, in the preset form."""

import json

import pytest

from keras_nted.models.config import load_config
from keras_nted.models.config import preset_form
from keras_nted.models.config import released_part

RELEASED = {
    "gen": {"param": {"size": 64, "channels": {"16": 32, "32": 16}, "num_labels": {"16": 4}}},
    "dis": {"param": {"channels": {16: 32}}},
    "trainer": {"loss_weight": {"weight_perceptual": 1.0}},
}


def test_released_part_reads_the_param_section():
    assert released_part(RELEASED, "generator")["size"] == 64
    assert released_part({"size": 32}, "discriminator") == {"size": 32}  # a bare param dict
    assert released_part({"gen": {"size": 16}}, "generator") == {"size": 16}  # a section without `param`
    with pytest.raises(ValueError, match=r"Expected `gen` to be a mapping .* Received: gen=\[1\]"):
        released_part({"gen": [1]}, "generator")
    with pytest.raises(ValueError, match=r"Expected `dis.param` to be a mapping. Received: dis.param='x'"):
        released_part({"dis": {"param": "x"}}, "discriminator")


def test_preset_form_translates_the_released_form():
    form = preset_form(json.loads(json.dumps(RELEASED)))
    assert set(form) == {"generator", "discriminator", "training"} and form["training"] == {}
    assert form["discriminator"] == {"channels": {"16": 32}}
    assert preset_form({"gen": {"param": {"size": 8}}})["discriminator"] == {}
    with pytest.raises(ValueError, match="Expected my.yaml to hold `generator` and `discriminator`"):
        preset_form({"model": {}}, "my.yaml")


def test_load_config_of_a_released_file(tmp_path):
    path = tmp_path / "released.json"
    path.write_text(json.dumps(RELEASED))
    config = load_config(config_path=path)
    assert config["image_size"] == (64, 44) and config["training"] == {}
    assert config["generator"]["channels"] == {16: 32, 32: 16} and config["generator"]["num_labels"] == {16: 4}
    assert config["discriminator"] == {"channels": {16: 32}, "size": 64, "is_square_image": False}
    path.write_text(json.dumps({"gen": {"param": {"size": 64}}}))
    with pytest.raises(ValueError, match="Expected a `discriminator` section"):
        load_config(config_path=path)
    path.write_text(json.dumps({"gen": {"param": {"size": 8, "channels": {"x": 1}}}, "dis": {"param": {"size": 8}}}))
    with pytest.raises(ValueError, match="Expected integer resolutions as keys of `generator.channels`"):
        load_config(config_path=path)


def test_load_config_of_a_preset_form_file_and_a_preset(tmp_path):
    path = tmp_path / "preset.json"
    form = {"generator": {"size": 128}, "discriminator": {"channels": {}}, "image_size": [128, 96]}
    path.write_text(json.dumps(form))
    assert load_config(config_path=path)["image_size"] == (128, 96)
    tiny = load_config()  # nted_tiny by default
    assert tiny == load_config("nted_tiny") and tiny["image_size"] == (64, 44)
    assert all(isinstance(k, int) for k in tiny["discriminator"]["channels"])
