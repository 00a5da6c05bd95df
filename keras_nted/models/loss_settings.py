"""The loss weights and GAN start step of NTED training: one table, and what derives from it.

Each row names a setting once. From the table come the released defaults
(`DEFAULT_TRAINING`), the keyword arguments of `NTEDGAN.compile` (checked against it by a
test) and its saved compile config, the `keras-nted train` flags (`--weight-perceptual`, ...),
the presets' `training` sections (`preset_training`) and a run's `config.json`.
"""

import math
from typing import NamedTuple

# The plain-L1 weight when there is no loss network (`perceptual_loss=None`) and the preset
# sets none: L1 is then the reconstruction term.
NO_VGG_WEIGHT_L1 = 10.0


def check_non_negative(name, value):
    """`float(value)`, or a `ValueError` naming `name` unless `value` is a finite number >= 0.

    Loss weights, the R1 weight and learning rates: a NaN, an infinity or a negative value
    trains a NaN or diverging model without any error, so they are refused up front.

    Example:
    >>> check_non_negative("weight_l1", 2)
    2.0
    >>> check_non_negative("weight_l1", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: Expected a finite number >= 0. Received: weight_l1=nan
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number >= 0.0):
        raise ValueError(f"Expected a finite number >= 0. Received: {name}={value!r}")
    return number


class LossSetting(NamedTuple):
    """One row of `LOSS_TABLE`.

    Attributes:
        name: the `NTEDGAN.compile` keyword, the key of a preset's `training` dict and of a
            run's `config.json` `loss` entry.
        default: the released value (the `nted_fashion_256` configuration).
        help: the command line's help text.
        type: `float` for a loss weight (finite, >= 0), `int` for a step number.
        released: whether the release has this setting (else `default` turns it off).
    """

    name: str
    default: float
    help: str
    type: type = float
    released: bool = True

    @property
    def is_weight(self):
        """Whether this is a loss weight (`weight_<term>`): finite and >= 0; 0 turns its term off."""
        return self.name.startswith("weight_")

    @property
    def term(self):
        """The loss term a weight scales, as logged (`"perceptual"` for `weight_perceptual`)."""
        return self.name[len("weight_") :] if self.is_weight else None

    @property
    def flag(self):
        """The `keras-nted train` option: `--weight-perceptual`."""
        return "--" + self.name.replace("_", "-")

    @property
    def flag_help(self):
        """The option's help text, with the default."""
        if self.released:
            return f"{self.help} (the release's: {self.default})"
        return f"{self.help} (not in the release; default {self.default})"


LOSS_TABLE = (
    LossSetting("weight_perceptual", 2.0, "perceptual (VGG19 content and style) loss"),
    LossSetting("weight_attention", 15.0, "attention reconstruction loss"),
    LossSetting("weight_face", 1.0, "face (VGG19 on the face crop) loss"),
    LossSetting("weight_gan", 1.5, "the generator's adversarial loss"),
    LossSetting("weight_l1", 0.0, "plain L1 reconstruction term", released=False),
    LossSetting("weight_ssim", 0.0, "1 - SSIM reconstruction term", released=False),
    LossSetting(
        "weight_part_color", 0.0, "per-part mean-colour L1 (needs part labels: the mannequin set)", released=False
    ),
    LossSetting("gan_start_step", 20000, "the GAN terms run on steps > this", type=int),
)
LOSS_SETTINGS = tuple(setting.name for setting in LOSS_TABLE)
LOSS_WEIGHTS = tuple(setting.name for setting in LOSS_TABLE if setting.is_weight)
DEFAULT_TRAINING = {setting.name: setting.default for setting in LOSS_TABLE}


# The keys a `training` section may hold: `LOSS_TABLE`'s settings and the loss networks'.
TRAINING_KEYS = (*DEFAULT_TRAINING, "style_weight", "vgg_num_scales")


def preset_training(**changes):
    """A preset's `training` dict: every `LOSS_TABLE` setting at its default, but for `changes`.

    `changes` may also hold the loss networks' settings (`style_weight`, `vgg_num_scales`).
    """
    return {**DEFAULT_TRAINING, **changes}


def check_loss_settings(settings):
    """Refuse a loss weight (any setting but the step numbers) that is not a finite number >= 0.

    `None` values stand for "the default" and pass.
    """
    steps = {setting.name for setting in LOSS_TABLE if setting.type is int}
    for name, value in settings.items():
        if value is not None and name not in steps:
            check_non_negative(name, value)


def resolve_loss_settings(arguments, defaults, perceptual=True, face=True):
    """`NTEDGAN.compile`'s `LOSS_TABLE` settings: each of `arguments`, or where `None` its default; checked.

    Args:
        arguments: a value or `None` for every `LOSS_TABLE` setting.
        defaults: the model's training defaults (`DEFAULT_TRAINING` and the preset's changes).
        perceptual: whether there is a perceptual loss network; without one plain L1
            reconstructs (`NO_VGG_WEIGHT_L1` unless `defaults` weigh it) and the perceptual
            weight is 0.
        face: whether there is a face loss network; without one the face weight is 0.

    Returns:
        A dict of every setting: weights as floats, step numbers as ints.
    """
    defaults = dict(defaults)
    if not perceptual and not defaults["weight_l1"]:
        defaults["weight_l1"] = NO_VGG_WEIGHT_L1
    settings = {}
    for setting in LOSS_TABLE:
        value = defaults[setting.name] if arguments[setting.name] is None else arguments[setting.name]
        settings[setting.name] = check_non_negative(setting.name, value) if setting.is_weight else int(value)
    # A term without its network is off (its weight is recorded as 0).
    if not perceptual:
        settings["weight_perceptual"] = 0.0
    if not face:
        settings["weight_face"] = 0.0
    return settings
