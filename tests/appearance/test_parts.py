"""The generator in pieces: rendering with a reference's own textures is the generator's output."""

import numpy as np
import pytest
from keras import ops

from keras_nted.appearance import GeneratorParts
from keras_nted.appearance import blend_textures
from keras_nted.models import NTEDGenerator


def test_person_textures_reproduce_the_generator(shipped_generator, shipped_parts, pair):
    expected = shipped_generator.predict_on_batch([pair["person"][None], pair["skeleton"][None]])
    # T = T_r + (T_g - T_r) * 0: exactly the person's textures, rendered by the separate pieces.
    out = blend_textures(shipped_parts, pair["person"], pair["garment"], pair["skeleton"], [0.0] * 4)
    np.testing.assert_allclose(out["image"], expected["image"], atol=1e-5)
    for got, want in zip(out["distribution_logits"], expected["distribution_logits"]):
        np.testing.assert_allclose(got, want, atol=1e-4)
    # ... and m = 1 everywhere is the garment image re-posed.
    swapped = shipped_generator.predict_on_batch([pair["garment"][None], pair["skeleton"][None]])["image"]
    out = blend_textures(shipped_parts, pair["person"], pair["garment"], pair["skeleton"], [1.0] * 4)
    np.testing.assert_allclose(out["image"], swapped, atol=1e-5)
    assert np.abs(swapped - expected["image"]).mean() > 0.05  # the two references do differ


def test_textures_come_in_the_generators_order(shipped_generator, shipped_parts, pair):
    textures = shipped_parts.extract_textures(pair["garment"])
    expected = shipped_generator.predict_on_batch([pair["garment"][None], pair["skeleton"][None]])
    assert shipped_parts.num_labels == [16, 16, 16, 16]
    assert [tuple(t.shape) for t in textures] == [(1, 16, 64), (1, 16, 64), (1, 16, 48), (1, 16, 48)]
    for got, want in zip(textures, expected["neural_textures"]):
        np.testing.assert_allclose(ops.convert_to_numpy(got), want, atol=1e-5)


def test_batches_and_unbatched_inputs_agree(shipped_parts, pair):
    single = ops.convert_to_numpy(shipped_parts.encode_skeleton(pair["skeleton"]))
    batch = ops.convert_to_numpy(shipped_parts.encode_skeleton(np.stack([pair["skeleton"]] * 2)))
    assert single.shape == (1, 16, 11, 64) and batch.shape == (2, 16, 11, 64)
    np.testing.assert_allclose(batch[1], single[0], atol=1e-6)


def test_clear_errors():
    generator = NTEDGenerator.from_preset("nted_tiny")
    parts = GeneratorParts(generator)
    with pytest.raises(ValueError, match="Expected an NTEDGenerator"):
        GeneratorParts(object())
    with pytest.raises(
        ValueError, match=r"Expected `skeleton` of shape \(64, 44, 20\).*Received: skeleton.shape=\(1, 64, 44, 3\)"
    ):
        parts.encode_skeleton(np.zeros((1, 64, 44, 3)))
    with pytest.raises(ValueError, match="Expected `image` of shape"):
        parts.extract_textures(np.zeros((32, 22, 3)))
    features = parts.encode_skeleton(np.zeros((64, 44, 20)))
    textures = parts.extract_textures(np.zeros((64, 44, 3)))
    with pytest.raises(ValueError, match="Expected 4 neural textures"):
        parts.render(features, textures[:3])
    with pytest.raises(ValueError, match=r"Expected textures\[1\] of shape \(batch, 6, channels\)"):
        parts.render(features, [textures[0], textures[2], textures[1], textures[3]])


def test_reference_encoder_has_one_name(shipped_parts):
    assert shipped_parts.reference_encoder.name == "reference_encoder"
    assert not hasattr(shipped_parts, "texture_encoder")
