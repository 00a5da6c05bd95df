import ast
import pathlib

import numpy as np
import pytest

from tests.metrics.seeded_weights import seeded_state_dict

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


# Made by tests/fixtures/metrics/make_inception_fixtures.py (torchvision 0.28.0, pytorch-fid 0.3.0).
INCEPTION_FIXTURE = FIXTURES / "inception_s0.npz"
SEEDS = {"field": 0, "standard": 1}


@pytest.fixture(scope="session")
def inception_fixture():
    with np.load(INCEPTION_FIXTURE) as data:
        return dict(data)


def fixture_state_dict(fixture, kind):
    """The seeded torch state dict the fixture's `kind` network was filled with."""
    keys = [str(k) for k in fixture[f"{kind}_keys"]]
    shapes = ast.literal_eval(str(fixture[f"{kind}_shapes_json"]))
    return seeded_state_dict(keys, shapes, SEEDS[kind])
