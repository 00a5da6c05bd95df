"""Parity with the released implementation: the converter on the tiny fixture."""

import numpy as np
import pytest

from keras_nted.convert import load_official_discriminator
from keras_nted.convert import load_official_generator
from keras_nted.convert import released_entries
from keras_nted.models import NTEDGenerator
from tests.helpers import fixture_meta
from tests.helpers import fixture_weights
from tests.helpers import nhwc
from tests.helpers import released_checkpoint
from tests.helpers import to_numpy

TOLERANCE = 1e-4


def assert_generator_matches_fixture(generator, fixture):
    out = generator([nhwc(fixture["source_image"]), nhwc(fixture["skeleton"])])
    np.testing.assert_allclose(to_numpy(out["image"]), nhwc(fixture["fake_image"]), atol=TOLERANCE, rtol=0)
    count = len(out["neural_textures"])
    assert count == len([k for k in fixture if k.startswith("neural_textures_")]) == 4
    for i in range(count):
        textures = np.transpose(fixture[f"neural_textures_{i}"], (0, 2, 1))
        np.testing.assert_allclose(to_numpy(out["neural_textures"][i]), textures, atol=TOLERANCE, rtol=0)
        softmax = to_numpy(out["extraction_softmax"][i])
        expected = np.transpose(fixture[f"extraction_softmax_{i}"], (0, 2, 1)).reshape(softmax.shape)
        np.testing.assert_allclose(softmax, expected, atol=TOLERANCE, rtol=0)
        logits = nhwc(fixture[f"semantic_distribution_{i}"])
        np.testing.assert_allclose(to_numpy(out["distribution_logits"][i]), logits, atol=TOLERANCE, rtol=0)


def test_generator_parity_from_mapping(tiny_fixture):
    generator = load_official_generator(fixture_weights(tiny_fixture, "gen"), fixture_meta(tiny_fixture)["gen_param"])
    assert generator.count_params() == fixture_meta(tiny_fixture)["gen_num_params"]
    assert_generator_matches_fixture(generator, tiny_fixture)


def test_discriminator_parity_from_npz(tiny_fixture, tmp_path):
    path = tmp_path / "released.npz"
    np.savez(path, **fixture_weights(tiny_fixture))  # both nets, D keys under "dis."
    discriminator = load_official_discriminator(path, fixture_meta(tiny_fixture)["dis_param"])
    assert discriminator.count_params() == fixture_meta(tiny_fixture)["dis_num_params"]
    fake = to_numpy(discriminator(nhwc(tiny_fixture["fake_image"])))
    real = to_numpy(discriminator(nhwc(tiny_fixture["source_image"])))
    np.testing.assert_allclose(fake, tiny_fixture["dis_fake_logits"], atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(real, tiny_fixture["dis_real_logits"], atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("with_ema", [True, False], ids=["net_G_ema", "net_G-module-prefix"])
def test_parity_through_a_real_pt_file(tiny_fixture, tmp_path, with_ema):
    torch_io = pytest.importorskip("keras_nted.backend.torch_io")
    pytest.importorskip("torch", reason="writing a .pt checkpoint needs torch")
    path = tmp_path / "epoch_00200_iteration_000495400_checkpoint.pt"
    torch_io.save_torch_state_dict(released_checkpoint(tiny_fixture, with_ema), path)
    meta = fixture_meta(tiny_fixture)
    generator = load_official_generator(path, meta["gen_param"])
    assert_generator_matches_fixture(generator, tiny_fixture)
    discriminator = load_official_discriminator(path, meta["dis_param"])
    fake = to_numpy(discriminator(nhwc(tiny_fixture["fake_image"])))
    np.testing.assert_allclose(fake, tiny_fixture["dis_fake_logits"], atol=TOLERANCE, rtol=0)


def test_preset_name_resolves_to_the_tiny_config(tiny_fixture):
    generator = load_official_generator(fixture_weights(tiny_fixture, "gen"), "nted_tiny")
    assert generator.image_size == (64, 44)


def test_every_released_key_is_consumed_exactly_once(tiny_fixture):
    generator = NTEDGenerator.from_preset("nted_tiny")
    entries = released_entries(generator)
    assert set(entries) == set(fixture_weights(tiny_fixture, "gen"))
    variables = [id(v) for v, _ in entries.values() if not isinstance(v, np.ndarray)]
    assert len(variables) == len(set(variables)) == len(generator.weights)


def test_missing_unexpected_and_mis_shaped_keys_are_listed(tiny_fixture):
    weights = fixture_weights(tiny_fixture, "gen")
    config = fixture_meta(tiny_fixture)["gen_param"]
    missing = dict(weights)
    del missing["target_image_renderer.convs.1.to_rgb.conv.bias"]
    with pytest.raises(ValueError, match=r"missing keys \(1\): target_image_renderer.convs.1.to_rgb.conv.bias"):
        load_official_generator(missing, config)
    unexpected = dict(weights, **{"target_image_renderer.convs.9.conv0.conv.weight": np.zeros((1, 1, 3, 3))})
    with pytest.raises(ValueError, match=r"unexpected keys \(1\): target_image_renderer.convs.9"):
        load_official_generator(unexpected, config)
    other = dict(config, channels={"16": 32, "32": 24, "64": 8})
    with pytest.raises(
        ValueError, match=r"mis-shaped keys .*reference_encoder.first.conv.weight: checkpoint \(16, 3, 1, 1\)"
    ):
        load_official_generator(weights, other)


def test_checkpoint_from_another_preset_is_a_clear_error(tiny_fixture):
    with pytest.raises(ValueError, match="does not match nted_fashion_256.*another configuration"):
        load_official_generator(fixture_weights(tiny_fixture, "gen"), "nted_fashion_256")


def test_bad_sources_are_clear_errors(tmp_path, tiny_fixture):
    with pytest.raises(FileNotFoundError, match="Checkpoint file not found"):
        load_official_generator(tmp_path / "nope.pt", "nted_tiny")
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(ValueError, match=r"Expected a \.pt, \.pth or \.npz"):
        load_official_generator(tmp_path / "weights.txt", "nted_tiny")
    with pytest.raises(ValueError, match="Unknown preset 'nted_huge'"):
        load_official_generator(fixture_weights(tiny_fixture, "gen"), "nted_huge")
    with pytest.raises(ValueError, match="none of \\['net_D'\\]"):
        load_official_discriminator({"net_G": {"a": np.zeros(1)}}, "nted_tiny")
