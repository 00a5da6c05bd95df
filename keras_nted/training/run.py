"""`train`: a training run, from its arguments to the trained `NTEDGAN` (the run folder: `keras_nted.training`)."""

import contextlib
import json
import logging
import math
import os
import pathlib

import keras

from keras_nted.callbacks import TENSORBOARD_NOTE
from keras_nted.callbacks import SampleGrid
from keras_nted.callbacks import SaveGenerator
from keras_nted.callbacks import StopOnInterrupt
from keras_nted.callbacks import StopOnNonFiniteLoss
from keras_nted.callbacks import Timer
from keras_nted.callbacks import tensorboard_callback
from keras_nted.distribute import ProcessShard
from keras_nted.distribute import alone
from keras_nted.distribute import is_chief
from keras_nted.distribute import local_batch_size
from keras_nted.files import RunLock
from keras_nted.files import atomic_path
from keras_nted.files import check_output_path
from keras_nted.files import remove_stale_temporaries
from keras_nted.losses.perceptual import check_vgg_weights
from keras_nted.models.config import load_config
from keras_nted.models.gan import NTEDGAN
from keras_nted.models.generator import save_generator
from keras_nted.models.loss_settings import LOSS_SETTINGS
from keras_nted.models.loss_settings import check_loss_settings
from keras_nted.models.loss_settings import check_non_negative
from keras_nted.models.optimizers import DEFAULT_LEARNING_RATE
from keras_nted.models.optimizers import default_optimizers
from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.data import EpochSetter
from keras_nted.training.data import RotatingEpochs
from keras_nted.training.data import make_data
from keras_nted.training.resume import check_resume
from keras_nted.training.resume import fit_from_checkpoint
from keras_nted.training.schedule import learning_rate_schedule
from keras_nted.utils.memory import check_fits_in_memory
from keras_nted.utils.openpose import NUM_SKELETON_CHANNELS

logger = logging.getLogger(__name__)


def build_gan(config, image_size, vgg_weights="imagenet"):
    """An `NTEDGAN` for a resolved config (`NTEDGAN.from_model_config`, after checking the run's inputs).

    Args:
        config: a `load_config` dict.
        image_size: `(height, width)`; `height` must equal the generator's `size`.
        vgg_weights: `"imagenet"`, a local VGG19 weights file, `"random"` (random VGG19
            weights: benchmarks), or `"none"` for no perceptual and face loss network at all
            (then plain L1 reconstructs: `weight_l1` defaults to 10).
    """
    height, width = image_size
    size = int(config["generator"]["size"])
    if height != size:
        raise ValueError(
            f"This configuration makes {size}-pixel-high images (generator size {size}). "
            f"Received: image_size={(height, width)}"
        )
    return NTEDGAN.from_model_config(config, vgg_weights, image_width=width)


def _check_arguments(batch_size, epochs, seed, steps_per_epoch, learning_rate, loss_weights, data_root, vgg_weights):
    """Refuse bad arguments before anything is read, built or written."""
    for name, value, minimum in (("batch_size", batch_size, 1), ("epochs", epochs, 1), ("seed", seed, 0)):
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"Expected {name} to be an integer >= {minimum}. Received: {name}={value!r}")
    check_vgg_weights(vgg_weights)
    # NaN, infinite or negative rates and weights train NaN or diverging models.
    if learning_rate is not None:
        check_non_negative("learning_rate", learning_rate)
    check_loss_settings(loss_weights or {})
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(f"Expected steps_per_epoch >= 1. Received: steps_per_epoch={steps_per_epoch}")
    if data_root is not None and not os.path.isdir(data_root):
        raise FileNotFoundError(f"DeepFashion root not found: {data_root}")


def check_batch_memory(batch_size, image_size):
    """Refuses a batch whose inputs alone do not fit in the memory available now (before allocating).

    A pair is two images and two skeleton maps of float32; the trainer takes each pair in both
    directions. The step's activations need many times more: this bound only catches what could
    never run, before anything is built (a batch of 1,000,000 would otherwise hang the machine).
    """
    height, width = image_size
    pair_bytes = 2 * height * width * (2 * 3 + 2 * NUM_SKELETON_CHANNELS) * 4
    check_fits_in_memory("batch size", batch_size, batch_size * pair_bytes, "the batch's inputs alone")


def _run_record(preset, config_path, config, image_size, data_root, settings):
    """The run's `config.json` record (the run-defining part; `train` adds the rest)."""
    return {
        "preset": None if config_path else (preset or "nted_tiny"),
        "config_file": str(config_path) if config_path else None,
        "config": {
            k: ({str(a): b for a, b in v.items()} if isinstance(v, dict) else v)
            for k, v in {**config["generator"], "image_size": list(image_size)}.items()
        },
        "data": str(data_root) if data_root else "mannequin",
        **settings,
    }


def _callbacks(output_dir, checkpoint, epoch_data, sample, model_path, steps, chief):
    """The run's callbacks, in their order (the interrupt handler, last, is added by `train`)."""
    callbacks = [
        StopOnNonFiniteLoss(),  # first: nothing is saved from a diverged state
        EpochSetter(epoch_data),
        checkpoint,
        SampleGrid(output_dir / "samples", sample),
        SaveGenerator(model_path),
        Timer(output_dir / "time.json"),
    ]
    if not chief:
        pass  # only process 0 writes files
    else:
        # Batch summaries every `update_freq` steps; it divides the epoch length because Keras
        # writes the epoch summaries only on a step where batch summaries are due.
        tensorboard = tensorboard_callback(output_dir / "logs", update_freq=math.gcd(100, steps))
        if tensorboard is None:
            logger.info(TENSORBOARD_NOTE)
        else:
            callbacks.append(tensorboard)
    return callbacks


def train(
    output_dir,
    preset=None,
    config_path=None,
    data_root=None,
    image_size=None,
    batch_size=8,
    epochs=1,
    steps_per_epoch=None,
    seed=0,
    vgg_weights="imagenet",
    loss_weights=None,
    learning_rate=None,
    lr_decay_steps=None,
    checkpoint_every=500,
    keep_every=None,
    model_path=None,
    workers=1,
    verbose=1,
):
    """Train (or resume) an NTED model; returns the trained `NTEDGAN`.

    Args:
        output_dir: the run folder (see `keras_nted.training`).
        preset, config_path: the model configuration (a preset name or a YAML/JSON file).
        data_root: a DeepFashion root; `None` for the mannequin set, generated in memory.
        image_size: `(height, width)`; default the config's.
        batch_size: pairs per step (the trainer doubles them: both directions); under
            `keras_nted.distribute.data_parallel()` the global batch, of which each process
            reads its share.
        epochs, steps_per_epoch: as in `fit` (default steps: one pass over the data).
        seed: data seed (order, augmentation). The model's initial weights come from Keras'
            global random state: `keras.utils.set_random_seed` before calling makes the whole
            run repeatable (`keras-nted train --seed` does both).
        vgg_weights: `"imagenet"` (the default, as everywhere), a VGG19 file, `"random"`, or `"none"` (no perceptual /
            face loss; plain L1 with weight 10 unless `loss_weights` sets `weight_l1`).
        loss_weights: dict of `LOSS_SETTINGS` overrides (`None` values are ignored); the
            weights must be finite numbers >= 0.
        learning_rate: generator learning rate (default the release's 0.002; a finite
            number >= 0); the discriminator's is scaled the same way.
        lr_decay_steps: cosine-decay the generator's learning rate to 0 over the last
            this many of the `epochs * steps_per_epoch` steps (constant before them; not in
            the release, whose rate is constant). `None`: constant throughout. A run resumes
            with the schedule it was started with, or with another one (other `epochs` or
            `lr_decay_steps`) while its steps so far are all inside both schedules' constant
            phase: the result is then exactly the new settings' run from scratch.
        checkpoint_every: steps between checkpoints (also at every epoch end). A killed run
            loses at most the steps since its last checkpoint; re-running the same call
            resumes at the exact step. A call with other run-defining settings (see
            `RUN_DEFINING`) on a folder holding a checkpoint is refused before anything is
            written, and so is a second process training into the same folder.
        keep_every: keep every checkpoint whose step is a multiple of this, besides the newest
            two (`None`: only those two); see `TrainingCheckpoint`.
        model_path: where the EMA generator `.keras` goes (default `output_dir/generator.keras`).
        workers: threads building batches.
        verbose: `fit` verbosity (1: progress bar).
    """
    _check_arguments(batch_size, epochs, seed, steps_per_epoch, learning_rate, loss_weights, data_root, vgg_weights)
    config = load_config(preset, config_path)
    image_size = tuple(image_size or config["image_size"])
    if data_root is None:
        from keras_nted.data.mannequin import check_mannequin_size

        check_mannequin_size(image_size)
    check_batch_memory(batch_size, image_size)
    output_dir = pathlib.Path(output_dir)
    model_path = pathlib.Path(model_path or output_dir / "generator.keras")
    if model_path.suffix != ".keras":
        raise ValueError(f"Expected a model path ending in .keras. Received: {model_path}")
    check_output_path(output_dir, "output_dir", folder=True)
    check_output_path(model_path, "model_path", folder=False)  # now, not after a whole epoch
    settings = {k: v for k, v in (loss_weights or {}).items() if v is not None}
    # The part-colour term reads the part labels: only then do the batches carry them.
    with_labels = bool(settings.get("weight_part_color", config.get("training", {}).get("weight_part_color")))
    data, sample = make_data(image_size, local_batch_size(batch_size), seed, data_root, workers, with_labels)
    data = ProcessShard(data)  # this process's share of every global batch (all of it in one process)
    steps = int(steps_per_epoch or len(data))
    rate = DEFAULT_LEARNING_RATE if learning_rate is None else float(learning_rate)
    schedule = learning_rate_schedule(rate, epochs * steps, lr_decay_steps)
    record = _run_record(preset, config_path, config, image_size, data_root, {
        "seed": seed, "batch_size": batch_size, "epochs": epochs, "steps_per_epoch": steps,
        "vgg_weights": str(vgg_weights), "learning_rate": rate,
        "lr_schedule": None if schedule is None else schedule["record"], "loss_overrides": settings,
    })  # fmt: skip
    chief = is_chief()  # only process 0 of a multi-process run writes files
    checkpoint = TrainingCheckpoint(
        str(output_dir / "backup"), save_freq=int(checkpoint_every), write=chief, keep_every=keep_every
    )

    if chief:
        check_resume(output_dir, record, checkpoint)  # again under the lock; here before anything is written
    # Everything up to here only read; from here on the folder is this process's alone.
    with RunLock(output_dir) if chief else contextlib.nullcontext():
        repointed = check_resume(output_dir, record, checkpoint)
        if repointed and chief:
            logger.info(repointed)
        if chief:
            remove_stale_temporaries(output_dir)
        gan = build_gan(config, image_size, vgg_weights)
        generator_optimizer, discriminator_optimizer = default_optimizers(
            rate, generator_schedule=None if schedule is None else schedule["schedule"]
        )
        gan.compile(
            generator_optimizer=generator_optimizer, discriminator_optimizer=discriminator_optimizer, **settings
        )
        record["loss"] = {k: getattr(gan, k) for k in LOSS_SETTINGS}
        record["backend"] = keras.backend.backend()
        record["generator_parameters"] = gan.generator.count_params()
        if chief:
            with atomic_path(output_dir / "config.json") as tmp:
                tmp.write_text(json.dumps(record, indent=2, default=str))

        epoch_data = RotatingEpochs(data, steps, seed=seed)
        callbacks = _callbacks(output_dir, checkpoint, epoch_data, sample, model_path, steps, chief)
        # Restores the newest checkpoint and continues at its exact step. shuffle=False:
        # `RotatingEpochs` fixes the order; Keras' shuffle draws from each process's own global random
        # state, so a resumed run, or the processes of a multi-process run, would disagree.
        interrupt = StopOnInterrupt(checkpoint)  # last: the step's other callbacks have run
        callbacks.append(interrupt)
        with interrupt.installed():
            # One progress display, the chief's (each process logs the losses of its own share).
            fit_from_checkpoint(
                gan, epoch_data, checkpoint, epochs=epochs, callbacks=callbacks, verbose=verbose if chief else 0,
                shuffle=False,
            )  # fmt: skip
        if chief and not model_path.exists():  # already complete when resumed: still give the model
            alone(save_generator, gan.ema_generator, model_path)
    return gan
