import numpy as np
import pytest

from keras_nted.evaluation.ssim import ssim as numpy_ssim
from keras_nted.losses.ssim import ssim_loss
from keras_nted.losses.ssim import structural_similarity
from tests.helpers import to_numpy


def _pair(seed=0, shape=(3, 24, 20, 3)):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, shape).astype("float32")
    y = np.clip(x + rng.normal(0, 0.3, shape), -1, 1).astype("float32")
    return x, y


def test_equals_the_evaluation_ssim():
    x, y = _pair()
    expected = numpy_ssim((x + 1) / 2, (y + 1) / 2, data_range=1.0)
    assert 0.2 < expected < 0.9
    np.testing.assert_allclose(float(to_numpy(structural_similarity((x + 1) / 2, (y + 1) / 2))), expected, atol=2e-5)
    np.testing.assert_allclose(float(to_numpy(ssim_loss(x, y))), 1.0 - expected, atol=2e-5)
    assert float(to_numpy(ssim_loss(x, x))) == pytest.approx(0.0, abs=1e-5)


def test_gradient_improves_ssim():
    import keras

    from keras_nted.backend import autodiff

    x, y = _pair(1, (2, 16, 16, 3))
    fake = keras.Variable(y)
    before = float(to_numpy(ssim_loss(fake, x)))
    loss, _, grads = autodiff.value_and_grad(lambda: (ssim_loss(fake, x), ()), [fake], [])
    fake.assign(fake - 0.5 * grads[0])
    after = float(to_numpy(ssim_loss(fake, x)))
    assert float(to_numpy(loss)) == pytest.approx(before, abs=1e-6)
    assert after < before


def test_shape_mismatch_is_an_error():
    x, y = _pair()
    with pytest.raises(ValueError, match="of one shape"):
        structural_similarity(x, y[:, :20])
