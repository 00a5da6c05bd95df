import pathlib

import keras
import numpy as np
import pytest

# The released implementation's arrays (weights, inputs, outputs) that parity is proven against;
# tests/fixtures/released/README.md says how they were made.
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "released"


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"


@pytest.fixture(scope="session")
def fixtures_dir():
    if not FIXTURES.is_dir():
        raise FileNotFoundError(f"The released-implementation fixtures are missing: expected {FIXTURES}.")
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_fixture(fixtures_dir):
    return dict(np.load(fixtures_dir / "official_tiny_s0.npz"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
