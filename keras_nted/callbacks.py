"""Training callbacks: stops on Ctrl-C and non-finite losses, and what a training run writes after
every epoch (sample grids, the EMA generator, its wall time). The run's checkpoints and exact
resume live in `keras_nted.training` (`checkpoint`, `resume`)."""

import contextlib
import importlib.util
import json
import logging
import math
import pathlib
import signal
import threading
import time

import keras

from keras_nted.distribute import alone
from keras_nted.distribute import is_chief
from keras_nted.distribute import to_host
from keras_nted.files import atomic_path
from keras_nted.models.generator import save_generator
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_number

logger = logging.getLogger(__name__)


def model_step(model):
    """The step counter of an `NTEDGAN` (or any model with a `step` variable), on the host."""
    return int(to_host(model.step))


def non_finite(logs):
    """The entries of a `fit` log dict that are not finite numbers."""
    bad = {}
    for name, value in (logs or {}).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value):
            bad[name] = value
    return bad


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss, or weights that exploded."""


class StopOnInterrupt(keras.callbacks.Callback):
    """Ctrl-C (SIGINT) ends training cleanly at the end of the step in progress.

    A `KeyboardInterrupt` raised wherever Python happens to be can land inside library code
    that swallows it (Keras' saving code has bare `except:` clauses, so a run could carry on
    as if never interrupted) or between a step's updates. Inside `installed()` this callback
    takes SIGINT itself: the step in progress finishes, `checkpoint` (a `TrainingCheckpoint`,
    optional) writes it, and `KeyboardInterrupt` is raised from the step's end, so the run
    resumes from exactly that step. A second Ctrl-C interrupts at once, as usual.

    Example:
    >>> stop = StopOnInterrupt(checkpoint)  # doctest: +SKIP
    >>> with stop.installed():  # doctest: +SKIP
    ...     gan.fit(data, callbacks=[checkpoint, stop])
    """

    def __init__(self, checkpoint=None):
        super().__init__()
        self.checkpoint = checkpoint
        self.interrupted = False
        self._previous = None

    @contextlib.contextmanager
    def installed(self):
        """Handle SIGINT as above while the block runs (main thread only; elsewhere a no-op)."""
        self.interrupted = False
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self._previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame):
        self.interrupted = True
        signal.signal(signal.SIGINT, self._previous)  # a second Ctrl-C: the usual KeyboardInterrupt
        logger.warning("Interrupted: stopping after this step (Ctrl-C again to stop at once).")

    def on_train_batch_end(self, batch, logs=None):
        if not self.interrupted:
            return
        if self.checkpoint is not None:
            self.checkpoint.save(logs)  # no-op if it has just written this step
        raise KeyboardInterrupt(f"stopped after step {model_step(self.model)}")


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training with a `NonFiniteLossError` as soon as a logged loss is NaN or infinite.

    Unlike `keras.callbacks.TerminateOnNaN`, which lets the epoch's end-of-epoch callbacks
    run (and so save the broken model), this raises at once, so the last good checkpoint and
    saved model stay as they were. Put it first in the callback list.
    """

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite(logs)
        if bad:
            step = model_step(self.model) if hasattr(self.model, "step") else batch + 1
            values = ", ".join(f"{name}={value}" for name, value in sorted(bad.items()))
            raise NonFiniteLossError(
                f"Training diverged at step {step}: {values}. Stopped; the last checkpoint and the saved model "
                "are from before it. Try a lower learning rate or smaller loss weights."
            )


class SampleGrid(keras.callbacks.Callback):
    """Writes `folder/epoch_NNNN.png` after every epoch: held-out pairs through the EMA generator.

    Rows: reference | target skeleton | generated | ground truth | attention panels (the
    released `util/visualization/linear_attention.py`'s estimated targets).
    """

    def __init__(self, folder, batch):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.batch = batch

    def on_epoch_end(self, epoch, logs=None):
        from keras_nted.files import write_png
        from keras_nted.visualize import sample_rows
        from keras_nted.visualize import stack_rows

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
            alone(save_generator, self.model.ema_generator, self.path)


class Timer(keras.callbacks.Callback):
    """Adds up training wall time across resumed runs in `path` (JSON).

    `seconds` counts every second spent training, the part of an epoch that a kill or Ctrl-C cut
    short included (those steps ran, even though the resumed run redoes the ones after the last
    checkpoint): the count is written every `flush_every` seconds and at every epoch end, so a
    stop leaves at most `flush_every` seconds uncounted. `epochs`, `step` and `logs` are those
    of the last finished epoch.

    Args:
        path: the JSON file (written atomically; an existing one is added to).
        flush_every: seconds between writes inside an epoch (> 0).
    """

    def __init__(self, path, flush_every=30.0):
        super().__init__()
        self.path = pathlib.Path(path)
        self.flush_every = check_number("flush_every", flush_every)
        self.mark = None  # the time up to which `seconds` on disk counts this run

    def _read(self):
        if self.path.is_file():
            try:
                return json.loads(self.path.read_text())
            except ValueError:
                pass
        return {"seconds": 0.0}

    def _write(self, state):
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(state, indent=2, allow_nan=False))

    def _counted(self):
        """The record on disk with the seconds since the last write added."""
        now = time.time()
        state = self._read()
        state["seconds"] = state.get("seconds", 0.0) + now - self.mark
        self.mark = now
        return state

    def on_train_begin(self, logs=None):
        self.mark = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        if self.mark is None:
            self.mark = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if time.time() - self.mark >= self.flush_every and is_chief():  # the clock first: every step runs this
            self._write(self._counted())

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief():
            return
        state = self._counted()
        state["epochs"] = epoch + 1
        state["step"] = int(to_host(self.model.step))
        state["backend"] = keras.backend.backend()
        # Strict JSON: a non-finite value is written as null.
        state["logs"] = {k: float(v) if math.isfinite(float(v)) else None for k, v in (logs or {}).items()}
        self._write(state)

    def on_train_end(self, logs=None):
        if is_chief() and self.mark is not None:
            self._write(self._counted())


def tensorboard_available():
    """Whether `keras.callbacks.TensorBoard` can write logs (it needs tensorflow and tensorboard)."""
    return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "tensorboard"))


# What to install for TensorBoard logs, said when neither writer can run.
TENSORBOARD_NOTE = (
    "no TensorBoard logs: `pip install tensorboard` for the scalar logs (no TensorFlow needed; "
    "keras.callbacks.TensorBoard itself needs full TensorFlow: `pip install tensorflow-cpu tensorboard`)"
)


class TensorBoardScalars(keras.callbacks.Callback):
    """TensorBoard scalar logs without TensorFlow, on any backend.

    `keras.callbacks.TensorBoard` writes through `tf.summary`, so it needs full TensorFlow even on
    JAX or torch. This callback writes the same scalars (`batch_<name>` every `update_freq`
    batches, `epoch_<name>` every epoch, into `log_dir/train`, as Keras names them) with the
    `tensorboard` package's own event writer (`tensorboard.summary.Writer`), which needs no
    TensorFlow. It writes scalars only: no graph, histograms or profile.

    Args:
        log_dir: the log folder (TensorBoard's `--logdir`).
        update_freq: `"epoch"`, or an integer: also write the batch logs every that many
            batches.

    Example:

    ```python
    model.fit(data, epochs=2, callbacks=[TensorBoardScalars("runs/logs", update_freq=100)])
    # then: tensorboard --logdir runs/logs
    ```
    """

    def __init__(self, log_dir, update_freq="epoch"):
        super().__init__()
        if update_freq != "epoch":
            update_freq = check_int("update_freq", update_freq)
        self.log_dir = pathlib.Path(log_dir)
        self.update_freq = update_freq
        self._writer = None
        self._batches = 0

    def on_train_begin(self, logs=None):
        from tensorboard.summary import Writer

        self._writer = Writer(str(self.log_dir / "train"))
        self._batches = 0

    def _write(self, prefix, logs, step):
        for name, value in (logs or {}).items():
            try:
                value = float(to_host(value))
            except (TypeError, ValueError):  # not a scalar
                continue
            self._writer.add_scalar(f"{prefix}_{name}", value, step)
        self._writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.update_freq != "epoch" and self._batches % self.update_freq == 0:
            self._write("batch", logs, self._batches)

    def on_epoch_end(self, epoch, logs=None):
        self._write("epoch", {**(logs or {}), **self._learning_rates()}, epoch)

    def _learning_rates(self):
        """The learning rates, named as `keras.callbacks.TensorBoard` names them."""
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's
        if hasattr(optimizer, "optimizers"):  # several, as NTEDGAN's
            return {f"learning_rate_{o.name}": o.learning_rate for o in optimizer.optimizers}
        if isinstance(optimizer, keras.optimizers.Optimizer):
            return {"learning_rate": optimizer.learning_rate}
        return {}

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_callback(log_dir, update_freq="epoch"):
    """The TensorBoard logger this install can run, or `None` (then `TENSORBOARD_NOTE` says what to install).

    `keras.callbacks.TensorBoard` where TensorFlow and tensorboard are importable; else, with
    tensorboard alone, `TensorBoardScalars` (the same scalars, no TensorFlow).

    Example:

    >>> callback = tensorboard_callback("runs/logs", update_freq=100)
    """
    if tensorboard_available():
        return keras.callbacks.TensorBoard(str(log_dir), write_graph=False, update_freq=update_freq)
    if importlib.util.find_spec("tensorboard") is not None:
        return TensorBoardScalars(log_dir, update_freq=update_freq)
    return None
