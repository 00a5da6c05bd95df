import os
import pathlib

import keras
import numpy as np
import pytest

SHARED = pathlib.Path(
    os.environ.get("KERAS_NTED_SHARED", pathlib.Path(__file__).resolve().parents[1].parent / "shared")
)
FIXTURES = SHARED / "fixtures"


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"


@pytest.fixture(scope="session")
def fixtures_dir():
    if not FIXTURES.is_dir():
        raise FileNotFoundError(
            f"The released-implementation fixtures are missing: expected {FIXTURES} "
            "(set KERAS_NTED_SHARED to the folder holding fixtures/)."
        )
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_fixture(fixtures_dir):
    return dict(np.load(fixtures_dir / "official_tiny_s0.npz"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
