"""`keras-nted train` killed at random moments (inside checkpoint writes too) ends where an unkilled run ends."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.helpers import checkpoint_arrays

REPO = pathlib.Path(__file__).resolve().parents[2]
STEPS = 12  # 3 epochs x 4 steps; the GAN (and the discriminator's optimizer) starts at step 3
COMMAND = [
    "train", "--preset", "nted_tiny", "--vgg-weights", "none", "--batch-size", "1", "--epochs", "3",
    "--steps-per-epoch", "4", "--checkpoint-every", "1", "--gan-start-step", "2", "--seed", "3", "--quiet",
]  # fmt: skip


def _start(out, log):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-m", "keras_nted", "--backend", keras.backend.backend(), *COMMAND, "-o", str(out)],
        env=env, cwd=out.parent, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _checkpoint_steps(backup):
    return sorted(int(p.name[5:14]) for p in backup.glob("step_*.weights.h5")) if backup.is_dir() else []


def _writing(backup):
    return backup.is_dir() and any(".tmp" in p.name for p in backup.iterdir())


@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="eight process starts cost minutes of tracing and compilation on TensorFlow and JAX; the checkpoint "
    "code is the same on every backend, and test_gan's SIGKILL test restores on each of them",
)
def test_killed_run_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    from keras_nted.cli import main

    rng = np.random.default_rng(0)
    log = open(tmp_path / "log.txt", "w")
    reference = tmp_path / "reference"
    assert main([*COMMAND, "-o", str(reference)]) == 0  # in this process: the same command, never killed

    out = tmp_path / "killed"
    # (how, when): SIGKILL while a checkpoint is being written, SIGKILL at a random moment
    # after a new checkpoint, Ctrl-C (SIGINT) at a random moment.
    plan = [("kill", "writing"), ("kill", "random"), ("interrupt", "random"), ("kill", "writing")]
    kills = []
    for how, when in plan:
        before = _checkpoint_steps(out / "backup")
        process = _start(out, log)
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            steps = _checkpoint_steps(out / "backup")
            if when == "writing" and steps[-1:] != before[-1:] and _writing(out / "backup"):
                break
            if when == "random" and steps[-1:] != before[-1:]:
                time.sleep(rng.uniform(0.0, 0.5))
                break
            time.sleep(0.001)
        if process.poll() is not None:
            break  # finished before the planned moment
        writing = _writing(out / "backup")
        process.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
        code = process.wait(timeout=120)
        kills.append({"how": how, "during_write": writing, "code": code, "after": _checkpoint_steps(out / "backup")})
    log.close()
    assert main([*COMMAND, "-o", str(out)]) == 0  # the last restart runs to the end
    print(json.dumps(kills))

    assert len(kills) >= 3, kills
    assert any(k["how"] == "kill" and k["during_write"] for k in kills), kills  # killed inside a write
    # A signal can arrive just as the run ends by itself (exit 0, every step checkpointed).
    finished = [k["code"] == 0 and k["after"][-1:] == [STEPS] for k in kills]
    assert all(
        done or k["code"] == (-signal.SIGKILL if k["how"] == "kill" else 130) for k, done in zip(kills, finished)
    ), kills
    assert not [p for p in (out / "backup").iterdir() if ".tmp" in p.name]
    assert _checkpoint_steps(out / "backup")[-1] == _checkpoint_steps(reference / "backup")[-1] == STEPS
    assert json.loads((out / "time.json").read_text())["step"] == STEPS
    # Every weight, optimizer slot and counter of the final checkpoint equals the unkilled run's.
    name = f"step_{STEPS:09d}.weights.h5"
    expected, got = checkpoint_arrays(reference / "backup" / name), checkpoint_arrays(out / "backup" / name)
    assert expected.keys() == got.keys()
    difference = max(
        float(np.max(np.abs(expected[k].astype("float64") - got[k]))) for k in expected if expected[k].size
    )
    print(f"max difference after {len(kills)} kills: {difference}")
    assert difference == 0.0
