"""What defines a training run, and the check that a resumed run is the same run."""

import json

# The config.json entries that define a run: a resumed run must have the same ones
# (`epochs` may grow; the backend may change, since checkpoints move between backends).
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


def _describe_schedule(schedule):
    if schedule is None:
        return "a constant learning rate"
    return f"a constant rate for {schedule['hold_steps']} steps then a cosine decay over {schedule['decay_steps']}"


def check_resume(output_dir, record, checkpoint):
    """Refuse to resume a run folder with settings other than the ones it was started with.

    Only a folder that holds a checkpoint has a run to protect. Raises a `ValueError` naming
    what differs, before anything is built or written.

    Args:
        output_dir: the run folder (a `pathlib.Path`).
        record: this run's `config.json` record (`RUN_DEFINING` entries at least).
        checkpoint: the run's `keras_nted.callbacks.TrainingCheckpoint`.
    """
    config_path = output_dir / "config.json"
    if not checkpoint.checkpoints() or not config_path.is_file():
        return
    try:
        before = json.loads(config_path.read_text())
    except ValueError:
        raise ValueError(
            f"{config_path} is not valid JSON; cannot check that this command resumes the same run."
        ) from None
    if before.get("lr_schedule") != record["lr_schedule"]:
        raise ValueError(
            f"{output_dir} was started with {_describe_schedule(before.get('lr_schedule'))}; this command asks for "
            f"{_describe_schedule(record['lr_schedule'])}. Resume with the same --epochs, --steps-per-epoch and "
            "--lr-decay-steps, or use a new --output."
        )
    changed = [
        key for key in RUN_DEFINING if key in before and json.loads(json.dumps(record[key], default=str)) != before[key]
    ]
    if changed:
        details = "; ".join(f"{key}: {before[key]!r} then, {record[key]!r} now" for key in changed)
        raise ValueError(
            f"{output_dir} holds a run started with other settings ({details}). Resume it with its own settings "
            f"(see {config_path}), or train into a new --output."
        )
