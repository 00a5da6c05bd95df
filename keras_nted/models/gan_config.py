"""How an `NTEDGAN` is built from a model config and saved: its loss networks, config and compile config."""

import keras

from keras_nted.losses.face import FaceLoss
from keras_nted.losses.perceptual import PerceptualLoss
from keras_nted.losses.perceptual import check_vgg_weights
from keras_nted.models.discriminator import NTEDDiscriminator
from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.loss_settings import DEFAULT_TRAINING
from keras_nted.models.loss_settings import TRAINING_KEYS
from keras_nted.utils.validation import check_keywords

# The Keras objects of an `NTEDGAN`'s config and of its compile config, saved serialized.
NETWORKS = ("generator", "discriminator", "perceptual_loss", "face_loss", "ema_generator")
OPTIMIZERS = ("generator_optimizer", "discriminator_optimizer")


def loss_networks(training, vgg_weights, face_loss=True):
    """The perceptual and face losses of a preset's `training` dict, or `(None, None)`.

    Args:
        training: a preset's `training` dict (`vgg_num_scales`, `style_weight`).
        vgg_weights: `"imagenet"`, a local VGG19 `.h5` / `.pth` file, `"random"` (random
            VGG19 weights: benchmarks and tests), or `"none"`: no loss network (then
            `NTEDGAN.compile` makes plain L1 the reconstruction term).
        face_loss: include the face loss.

    Returns:
        `(perceptual_loss, face_loss)`: a `PerceptualLoss` and a `FaceLoss` (or `None`).
    """
    if check_vgg_weights(vgg_weights) == "none":
        return None, None
    perceptual = PerceptualLoss(
        num_scales=training.get("vgg_num_scales", 1), style_weight=training.get("style_weight", 500.0),
        weights=vgg_weights, name="perceptual_loss",
    )  # fmt: skip
    return perceptual, (FaceLoss(weights=vgg_weights, name="face_loss") if face_loss else None)


def model_config_arguments(config, vgg_weights="imagenet", image_width=None, face_loss=True):
    """The `NTEDGAN` constructor's arguments for a model config in the preset form (a dict).

    `config` holds `generator`, `discriminator` and optionally `training` (see
    `NTEDGAN.from_model_config`).
    """
    training = check_keywords("the `training` section", config.get("training") or {}, TRAINING_KEYS)
    # In this order: each draws its initial weights from Keras' global random state.
    generator = NTEDGenerator(**config["generator"], image_width=image_width, name="generator")
    discriminator = NTEDDiscriminator(**config["discriminator"], image_width=image_width, name="discriminator")
    perceptual, face = loss_networks(training, vgg_weights, face_loss)
    return {
        "generator": generator,
        "discriminator": discriminator,
        "perceptual_loss": perceptual,
        "face_loss": face,
        "training_defaults": {k: training[k] for k in DEFAULT_TRAINING if k in training},
    }


def serialized(objects):
    """`objects` (a dict of Keras objects) serialized for a config; `None` stays `None`."""
    return {key: keras.saving.serialize_keras_object(value) for key, value in objects.items()}


def deserialized(config, keys, custom_objects=None):
    """`config` with the entries of `keys` that it holds (and that are not `None`) deserialized."""
    return {
        key: value
        if key not in keys or value is None
        else keras.saving.deserialize_keras_object(value, custom_objects=custom_objects)
        for key, value in config.items()
    }
