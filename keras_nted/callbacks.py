"""Training callbacks: atomic, resumable checkpoints."""

import json
import os

import keras

from keras_nted.files import atomic_path


class TrainingCheckpoint(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose files are written atomically.

    Saves the whole training state of an `NTEDGAN` (generator, discriminator, EMA
    generator, both optimizers' states and the step counter) to
    `backup_dir/model.weights.h5` every `save_freq` steps or every epoch, and restores it
    at the start of `fit`, so a run killed at any moment (even with SIGKILL, mid-write)
    restarts from its last complete checkpoint at the same step. With an integer
    `save_freq` it also saves at every epoch end; a run killed mid-epoch resumes from the
    last step checkpoint and replays that epoch's batches (Keras' `BackupAndRestore`
    resumes at epoch granularity). Each file is first
    written beside its target and then renamed over it, so a checkpoint is never
    half-written; the previous one is kept as a fallback.

    Args:
        backup_dir: folder of the checkpoint files.
        save_freq: `"epoch"` or a number of steps.
        delete_checkpoint: delete the folder when training ends (default False: keep it).

    Example:
    >>> gan.fit(data, epochs=10, callbacks=[TrainingCheckpoint("runs/tiny/backup", save_freq=100)])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=False, double_checkpoint=True):
        super().__init__(
            backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint, double_checkpoint=double_checkpoint
        )

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.save_freq != "epoch":
            # Also at every epoch end, so a restart resumes at the next epoch instead of
            # re-running the last one from its mid-epoch checkpoint.
            self._save_model()

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            os.replace(self._weights_path, self._prev_weights_path)
            if os.path.exists(self._training_metadata_path):
                with atomic_path(self._prev_training_metadata_path) as tmp:
                    with open(self._training_metadata_path) as src, open(tmp, "w") as dst:
                        dst.write(src.read())
        with atomic_path(self._weights_path) as tmp:
            self.model.save_weights(tmp)
        with atomic_path(self._training_metadata_path) as tmp:
            with open(tmp, "w") as f:
                json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)
