import keras
import numpy as np
import pytest
from keras import ops

from keras_nted.losses import discriminator_gan_loss
from keras_nted.losses import generator_gan_loss
from keras_nted.losses import lazy_r1_weight
from keras_nted.losses import r1_penalty


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def test_gan_losses_match_hand_computation(tiny_fixture):
    fake = tiny_fixture["dis_fake_logits"].astype("float64")
    real = tiny_fixture["dis_real_logits"].astype("float64")
    np.testing.assert_allclose(float(generator_gan_loss(fake.astype("float32"))), _softplus(-fake).mean(), rtol=1e-6)
    np.testing.assert_allclose(
        float(discriminator_gan_loss(real.astype("float32"), fake.astype("float32"))),
        _softplus(fake).mean() + _softplus(-real).mean(),
        rtol=1e-6,
    )
    # Far from zero softplus must stay finite and exact.
    big = np.array([[60.0], [-60.0]], "float32")
    np.testing.assert_allclose(float(generator_gan_loss(big)), 30.0, rtol=1e-6)
    np.testing.assert_allclose(float(discriminator_gan_loss(big, big)), 60.0, rtol=1e-6)


def test_r1_penalty_matches_hand_computation():
    grads = np.random.default_rng(0).normal(size=(3, 5, 4, 3)).astype("float32")
    expected = (grads.astype("float64") ** 2).reshape(3, -1).sum(-1).mean()
    np.testing.assert_allclose(float(r1_penalty(grads)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="input_gradients"):
        r1_penalty(np.ones((3,), "float32"))


def test_lazy_r1_weight():
    assert lazy_r1_weight() == 80.0  # 10 / 2 * 16, as released
    assert lazy_r1_weight(1.0, 4) == 2.0
    with pytest.raises(ValueError, match="r1_interval"):
        lazy_r1_weight(10.0, 0)
    with pytest.raises(ValueError, match="r1_weight"):
        lazy_r1_weight(-1.0, 16)


def test_low_precision_logits_give_float32():
    logits = ops.cast(np.array([[0.5], [-1.0]], "float32"), "bfloat16")
    for value in (generator_gan_loss(logits), discriminator_gan_loss(logits, logits), r1_penalty(logits)):
        assert keras.backend.standardize_dtype(value.dtype) == "float32"
