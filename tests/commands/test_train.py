import json

import h5py
import numpy as np
import pytest

from keras_nted.cli import main
from tests.helpers import checkpoint_arrays


def _newest_checkpoint(out):
    return sorted((out / "backup").glob("step_*.weights.h5"))[-1]


def _step_in_checkpoint(path):
    """The NTEDGAN step counter (the model's own first variable) in a TrainingCheckpoint file."""
    with h5py.File(path, "r") as f:
        step = f["vars"]["0"]
        assert step.shape == () and step.dtype == np.int32
        return int(step[()])


def _tensorboard_tags(folder):
    """The summary tags in a TensorBoard log folder's event files."""
    import tensorflow as tf

    tags = set()
    for path in folder.glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            tags.update(value.tag for value in tf.compat.v1.Event.FromString(record.numpy()).summary.value)
    return tags


def _train(out, *extra):
    return main(
        [
            "train",
            "--preset",
            "nted_tiny",
            "--vgg-weights",
            "none",
            "--batch-size",
            "1",
            "--steps-per-epoch",
            "2",
            "--gan-start-step",
            "100",
            "--quiet",
            "-o",
            str(out),
            *extra,
        ]
    )


def test_train_two_steps_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    assert _newest_checkpoint(out).name == "step_000000002.weights.h5"
    assert _step_in_checkpoint(_newest_checkpoint(out)) == 2
    for name in ("generator.keras", "config.json", "time.json", "samples/epoch_0001.png"):
        assert (out / name).is_file(), name
    record = json.loads((out / "config.json").read_text())
    assert record["loss"]["weight_l1"] == 10.0  # --vgg-weights none: L1 is the reconstruction term
    assert record["loss"]["weight_perceptual"] == 0.0
    # TensorBoard: every loss term and both optimizers' learning rates, per epoch.
    tags = _tensorboard_tags(out / "logs" / "train")
    assert {
        "epoch_l1",
        "epoch_attention",
        "epoch_loss",
        "epoch_learning_rate_generator_adam",
        "epoch_learning_rate_discriminator_adam",
    } <= tags, tags
    capsys.readouterr()

    # Refused before anything is written: another process training into the folder, and the
    # same folder with another run-defining setting.
    def snapshot():
        return {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}

    before = snapshot()
    from keras_nted.files import RunLock

    with RunLock(out):
        assert _train(out, "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{out} is in use by pid " in err, err
    for changed, field in (
        (["--seed", "4"], "seed: 0 then, 4 now"),
        (["--batch-size", "2"], "batch_size: 1 then, 2 now"),
        (["--weight-attention", "3"], "loss_overrides"),
    ):
        assert _train(out, "--epochs", "2", *changed) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and field in err and "train into a new -o/--output" in err, err
    assert snapshot() == before

    # Temporaries of writes a kill interrupted are removed when the run resumes.
    stale = [out / ".generator.keras.x1.tmp.keras", out / "backup" / ".step_000000003.weights.h5.x2.tmp.weights.h5"]
    for path in stale:
        path.write_bytes(b"half")

    # The same command with one more epoch continues at step 2 instead of starting over.
    assert _train(out, "--epochs", "2") == 0
    assert not [path for path in stale if path.exists()]
    printed = capsys.readouterr().out
    assert "Epoch 2/2" in printed and "Epoch 1/2" not in printed
    assert "step 4:" in printed
    assert _step_in_checkpoint(_newest_checkpoint(out)) == 4
    assert (out / "samples" / "epoch_0002.png").is_file()
    time_record = json.loads((out / "time.json").read_text())
    assert time_record["step"] == 4
    assert set(time_record["logs"]) == {"loss", "l1", "attention"}  # the enabled terms only

    import keras

    import keras_nted  # noqa: F401  (registers the layers)

    generator = keras.saving.load_model(out / "generator.keras", safe_mode=True)
    assert generator.image_size == (64, 44)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "no_such_preset"], "Unknown preset 'no_such_preset'"),
        (["--data", "/no/such/deepfashion"], "DeepFashion root not found: /no/such/deepfashion"),
        (["--image-size", "128x88"], "Received: --image-size (128, 88)"),
        (["--image-size", "64x50"], "Received: --image-size (64, 50)"),
        (["--image-size", "big"], "Expected --image-size as HEIGHTxWIDTH"),
        (["--keep-every", "0"], "Expected --keep-every >= 1. Received: 0"),
        (["--checkpoint-every", "0"], "Expected --checkpoint-every >= 1. Received: 0"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    rc = main(["train", "--vgg-weights", "none", "-o", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert rc != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run" / "backup").exists()


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--learning-rate", "nan"),
        ("--learning-rate", "-1"),
        ("--learning-rate", "inf"),
        ("--weight-l1", "nan"),
        ("--weight-perceptual", "-0.5"),
        ("--weight-gan", "inf"),
        ("--weight-ssim", "-inf"),
    ],
)
def test_bad_numbers_exit_2_before_anything_is_built(tmp_path, capsys, monkeypatch, flag, value):
    import keras_nted.training.run

    def must_not_run(*args, **kwargs):
        raise AssertionError("built before the arguments were checked")

    monkeypatch.setattr(keras_nted.training.run, "build_gan", must_not_run)
    monkeypatch.setattr(keras_nted.training.run, "make_data", must_not_run)
    rc = main(["train", "-o", str(tmp_path / "run"), f"{flag}={value}"])  # "-inf" would read as an option
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [
        f"keras-nted train: error: Expected a finite number >= 0. Received: {flag}={float(value)!r}"
    ]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"learning_rate": float("nan")}, "learning_rate=nan"),
        ({"learning_rate": -1.0}, "learning_rate=-1.0"),
        ({"loss_weights": {"weight_face": float("inf")}}, "weight_face=inf"),
        ({"loss_weights": {"weight_attention": -2.0, "gan_start_step": -1}}, "weight_attention=-2.0"),
    ],
)
def test_train_refuses_bad_numbers_before_building(tmp_path, monkeypatch, kwargs, message):
    import keras_nted.training.run

    monkeypatch.setattr(keras_nted.training.run, "load_config", lambda *a, **k: pytest.fail("config read first"))
    with pytest.raises(ValueError, match=rf"^Expected a finite number >= 0. Received: {message}$"):
        keras_nted.training.train(tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()


def test_learning_rate_schedule_holds_then_decays_to_zero():
    from keras_nted.training import learning_rate_schedule

    schedule = learning_rate_schedule(0.002, total_steps=100, decay_steps=40)
    assert schedule["record"] == {
        "kind": "hold_then_cosine",
        "learning_rate": 0.002,
        "hold_steps": 60,
        "decay_steps": 40,
    }
    rate = schedule["schedule"]
    values = [float(rate(step)) for step in (0, 30, 60, 80, 100, 150)]
    np.testing.assert_allclose(values, [0.002, 0.002, 0.002, 0.001, 0.0, 0.0], atol=1e-9)
    assert learning_rate_schedule(0.002, 100, None) is None
    for bad in (0, 101, 2.5):
        with pytest.raises(
            ValueError, match=rf"lr_decay_steps between 1 and the run's 100 steps .* Received: lr_decay_steps={bad}$"
        ):
            learning_rate_schedule(0.002, 100, bad)


def test_train_with_decay_ends_at_zero_and_resumes_only_with_its_schedule(tmp_path, capsys):
    from keras_nted.training import train

    out = tmp_path / "run"
    gan = train(
        out,
        preset="nted_tiny",
        batch_size=1,
        epochs=1,
        steps_per_epoch=2,
        lr_decay_steps=1,
        vgg_weights="none",
        loss_weights={"weight_l1": 10.0, "gan_start_step": 100},
        verbose=0,
    )
    assert int(gan.generator_optimizer.iterations.value) == 2
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)  # decayed
    assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(0.001882)  # unchanged
    assert json.loads((out / "config.json").read_text())["lr_schedule"]["hold_steps"] == 1
    checkpoint = _newest_checkpoint(out).read_bytes()
    capsys.readouterr()

    # More epochs would move the decay: refused before anything is trained or written, naming
    # `train`'s arguments in Python and the flags on the command line.
    with pytest.raises(ValueError, match="same epochs, steps_per_epoch and lr_decay_steps, or use a new output_dir"):
        train(out, preset="nted_tiny", batch_size=1, epochs=2, steps_per_epoch=2, lr_decay_steps=1, vgg_weights="none",
              loss_weights={"weight_l1": 10.0, "gan_start_step": 100}, verbose=0)  # fmt: skip
    rc = _train(out, "--epochs", "2", "--lr-decay-steps", "1")
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "constant rate for 1 steps then a cosine decay over 1" in err
    assert "same --epochs, --steps-per-epoch and --lr-decay-steps, or use a new -o/--output" in err, err
    assert _newest_checkpoint(out).read_bytes() == checkpoint
    assert json.loads((out / "config.json").read_text())["lr_schedule"]["hold_steps"] == 1


def test_a_diverging_run_stops_with_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    # A weight that overflows float32 makes the loss infinite at the first step.
    rc = _train(out, "--weight-l1", "1e39")
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "Training diverged at step 1" in err and "inf" in err, err
    assert not list((out / "backup").glob("*")) if (out / "backup").exists() else True
    assert not (out / "generator.keras").exists()


def test_time_record_is_strict_json(tmp_path):
    import keras

    from keras_nted.callbacks import Timer

    class Model:
        step = keras.Variable(5, dtype="int32", trainable=False)

    timer = Timer(tmp_path / "time.json")
    timer.set_model(Model())
    timer.on_epoch_begin(0)
    timer.on_epoch_end(0, {"loss": float("nan"), "l1": 0.5})
    record = json.loads((tmp_path / "time.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert record["logs"] == {"loss": None, "l1": 0.5} and record["step"] == 5


def test_time_record_counts_an_epoch_cut_short(tmp_path, monkeypatch):
    """A run killed mid-epoch keeps the seconds it trained (up to `flush_every`); the resumed run
    adds its own to them; `step` stays the last finished epoch's."""
    import keras

    from keras_nted import callbacks

    class Model:
        step = keras.Variable(3, dtype="int32", trainable=False)

    clock = [1000.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: clock[0])
    path = tmp_path / "time.json"

    def started(epoch):
        timer = callbacks.Timer(path, flush_every=30)
        timer.set_model(Model())
        timer.on_train_begin()
        timer.on_epoch_begin(epoch)
        return timer

    first = started(0)
    clock[0] += 10.0
    first.on_epoch_end(0, {"loss": 1.0})
    assert json.loads(path.read_text())["seconds"] == 10.0
    first.on_epoch_begin(1)
    clock[0] += 29.0
    first.on_train_batch_end(0)
    assert json.loads(path.read_text())["seconds"] == 10.0  # not yet due
    clock[0] += 2.0
    first.on_train_batch_end(1)
    record = json.loads(path.read_text())
    assert record["seconds"] == 41.0 and record["step"] == 3 and record["epochs"] == 1
    clock[0] += 5.0  # then killed: these 5 s are the most a kill loses (< flush_every)

    second = started(1)
    clock[0] += 7.0
    second.on_epoch_end(1, {"loss": 0.5})
    clock[0] += 1.0
    second.on_train_end()
    record = json.loads(path.read_text())
    assert record["seconds"] == 49.0 and record["epochs"] == 2 and record["logs"] == {"loss": 0.5}

    with pytest.raises(ValueError, match="flush_every"):
        callbacks.Timer(path, flush_every=0)


def test_tensorboard_scalars_without_tensorflow(tmp_path):
    """`keras_nted.callbacks.TensorBoardScalars`, the logger for installs with tensorboard but no
    TensorFlow: a fit in a process where TensorFlow is hidden writes Keras' scalar tags."""
    import os
    import pathlib
    import subprocess
    import sys

    import keras
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    backend = keras.backend.backend()
    if backend == "tensorflow":
        pytest.skip("with TensorFlow, keras.callbacks.TensorBoard writes the logs (test_train_two_steps_then_resume)")
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "sitecustomize.py").write_text("import sys\nsys.modules.update(tensorflow=None)\n")
    script = """
import sys, keras, numpy as np
from keras_nted.callbacks import TensorBoardScalars, tensorboard_callback
callback = tensorboard_callback(sys.argv[1], update_freq=2)
assert isinstance(callback, TensorBoardScalars), callback
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
model.fit(np.ones((8, 3)), np.zeros((8, 1)), batch_size=2, epochs=2, verbose=0, callbacks=[callback])
print(sys.modules["tensorflow"])
"""
    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "hide"), str(root), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "logs")], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "None"  # TensorFlow stayed hidden
    events = EventAccumulator(str(tmp_path / "logs" / "train"))
    events.Reload()
    assert set(events.Tags()["tensors"]) == {"batch_loss", "epoch_loss", "epoch_learning_rate"}
    assert [e.step for e in events.Tensors("epoch_loss")] == [0, 1]
    assert [e.step for e in events.Tensors("batch_loss")] == [2, 4, 6, 8]
    learning_rate = events.Tensors("epoch_learning_rate")[0].tensor_proto.float_val[0]
    assert learning_rate == pytest.approx(0.01)


def test_train_errors_name_flags_on_the_command_line():
    from keras_nted.commands.train import as_flags

    assert as_flags("Expected lr_decay_steps between 1 and 4. Received: lr_decay_steps=9") == (
        "Expected --lr-decay-steps between 1 and 4. Received: --lr-decay-steps 9"
    )
    assert as_flags("Resume with the same epochs, steps_per_epoch and lr_decay_steps, or use a new output_dir.") == (
        "Resume with the same --epochs, --steps-per-epoch and --lr-decay-steps, or use a new -o/--output."
    )
    # config.json entries and paths stay as written.
    kept = "runs/epochs holds a run (batch_size: 1 then, 2 now); see runs/epochs/config.json."
    assert as_flags(kept) == kept


def test_same_rates_so_far_allows_a_schedule_to_move_only_inside_both_constant_phases():
    from keras_nted.training.resume import same_rates_so_far
    from keras_nted.training.schedule import learning_rate_schedule

    def record(total, decay, rate=0.002):
        return learning_rate_schedule(rate, total, decay)["record"]

    assert same_rates_so_far(None, None, 10**6)
    assert same_rates_so_far(record(100, 40), record(100, 40), 100)
    # Lengthened (hold 60 -> 110), shortened (-> 50) or decay moved (-> 70): up to the shorter hold.
    for other in (record(150, 40), record(90, 40), record(100, 30)):
        hold = min(60, other["hold_steps"])
        assert same_rates_so_far(record(100, 40), other, hold)
        assert not same_rates_so_far(record(100, 40), other, hold + 1)
    assert not same_rates_so_far(record(100, 40), record(100, 40, rate=0.004), 0)  # another rate
    # The optimizer holds a constant rate as a variable and a schedule as none: never swapped.
    assert not same_rates_so_far(None, record(100, 40), 0)
    assert not same_rates_so_far(record(100, 40), None, 0)


def test_a_scheduled_run_lengthened_inside_its_constant_phase_equals_that_run_from_scratch(tmp_path, capsys):
    # 4 steps planned (hold 3, decay 1), a checkpoint at every step, kept.
    out = tmp_path / "run"
    assert _train(out, "--epochs", "2", "--lr-decay-steps", "1", "--checkpoint-every", "1", "--keep-every", "1") == 0
    for step in (3, 4):  # as if stopped after step 2: still inside the constant phase
        (out / "backup" / f"step_{step:09d}.weights.h5").unlink()
    capsys.readouterr()

    # Lengthened to 6 steps (hold 5): both schedules gave the same rate at steps 1-2.
    assert _train(out, "--epochs", "3", "--lr-decay-steps", "1") == 0
    err = capsys.readouterr().err
    assert f"Resuming {out} at step 2 with a constant rate for 5 steps then a cosine decay over 1" in err, err
    assert "started with a constant rate for 3 steps then a cosine decay over 1" in err, err
    assert json.loads((out / "config.json").read_text())["lr_schedule"]["hold_steps"] == 5
    reference = tmp_path / "reference"
    assert _train(reference, "--epochs", "3", "--lr-decay-steps", "1") == 0
    final = "step_000000006.weights.h5"
    got, expected = checkpoint_arrays(out / "backup" / final), checkpoint_arrays(reference / "backup" / final)
    assert got.keys() == expected.keys() and len(expected) > 100
    different = [name for name in expected if not np.array_equal(got[name], expected[name])]
    assert not different, different[:5]
    capsys.readouterr()

    # At step 6 the run is past its constant phase (5): no further move.
    checkpoint = _newest_checkpoint(out).read_bytes()
    rc = _train(out, "--epochs", "4", "--lr-decay-steps", "1")
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "is at step 6" in err and "inside both schedules' constant phase" in err, err
    assert _newest_checkpoint(out).read_bytes() == checkpoint
    # A constant-rate run cannot take a schedule, even at its first steps.
    constant = tmp_path / "constant"
    assert _train(constant) == 0
    assert _train(constant, "--epochs", "2", "--lr-decay-steps", "1") == 2
    assert "cannot switch between a constant rate and a schedule" in capsys.readouterr().err
