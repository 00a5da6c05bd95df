"""NTEDGAN with the part-colour term (`weight_part_color`): the labelled batches of the mannequin set."""

import numpy as np
import pytest

from keras_nted.models import NTEDGAN
from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from tests.models.test_gan import Batches
from tests.models.test_gan import make_batch


def lossless_gan():
    """The tiny GAN without a loss network (L1 reconstructs): the fewest terms to compile."""
    generator = NTEDGenerator.from_preset("nted_tiny", name="generator")
    return NTEDGAN(generator, NTEDDiscriminator.from_preset("nted_tiny", name="discriminator"), None)


def labelled_batch(seed):
    batch = make_batch(seed)
    rng = np.random.default_rng(seed)
    for role in ("source", "target"):
        batch[f"{role}_labels"] = rng.integers(0, 6, batch[f"{role}_image"].shape[:3]).astype("uint8")
    return batch


def test_fit_logs_the_term_and_needs_labels():
    gan = lossless_gan()
    gan.compile(weight_part_color=2.0, gan_start_step=100)
    assert gan.get_compile_config()["weight_part_color"] == 2.0
    history = gan.fit(Batches(2, batch=labelled_batch(0)), epochs=1, verbose=0).history
    assert set(history) == {"loss", "l1", "part_color", "attention"}
    assert all(np.isfinite(v) and v > 0 for v in history["part_color"])
    unlabelled = lossless_gan()
    unlabelled.compile(weight_part_color=2.0, gan_start_step=100, run_eagerly=True)
    with pytest.raises(ValueError, match="labels=None"):
        unlabelled.fit(Batches(1), epochs=1, verbose=0)
