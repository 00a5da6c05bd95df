import json

import h5py
import numpy as np
import pytest

from keras_nted.cli import main


def _step_in_checkpoint(path):
    """The NTEDGAN step counter (the model's own first variable) in a TrainingCheckpoint file."""
    with h5py.File(path, "r") as f:
        step = f["vars"]["0"]
        assert step.shape == () and step.dtype == np.int32
        return int(step[()])


def _train(out, *extra):
    return main(
        ["train", "--preset", "nted_tiny", "--vgg-weights", "none", "--batch-size", "1", "--steps-per-epoch", "2",
         "--gan-start-step", "100", "--quiet", "-o", str(out), *extra]
    )


def test_train_two_steps_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    assert _step_in_checkpoint(out / "backup" / "latest.weights.h5") == 2
    assert json.loads((out / "backup" / "training_metadata.json").read_text())["epoch"] == 1  # epochs completed
    for name in ("generator.keras", "config.json", "time.json", "samples/epoch_0001.png"):
        assert (out / name).is_file(), name
    record = json.loads((out / "config.json").read_text())
    assert record["loss"]["weight_l1"] == 10.0  # --vgg-weights none: L1 is the reconstruction term
    assert record["loss"]["weight_perceptual"] == 0.0
    capsys.readouterr()

    # The same command with one more epoch continues at step 2 instead of starting over.
    assert _train(out, "--epochs", "2") == 0
    printed = capsys.readouterr().out
    assert "Epoch 2/2" in printed and "Epoch 1/2" not in printed
    assert "step 4:" in printed
    assert _step_in_checkpoint(out / "backup" / "latest.weights.h5") == 4
    assert (out / "samples" / "epoch_0002.png").is_file()
    assert json.loads((out / "time.json").read_text())["step"] == 4

    import keras

    import keras_nted  # noqa: F401  (registers the layers)

    generator = keras.saving.load_model(out / "generator.keras", safe_mode=True)
    assert generator.image_size == (64, 44)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "no_such_preset"], "Unknown preset 'no_such_preset'"),
        (["--data", "/no/such/deepfashion"], "DeepFashion root not found: /no/such/deepfashion"),
        (["--image-size", "128x88"], "--image-size 128x88"),
        (["--image-size", "64x50"], "image_size=(64, 50)"),
        (["--image-size", "big"], "Expected --image-size as HEIGHTxWIDTH"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    rc = main(["train", "--vgg-weights", "none", "-o", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert rc != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run" / "backup").exists()
