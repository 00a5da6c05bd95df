"""Training runs: configs, data, callbacks and the `train` function behind `keras-nted train`.

A run lives in one output folder:

- `backup/`: crash-safe checkpoints (`TrainingCheckpoint`); running the same command again
  resumes at the exact step, mid-epoch, on the same data as an uninterrupted run;
- `logs/`: TensorBoard logs (when TensorFlow and TensorBoard are importable);
- `samples/epoch_NNNN.png`: a grid of held-out pairs after every epoch, one row per pair:
  reference | target skeleton | generated | ground truth | attention panels (spec §9);
- `config.json`: the resolved configuration and training settings;
- `generator.keras` (or the `model_path` given): the EMA generator, written atomically after
  every epoch, so a usable model exists even if the run is stopped;
- `.lock`: held (an OS file lock) while a process trains into the folder.
"""

import contextlib
import json
import logging
import math
import os
import pathlib
import time

import keras
import numpy as np

from keras_nted.callbacks import StopOnInterrupt
from keras_nted.callbacks import StopOnNonFiniteLoss
from keras_nted.callbacks import TrainingCheckpoint
from keras_nted.files import RunLock
from keras_nted.distribute import ProcessShard
from keras_nted.distribute import is_chief
from keras_nted.distribute import local_batch_size
from keras_nted.distribute import to_host
from keras_nted.files import atomic_path
from keras_nted.files import read_config_file
from keras_nted.files import remove_stale_temporaries
from keras_nted.models.presets import get_preset
from keras_nted.models.presets import int_keys

logger = logging.getLogger(__name__)

# Loss weights and schedule settings a config's `training` dict (or a command line) may set.
LOSS_SETTINGS = (
    "weight_perceptual", "weight_attention", "weight_face", "weight_gan", "weight_l1", "weight_ssim", "gan_start_step"
)


def load_config(preset=None, config_path=None):
    """The model config of a preset or a YAML/JSON file, in the preset form.

    A file holds either the preset form (`generator`, `discriminator`, optional `training`
    and `image_size`) or the released form (`gen: {param: ...}`, `dis: {param: ...}`,
    optional `trainer: {loss_weight: ...}` is ignored).

    Returns:
        A dict with `generator`, `discriminator`, `training` and `image_size`.
    """
    if config_path:
        config = read_config_file(config_path)
        if "gen" in config:
            gen = config["gen"].get("param", config["gen"])
            dis = config.get("dis", {}).get("param", config.get("dis", {}))
            config = {"generator": gen, "discriminator": dis, "training": {}}
        if "generator" not in config:
            raise ValueError(
                f"Expected {config_path} to hold `generator` and `discriminator` (preset form) or "
                "`gen.param` / `dis.param` (released form)."
            )
        config.setdefault("training", {})
    else:
        config = get_preset(preset or "nted_tiny")
    generator = dict(config["generator"])
    size = int(generator.get("size", 0))
    discriminator = dict(config.get("discriminator") or {})
    if not discriminator:
        raise ValueError("Expected a `discriminator` section in the config.")
    discriminator.setdefault("size", size)
    discriminator.setdefault("is_square_image", False)
    for key in ("channels", "num_labels", "match_kernels"):
        if key in generator:
            generator[key] = int_keys(generator[key], f"generator.{key}")
    discriminator["channels"] = int_keys(discriminator.get("channels", {}), "discriminator.channels")
    image_size = config.get("image_size") or (size, size * 11 // 16)
    return {
        "generator": generator,
        "discriminator": discriminator,
        "training": dict(config.get("training") or {}),
        "image_size": tuple(int(v) for v in image_size),
    }


def parse_image_size(text):
    """`"64x44"` -> `(64, 44)`; a `ValueError` naming `--image-size` otherwise."""
    try:
        height, width = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"Expected --image-size as HEIGHTxWIDTH, e.g. 64x44. Received: --image-size {text}") from None
    if height < 16 or width < 1:
        raise ValueError(f"Expected a positive --image-size HEIGHTxWIDTH. Received: --image-size {text}")
    return height, width


def build_gan(config, image_size, vgg_weights="none"):
    """An `NTEDGAN` for a resolved config.

    Args:
        config: a `load_config` dict.
        image_size: `(height, width)`; `height` must equal the generator's `size`.
        vgg_weights: `"imagenet"`, a local VGG19 weights file, `"random"` (random VGG19
            weights: benchmarks), or `"none"`/`None` for no perceptual and face loss network
            at all (then plain L1 reconstructs: `weight_l1` defaults to 10).
    """
    from keras_nted.models.discriminator import NTEDDiscriminator
    from keras_nted.models.gan import DEFAULT_TRAINING
    from keras_nted.models.gan import NO_VGG
    from keras_nted.models.gan import NTEDGAN
    from keras_nted.models.gan import loss_networks
    from keras_nted.models.generator import NTEDGenerator

    height, width = image_size
    size = int(config["generator"]["size"])
    if height != size:
        raise ValueError(
            f"This configuration makes {size}-pixel-high images (generator size {size}). "
            f"Received: --image-size {height}x{width}"
        )
    generator = NTEDGenerator(**config["generator"], image_width=width, name="generator")
    discriminator = NTEDDiscriminator(**config["discriminator"], image_width=width, name="discriminator")
    training = config["training"]
    if vgg_weights not in NO_VGG + ("imagenet", "random") and not os.path.isfile(vgg_weights):
        raise FileNotFoundError(f"VGG19 weights file not found: {vgg_weights}")
    perceptual, face = loss_networks(training, vgg_weights)
    defaults = {k: training[k] for k in DEFAULT_TRAINING if k in training}
    return NTEDGAN(generator, discriminator, perceptual, face, training_defaults=defaults)


class _Rotating(keras.utils.PyDataset):
    """Shows epoch `e` the batches `e * steps ... (e + 1) * steps - 1` of a longer data set.

    Within epoch `e` the batches come in an order drawn from `(seed, e)`; global step `g`
    then trains on batch `g % len(data)` of pass `g // len(data)` over the data (a data set
    with `batch_at(index, epoch)`, like `DeepFashionDataset`, draws that pass's augmentation
    and order). `epoch` is set by `_EpochSetter` at each epoch start (also after a resume),
    before Keras starts fetching the epoch's batches, so the batch of every step is a
    function of the step number only and a resumed run sees what an uninterrupted one would.
    `fit` must not shuffle it (`shuffle=False`): Keras would draw its order from NumPy's
    global random state.
    """

    def __init__(self, data, steps_per_epoch, seed=0):
        super().__init__(workers=data.workers, use_multiprocessing=data.use_multiprocessing)
        self.data = data
        self.steps = int(steps_per_epoch)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.steps)
        step = self.epoch * self.steps + int(order[index])
        passes, batch = divmod(step, len(self.data))
        batch_at = getattr(self.data, "batch_at", None)
        return self.data[batch] if batch_at is None else batch_at(batch, epoch=passes)


class _EpochSetter(keras.callbacks.Callback):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def on_epoch_begin(self, epoch, logs=None):
        self.data.epoch = epoch


class SampleGrid(keras.callbacks.Callback):
    """Writes `folder/epoch_NNNN.png` after every epoch: held-out pairs through the EMA generator.

    Rows: reference | target skeleton | generated | ground truth | attention panels (spec §9).
    """

    def __init__(self, folder, batch):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.batch = batch

    def on_epoch_end(self, epoch, logs=None):
        from keras_nted.visualize import sample_rows
        from keras_nted.visualize import stack_rows
        from keras_nted.files import write_png

        rows, _ = sample_rows(self.model.ema_generator, self.batch)  # on every process: it may be collective
        if is_chief():
            write_png(self.folder / f"epoch_{epoch + 1:04d}.png", stack_rows(rows))


class SaveGenerator(keras.callbacks.Callback):
    """Saves the EMA generator as a `.keras` file, atomically, after every epoch."""

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)

    def on_epoch_end(self, epoch, logs=None):
        if is_chief():
            save_generator(self.model.ema_generator, self.path)


class _Timer(keras.callbacks.Callback):
    """Adds up training wall time across resumed runs in `path` (JSON)."""

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)
        self.start = None

    def _read(self):
        if self.path.is_file():
            try:
                return json.loads(self.path.read_text())
            except ValueError:
                pass
        return {"seconds": 0.0}

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief():
            return
        state = self._read()
        state["seconds"] = state.get("seconds", 0.0) + time.time() - self.start
        state["epochs"] = epoch + 1
        state["step"] = int(to_host(self.model.step))
        state["backend"] = keras.backend.backend()
        # Strict JSON: a non-finite value is written as null.
        state["logs"] = {k: float(v) if math.isfinite(float(v)) else None for k, v in (logs or {}).items()}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(state, indent=2, allow_nan=False))


def learning_rate_schedule(learning_rate, total_steps, decay_steps):
    """The generator's learning rate: constant, then a cosine decay to 0 over the last `decay_steps`.

    Returns:
        `None` when `decay_steps` is `None`, else a dict with the Keras `schedule`
        (`keras.optimizers.schedules.CosineDecay` whose "warm-up" holds the rate constant)
        and its `record` for `config.json`.
    """
    if decay_steps is None:
        return None
    if not isinstance(decay_steps, int) or not 1 <= decay_steps <= total_steps:
        raise ValueError(
            f"Expected --lr-decay-steps between 1 and the run's {total_steps} steps (epochs x steps per epoch). "
            f"Received: {decay_steps!r}"
        )
    hold = total_steps - decay_steps
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=float(learning_rate),
        decay_steps=decay_steps,
        alpha=0.0,
        warmup_target=float(learning_rate),
        warmup_steps=hold,
        name="hold_then_cosine",
    )
    return {
        "schedule": schedule,
        "record": {"kind": "hold_then_cosine", "learning_rate": float(learning_rate), "hold_steps": hold,
                   "decay_steps": decay_steps},
    }


# The config.json entries that define a run: a resumed run must have the same ones
# (`epochs` may grow; the backend may change, since checkpoints move between backends).
RUN_DEFINING = (
    "preset", "config_file", "config", "data", "seed", "batch_size", "steps_per_epoch", "vgg_weights",
    "learning_rate", "lr_schedule", "loss_overrides",
)


def _check_resume(output_dir, record, checkpoint):
    """Refuse to resume a run folder with settings other than the ones it was started with.

    Only a folder that holds a checkpoint has a run to protect. Raises a `ValueError` naming
    what differs, before anything is built or written.
    """
    config_path = output_dir / "config.json"
    if not checkpoint.checkpoints() or not config_path.is_file():
        return
    try:
        before = json.loads(config_path.read_text())
    except ValueError:
        raise ValueError(f"{config_path} is not valid JSON; cannot check that this command resumes the same run.") from None
    if before.get("lr_schedule") != record["lr_schedule"]:
        def describe(schedule):
            if schedule is None:
                return "a constant learning rate"
            return f"a constant rate for {schedule['hold_steps']} steps then a cosine decay over {schedule['decay_steps']}"

        raise ValueError(
            f"{output_dir} was started with {describe(before.get('lr_schedule'))}; this command asks for "
            f"{describe(record['lr_schedule'])}. Resume with the same --epochs, --steps-per-epoch and "
            "--lr-decay-steps, or use a new --output."
        )
    changed = [key for key in RUN_DEFINING if key in before and json.loads(json.dumps(record[key], default=str)) != before[key]]
    if changed:
        details = "; ".join(f"{key}: {before[key]!r} then, {record[key]!r} now" for key in changed)
        raise ValueError(
            f"{output_dir} holds a run started with other settings ({details}). Resume it with its own settings "
            f"(see {config_path}), or train into a new --output."
        )


def tensorboard_available():
    """Whether `keras.callbacks.TensorBoard` can write logs (it needs tensorflow and tensorboard)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "tensorboard"))


def save_generator(generator, path):
    """Save a generator as `.keras` atomically (never half-written)."""
    path = pathlib.Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Expected a model path ending in .keras. Received: {path}")
    with atomic_path(path) as tmp:
        generator.save(tmp)
    return path


def make_data(image_size, batch_size, seed, data_root=None, workers=1):
    """The training data and a held-out sample batch (4 pairs) for the sample grids."""
    if data_root is None:
        from keras_nted.data.mannequin import MannequinDataset
        from keras_nted.data.mannequin import check_image_size

        check_image_size(image_size)
        data = MannequinDataset(image_size=image_size, batch_size=batch_size, split="train", seed=seed, workers=workers)
        held_out = MannequinDataset(image_size=image_size, batch_size=4, split="test", seed=seed, poses_per_identity=4)
        # Four different identities: pairs 0, 12, 24, 36 of the test order.
        pairs = [held_out.get_batch(3 * i) for i in range(4)]
        sample = {k: np.concatenate([p[k][:1] for p in pairs]) for k in pairs[0]}
        return data, sample
    from keras_nted.data.deepfashion import DeepFashionDataset

    if not os.path.isdir(data_root):
        raise FileNotFoundError(f"DeepFashion root not found: {data_root}")
    data = DeepFashionDataset(data_root, split="train", image_size=image_size, batch_size=batch_size, seed=seed,
                              workers=workers)
    try:
        sample = DeepFashionDataset(data_root, split="test", image_size=image_size, batch_size=4, seed=seed)[0]
    except (FileNotFoundError, ValueError, IndexError):
        sample = data[0]
    return data, sample


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
    vgg_weights="none",
    loss_weights=None,
    learning_rate=None,
    lr_decay_steps=None,
    checkpoint_every=500,
    model_path=None,
    workers=1,
    verbose=1,
):
    """Train (or resume) an NTED model; returns the trained `NTEDGAN`.

    Args:
        output_dir: the run folder (see the module docstring).
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
        vgg_weights: `"imagenet"`, a VGG19 file, `"random"`, or `"none"` (no perceptual /
            face loss; plain L1 with weight 10 unless `loss_weights` sets `weight_l1`).
        loss_weights: dict of `LOSS_SETTINGS` overrides (`None` values are ignored); the
            weights must be finite numbers >= 0.
        learning_rate: generator learning rate (default the release's 0.002; a finite
            number >= 0); the discriminator's is scaled the same way.
        lr_decay_steps: cosine-decay the generator's learning rate to 0 over the last
            this many of the `epochs * steps_per_epoch` steps (constant before them; not in
            the release, whose rate is constant). `None`: constant throughout. A run resumes
            only with the schedule it was started with.
        checkpoint_every: steps between checkpoints (also at every epoch end). A killed run
            loses at most the steps since its last checkpoint; re-running the same call
            resumes at the exact step. A call with other run-defining settings (see
            `RUN_DEFINING`) on a folder holding a checkpoint is refused before anything is
            written, and so is a second process training into the same folder.
        model_path: where the EMA generator `.keras` goes (default `output_dir/generator.keras`).
        workers: threads building batches.
        verbose: `fit` verbosity (1: progress bar).
    """
    from keras_nted.models.gan import _default_optimizers
    from keras_nted.models.gan import check_non_negative

    for name, value, minimum in (("batch size", batch_size, 1), ("epochs", epochs, 1), ("seed", seed, 0)):
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"Expected {name} to be an integer >= {minimum}. Received: {value!r}")
    # NaN, infinite or negative rates and weights train NaN or diverging models: refused
    # before anything is built or written.
    numbers = {"learning_rate": learning_rate, **(loss_weights or {})}
    for name, value in numbers.items():
        if value is not None and name != "gan_start_step":
            check_non_negative(name, value)
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(f"Expected steps per epoch >= 1. Received: {steps_per_epoch}")
    if data_root is not None and not os.path.isdir(data_root):
        raise FileNotFoundError(f"DeepFashion root not found: {data_root}")
    config = load_config(preset, config_path)
    image_size = tuple(image_size or config["image_size"])
    if data_root is None:
        from keras_nted.data.mannequin import check_image_size

        check_image_size(image_size)
    output_dir = pathlib.Path(output_dir)
    model_path = pathlib.Path(model_path or output_dir / "generator.keras")
    if model_path.suffix != ".keras":
        raise ValueError(f"Expected a model path ending in .keras. Received: {model_path}")
    data, sample = make_data(image_size, local_batch_size(batch_size), seed, data_root, workers)
    data = ProcessShard(data)  # this process's share of every global batch (all of it in one process)
    steps = int(steps_per_epoch or len(data))
    rate = 0.002 if learning_rate is None else float(learning_rate)
    schedule = learning_rate_schedule(rate, epochs * steps, lr_decay_steps)
    settings = {k: v for k, v in (loss_weights or {}).items() if v is not None}
    record = {
        "preset": None if config_path else (preset or "nted_tiny"),
        "config_file": str(config_path) if config_path else None,
        "config": {k: ({str(a): b for a, b in v.items()} if isinstance(v, dict) else v)
                   for k, v in {**config["generator"], "image_size": list(image_size)}.items()},
        "data": str(data_root) if data_root else "mannequin",
        "seed": seed,
        "batch_size": batch_size,
        "epochs": epochs,
        "steps_per_epoch": steps,
        "vgg_weights": str(vgg_weights),
        "learning_rate": rate,
        "lr_schedule": None if schedule is None else schedule["record"],
        "loss_overrides": settings,
    }
    chief = is_chief()  # only process 0 of a multi-process run writes files
    checkpoint = TrainingCheckpoint(str(output_dir / "backup"), save_freq=int(checkpoint_every), write=chief)

    # Everything up to here only read; from here on the folder is this process's alone.
    with RunLock(output_dir) if chief else contextlib.nullcontext():
        _check_resume(output_dir, record, checkpoint)
        if chief:
            remove_stale_temporaries(output_dir)
        gan = build_gan(config, image_size, vgg_weights)
        generator_optimizer, discriminator_optimizer = _default_optimizers(
            rate, generator_schedule=None if schedule is None else schedule["schedule"]
        )
        gan.compile(generator_optimizer=generator_optimizer, discriminator_optimizer=discriminator_optimizer, **settings)
        record["loss"] = {k: getattr(gan, k) for k in LOSS_SETTINGS}
        record["backend"] = keras.backend.backend()
        record["generator_parameters"] = gan.generator.count_params()
        if chief:
            with atomic_path(output_dir / "config.json") as tmp:
                tmp.write_text(json.dumps(record, indent=2, default=str))

        epoch_data = _Rotating(data, steps, seed=seed)
        callbacks = [
            StopOnNonFiniteLoss(),  # first: nothing is saved from a diverged state
            _EpochSetter(epoch_data),
            checkpoint,
            SampleGrid(output_dir / "samples", sample),
            SaveGenerator(model_path),
            _Timer(output_dir / "time.json"),
        ]
        if not chief:
            pass  # only process 0 writes files
        elif tensorboard_available():
            # Batch summaries every `update_freq` steps; it divides the epoch length because Keras
            # writes the epoch summaries only on a step where batch summaries are due.
            update_freq = math.gcd(100, steps)
            callbacks.append(
                keras.callbacks.TensorBoard(str(output_dir / "logs"), write_graph=False, update_freq=update_freq)
            )
        else:
            logger.info(
                "TensorFlow and TensorBoard are not both importable: no TensorBoard logs (pip install tensorboard)"
            )
        # NTEDGAN.fit restores the newest checkpoint and continues at its exact step. shuffle=False:
        # `_Rotating` fixes the order; Keras' shuffle draws from each process's own global random
        # state, so a resumed run, or the processes of a multi-process run, would disagree.
        interrupt = StopOnInterrupt(checkpoint)  # last: the step's other callbacks have run
        callbacks.append(interrupt)
        with interrupt.installed():
            gan.fit(epoch_data, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
        if chief and not model_path.exists():  # already complete when resumed: still give the model
            save_generator(gan.ema_generator, model_path)
    return gan
