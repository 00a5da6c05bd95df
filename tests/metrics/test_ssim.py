"""SSIM and PSNR against scikit-image (the field's calls), on every backend."""

import numpy as np
import pytest
from keras import ops

from keras_nted.metrics import ssim as metrics


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
