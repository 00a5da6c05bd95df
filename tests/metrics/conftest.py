import ast
import pathlib

import numpy as np
import pytest

from tests.metrics.seeded_weights import seeded_state_dict

# Made by tests/fixtures/metrics/make_inception_fixtures.py (torchvision 0.28.0, pytorch-fid 0.3.0).
INCEPTION_FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "metrics" / "inception_s0.npz"
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
