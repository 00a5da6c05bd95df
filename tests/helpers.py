"""Helpers shared by the tests (fixture layouts)."""

import json

import keras
import numpy as np

RELEASED_WEIGHT_PREFIXES = ("reference_encoder.", "skeleton_encoder.", "target_image_renderer.", "dis.")


def nhwc(x):
    """NCHW fixture array -> NHWC."""
    return np.transpose(x, (0, 2, 3, 1))


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def fixture_meta(fixture):
    return json.loads(str(fixture["meta_json"]))


def fixture_weights(fixture, prefix=None):
    """The released state-dict entries of the tiny fixture (optionally one net's, prefix stripped)."""
    out = {k: v for k, v in fixture.items() if k.startswith(RELEASED_WEIGHT_PREFIXES)}
    if prefix == "dis.":
        return {k[4:]: v for k, v in out.items() if k.startswith("dis.")}
    if prefix == "gen":
        return {k: v for k, v in out.items() if not k.startswith("dis.")}
    return out
