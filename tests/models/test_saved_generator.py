"""Saved generators fine-tune, and `jit_compile` is not carried to another backend (issue 23)."""

import json
import pathlib
import warnings
import zipfile

import keras
import numpy as np
import pytest

from keras_nted.models import NTEDGAN
from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from tests.helpers import to_numpy
from tests.models.test_gan import Batches

REPO = pathlib.Path(__file__).resolve().parents[2]


def _patched(path, out, update):
    """A copy of the `.keras` file `path` at `out` with `update(config)` applied to its config.json."""
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(out, "w") as new:
        for item in z.namelist():
            content = z.read(item)
            if item == "config.json":
                config = json.loads(content)
                update(config)
                content = json.dumps(config).encode()
            new.writestr(item, content)
    return out


def test_saved_generators_load_trainable_and_one_fit_step_changes_them(tmp_path):
    shipped = keras.saving.load_model(REPO / "saved_models" / "nted_mannequin_64.keras")
    assert shipped.trainable and len(shipped.trainable_weights) == len(shipped.weights)
    # An EMA generator, as `gan.ema_generator.save` and `keras-nted train` save it.
    gan = NTEDGAN(NTEDGenerator.from_preset("nted_tiny"), NTEDDiscriminator.from_preset("nted_tiny"), None)
    assert not gan.ema_generator.trainable_weights  # frozen inside the GAN
    gan.ema_generator.save(tmp_path / "ema.keras")
    loaded = keras.saving.load_model(tmp_path / "ema.keras")
    assert len(loaded.trainable_weights) == len(loaded.weights)
    fine_tune = NTEDGAN(loaded, NTEDDiscriminator.from_preset("nted_tiny"), None)
    fine_tune.compile(gan_start_step=100)
    before = [to_numpy(w).copy() for w in loaded.weights]
    fine_tune.fit(Batches(1), epochs=1, verbose=0)
    moved = [not np.array_equal(a, to_numpy(w)) for a, w in zip(before, fine_tune.generator.weights)]
    assert all(moved), f"{moved.count(False)} of {len(moved)} generator weights did not move"


# The optimizer was never built before saving: Keras says so on load, which is beside the point here.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_jit_compile_true_from_another_backend_loads_as_auto(tmp_path):
    generator = NTEDGenerator.from_preset("nted_tiny")
    generator.compile(jit_compile=True)
    generator.save(tmp_path / "here.keras")
    with zipfile.ZipFile(tmp_path / "here.keras") as z:
        saved = json.loads(z.read("config.json"))["compile_config"]
    assert saved["jit_compile"] is True and saved["backend"] == keras.backend.backend()
    assert keras.saving.load_model(tmp_path / "here.keras").jit_compile is True  # the same backend: as saved
    auto = NTEDGenerator.from_preset("nted_tiny")
    auto.compile(jit_compile="auto")
    other = "torch" if keras.backend.backend() != "torch" else "jax"
    here = tmp_path / "here.keras"
    files = {
        other: _patched(here, tmp_path / "other.keras", lambda c: c["compile_config"].update(backend=other)),
        "unrecorded": _patched(here, tmp_path / "old.keras", lambda c: c["compile_config"].pop("backend")),
    }
    for name, path in files.items():
        loaded = keras.saving.load_model(path)
        assert loaded.jit_compile == auto.jit_compile, name
        if keras.backend.backend() == "torch":  # torch.compile only when asked for on torch
            assert loaded.jit_compile is False, name


def test_uncompiled_generator_saves_no_compile_config_and_loads_uncompiled(tmp_path):
    """`keras-nted train` saves its EMA generator uncompiled: loading it must not compile it (a
    default optimizer and a warning about that optimizer's variables), nor must files written
    before the fix, whose compile config held the backend alone."""
    generator = NTEDGenerator.from_preset("nted_tiny")
    generator.save(tmp_path / "plain.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as z:
        assert json.loads(z.read("config.json"))["compile_config"] == {}
    old_config = {"backend": "jax"}
    old = _patched(tmp_path / "plain.keras", tmp_path / "old.keras", lambda c: c.update(compile_config=old_config))
    for path in (tmp_path / "plain.keras", old):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = keras.saving.load_model(path)
        assert getattr(loaded, "optimizer", None) is None, path.name  # no default optimizer made
    assert not keras.saving.load_model(tmp_path / "plain.keras").compiled
