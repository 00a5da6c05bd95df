"""Exact resume: `fit` from a run's newest checkpoint at its exact step, and the check that a
resumed run folder holds the same run.

A run resumes at the exact step, on the batches an uninterrupted run would train on, when
its data is a `keras.utils.PyDataset` whose order depends on the epoch only (not on NumPy's
global random state: `shuffle=False`) and whose length is the epoch's. `fit_from_checkpoint`
refuses any other input with a `ValueError` rather than resume on other batches silently.
"""

import json

import keras

# The config.json entries that define a run: a resumed run must have the same ones
# (`epochs` may grow; the backend may change, since checkpoints move between backends; the
# schedule may move while the run is inside its constant phase: see `check_resume`).
RUN_DEFINING = (
    "preset",
    "config_file",
    "config",
    "data",
    "seed",
    "batch_size",
    "steps_per_epoch",
    "vgg_weights",
    "learning_rate",
    "lr_schedule",
    "loss_overrides",
)


def same_rates_so_far(before, now, step):
    """Whether a run's first `step` steps ran at the same learning rate under both schedules.

    Both are `config.json` `lr_schedule` records (`None`: constant). A constant rate and a
    scheduled one never count as the same: the optimizer keeps a constant rate as a variable
    of its own and a schedule as none, so their checkpoints hold different variables. Two
    hold-then-cosine schedules of one rate agree on every step inside both constant phases:
    a scheduled run may be lengthened or shortened, or its decay moved, until its constant
    phase ends.
    """
    if before == now:
        return True
    if before is None or now is None:
        return False
    same_kind = all(before.get(key) == now.get(key) for key in ("kind", "learning_rate"))
    return same_kind and step <= min(before["hold_steps"], now["hold_steps"])


def _describe_schedule(schedule):
    if schedule is None:
        return "a constant learning rate"
    return f"a constant rate for {schedule['hold_steps']} steps then a cosine decay over {schedule['decay_steps']}"


def _run_record(config_path):
    """The `config.json` keras-nted wrote into a run folder; a `ValueError` for any other file there."""
    try:
        before = json.loads(config_path.read_text())
    except (ValueError, OSError):
        before = None
    # Entries every version of keras-nted has written (later ones added more).
    marks = ("config", "data", "seed", "batch_size")
    missing = [key for key in marks if key not in before] if isinstance(before, dict) else marks
    if missing:
        raise ValueError(
            f"{config_path} is not a keras-nted run record (no {', '.join(missing)}): training into "
            f"{config_path.parent} would overwrite it. Train into another output_dir."
        )
    return before


def check_resume(output_dir, record, checkpoint):
    """Refuse to resume a run folder with settings other than the ones it was started with.

    Only a folder that holds a checkpoint has a run to protect; its `config.json` must be there
    to check against. A `config.json` that keras-nted did not write (a user's own file) is never
    overwritten. Raises a `ValueError` naming what differs, before anything is built or written.

    One setting may differ: the learning-rate schedule (`epochs` and `lr_decay_steps`), while
    the run's steps so far all ran at the rate both schedules give (`same_rates_so_far`), so
    the resumed run is exactly the run the new settings make from scratch.

    Args:
        output_dir: the run folder (a `pathlib.Path`).
        record: this run's `config.json` record (`RUN_DEFINING` entries at least).
        checkpoint: the run's `keras_nted.training.checkpoint.TrainingCheckpoint`.

    Returns:
        `None`, or a one-line note when the schedule is re-pointed so.
    """
    config_path = output_dir / "config.json"
    found = checkpoint.checkpoints()
    if not config_path.exists():
        if found:
            raise ValueError(
                f"{output_dir} holds checkpoints but no config.json, so this command cannot be checked to resume "
                "the same run (its seed, data and settings). Put the run's config.json back, or train into a new "
                "output_dir."
            )
        return
    before = _run_record(config_path)
    if not found:
        return
    step = found[-1][0]  # the newest; were it unreadable, the older one restored is earlier still
    repointed = None
    if before.get("lr_schedule") != record["lr_schedule"]:
        if not same_rates_so_far(before.get("lr_schedule"), record["lr_schedule"], step):
            why = (
                "a run cannot switch between a constant rate and a schedule"
                if before.get("lr_schedule") is None or record["lr_schedule"] is None
                else "a schedule can change only while the run is inside both schedules' constant phase"
            )
            raise ValueError(
                f"{output_dir} was started with {_describe_schedule(before.get('lr_schedule'))} and is at step "
                f"{step}; this command asks for {_describe_schedule(record['lr_schedule'])}: {why}. Resume with "
                "the same epochs, steps_per_epoch and lr_decay_steps, or use a new output_dir."
            )
        repointed = (
            f"Resuming {output_dir} at step {step} with {_describe_schedule(record['lr_schedule'])} (it was started "
            f"with {_describe_schedule(before['lr_schedule'])}; every step so far ran at the same rate under both)."
        )
    changed = [
        key
        for key in RUN_DEFINING
        if key in before and key != "lr_schedule" and json.loads(json.dumps(record[key], default=str)) != before[key]
    ]
    if changed:
        details = "; ".join(f"{key}: {before[key]!r} then, {record[key]!r} now" for key in changed)
        raise ValueError(
            f"{output_dir} holds a run started with other settings ({details}). Resume it with its own settings "
            f"(see {config_path}), or train into a new output_dir."
        )
    return repointed


class OneRun(keras.callbacks.CallbackList):
    """Callbacks shared by consecutive `fit` calls that make one run.

    `on_train_begin` reaches the callbacks at the first call only; `on_train_end` is held
    back until `end()`, which passes on the last call's logs.
    """

    _began = False
    _end_logs = None

    def on_train_begin(self, logs=None):
        if not self._began:
            self._began = True
            super().on_train_begin(logs)

    def on_train_end(self, logs=None):
        self._end_logs = logs

    def end(self):
        if self._began:
            self._began = False
            super().on_train_end(self._end_logs)


class SkipBatches(keras.utils.PyDataset):
    """`data` without its first `skip` batches (the rest of an interrupted epoch)."""

    def __init__(self, data, skip):
        super().__init__(workers=data.workers, use_multiprocessing=data.use_multiprocessing,
                         max_queue_size=data.max_queue_size)  # fmt: skip
        self.data = data
        self.skip = int(skip)

    def __len__(self):
        return len(self.data) - self.skip

    def __getitem__(self, index):
        return self.data[self.skip + index]

    def on_epoch_begin(self):
        self.data.on_epoch_begin()

    def on_epoch_end(self):
        self.data.on_epoch_end()


def check_resumable(x, shuffle, steps_per_epoch):
    """Refuse `fit` inputs on which a resumed run would train on other batches than an uninterrupted one.

    Raises:
        ValueError: unless `x` is a `keras.utils.PyDataset`, `shuffle` is `False` and
            `steps_per_epoch` is `None` or `len(x)`.
    """
    if not isinstance(x, keras.utils.PyDataset):
        raise ValueError(
            "Expected x as a keras.utils.PyDataset: an exact resume starts mid-epoch at a batch index. "
            f"Received: x={type(x).__name__}"
        )
    if shuffle is not False:
        raise ValueError(
            "Expected shuffle=False: Keras draws a shuffled order from NumPy's global random state, which a "
            f"resumed run does not share (order the batches inside x, by epoch). Received: shuffle={shuffle!r}"
        )
    if steps_per_epoch is not None and steps_per_epoch != len(x):
        raise ValueError(
            f"Expected steps_per_epoch equal to len(x)={len(x)}: an epoch is one pass over x, so a step number "
            f"names one batch. Received: steps_per_epoch={steps_per_epoch!r}"
        )


def fit_from_checkpoint(model, x, checkpoint, epochs=1, callbacks=None, verbose="auto", **fit_kwargs):
    """`model.fit(x, ...)` from `checkpoint`'s newest state, continuing at its exact step.

    `checkpoint` (a `keras_nted.training.checkpoint.TrainingCheckpoint`) restores the newest
    checkpoint first and returns its step (0 when there is none). The epoch is then
    `step // len(x)`, and the interrupted epoch goes on with its remaining `len(x) - step %
    len(x)` batches before the remaining epochs: to the callbacks, one run (one progress
    display, one `History`, one `on_train_begin` and `on_train_end`). `checkpoint` is added
    to `callbacks` unless it is there already.

    Args:
        model: an `NTEDGAN` (any model with a `step` counter that its checkpoints hold).
        x: a `keras.utils.PyDataset` whose batch `i` in epoch `e` is the same in every run
            (as `keras_nted.training.data.RotatingEpochs` is).
        checkpoint: the run's `TrainingCheckpoint`.
        epochs, callbacks, verbose, fit_kwargs: as in `keras.Model.fit`; `shuffle` must be
            `False` and `steps_per_epoch`, if given, `len(x)`.

    Returns:
        The `History` of the last `fit` call.

    Raises:
        ValueError: for inputs that cannot resume exactly (see `check_resumable`).
    """
    check_resumable(x, fit_kwargs.get("shuffle", True), fit_kwargs.pop("steps_per_epoch", None))
    callbacks = list(callbacks or [])
    if checkpoint not in callbacks:
        callbacks.insert(0, checkpoint)
    steps = len(x)
    epoch, done = divmod(checkpoint.restore(model), steps)
    fit_kwargs["verbose"] = verbose
    if not done or epoch >= epochs:
        return model.fit(x, epochs=epochs, callbacks=callbacks, initial_epoch=min(epoch, epochs), **fit_kwargs)
    # The rest of the interrupted epoch, then the remaining epochs, as one run to the
    # callbacks (TensorBoard closes its writers at the end and cannot begin again).
    callback_list = OneRun(
        callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose, epochs=epochs, steps=steps - done,
        model=model,
    )  # fmt: skip
    history = model.fit(
        SkipBatches(x, done), epochs=epoch + 1, callbacks=callback_list, initial_epoch=epoch, **fit_kwargs
    )
    if epoch + 1 < epochs and not model.stop_training:
        callback_list.set_params(dict(callback_list.params, steps=steps))
        history = model.fit(x, epochs=epochs, callbacks=callback_list, initial_epoch=epoch + 1, **fit_kwargs)
    callback_list.end()
    return history
