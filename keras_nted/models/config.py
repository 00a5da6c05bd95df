"""Model configurations read from files: the preset form and the released YAML form, parsed here only.

A configuration is either the preset form (`generator`, `discriminator`, optional `training`
and `image_size`, as in `keras_nted.models.PRESETS`) or the form of the released YAML files
(`gen: {param: ...}`, `dis: {param: ...}`; their `trainer` section is not read).
"""

from keras_nted.files import read_config_file
from keras_nted.models.presets import get_preset
from keras_nted.models.presets import int_keys

# The released YAML's section of each network.
RELEASED_SECTIONS = {"generator": "gen", "discriminator": "dis"}


def released_part(config, part):
    """The constructor arguments of `part` (`"generator"` / `"discriminator"`) in a released config.

    Args:
        config: a released config dict (`gen: {param: ...}`, `dis: {param: ...}`), or a bare
            `param` dict, which is returned as it is.
        part: `"generator"` or `"discriminator"`.
    """
    key = RELEASED_SECTIONS[part]
    if key not in config:
        return config
    section = config[key] or {}
    if not isinstance(section, dict):
        raise ValueError(f"Expected `{key}` to be a mapping (its `param` section). Received: {key}={section!r}")
    section = section.get("param", section)
    if not isinstance(section, dict):
        raise ValueError(f"Expected `{key}.param` to be a mapping. Received: {key}.param={section!r}")
    return section


def preset_form(config, source="the config"):
    """A config dict in the preset form; a released-form dict is translated (training: `{}`)."""
    if "gen" in config:
        config = {
            "generator": released_part(config, "generator"),
            "discriminator": released_part(config, "discriminator") if "dis" in config else {},
            "training": {},
        }
    if "generator" not in config:
        raise ValueError(
            f"Expected {source} to hold `generator` and `discriminator` (preset form) or "
            "`gen.param` / `dis.param` (released form)."
        )
    config.setdefault("training", {})
    return config


def load_config(preset=None, config_path=None):
    """The model config of a preset or a YAML/JSON file, in the preset form.

    A file holds either the preset form (`generator`, `discriminator`, optional `training`
    and `image_size`) or the released form (`gen: {param: ...}`, `dis: {param: ...}`,
    optional `trainer: {loss_weight: ...}` is ignored).

    Returns:
        A dict with `generator`, `discriminator`, `training` and `image_size`.
    """
    if config_path:
        config = preset_form(read_config_file(config_path), config_path)
    else:
        config = get_preset(preset or "nted_tiny")
    generator = dict(config["generator"])
    size = int(generator.get("size", 0))
    discriminator = dict(config.get("discriminator") or {})
    if not discriminator:
        raise ValueError("Expected a `discriminator` section in the config.")
    discriminator.setdefault("size", size)
    discriminator.setdefault("is_square_image", False)
    for key in ("channels", "num_labels", "match_kernels"):
        if key in generator:
            generator[key] = int_keys(generator[key], f"generator.{key}")
    discriminator["channels"] = int_keys(discriminator.get("channels", {}), "discriminator.channels")
    image_size = config.get("image_size") or (size, size * 11 // 16)
    return {
        "generator": generator,
        "discriminator": discriminator,
        "training": dict(config.get("training") or {}),
        "image_size": tuple(int(v) for v in image_size),
    }
