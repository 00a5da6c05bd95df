import pathlib

import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "metrics"


@pytest.fixture(scope="session")
def reference():
    """Image pairs and the field's own scores of them (see tests/fixtures/metrics/make_ssim_lpips_fixtures.py)."""
    with np.load(FIXTURES / "ssim_lpips.npz") as data:
        return dict(data)


@pytest.fixture(scope="session")
def unit_images(reference):
    """The pairs as float32 `[0, 1]` images."""
    return reference["ground_truth"] / np.float32(255), reference["prediction"] / np.float32(255)
