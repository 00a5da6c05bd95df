"""SSIM and PSNR against scikit-image (the field's calls), on every backend."""

import numpy as np
import pytest
from keras import ops

from keras_nted.metrics import ssim_psnr as metrics


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x), "float64")


def test_field_ssim_matches_skimage(reference, unit_images):
    np.testing.assert_allclose(_numpy(metrics.ssim(*unit_images)), reference["ssim"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("sigma", [1.5, 1.2])
def test_field_ssim_256_matches_skimage(reference, unit_images, sigma):
    expected = reference[f"ssim_256_sigma_{sigma}"]
    np.testing.assert_allclose(_numpy(metrics.ssim_256(*unit_images, sigma=sigma)), expected, rtol=0, atol=1e-6)


def test_other_arguments_match_skimage(reference, unit_images):
    population = metrics.structural_similarity(*unit_images, data_range=1.0, use_sample_covariance=False)
    np.testing.assert_allclose(_numpy(population), reference["ssim_win_7_population"], rtol=0, atol=1e-6)
    sample = metrics.structural_similarity(*unit_images, data_range=2.0, win_size=7)
    np.testing.assert_allclose(_numpy(sample), reference["ssim_win_7_sample_range_2"], rtol=0, atol=1e-6)


def test_psnr_matches_skimage(reference, unit_images):
    # float32 holds a PSNR of ~22 dB to 1.9e-6 (its spacing there), so the check is relative.
    np.testing.assert_allclose(_numpy(metrics.psnr(*unit_images)), reference["psnr"], rtol=1e-7, atol=0)


def test_identical_images_score_one(unit_images):
    ground_truth = unit_images[0]
    np.testing.assert_allclose(_numpy(metrics.ssim_256(ground_truth, ground_truth)), 1.0, atol=1e-6)
    assert np.all(np.isinf(_numpy(metrics.psnr(ground_truth, ground_truth))))


def test_bad_arguments_are_one_line_errors(unit_images):
    ground_truth, prediction = unit_images
    with pytest.raises(ValueError, match=r"Received: ground_truth.shape=\(2, 128, 96, 3\), prediction.shape=\(2, 12"):
        metrics.ssim(ground_truth, prediction[:, :120])
    with pytest.raises(ValueError, match=r"Expected win_size=None or 11. Received: win_size=7"):
        metrics.structural_similarity(ground_truth, prediction, gaussian_weights=True, win_size=7)
    with pytest.raises(ValueError, match=r"Expected an odd positive win_size. Received: win_size=8"):
        metrics.structural_similarity(ground_truth, prediction, win_size=8)
    with pytest.raises(ValueError, match=r"at least 51 x 51 .* Received: shape=\(2, 40, 96, 3\)"):
        metrics.ssim(ground_truth[:, :40], prediction[:, :40])


def _reference_ssim(x, y, data_range=255.0):
    """A direct, loop-over-windows SSIM (Wang et al. 2004) of one grey image pair, in float64."""
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
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


def test_gaussian_window_is_the_standard_one():
    g = metrics.gaussian_window()
    assert g.shape == (11,)
    np.testing.assert_allclose(g.sum(), 1.0)
    np.testing.assert_allclose(g[4] / g[5], np.exp(-1 / (2 * 1.5**2)))


def test_gaussian_ssim_is_the_mean_over_channels_of_the_direct_computation():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (2, 13, 12, 3))
    y = np.clip(x + rng.normal(0, 40, x.shape), 0, 255)
    expected = [np.mean([_reference_ssim(x[b, ..., c], y[b, ..., c]) for c in range(3)]) for b in range(2)]
    assert 0.2 < min(expected) < max(expected) < 0.95
    np.testing.assert_allclose(_numpy(metrics.gaussian_ssim(x, y, data_range=255.0)), expected, rtol=0, atol=2e-6)
    # The same images on [0, 1] with data_range=1 give the same SSIM.
    np.testing.assert_allclose(_numpy(metrics.gaussian_ssim(x / 255, y / 255)), expected, rtol=0, atol=2e-6)
