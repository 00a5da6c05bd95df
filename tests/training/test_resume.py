"""keras_nted.training.resume: the inputs an exact resume needs, one run over two fits, and the checkpoint's guard."""

import keras
import numpy as np
import pytest

from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.resume import OneRun
from keras_nted.training.resume import SkipBatches
from keras_nted.training.resume import check_resumable
from keras_nted.training.resume import fit_from_checkpoint


class Numbers(keras.utils.PyDataset):
    def __init__(self, count):
        super().__init__()
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return np.full((1, 1), index, "float32"), np.zeros((1, 1), "float32")


@pytest.mark.parametrize(
    ("x", "shuffle", "steps", "message"),
    [
        (np.zeros((4, 1)), False, None, "Expected x as a keras.utils.PyDataset.*Received: x=ndarray"),
        (Numbers(3), True, None, "Expected shuffle=False.*Received: shuffle=True"),
        (Numbers(3), False, 2, r"Expected steps_per_epoch equal to len\(x\)=3.*Received: steps_per_epoch=2"),
    ],
)
def test_inputs_that_cannot_resume_exactly_are_refused(x, shuffle, steps, message):
    with pytest.raises(ValueError, match=message):
        check_resumable(x, shuffle, steps)
    with pytest.raises(ValueError, match=message):  # before the checkpoint is read
        fit_from_checkpoint(None, x, None, shuffle=shuffle, steps_per_epoch=steps)


def test_fit_shuffles_by_default_so_shuffle_false_must_be_said():
    with pytest.raises(ValueError, match="Expected shuffle=False"):
        fit_from_checkpoint(None, Numbers(2), None)


def test_skip_batches_is_the_rest_of_the_epoch():
    rest = SkipBatches(Numbers(5), 3)
    assert len(rest) == 2
    assert [float(rest[i][0][0, 0]) for i in range(len(rest))] == [3.0, 4.0]


class Calls(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("begin")

    def on_train_end(self, logs=None):
        self.calls.append(("end", logs))


def test_one_run_begins_once_and_ends_once_with_the_last_logs():
    calls = Calls()
    run = OneRun([calls])
    for loss in (1.0, 2.0):  # two fit calls
        run.on_train_begin()
        run.on_train_end({"loss": loss})
    assert calls.calls == ["begin"]
    run.end()
    run.end()  # a second end is a no-op
    assert calls.calls == ["begin", ("end", {"loss": 2.0})]


class Stepped:
    """What TrainingCheckpoint reads of a model before training: its step counter."""

    def __init__(self, step):
        self.step = keras.Variable(step, dtype="int32", trainable=False)


def test_a_plain_fit_on_newer_checkpoints_is_refused(tmp_path):
    for step in (4, 6):
        (tmp_path / f"step_{step:09d}.weights.h5").write_bytes(b"")
    checkpoint = TrainingCheckpoint(tmp_path, save_freq=1)
    assert [step for step, _ in checkpoint.checkpoints()] == [4, 6]
    checkpoint.set_model(Stepped(0))
    with pytest.raises(ValueError, match="holds checkpoints up to step 6 but the model is at step 0: resume with"):
        checkpoint.on_train_begin()
    checkpoint.set_model(Stepped(6))  # at the newest step (a model already restored or trained on): no overwrite
    checkpoint.on_train_begin()
