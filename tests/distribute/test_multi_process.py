"""Multi-process JAX training: two processes on localhost, each reading only its shard.

Also the helpers the TensorFlow multi-worker and torch process tests share: the runs are
`multi_process_run.py` on every backend.
"""

import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nted.data.mannequin import MannequinDataset
from tests.distribute.multi_process_run import GLOBAL_BATCH
from tests.distribute.multi_process_run import STEPS
from tests.distribute.multi_process_run import tiny_gan
from tests.distribute.test_data_parallel import HERE
from tests.distribute.test_data_parallel import REPO

SCRIPT = os.path.join(HERE, "multi_process_run.py")
# What 2 processes of multi_process_run.py without --gan-steps leave: one batches file each, the rest the chief's.
ONLY_THE_CHIEF_WRITES = ["batches_0.npz", "batches_1.npz", "final.npz", "final.weights.h5", "logs.npz", "recon.npz"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(out, initial, *args):
    out.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    command = [sys.executable, SCRIPT, str(out), "--initial", str(initial), *map(str, args)]
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait(processes, timeout=300, expect=0):
    """The processes' outputs, once each has exited with `expect` (all killed after `timeout`)."""
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, output in zip(processes, outputs):
        assert p.returncode == expect, output[-6000:]
    return outputs


def initial_weights(folder):
    """A tiny `NTEDGAN` without VGG and `folder/initial.weights.h5`, its weights (the runs start from them)."""
    gan = tiny_gan()
    gan.save_weights(folder / "initial.weights.h5")
    return gan, folder / "initial.weights.h5"


def assert_each_process_read_its_half(two):
    """The 2 processes that wrote to `two` each read their half of every global batch, in order."""
    whole = MannequinDataset(image_size=(64, 44), batch_size=GLOBAL_BATCH, seed=0)
    halves = [np.load(two / f"batches_{i}.npz") for i in (0, 1)]
    for step in range(STEPS):
        expected = whole[step]["source_image"]
        np.testing.assert_array_equal(halves[0][f"batch_{step}"], expected[: GLOBAL_BATCH // 2])
        np.testing.assert_array_equal(halves[1][f"batch_{step}"], expected[GLOBAL_BATCH // 2 :])


@pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="JAX's distributed runtime (TensorFlow: test_multi_worker.py; torch: test_torch_processes.py)",
)
@pytest.mark.slow
def test_two_processes_equal_one_process_on_the_same_global_batches(tmp_path):
    gan, initial = initial_weights(tmp_path)
    port = free_port()
    two, one = tmp_path / "two", tmp_path / "one"
    pair = [launch(two, initial, "--num-processes", 2, "--process-id", i, "--port", port) for i in (0, 1)]
    reference = launch(one, initial)
    wait(pair + [reference])

    assert_each_process_read_its_half(two)

    # Only the chief wrote the weights; they equal the 1-process run's.
    assert sorted(p.name for p in two.iterdir()) == ONLY_THE_CHIEF_WRITES
    final_two, final_one = np.load(two / "final.npz"), np.load(one / "final.npz")
    difference = max(np.abs(final_two[k] - final_one[k]).max() for k in final_one.files)
    assert difference <= 1e-4
    start = [keras.ops.convert_to_numpy(w) for w in gan.weights]
    assert max(np.abs(final_one[f"arr_{i}"] - w).max() for i, w in enumerate(start)) > 1e-3  # it trained
    gan.load_weights(two / "final.weights.h5")
    for i, w in enumerate(gan.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), final_two[f"arr_{i}"])
