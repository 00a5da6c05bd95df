"""Data-parallel torch training over processes (torch.distributed, gloo on CPUs): two against one.

The runs happen in fresh processes on localhost: `multi_process_run.py` launched by
`torchrun` (`python -m torch.distributed.run`) against the same script in one process, and
the CLI (`keras-nted train`) with its `--coordinator / --num-processes / --process-id` flags,
killed and re-run, against the same command launched by `torchrun` and never killed.
"""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.distribute.test_data_parallel import REPO
from tests.distribute.test_multi_process import ONLY_THE_CHIEF_WRITES
from tests.distribute.test_multi_process import SCRIPT
from tests.distribute.test_multi_process import assert_each_process_read_its_half
from tests.distribute.test_multi_process import free_port
from tests.distribute.test_multi_process import initial_weights
from tests.distribute.test_multi_process import wait
from tests.helpers import checkpoint_arrays

pytestmark = [
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="trains over torch.distributed processes"),
    pytest.mark.slow,
]

GAN_STEPS = 2
# Measured after 3 reconstruction steps (SGD 1e-3): 1.2e-7 absolute, 2.5e-5 relative to the
# largest weight of its tensor: only the order of float sums differs.
RECONSTRUCTION_TOLERANCE = 1e-4


def environment():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    # One thread per process, as torchrun sets: the same float sums in every run (and no oversubscription).
    env["OMP_NUM_THREADS"] = "1"
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID"):
        env.pop(name, None)
    return env


def start(*command, log=None):
    return subprocess.Popen(
        [sys.executable, *map(str, command)], env=environment(), cwd=REPO, stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def torchrun(*command):
    rendezvous = ("--nproc-per-node", 2, "--master-addr", "127.0.0.1", "--master-port", free_port())
    return start("-m", "torch.distributed.run", *rendezvous, *command)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The weights of 2 torchrun processes and of 1 process, after the same steps on the same global batches."""
    tmp = tmp_path_factory.mktemp("torch_processes")
    gan, initial = initial_weights(tmp)
    two, one = tmp / "two", tmp / "one"
    two.mkdir(), one.mkdir()
    common = ("--initial", initial, "--gan-steps", GAN_STEPS)
    wait([torchrun(SCRIPT, two, *common), start(SCRIPT, one, *common)])
    return two, one, [keras.ops.convert_to_numpy(w) for w in gan.weights]


def test_two_torchrun_processes_equal_one_process_on_the_same_global_batches(runs):
    two, one, start_weights = runs
    recon_two, recon_one = np.load(two / "recon.npz"), np.load(one / "recon.npz")
    for key in recon_one.files:
        scale = max(np.abs(recon_one[key]).max(), 1e-12)
        assert np.abs(recon_two[key] - recon_one[key]).max() / scale <= RECONSTRUCTION_TOLERANCE, key
    assert max(np.abs(recon_one[f"arr_{i}"] - w).max() for i, w in enumerate(start_weights)) > 1e-3  # it trained
    # Each process read its half of every global batch; only the chief wrote the weights.
    assert_each_process_read_its_half(two)
    assert sorted(p.name for p in two.iterdir()) == sorted(ONLY_THE_CHIEF_WRITES + ["gan_0.npz", "gan_1.npz"])


def test_gan_and_r1_steps_keep_every_process_identical_and_finite(runs):
    two, one, _ = runs
    first, second, alone = (np.load(path) for path in (two / "gan_0.npz", two / "gan_1.npz", one / "gan_0.npz"))
    for key in first.files:
        assert np.isfinite(first[key]).all(), key
        # The gradients are averaged before every G, D and R1 step: the copies (EMA included) stay equal.
        np.testing.assert_array_equal(first[key], second[key])
    # Minibatch standard deviation groups each process's own half, so the GAN steps differ slightly from 1 process.
    assert max(np.abs(first[k] - alone[k]).max() for k in first.files) < 1e-2


TRAIN = ("-m", "keras_nted", "train", "--preset", "nted_tiny", "--vgg-weights", "none", "--batch-size", 4)
TRAIN_STEPS = 10


def train_args(out, steps=TRAIN_STEPS):
    return (
        *TRAIN,
        "--steps-per-epoch",
        steps,
        "--checkpoint-every",
        2,
        "--gan-start-step",
        3,
        "--quiet",
        "-o",
        out,
    )


def kill_after_a_checkpoint(chief, other, run, lost):
    """Kill `other` once `run` holds a checkpoint; `chief` must stop within 60 s with one line saying `lost`.

    Returns:
        the step of the last checkpoint.
    """
    deadline = time.monotonic() + 240
    while not (run / "backup" / "step_000000002.weights.h5").exists():
        assert chief.poll() is None and time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.05)
    other.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    (output,) = wait([chief], timeout=120, expect=2)
    assert time.monotonic() - killed_at < 60
    errors = [line for line in output.splitlines() if line.startswith("keras-nted train: error:")]
    assert len(errors) == 1 and lost in errors[0], output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert other.wait() == -signal.SIGKILL
    return max(int(p.name[5:14]) for p in (run / "backup").glob("step_*.weights.h5"))


def test_a_killed_process_stops_the_others_with_one_line_and_the_same_commands_resume(tmp_path):
    reference, run = tmp_path / "reference", tmp_path / "run"
    uninterrupted = torchrun(*train_args(reference)[1:])  # torchrun -m keras_nted train ...
    port = free_port()
    flags = lambda i: (*train_args(run), "--coordinator", f"127.0.0.1:{port}", "--num-processes", 2, "--process-id", i)  # noqa: E731
    done = kill_after_a_checkpoint(
        start(*flags(0)), start(*flags(1)), run, "Lost the training process of rank 1 (of 2)"
    )
    assert 2 <= done < TRAIN_STEPS
    outputs = wait([start(*flags(0)), start(*flags(1))])
    remaining = TRAIN_STEPS - done
    assert f"{remaining}/{remaining} - " in outputs[0] and f"step {TRAIN_STEPS}: EMA generator" in outputs[0]
    assert "EMA generator" not in outputs[1]  # only the chief reports (and writes)
    wait([uninterrupted])
    final = f"backup/step_{TRAIN_STEPS:09d}.weights.h5"
    resumed, expected = checkpoint_arrays(run / final), checkpoint_arrays(reference / final)
    assert resumed.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)
