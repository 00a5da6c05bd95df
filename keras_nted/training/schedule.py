"""The generator's learning-rate schedule of a training run."""

import keras


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
            f"Expected lr_decay_steps between 1 and the run's {total_steps} steps (epochs x steps per epoch). "
            f"Received: lr_decay_steps={decay_steps!r}"
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
        "record": {
            "kind": "hold_then_cosine",
            "learning_rate": float(learning_rate),
            "hold_steps": hold,
            "decay_steps": decay_steps,
        },
    }
