"""What the generator and the discriminator share: a config of constructor arguments, presets, sizes."""

import math

import keras

from keras_nted.models.presets import get_preset


def log2_size(size):
    """`log2(size)` of an image height `size`: a power of two >= 32, else a `ValueError`."""
    if not isinstance(size, int) or size < 32 or size & (size - 1):
        raise ValueError(f"Expected `size` to be a power of two >= 32. Received: size={size!r}")
    return int(math.log2(size))


def default_width(height):
    """The DeepFashion aspect ratio: `width = height * 11 / 16`."""
    return height * 11 // 16


class PresetNetwork:
    """Mixin of the functional `keras.Model`s built from one section of a preset.

    A subclass names its preset section (`preset_section`) and the constructor arguments it
    keeps as attributes of the same name (`config_args`); `get_config` returns them (dicts
    keyed by resolution get string keys, as JSON needs) with `name`, `trainable` and the
    dtype policy, and `from_config` is `cls(**config)`.
    """

    preset_section = None
    config_args = ()

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        for arg in self.config_args:
            value = getattr(self, arg)
            config[arg] = {str(k): v for k, v in value.items()} if isinstance(value, dict) else value
        config["dtype"] = keras.saving.serialize_keras_object(self.dtype_policy)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, image_width=None, **kwargs):
        """Build from a preset name (`nted_tiny`, `nted_fashion_256`, `nted_fashion_512`, ...)."""
        config = get_preset(preset)[cls.preset_section]
        return cls(**config, image_width=image_width, **kwargs)
