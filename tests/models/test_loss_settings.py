"""The loss-setting table: the one list of loss weights that compile, presets and the CLI derive from."""

import argparse
import inspect

import pytest

from keras_nted.models import NTEDGAN
from keras_nted.models import PRESETS
from keras_nted.models.loss_settings import DEFAULT_TRAINING
from keras_nted.models.loss_settings import LOSS_TABLE
from keras_nted.models.loss_settings import check_non_negative
from keras_nted.models.loss_settings import resolve_loss_settings


def test_compile_keywords_are_the_table_in_order():
    """`compile`'s explicit keyword arguments are public API: they must not drift from the table."""
    parameters = inspect.signature(NTEDGAN.compile).parameters
    names = [name for name in parameters if name in DEFAULT_TRAINING]
    assert names == [setting.name for setting in LOSS_TABLE]
    assert all(parameters[name].default is None for name in names)
    listed = list(parameters)
    first = listed.index(LOSS_TABLE[0].name)
    assert listed[first : first + len(LOSS_TABLE)] == names  # one block, in the table's order


def test_released_defaults():
    assert DEFAULT_TRAINING == {
        "weight_perceptual": 2.0, "weight_attention": 15.0, "weight_face": 1.0, "weight_gan": 1.5,
        "weight_l1": 0.0, "weight_ssim": 0.0, "weight_part_color": 0.0, "gan_start_step": 20000,
    }  # fmt: skip


def test_every_preset_sets_every_setting():
    for name, preset in PRESETS.items():
        assert set(DEFAULT_TRAINING) <= set(preset["training"]), name
    assert PRESETS["nted_fashion_512"]["training"]["weight_perceptual"] == 1.0
    assert PRESETS["nted_mannequin_64"]["training"]["weight_l1"] == 10.0


def test_compile_config_holds_every_setting():
    gan = NTEDGAN.from_preset("nted_tiny", vgg_weights="none")
    gan.compile(weight_ssim=0.5)
    config = gan.get_compile_config()
    # No loss network: no perceptual or face term, and L1 (weight 10) reconstructs.
    assert {name: config[name] for name in DEFAULT_TRAINING} == {
        "weight_perceptual": 0.0, "weight_attention": 15.0, "weight_face": 0.0, "weight_gan": 1.5,
        "weight_l1": 10.0, "weight_ssim": 0.5, "weight_part_color": 0.0, "gan_start_step": 0,
    }  # fmt: skip


def test_train_flags_come_from_the_table():
    from keras_nted.commands import train

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    args = parser.parse_args([setting.flag + "=3" for setting in LOSS_TABLE])
    for setting in LOSS_TABLE:
        value = getattr(args, setting.name)
        assert value == 3 and type(value) is setting.type


@pytest.mark.parametrize("value", [float("nan"), -1.0, "x"])
def test_weights_are_finite_and_non_negative(value):
    with pytest.raises(ValueError, match="Expected a finite number >= 0"):
        check_non_negative("weight_gan", value)


def test_resolve_loss_settings_fills_defaults_and_turns_off_missing_networks():
    unset = dict.fromkeys(DEFAULT_TRAINING)
    assert resolve_loss_settings(unset, DEFAULT_TRAINING) == DEFAULT_TRAINING
    settings = resolve_loss_settings(unset, DEFAULT_TRAINING, perceptual=False, face=False)
    # No perceptual network: L1 reconstructs at 10; the terms without a network are off.
    assert (settings["weight_l1"], settings["weight_perceptual"], settings["weight_face"]) == (10.0, 0.0, 0.0)
    given = resolve_loss_settings(dict(unset, weight_l1=2, gan_start_step=5.0), DEFAULT_TRAINING, perceptual=False)
    assert (given["weight_l1"], given["gan_start_step"]) == (2.0, 5) and type(given["gan_start_step"]) is int
    with pytest.raises(ValueError, match="Received: weight_perceptual=-1"):  # checked even without its network
        resolve_loss_settings(dict(unset, weight_perceptual=-1), DEFAULT_TRAINING, perceptual=False)
