import numpy as np
import pytest

from keras_nted.evaluation.ssim import gaussian_window
from keras_nted.evaluation.ssim import ssim


def _reference_ssim(x, y, data_range=255.0):
    """A direct, loop-over-windows SSIM (Wang et al. 2004) of one grey image pair."""
    g = gaussian_window(11, 1.5)
    w = np.outer(g, g)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            values.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(values))


def test_window_is_the_standard_gaussian():
    g = gaussian_window()
    assert g.shape == (11,)
    np.testing.assert_allclose(g.sum(), 1.0)
    np.testing.assert_allclose(g[4] / g[5], np.exp(-1 / (2 * 1.5**2)))


def test_matches_direct_computation():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 14))
    y = np.clip(x + rng.normal(0, 30, x.shape), 0, 255)
    np.testing.assert_allclose(ssim(x, y), _reference_ssim(x, y), rtol=1e-10)


def test_colour_is_mean_over_channels_and_batch():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (2, 13, 12, 3))
    y = rng.uniform(0, 255, (2, 13, 12, 3))
    expected = [np.mean([_reference_ssim(x[b, ..., c], y[b, ..., c]) for c in range(3)]) for b in range(2)]
    np.testing.assert_allclose(ssim(x, y, reduce=False), expected, rtol=1e-10)
    np.testing.assert_allclose(ssim(x, y), np.mean(expected), rtol=1e-10)


def test_identical_and_scale():
    x = np.random.default_rng(2).uniform(0, 1, (20, 20, 3))
    assert ssim(x, x, data_range=1.0) == pytest.approx(1.0)
    # The same images on [0, 1] and on [0, 255] give the same SSIM.
    y = np.clip(x + 0.1, 0, 1)
    assert ssim(x, y, data_range=1.0) == pytest.approx(ssim(255 * x, 255 * y))
    assert ssim(x, y, data_range=1.0) < 1.0


def test_errors():
    with pytest.raises(ValueError, match="same shape"):
        ssim(np.zeros((12, 12)), np.zeros((12, 13)))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))


def test_ssim_has_one_home():
    """The numpy metric lives beside the training term in `keras_nted.losses.ssim`; `evaluation` re-exports it."""
    from keras_nted import evaluation
    from keras_nted.losses import ssim as home

    assert ssim is home.ssim is evaluation.ssim and gaussian_window is home.gaussian_window
