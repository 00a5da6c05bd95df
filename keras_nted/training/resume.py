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
            f"{config_path.parent} would overwrite it. Train into another --output."
        )
    return before


def check_resume(output_dir, record, checkpoint):
    """Refuse to resume a run folder with settings other than the ones it was started with.

    Only a folder that holds a checkpoint has a run to protect; its `config.json` must be there
    to check against. A `config.json` that keras-nted did not write (a user's own file) is never
    overwritten. Raises a `ValueError` naming what differs, before anything is built or written.

    Args:
        output_dir: the run folder (a `pathlib.Path`).
        record: this run's `config.json` record (`RUN_DEFINING` entries at least).
        checkpoint: the run's `keras_nted.callbacks.TrainingCheckpoint`.
    """
    config_path = output_dir / "config.json"
    has_checkpoints = bool(checkpoint.checkpoints())
    if not config_path.exists():
        if has_checkpoints:
            raise ValueError(
                f"{output_dir} holds checkpoints but no config.json, so this command cannot be checked to resume "
                "the same run (its seed, data and settings). Put the run's config.json back, or train into a new "
                "--output."
            )
        return
    before = _run_record(config_path)
    if not has_checkpoints:
        return
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
