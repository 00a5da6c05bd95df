"""keras_nted.training.checkpoint and exact resume on the GAN: atomic checkpoints, mid-epoch resume
at the exact step and batch, a non-finite loss, Ctrl-C, and a SIGKILLed run resumed on another backend."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.resume import fit_from_checkpoint
from tests.helpers import to_numpy
from tests.models.test_gan import Batches
from tests.models.test_gan import changed
from tests.models.test_gan import counters
from tests.models.test_gan import make_batch
from tests.models.test_gan import numpy_weights
from tests.models.test_gan import plain_gan

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def fresh_gan(tmp_path_factory):
    """`reset()` -> one compiled plain GAN, back at its saved start (weights, optimizers, counters).

    The checkpoint tests share it so that each phase compiles once for all of them (on JAX
    about 7 s a phase); loading the start file resets everything a fit can change.
    """
    gan = plain_gan()
    gan.compile(gan_start_step=0, r1_interval=2)
    start = str(tmp_path_factory.mktemp("fresh_gan") / "start.weights.h5")
    gan.save_weights(start)

    def reset():
        gan.load_weights(start)
        assert counters(gan) == (0, 0, 0)
        return gan

    reset.start = start
    return reset


def test_checkpoint_resumes_at_the_same_step_atomically(tmp_path, fresh_gan):
    backup = tmp_path / "backup"
    gan = fresh_gan()
    start = fresh_gan.start
    fit_from_checkpoint(
        gan, Batches(3), TrainingCheckpoint(str(backup), save_freq=2), epochs=2, verbose=0, shuffle=False
    )
    assert counters(gan) == (6, 6, 7)
    files = sorted(p.name for p in backup.iterdir())
    # Steps 2, 3 (epoch end), 4 and 6 were written; the newest two are kept.
    assert files == ["step_000000004.weights.h5", "step_000000006.weights.h5"], files
    saved = numpy_weights(gan)
    gan.load_weights(start)  # back to the start: only the checkpoint can bring the state back
    # epochs=2 was reached: fit restores the state and has nothing left to run.
    fit_from_checkpoint(
        gan, Batches(3), TrainingCheckpoint(str(backup), save_freq=2), epochs=2, verbose=0, shuffle=False
    )
    assert counters(gan) == (6, 6, 7)
    assert not changed(saved, gan)


def test_milestones_are_kept_beside_the_newest_two(tmp_path, fresh_gan):
    gan = fresh_gan()
    checkpoint = TrainingCheckpoint(str(tmp_path), save_freq=1, keep_every=4)
    checkpoint.set_model(gan)
    for step in range(1, 11):
        gan.step.assign(step)
        checkpoint.save()
    assert [step for step, _ in checkpoint.checkpoints()] == [4, 8, 9, 10]
    assert checkpoint.restore(gan) == 10
    plain = TrainingCheckpoint(str(tmp_path / "plain"), save_freq=1)
    plain.set_model(gan)
    for step in (11, 12, 13):
        gan.step.assign(step)
        plain.save()
    assert [step for step, _ in plain.checkpoints()] == [12, 13]
    with pytest.raises(ValueError, match="keep_every"):
        TrainingCheckpoint(str(tmp_path), keep_every=0)


class Recorder(keras.callbacks.Callback):
    """The (epoch, batch index) of every step, and the batches' identities."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(self.epoch)


class Indexed(keras.utils.PyDataset):
    """Batch `i` is `make_batch(i)`; records the indices asked for."""

    def __init__(self, count):
        super().__init__()
        self.count, self.asked = count, []

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        self.asked.append(index)
        return make_batch(index)


class BeginEnd(keras.callbacks.Callback):
    """Counts on_train_begin and on_train_end, and fails as TensorBoard does on a begin after an end."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        assert "end" not in self.calls, "on_train_begin after on_train_end"
        self.calls.append("begin")

    def on_train_end(self, logs=None):
        self.calls.append("end")


def test_resume_mid_epoch_continues_at_the_exact_step_and_batch(tmp_path, fresh_gan):
    backup = str(tmp_path / "backup")
    gan = fresh_gan()  # one model throughout: each phase compiles once
    start = fresh_gan.start
    gan.fit(Indexed(2), epochs=3, verbose=0, shuffle=False)  # steps: G, GAN, GAN + R1, GAN, GAN + R1, GAN
    whole, whole_counters = numpy_weights(gan), counters(gan)
    assert whole_counters[0] == 6

    # The same run from the start, stopped after step 3 (one step into epoch 2)...
    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(to_numpy(self.model.step)) == 3:
                self.model.stop_training = True

    gan.load_weights(start)
    fit_from_checkpoint(
        gan,
        Indexed(2),
        TrainingCheckpoint(backup, save_freq=1),
        epochs=3,
        verbose=0,
        callbacks=[StopAt()],
        shuffle=False,
    )
    assert counters(gan)[0] == 3
    # ...then everything forgotten, and resumed from its checkpoint.
    gan.load_weights(start)
    data, recorder, begin_end = Indexed(2), Recorder(), BeginEnd()
    history = fit_from_checkpoint(
        gan,
        data,
        TrainingCheckpoint(backup, save_freq=1),
        epochs=3,
        verbose=0,
        callbacks=[recorder, begin_end],
        shuffle=False,
    )
    # The rest of epoch 2 (batch 1), then epoch 3 (TensorFlow's adapter may ask for a batch twice: it peeks).
    assert [i for n, i in enumerate(data.asked) if i != data.asked[n - 1] or n == 0][:1] == [1], data.asked
    assert sorted(set(data.asked)) == [0, 1], data.asked
    assert recorder.steps == [1, 2, 2]  # epoch indices
    # One run to the callbacks: one begin, one end, one History over both epochs.
    assert begin_end.calls == ["begin", "end"]
    assert history.epoch == [1, 2] and len(history.history["loss"]) == 2
    assert counters(gan) == whole_counters
    for expected, variable in zip(whole, gan.weights):  # every backend is deterministic on a CPU
        np.testing.assert_array_equal(expected, to_numpy(variable), err_msg=variable.path)


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, fresh_gan):
    from keras_nted.callbacks import NonFiniteLossError
    from keras_nted.callbacks import StopOnNonFiniteLoss

    class Poisoned(Indexed):
        def __getitem__(self, index):
            batch = super().__getitem__(index)
            if index == 2:
                batch["target_image"] = np.full_like(batch["target_image"], np.nan)
            return batch

    gan = fresh_gan()
    checkpoint = TrainingCheckpoint(str(tmp_path), save_freq=1)
    with pytest.raises(NonFiniteLossError, match="Training diverged at step 3: .*loss=nan"):
        gan.fit(Poisoned(4), epochs=1, verbose=0, shuffle=False, callbacks=[StopOnNonFiniteLoss(), checkpoint])
    assert [step for step, _ in checkpoint.checkpoints()] == [1, 2]
    assert not all(np.isfinite(to_numpy(w)).all() for w in gan.weights)  # step 3 poisoned the weights
    assert checkpoint.restore(gan) == 2
    assert counters(gan)[0] == 2
    assert all(np.isfinite(to_numpy(w)).all() for w in gan.weights)


def test_ctrl_c_stops_after_the_step_with_its_checkpoint_and_restores_the_handler(tmp_path, fresh_gan):
    import signal

    from keras_nted.callbacks import StopOnInterrupt

    class CtrlCAt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:  # during step 2
                os.kill(os.getpid(), signal.SIGINT)

    gan = fresh_gan()
    checkpoint = TrainingCheckpoint(str(tmp_path), save_freq=100)
    stop = StopOnInterrupt(checkpoint)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="stopped after step 2"):
        with stop.installed():
            gan.fit(Indexed(4), epochs=1, verbose=0, shuffle=False, callbacks=[CtrlCAt(), checkpoint, stop])
    assert signal.getsignal(signal.SIGINT) is before
    assert counters(gan)[0] == 2  # step 2 finished, step 3 never started
    assert [step for step, _ in checkpoint.checkpoints()] == [2]  # written although save_freq is 100


RESUME_SCRIPT = """
import json, sys, keras
from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.resume import fit_from_checkpoint
from tests.models.test_gan import plain_gan, Batches, counters

class Probe(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        print(json.dumps({"begin": counters(self.model)}), flush=True)

    def on_train_batch_end(self, batch, logs=None):
        print(json.dumps({"batch_saved": batch, "loss": float(logs["loss"])}), flush=True)
        self.taken = getattr(self, "taken", 0) + 1
        if self.taken == int(sys.argv[2]):
            self.model.stop_training = True

gan = plain_gan()
gan.compile(gan_start_step=0, r1_interval=2)
fit_from_checkpoint(
    gan, Batches(1000), TrainingCheckpoint(sys.argv[1], save_freq=1), verbose=0, callbacks=[Probe()], shuffle=False
)
print(json.dumps({"end": counters(gan)}), flush=True)
"""


def _lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_sigkilled_run_resumes_at_the_same_step_on_another_backend(tmp_path):
    """Train here, SIGKILL mid-run, restart on another backend from the last checkpoint."""
    import signal
    import time

    backup = str(tmp_path / "backup")
    here = keras.backend.backend()
    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[here]
    base_env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    first = subprocess.Popen(
        [sys.executable, "-c", RESUME_SCRIPT, backup, "1000"],
        env=dict(base_env, KERAS_BACKEND=here),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 300
    for line in first.stdout:  # wait until three steps are checkpointed, then kill -9
        if line.startswith("{"):
            seen.append(json.loads(line))
        if sum("batch_saved" in r for r in seen) >= 3 or time.monotonic() > deadline:
            break
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    saved = [r["batch_saved"] + 1 for r in seen if "batch_saved" in r]
    assert len(saved) >= 3, seen

    second = subprocess.run(
        [sys.executable, "-c", RESUME_SCRIPT, backup, "2"],
        env=dict(base_env, KERAS_BACKEND=other),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    report = _lines(second.stdout)
    begin = tuple(report[0]["begin"])
    # Killed after the checkpoint of step saved[-1] (or during the next one's write, which
    # the atomic rename makes invisible): training resumes exactly at a checkpointed step.
    assert begin[0] in (saved[-1], saved[-1] + 1), (begin, saved)
    step = begin[0]
    # G steps equal the step counter; D steps: steps 1.. plus R1 on even steps.
    assert begin == (step, step, (step - 1) + step // 2)
    end = tuple(report[-1]["end"])
    assert end[0] == step + 2
    # A write the kill interrupted left at most a temporary, which the resumed run removed.
    assert not [p for p in os.listdir(backup) if ".tmp" in p]
    assert all(np.isfinite(r["loss"]) for r in report if "loss" in r)
