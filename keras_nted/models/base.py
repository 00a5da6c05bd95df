"""What the generator and the discriminator share: a config of constructor arguments, presets, sizes."""

import math

import keras

from keras_nted.models import preset_io


def log2_size(size):
    """`log2(size)` of an image height `size`: a power of two >= 32, else a `ValueError`."""
    if not isinstance(size, int) or size < 32 or size & (size - 1):
        raise ValueError(f"Expected `size` to be a power of two >= 32. Received: size={size!r}")
    return int(math.log2(size))


def default_width(height):
    """The DeepFashion aspect ratio: `width = height * 11 / 16`."""
    return height * 11 // 16


# The keyword arguments a functional `keras.Model` of ours takes besides its own.
KERAS_MODEL_ARGS = ("name", "dtype", "trainable")


class PresetNetwork:
    """Mixin of the functional `keras.Model`s built from one section of a preset.

    A subclass names its preset section (`preset_section`) and the constructor arguments it
    keeps as attributes of the same name (`config_args`); `get_config` returns them (dicts
    keyed by resolution get string keys, as JSON needs) with `name`, `trainable` and the
    dtype policy, and `from_config` is `cls(**config)`.
    """

    preset_section = None
    config_args = ()
    presets = preset_io.PresetListing()

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        for arg in self.config_args:
            value = getattr(self, arg)
            config[arg] = {str(k): v for k, v in value.items()} if isinstance(value, dict) else value
        config["dtype"] = keras.saving.serialize_keras_object(self.dtype_policy)
        return config

    def clone(self, name=None):
        """A new network of the same architecture, dtype policy and weights (e.g. an EMA copy).

        Built from the constructor arguments directly, not through `get_config`: Keras'
        serializer imports TensorFlow whenever it is installed (0.41 GB of a JAX process).
        """
        kwargs = {arg: getattr(self, arg) for arg in self.config_args}
        copy = type(self)(**kwargs, dtype=self.dtype_policy, name=name or f"{self.name}_clone")
        copy.set_weights(self.get_weights())
        return copy

    def get_compile_config(self):
        config = super().get_compile_config()
        # `jit_compile` means another compiler on another backend. An uncompiled model's config
        # stays empty: Keras compiles a loaded model (default optimizer, a warning about its
        # missing variables) whenever the saved compile config is not.
        if config:
            config["backend"] = keras.backend.backend()
        return config

    def compile_from_config(self, config):
        """`compile` as saved, but `jit_compile=True` saved on another backend is `"auto"` here.

        Keras saves `"auto"` as it resolved it (`True` on JAX), and `True` on torch is
        `torch.compile`: minutes of the first `predict`, not what the saver chose.
        """
        config = dict(config)
        if config.pop("backend", None) != keras.backend.backend() and config.get("jit_compile") is True:
            config["jit_compile"] = "auto"
        if config:  # an uncompiled model saved before the fix above: the backend alone, nothing to compile
            super().compile_from_config(config)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, image_width=None, load_weights=True, **kwargs):
        """Build from a preset: a built-in name, a `save_to_preset` directory or an `hf://` handle.

        Built-in names (`keras_nted.models.list_presets()`): `nted_mannequin_64` has trained
        generator weights, bundled with the package; `nted_tiny`, `nted_fashion_256` and
        `nted_fashion_512` are configs only, so the model gets random weights and
        `load_weights` has nothing to load (the released weights come from
        `keras-nted convert`). A directory or handle gives both config and weights.

        Args:
            preset: a built-in name, a directory written by `save_to_preset`, or a handle
                that Keras resolves (`hf://owner/name`; needs `huggingface_hub` and a network).
            image_width: input width (default `size * 11 / 16`); for a directory or handle,
                `None` keeps the saved width.
            load_weights: load the preset's weights where it has some; `False`: the config
                only, with random weights.
            **kwargs: constructor arguments that replace the preset's (`name`, `dtype`, ...).

        Raises:
            ValueError: for an unknown name, a directory not holding this class, a handle
                that cannot be resolved (offline, say), naming it.

        Example:
        >>> generator = NTEDGenerator.from_preset("nted_mannequin_64")
        >>> generator.save_to_preset("/tmp/my_preset")  # doctest: +SKIP
        >>> NTEDGenerator.from_preset("/tmp/my_preset")  # doctest: +SKIP
        """
        overrides = dict(kwargs, **({} if image_width is None else {"image_width": image_width}))

        def build(config):
            return cls(**config[cls.preset_section], image_width=image_width, **kwargs)

        return preset_io.from_preset(cls, preset, load_weights, build, overrides)

    def save_to_preset(self, preset_dir):
        """Write config, weights, metadata and a model card (`README.md`) to the directory `preset_dir`.

        `from_preset(preset_dir)` reads it back on any backend, and so does
        `keras.saving.load_model(preset_dir)`.

        Returns:
            The directory, as a `pathlib.Path`.

        Example:
        >>> NTEDGenerator.from_preset("nted_tiny").save_to_preset("/tmp/nted_tiny")  # doctest: +SKIP
        """
        return preset_io.save_preset(self, preset_dir)
