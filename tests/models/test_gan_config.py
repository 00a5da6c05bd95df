"""keras_nted.models.gan_config: an NTEDGAN's constructor arguments from a model config, and its saved configs."""

import keras

from keras_nted.models import PRESETS
from keras_nted.models.gan_config import deserialized
from keras_nted.models.gan_config import model_config_arguments
from keras_nted.models.gan_config import serialized


def test_model_config_arguments_without_loss_networks():
    config = {**PRESETS["nted_tiny"], "training": {"weight_gan": 0.5, "style_weight": 250.0}}
    arguments = model_config_arguments(config, vgg_weights="none", image_width=40)
    assert (arguments["perceptual_loss"], arguments["face_loss"]) == (None, None)
    assert arguments["generator"].image_size == (64, 40)
    assert tuple(arguments["discriminator"].inputs[0].shape[1:3]) == (64, 40)
    assert arguments["training_defaults"] == {"weight_gan": 0.5}  # the loss networks' settings are not compile's


def test_serialized_objects_come_back_and_none_stays_none():
    config = {"name": "gan", **serialized({"layer": keras.layers.Dense(3, name="d"), "face_loss": None})}
    assert config["face_loss"] is None and isinstance(config["layer"], dict)
    back = deserialized(config, ("layer", "face_loss", "absent"))
    assert back["name"] == "gan" and back["face_loss"] is None
    assert isinstance(back["layer"], keras.layers.Dense) and back["layer"].units == 3
