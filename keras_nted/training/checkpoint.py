"""`TrainingCheckpoint`: a run's crash-safe checkpoints of the whole training state."""

import logging
import math
import pathlib
import re

import keras

from keras_nted.callbacks import NonFiniteLossError
from keras_nted.callbacks import model_step
from keras_nted.callbacks import non_finite
from keras_nted.distribute import alone
from keras_nted.files import atomic_path
from keras_nted.files import remove_stale_temporaries
from keras_nted.utils.validation import check_int

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = re.compile(r"^step_(\d+)\.weights\.h5$")

# Weights beyond this magnitude have exploded (a trained NTED's stay below ~10; one step at a
# learning rate of 1e30 gives ~1e30): a checkpoint of them is no good, though the step's
# losses, computed before the update, were finite.
MAX_WEIGHT = 1e4


def exploded_weight(model):
    """`(path, largest |value|)` of the first float weight of `model` that is non-finite or beyond
    `MAX_WEIGHT`, else `None`."""
    for variable in model.weights:
        if "float" not in str(variable.dtype) or not math.prod(variable.shape):
            continue
        largest = float(keras.ops.convert_to_numpy(keras.ops.max(keras.ops.abs(variable.value))))
        if not largest <= MAX_WEIGHT:  # NaN included
            return variable.path, largest
    return None


class TrainingCheckpoint(keras.callbacks.Callback):
    """Crash-safe checkpoints of an `NTEDGAN` that resume at the exact step.

    Saves the whole training state (generator, discriminator, EMA generator, both
    optimizers' states, loss scales under mixed precision, and the step counter) as
    `directory/step_NNNNNNNNN.weights.h5` every `save_freq` steps and at every epoch end,
    and keeps the newest `keep` files. Each file is written under a temporary name, flushed
    to disk and then renamed, so a checkpoint on disk is always complete: a run killed at any
    instant, in the middle of a write included, loses only the steps since the last
    completed checkpoint. A checkpoint of a state whose losses are not finite is never
    written; one whose weights are not finite or beyond `MAX_WEIGHT` (exploded) is not
    written either, and training stops with a `NonFiniteLossError`. A disk with less room
    than the last checkpoint took is an `OSError` (`ENOSPC`) before anything is written.

    `keras_nted.training.resume.fit_from_checkpoint` restores the newest checkpoint before
    training (`restore`) and continues at the exact step, mid-epoch, so a run stopped and
    resumed any number of times takes the same steps on the same data as one that never
    stopped. Raising `epochs` continues a finished run. Passed to a plain `fit` on a folder
    that holds newer checkpoints than the model's step, it refuses to start (it would
    overwrite them).

    Args:
        directory: folder of the checkpoint files (created when the first one is written).
        save_freq: a number of steps between checkpoints, or `"epoch"` for epoch ends only.
        keep: how many checkpoints to keep (>= 1; the newest ones). With 2 (the default) an
            older complete file remains even if the newest is damaged on disk later.
        keep_every: also keep, for good, every checkpoint whose step is a multiple of this
            (milestones: the whole training state at those steps, to compare or restore);
            `None` (the default): none.
        write: whether this process writes files (`False` on all but one process of a
            multi-process run; every process still restores).

    Example:
    >>> checkpoint = TrainingCheckpoint("runs/tiny/backup", save_freq=100)  # doctest: +SKIP
    >>> fit_from_checkpoint(gan, data, checkpoint, epochs=10, shuffle=False)  # doctest: +SKIP
    """

    def __init__(self, directory, save_freq="epoch", keep=2, write=True, keep_every=None):
        super().__init__()
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Expected save_freq='epoch' or a positive integer. Received: save_freq={save_freq!r}")
        self.directory = pathlib.Path(directory)
        self.save_freq = save_freq
        self.keep = check_int("keep", keep)
        self.keep_every = None if keep_every is None else check_int("keep_every", keep_every)
        self.write = bool(write)
        self._last_saved_step = None

    # ------------------------------------------------------------------ files
    def checkpoints(self):
        """The complete checkpoint files, oldest first, as `(step, path)` pairs."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = CHECKPOINT_NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def restore(self, model):
        """Load the newest readable checkpoint into `model`; returns its step (0 when none).

        A file that cannot be read (damaged on disk after it was written) is skipped with a
        warning in favour of the next older one. Temporaries of writes that a kill
        interrupted are deleted (by the writing process only).
        """
        if self.write:
            remove_stale_temporaries(self.directory)
        for step, path in reversed(self.checkpoints()):
            try:
                model.load_weights(path)
            except Exception as e:  # noqa: BLE001 - any unreadable file: fall back to the older one
                logger.warning("Checkpoint %s cannot be read (%s); trying an older one.", path, e)
                continue
            restored = model_step(model)
            if restored != step:
                raise ValueError(f"Checkpoint {path} holds step {restored}, not {step}: was it renamed?")
            self._last_saved_step = step
            return step
        if self.checkpoints():
            raise ValueError(f"No checkpoint in {self.directory} can be read; move the folder away to start over.")
        return 0

    def save(self, logs=None):
        """Write a checkpoint of the model's current state (unless already written at this step)."""
        step = model_step(self.model)
        if not self.write or step == self._last_saved_step:
            return None
        bad = non_finite(logs)
        if bad:
            logger.warning("Not checkpointing step %d: non-finite %s.", step, ", ".join(sorted(bad)))
            return None
        exploded = exploded_weight(self.model)
        kept = self.checkpoints()
        if exploded:
            raise NonFiniteLossError(
                f"Training diverged by step {step}: the weight {exploded[0]} reached {exploded[1]:.3g} (beyond "
                f"{MAX_WEIGHT:g}). Stopped without checkpointing it; "
                + (f"the last good checkpoint is {kept[-1][1]}." if kept else "no checkpoint was written.")
                + " Train into a new run folder with a lower learning rate."
            )
        path = self.directory / f"step_{step:09d}.weights.h5"
        # As large as the last one; the first: weights and both optimizers' two moments, with room.
        size = kept[-1][1].stat().st_size if kept else 4 * 4 * self.model.count_params() + 2**20
        with atomic_path(path, size=size) as tmp:
            alone(self.model.save_weights, tmp)
        self._last_saved_step = step
        for old_step, old in self.checkpoints()[: -self.keep]:
            if not (self.keep_every and old_step % self.keep_every == 0):
                old.unlink(missing_ok=True)
        return path

    # ------------------------------------------------------------------ callback
    def on_train_begin(self, logs=None):
        # Counted on the host: reading the model's counter every step would force JAX to
        # re-attach the whole training state to the model every step.
        self._step = model_step(self.model)
        newest = self.checkpoints()[-1][0] if self.checkpoints() else None
        if self._last_saved_step is None and newest is not None and newest > self._step:  # not restored
            raise ValueError(
                f"{self.directory} holds checkpoints up to step {newest} but the model is at step {self._step}: "
                "resume with keras_nted.training.resume.fit_from_checkpoint (a plain fit would overwrite them), "
                "or checkpoint into another directory."
            )

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.save_freq != "epoch" and self._step % self.save_freq == 0:
            self.save(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.save(logs)
