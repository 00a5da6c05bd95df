"""Helpers shared by the tests (fixture layouts)."""

import json

import keras
import numpy as np

# The batch contract every data source must honour, spelled out here (not imported from
# keras_nted.data.batch) so that a change to it fails the data tests.
BATCH_CONTRACT_KEYS = frozenset(
    {"source_image", "source_skeleton", "source_face_center", "target_image", "target_skeleton", "target_face_center"}
)

RELEASED_WEIGHT_PREFIXES = ("reference_encoder.", "skeleton_encoder.", "target_image_renderer.", "dis.")


def nhwc(x):
    """NCHW fixture array -> NHWC."""
    return np.transpose(x, (0, 2, 3, 1))


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def checkpoint_arrays(path):
    """Every array of a `.weights.h5` file (a `TrainingCheckpoint`), by its path inside the file."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays


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


def released_checkpoint(fixture, with_ema=True):
    """A training checkpoint in the released layout (DDP `module.` prefixes on net_G / net_D)."""
    gen = fixture_weights(fixture, "gen")
    dis = fixture_weights(fixture, "dis.")
    perturbed = {f"module.{k}": v + 1.0 for k, v in gen.items()}  # must not be used when EMA is there
    checkpoint = {
        "net_G": perturbed if with_ema else {f"module.{k}": v for k, v in gen.items()},
        "net_D": {f"module.{k}": v for k, v in dis.items()},
        "opt_G": {"state": {}, "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "params": [0, 1]}]},
        "current_epoch": 200,
        "current_iteration": 495400,
    }
    if with_ema:
        checkpoint["net_G_ema"] = dict(gen)
    return checkpoint


class BatchProbe(keras.Model):
    """A model that reads every entry of an NTED batch dict (pooled); its head is trained towards zero.

    `call` returns the pooled features with the head's output as the last column, so tests can
    check both that `fit` trains and what `predict` saw. With `expect_keys`, a batch with other
    keys fails.
    """

    def __init__(self, expect_keys=None, **kwargs):
        kwargs.setdefault("name", "batch_probe")  # TF refuses generated names starting with "_"
        super().__init__(**kwargs)
        self.expect_keys = None if expect_keys is None else set(expect_keys)
        self.head = keras.layers.Dense(1)

    def call(self, batch):
        if self.expect_keys is not None:
            assert set(batch) == self.expect_keys, sorted(batch)
        features = []
        for role in ("source", "target"):
            features.append(keras.ops.mean(batch[f"{role}_image"], axis=(1, 2)))
            features.append(keras.ops.mean(batch[f"{role}_skeleton"], axis=(1, 2)))
            features.append(batch[f"{role}_face_center"] / 100.0)
        features = keras.ops.concatenate(features, axis=-1)
        return keras.ops.concatenate([features, self.head(features)], axis=-1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.mean(keras.ops.square(y_pred[:, -1]))
