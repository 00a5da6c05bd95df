"""Preset directories, as KerasHub writes them, and what `from_preset` accepts.

A preset is one of three things:

- a built-in name (`keras_nted.models.list_presets()`): a config of `PRESETS`, plus the
  weights bundled with the package where the preset has them (`nted_mannequin_64`);
- a directory that `save_to_preset` wrote: `config.json` (the serialized model, as in a
  `.keras` file), `model.weights.h5`, `metadata.json` and a model card `README.md`. These are
  the file names of KerasHub's presets and of Keras' own unzipped model directory, so
  `keras.saving.load_model(directory)` reads one too;
- a handle that Keras 3 resolves itself: `hf://owner/name` (`keras.saving.load_model` fetches
  it with `huggingface_hub`). Keras 3 resolves no `kaggle://` handle (KerasHub does, with
  `kagglehub`): such a handle is refused with a message saying what to do instead.
"""

import datetime
import json
import pathlib

import keras

from keras_nted.models.presets import PRESETS
from keras_nted.models.presets import get_preset
from keras_nted.version import __version__

CONFIG_FILE = "config.json"
MODEL_WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
# The weights of the built-in presets that have some, shipped inside the package.
PRESET_FILES = pathlib.Path(__file__).resolve().parent / "preset_files"
KERAS_HANDLES = ("hf://",)


def builtin_weights_path(name):
    """The `.keras` file bundled for the built-in preset `name`, or `None` if it has no weights."""
    weights = PRESETS[name].get("weights")
    return None if weights is None else PRESET_FILES / weights


def list_presets(section=None):
    """The built-in presets: `{name: {"description", "image_size", "weights"}}`.

    Args:
        section: `"generator"`, `"discriminator"` or `None` (the whole GAN). `weights` says
            whether `from_preset(name)` of that part loads trained weights.

    Returns:
        A dict keyed by preset name, sorted by name.

    Example:
    >>> list_presets()["nted_mannequin_64"]["weights"]
    True
    >>> list_presets("discriminator")["nted_mannequin_64"]["weights"]
    False
    """
    if section not in (None, "generator", "discriminator"):
        raise ValueError(f"Expected section to be 'generator', 'discriminator' or None. Received: section={section!r}")
    return {
        name: {
            "description": preset["description"],
            "image_size": tuple(preset["image_size"]),
            # The bundled files hold a generator; a GAN loads them into its generator and EMA copy.
            "weights": preset.get("weights") is not None and section != "discriminator",
        }
        for name, preset in sorted(PRESETS.items())
    }


class PresetListing:
    """The class attribute `presets` (as KerasHub's): `list_presets` of the class's preset section."""

    def __get__(self, instance, owner):
        return list_presets(getattr(owner, "preset_section", None))


def preset_kind(preset):
    """`"builtin"`, `"directory"` or `"handle"`, else a `ValueError` naming `preset`."""
    if isinstance(preset, pathlib.Path):
        preset = str(preset)
    if not isinstance(preset, str) or not preset:
        raise ValueError(f"Expected a preset name, directory or handle. Received: preset={preset!r}")
    if preset in PRESETS:
        return "builtin"
    if preset.startswith(KERAS_HANDLES):
        return "handle"
    if "://" in preset:
        raise ValueError(
            f"Keras {keras.__version__} resolves only {', '.join(KERAS_HANDLES)} handles (KerasHub resolves "
            "kaggle:// ones with kagglehub): download the preset directory and pass its path. "
            f"Received: preset={preset!r}"
        )
    if pathlib.Path(preset).is_dir():
        return "directory"
    if pathlib.Path(preset).exists():
        raise ValueError(f"Expected a preset directory (written by save_to_preset). Received a file: preset={preset!r}")
    raise ValueError(
        f"Unknown preset {preset!r}. Expected a built-in name ({', '.join(sorted(PRESETS))}), a directory "
        f"written by save_to_preset, or a handle ({', '.join(KERAS_HANDLES)}...)."
    )


def refuse_build_options(preset, **changed):
    """A `ValueError` when a saved preset (directory or handle) is asked to change what it holds.

    `changed` maps each build option's name to whether the caller gave a non-default value.
    """
    names = ", ".join(name for name, value in changed.items() if value)
    if names and preset_kind(preset) != "builtin":
        raise ValueError(
            f"Expected no {names} with a saved preset (it holds its own loss networks and image size). "
            f"Received: preset={preset!r} with {names}"
        )


def read_json(path):
    """A JSON file of a preset directory, with one-line errors."""
    if not path.is_file():
        raise FileNotFoundError(f"Expected a preset directory holding {path.name}. Missing: {path}")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None


def check_class(cls, config, source):
    """A `ValueError` unless the serialized `config` is of `cls` (or a subclass)."""
    name = config.get("class_name") if isinstance(config, dict) else None
    expected = {c.__name__ for c in cls.__mro__}
    if name not in expected:
        raise ValueError(f"Expected {source} to hold a preset of {cls.__name__}. Received: class_name={name!r}")


def without_weight_downloads(config):
    """`config` with the loss networks' weight sources off: the preset's weight file holds them."""
    inner = config["config"]
    for key in ("perceptual_loss", "face_loss"):
        if isinstance(inner.get(key), dict):
            inner[key]["config"]["weights"] = None
    return config


def load_directory(cls, directory, load_weights=True, overrides=None):
    """A `cls` from a directory that `save_preset` wrote (overrides update its constructor arguments)."""
    directory = pathlib.Path(directory)
    config = read_json(directory / CONFIG_FILE)
    check_class(cls, config, directory)
    metadata = read_json(directory / METADATA_FILE)
    if not isinstance(metadata, dict):
        raise ValueError(f"Expected {directory / METADATA_FILE} to hold a JSON object. Received: {metadata!r}")
    config = dict(config, compile_config=None)
    config["config"] = dict(config["config"], **(overrides or {}))
    if load_weights and "perceptual_loss" in config["config"]:
        config = without_weight_downloads(config)
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if load_weights:
        weights = directory / MODEL_WEIGHTS_FILE
        if not weights.is_file():
            raise FileNotFoundError(f"Expected a preset directory holding {MODEL_WEIGHTS_FILE}. Missing: {weights}")
        model.load_weights(weights)
    return model


def load_handle(cls, handle, load_weights=True, overrides=None):
    """A `cls` from a handle that Keras resolves (`keras.saving.load_model`), with one-line errors."""
    try:
        model = keras.saving.load_model(handle, compile=False, safe_mode=True)
    except Exception as e:  # no huggingface_hub, offline, no such repository: all mean "cannot resolve"
        message = " ".join(str(e).split())[:300]
        raise ValueError(
            f"Could not resolve the preset handle {handle!r} with keras.saving.load_model (offline, no "
            f"huggingface_hub, or no such model?): {type(e).__name__}: {message}"
        ) from None
    if not isinstance(model, cls):
        raise ValueError(f"Expected {handle} to hold a preset of {cls.__name__}. Received: {type(model).__name__}")
    if not overrides and load_weights:
        return model
    rebuilt = model.__class__.from_config(dict(model.get_config(), **(overrides or {})))
    if load_weights:
        rebuilt.set_weights(model.get_weights())
    return rebuilt


def load_builtin_weights(model, name):
    """Load the weights bundled for the built-in preset `name` into a generator, or a GAN's generators."""
    path = builtin_weights_path(name)
    targets = [model.generator, model.ema_generator] if hasattr(model, "ema_generator") else [model]
    for target in targets:
        target.load_weights(path)
    return model


def from_preset(cls, preset, load_weights, build, overrides):
    """`cls` from any preset: `build(config)` makes it from a built-in name's config.

    Built-in presets get their bundled weights when `load_weights` and `cls` has some there
    (`list_presets`); directories and handles get config and weights from the preset, with
    `overrides` updating the saved constructor arguments.
    """
    kind = preset_kind(preset)
    if kind == "builtin":
        model = build(get_preset(preset))
        has_weights = list_presets(getattr(cls, "preset_section", None))[preset]["weights"]
        return load_builtin_weights(model, preset) if load_weights and has_weights else model
    if kind == "handle":
        return load_handle(cls, preset, load_weights, overrides)
    return load_directory(cls, preset, load_weights, overrides)


def image_size_of(model):
    """`(height, width)` of the images a generator, a discriminator or a GAN works on."""
    generator = getattr(model, "generator", model)
    if hasattr(generator, "image_size"):
        return tuple(generator.image_size)
    return tuple(model.inputs[0].shape[1:3])


MODEL_CARD = """# {name}

A `keras_nted.models.{class_name}` saved by `save_to_preset` (keras-nted {version}, Keras
{keras_version}). The files are backend-agnostic: load them on TensorFlow, JAX or PyTorch.

| | |
|---|---|
| class | `{class_name}` |
| image size | {height} x {width} |
| parameters | {parameter_count:,} |

{description}

```python
import keras_nted

model = keras_nted.models.{class_name}.from_preset("path/to/this/directory")
```
"""


def save_preset(model, directory, description=None):
    """Write `config.json`, `model.weights.h5`, `metadata.json` and `README.md` to `directory`.

    Returns:
        The directory, as a `pathlib.Path`.
    """
    directory = pathlib.Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"Expected `directory` to be a directory. Received: a file, {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    config["compile_config"] = None  # a preset holds a model, not a training run's optimizer
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    model.save_weights(directory / MODEL_WEIGHTS_FILE, overwrite=True)
    metadata = {
        "keras_version": keras.__version__,
        "keras_nted_version": __version__,
        "class_name": type(model).__name__,
        "parameter_count": int(model.count_params()),
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    height, width = image_size_of(model)
    card = MODEL_CARD.format(
        name=model.name, class_name=metadata["class_name"], version=__version__, keras_version=keras.__version__,
        height=height, width=width, parameter_count=metadata["parameter_count"], description=description or "",
    )  # fmt: skip
    (directory / README_FILE).write_text(card)
    return directory
