"""Training runs: `train`, the function behind `keras-nted train`.

A run lives in one output folder:

- `backup/`: crash-safe checkpoints (`keras_nted.training.checkpoint.TrainingCheckpoint`); running the
  same command again resumes at the exact step, mid-epoch, on the same data as an
  uninterrupted run;
- `logs/`: TensorBoard logs (with `tensorboard` installed; Keras' own writer when TensorFlow is too);
- `samples/epoch_NNNN.png`: a grid of held-out pairs after every epoch, one row per pair:
  reference | target skeleton | generated | ground truth | attention panels
  (`keras_nted.callbacks.SampleGrid`);
- `config.json`: the resolved configuration and training settings;
- `time.json`: the training wall time over every invocation (an epoch cut short by a stop included,
  to within 30 seconds), and the last finished epoch's step and losses (`keras_nted.callbacks.Timer`);
- `generator.keras` (or the `model_path` given): the EMA generator, written atomically after
  every epoch, so a usable model exists even if the run is stopped;
- `.lock`: held (an OS file lock) while a process trains into the folder.

Modules: `run` (`train`), `data` (the training set, its per-epoch order and `EpochSetter`),
`schedule` (the learning rate), `checkpoint` (`TrainingCheckpoint`), `resume`
(`fit_from_checkpoint`: exact resume; `check_resume`: what defines a run). The model config
is read by `keras_nted.models.config`; callbacks not tied to a run live in `keras_nted.callbacks`.
"""

from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.data import EpochSetter
from keras_nted.training.data import RotatingEpochs
from keras_nted.training.data import make_data
from keras_nted.training.resume import RUN_DEFINING
from keras_nted.training.resume import check_resume
from keras_nted.training.resume import fit_from_checkpoint
from keras_nted.training.run import build_gan
from keras_nted.training.run import train
from keras_nted.training.schedule import learning_rate_schedule
