import numpy as np
import pytest

from keras_nted.losses.ssim import ssim_loss
from keras_nted.metrics import gaussian_ssim
from tests.helpers import to_numpy


def _pair(seed=0, shape=(3, 24, 20, 3)):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, shape).astype("float32")
    y = np.clip(x + rng.normal(0, 0.3, shape), -1, 1).astype("float32")
    return x, y


def test_is_one_minus_the_evaluation_ssim_on_unit_images():
    """The term is `1 - gaussian_ssim` (what `keras-nted evaluate` reports) of the images on [0, 1], batch mean."""
    x, y = _pair()
    per_image = to_numpy(gaussian_ssim((x + 1) * 127.5, (y + 1) * 127.5, data_range=255.0))
    assert per_image.shape == (3,) and 0.2 < per_image.mean() < 0.9
    np.testing.assert_allclose(float(to_numpy(ssim_loss(x, y))), 1.0 - per_image.mean(), atol=2e-6)
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
        ssim_loss(x, y[:, :20])
