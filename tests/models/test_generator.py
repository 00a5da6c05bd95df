import keras
import numpy as np
import pytest

from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from keras_nted.models import get_preset
from tests.helpers import to_numpy


def tiny_inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    reference = rng.uniform(-1, 1, (batch, 64, 44, 3)).astype("float32")
    skeleton = rng.uniform(0, 1, (batch, 64, 44, 20)).astype("float32")
    return reference, skeleton


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset, size, generator_params, discriminator_params",
    [
        ("nted_fashion_256", (256, 176), 42_353_519, 26_766_977),
        ("nted_fashion_512", (512, 352), 42_612_402, 26_885_697),
    ],
)
def test_released_presets_have_the_released_parameter_counts(preset, size, generator_params, discriminator_params):
    generator = NTEDGenerator.from_preset(preset)
    assert generator.image_size == size
    assert generator.count_params() == generator_params
    # Shapes of the NTED lists at the native size (the released recorder lists).
    outputs = generator.output
    assert outputs["image"].shape == (None, *size, 3)
    assert len(outputs["neural_textures"]) == (8 if size[0] == 256 else 10)
    assert outputs["extraction_softmax"][0].shape == (None, 16, 11, 16)
    assert outputs["neural_textures"][0].shape == (None, 16, 512)
    discriminator = NTEDDiscriminator.from_preset(preset)
    assert discriminator.final_size == (4, 2)
    assert discriminator.count_params() == discriminator_params


def test_list_order_and_shapes_follow_the_release():
    generator = NTEDGenerator.from_preset("nted_tiny")
    out = generator(list(tiny_inputs()))
    assert set(out) == {"image", "neural_textures", "extraction_softmax", "distribution_logits"}
    assert out["image"].shape == (2, 64, 44, 3)
    assert [tuple(t.shape) for t in out["neural_textures"]] == [(2, 6, 32)] * 2 + [(2, 10, 24)] * 2
    assert [tuple(t.shape) for t in out["extraction_softmax"]] == [(2, 16, 11, 6)] * 2 + [(2, 32, 22, 10)] * 2
    assert [tuple(t.shape) for t in out["distribution_logits"]] == [(2, 16, 11, 6)] * 2 + [(2, 32, 22, 10)] * 2
    # The extraction softmax is over positions: every label's map sums to one.
    sums = to_numpy(out["extraction_softmax"][2]).sum(axis=(1, 2))
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)


def test_non_square_widths_other_than_the_default():
    generator = NTEDGenerator.from_preset("nted_tiny", image_width=64)
    reference, skeleton = np.zeros((1, 64, 64, 3), "float32"), np.zeros((1, 64, 64, 20), "float32")
    assert generator([reference, skeleton])["image"].shape == (1, 64, 64, 3)


def test_keras_round_trip_reproduces_outputs(tmp_path):
    generator = NTEDGenerator.from_preset("nted_tiny")
    inputs = list(tiny_inputs())
    expected = to_numpy(generator(inputs)["image"])
    path = tmp_path / "generator.keras"
    generator.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, NTEDGenerator)
    assert restored.get_config() == generator.get_config()
    np.testing.assert_allclose(to_numpy(restored(inputs)["image"]), expected, atol=1e-6)
    discriminator = NTEDDiscriminator.from_preset("nted_tiny")
    expected = to_numpy(discriminator(inputs[0]))
    discriminator.save(tmp_path / "d.keras")
    restored = keras.saving.load_model(tmp_path / "d.keras", safe_mode=True)
    np.testing.assert_allclose(to_numpy(restored(inputs[0])), expected, atol=1e-6)


def test_clone_copies_architecture_policy_and_weights_into_new_variables():
    generator = NTEDGenerator(**get_preset("nted_tiny")["generator"], dtype="mixed_bfloat16")
    copy = generator.clone(name="ema_generator")
    assert type(copy) is NTEDGenerator and copy.name == "ema_generator"
    assert copy.dtype_policy.name == "mixed_bfloat16"
    assert dict(copy.get_config(), name=None) == dict(generator.get_config(), name=None)
    for a, b in zip(copy.weights, generator.weights):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    copy.weights[0].assign(copy.weights[0] + 1.0)  # its own variables: the original is untouched
    assert not np.array_equal(to_numpy(copy.weights[0]), to_numpy(generator.weights[0]))
    # The policy a network was built with survives its config too (a functional model drops it).
    restored = NTEDGenerator.from_config(generator.get_config())
    assert restored.dtype_policy.name == restored.layers[3].dtype_policy.name == "mixed_bfloat16"
    discriminator = NTEDDiscriminator(**get_preset("nted_tiny")["discriminator"], dtype="mixed_bfloat16")
    assert discriminator.clone().dtype_policy.name == "mixed_bfloat16"


def test_released_style_config_dict_with_string_keys():
    config = get_preset("nted_tiny")["generator"]
    as_yaml = {k: ({str(r): v for r, v in val.items()} if isinstance(val, dict) else val) for k, val in config.items()}
    assert NTEDGenerator(**as_yaml).count_params() == NTEDGenerator(**config).count_params()


def test_bad_inputs_are_clear_errors():
    generator = NTEDGenerator.from_preset("nted_tiny")
    reference, skeleton = tiny_inputs(1)
    with pytest.raises(ValueError, match=r"Expected `reference_image` of shape \(batch, 64, 44, 3\).*\(1, 64, 44, 4\)"):
        generator([np.zeros((1, 64, 44, 4), "float32"), skeleton])
    with pytest.raises(ValueError, match=r"Expected `skeleton` of shape \(batch, 64, 44, 20\)"):
        generator([reference, np.zeros((1, 64, 44, 18), "float32")])
    with pytest.raises(ValueError, match="Expected skeleton height 64.*height=128"):
        generator([reference, np.zeros((1, 128, 44, 20), "float32")])
    with pytest.raises(ValueError, match="width divisible by 4.*width=42"):
        generator([np.zeros((1, 64, 42, 3), "float32"), np.zeros((1, 64, 42, 20), "float32")])
    with pytest.raises(ValueError, match="built for width 44.*image_width=48"):
        generator([np.zeros((1, 64, 48, 3), "float32"), np.zeros((1, 64, 48, 20), "float32")])
    with pytest.raises(ValueError, match=r"Expected inputs `\[reference_image, skeleton\]`"):
        generator(reference)
    with pytest.raises(ValueError, match="width divisible by 16.*width=170"):
        NTEDGenerator.from_preset("nted_fashion_256", image_width=170)
    with pytest.raises(ValueError, match="power of two"):
        NTEDGenerator(size=100, channels={}, num_labels={}, match_kernels={})
    with pytest.raises(ValueError, match="Unknown preset"):
        NTEDGenerator.from_preset("fashion")
    discriminator = NTEDDiscriminator.from_preset("nted_tiny")
    with pytest.raises(ValueError, match=r"Expected images of shape \(batch, 64, 44, 3\)"):
        discriminator(np.zeros((2, 64, 44, 1), "float32"))
    with pytest.raises(ValueError, match="batch divisible by min"):
        discriminator(np.zeros((6, 64, 44, 3), "float32"))
