"""Named configurations, in the released YAML's `gen.param` / `dis.param` form.

Dict keys are resolutions (ints; the released YAML's string keys are accepted too);
`False` disables NTED at that level. A preset's `weights`, where it has one,
names the generator `.keras` file bundled with the package (`keras_nted.models.preset_io`).
A preset's `training` section holds every setting of
`keras_nted.models.loss_settings.LOSS_TABLE` (`preset_training`) and the loss networks' settings.
"""

import copy
import os
import pathlib

from keras_nted.models.loss_settings import preset_training

# The model that `keras-nted generate`, `control` and `demo` use unless given another: the
# trained preset whose weights ship with the package.
DEFAULT_PRESET = "nted_mannequin_64"
# The built-in presets whose shipped weights were trained on the procedural mannequin renders.
MANNEQUIN_PRESETS = ("nted_mannequin_64",)


def photo_note(preset):
    """The one-line note for a mannequin-trained model used on photos, or `None` for any other model.

    Args:
        preset: a built-in preset name (or the path of its bundled weights file).

    Example:
    >>> photo_note("nted_fashion_256") is None
    True
    >>> photo_note("nted_mannequin_64").startswith("nted_mannequin_64 was trained on mannequin renders")
    True
    """
    name = (
        pathlib.Path(os.fspath(preset)).name.removesuffix(".keras") if isinstance(preset, (str, os.PathLike)) else None
    )
    if name not in MANNEQUIN_PRESETS:
        return None
    return (
        f"{name} was trained on mannequin renders, not photos: expect a {PRESETS[name]['image_size'][0]}x"
        f"{PRESETS[name]['image_size'][1]} smear without the reference's clothes. For photos, convert the paper's "
        "DeepFashion checkpoint: `keras-nted convert CHECKPOINT.pt --preset nted_fashion_256 -o nted_256.keras`, "
        "then use --model nted_256.keras (README: 'Converting the released checkpoints')."
    )


_CHANNELS = {16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}
_D_CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64}

PRESETS = {
    "nted_fashion_256": {
        "description": "The released DeepFashion 256x176 model (config/fashion_256.yaml).",
        "image_size": (256, 176),
        "generator": {
            "size": 256,
            "semantic_dim": 20,
            "channels": dict(_CHANNELS),
            "num_labels": {16: 16, 32: 32, 64: 64, 128: 64, 256: False},
            "match_kernels": {16: 1, 32: 3, 64: 3, 128: 3, 256: False},
        },
        "discriminator": {"size": 256, "channels": dict(_D_CHANNELS), "is_square_image": False},
        "training": preset_training(style_weight=500.0, vgg_num_scales=1),
    },
    "nted_fashion_512": {
        "description": "The released DeepFashion 512x352 model (config/fashion_512.yaml).",
        "image_size": (512, 352),
        "generator": {
            "size": 512,
            "semantic_dim": 20,
            "channels": dict(_CHANNELS),
            "num_labels": {16: 16, 32: 32, 64: 32, 128: 64, 256: 64, 512: False},
            "match_kernels": {16: 1, 32: 3, 64: 3, 128: 3, 256: 3, 512: False},
        },
        "discriminator": {"size": 512, "channels": dict(_D_CHANNELS), "is_square_image": False},
        "training": preset_training(weight_perceptual=1.0, gan_start_step=0, style_weight=1000.0, vgg_num_scales=3),
    },
    "nted_tiny": {
        "description": "A tiny 64x44 model for tests and docs (the configuration of the parity fixtures).",
        "image_size": (64, 44),
        "generator": {
            "size": 64,
            "semantic_dim": 20,
            "channels": {16: 32, 32: 24, 64: 16},
            "num_labels": {16: 6, 32: 10, 64: False},
            "match_kernels": {16: 1, 32: 3, 64: False},
        },
        "discriminator": {"size": 64, "channels": {4: 40, 8: 36, 16: 32, 32: 24, 64: 16}, "is_square_image": False},
        "training": preset_training(gan_start_step=0, style_weight=500.0, vgg_num_scales=1),
    },
    "nted_mannequin_64": {
        "description": (
            "The shipped 64x44 mannequin model, trained (generator weights; saved_models/nted_mannequin_64.md): "
            "65,000 steps on a 2-core CPU in about 133 minutes, without VGG19 (L1 + SSIM + part colour + attention "
            "loss, GAN off)."
        ),
        # The trained EMA generator, bundled with the package (keras_nted/models/preset_files/).
        "weights": "nted_mannequin_64.keras",
        "image_size": (64, 44),
        "generator": {
            "size": 64,
            "semantic_dim": 20,
            "channels": {16: 64, 32: 48, 64: 32},
            "num_labels": {16: 16, 32: 16, 64: False},
            "match_kernels": {16: 1, 32: 3, 64: False},
        },
        "discriminator": {"size": 64, "channels": {4: 64, 8: 64, 16: 64, 32: 48, 64: 32}, "is_square_image": False},
        # The GAN doubles the step time on a CPU (measured: 0.53 s vs 0.28 s at batch 8).
        "training": preset_training(weight_l1=10.0, gan_start_step=1000000, style_weight=500.0, vgg_num_scales=1),
    },
}


def get_preset(name):
    """A deep copy of the named preset; a clear error lists the known names."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Expected one of: {', '.join(sorted(PRESETS))}")
    return copy.deepcopy(PRESETS[name])


def int_keys(mapping, name):
    """`{int(resolution): value}` from a released-style dict with int or str keys."""
    if not isinstance(mapping, dict):
        raise ValueError(f"Expected `{name}` to be a dict keyed by resolution. Received: {mapping!r}")
    out = {}
    for key, value in mapping.items():
        try:
            out[int(key)] = value
        except (TypeError, ValueError):
            raise ValueError(f"Expected integer resolutions as keys of `{name}`. Received key: {key!r}") from None
    return out


# What a configuration may ask for, checked before any weight is allocated: a config is input
# too (a `.keras` file's, a released YAML), and 60,000 channels would abort the process or
# exhaust memory instead of failing with a message.
MAX_SIZE = 1024
MAX_CHANNELS = 2048  # 4x the released models' widest level (512)
MAX_NUM_LABELS = 1024
MAX_MATCH_KERNEL = 15
MAX_SEMANTIC_DIM = 256


def bounded_int(value, name, low, high):
    """`value` as an int in `[low, high]`, else a `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"Expected `{name}` to be an integer in [{low}, {high}]. Received: {name}={value!r}")
    return value


def bounded_int_keys(mapping, name, low, high, allow_false=False):
    """`int_keys(mapping)` with every value an int in `[low, high]` (or `False`, when allowed)."""
    out = int_keys(mapping, name)
    for key, value in out.items():
        if allow_false and (value is False or value is None or value == 0):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            off = " or False" if allow_false else ""
            raise ValueError(
                f"Expected `{name}` values to be integers in [{low}, {high}]{off}. Received: {name}[{key}]={value!r}"
            )
    return out
