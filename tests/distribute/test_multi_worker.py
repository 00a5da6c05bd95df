"""TensorFlow multi-worker training: two workers on localhost against one process, same global batches."""

import keras
import numpy as np
import pytest

from tests.distribute.test_multi_process import ONLY_THE_CHIEF_WRITES
from tests.distribute.test_multi_process import assert_each_process_read_its_half
from tests.distribute.test_multi_process import free_port
from tests.distribute.test_multi_process import initial_weights
from tests.distribute.test_multi_process import launch
from tests.distribute.test_multi_process import wait

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="tf.distribute.MultiWorkerMirroredStrategy is TensorFlow's"
    ),
]

# Measured after 3 SGD reconstruction steps: 2.1e-6 (the order of float sums only).
RECONSTRUCTION_TOLERANCE = 1e-4


GAN_STEPS = 2


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi_worker")
    gan, initial = initial_weights(root)
    port = free_port()
    two, one = root / "two", root / "one"
    common = ("--gan-steps", GAN_STEPS)
    pair = [launch(two, initial, "--num-processes", 2, "--process-id", i, "--port", port, *common) for i in (0, 1)]
    wait(pair + [launch(one, initial, *common)])
    return {"two": two, "one": one, "initial": [keras.ops.convert_to_numpy(w) for w in gan.weights]}


def test_each_worker_reads_its_half_and_only_the_chief_writes(runs):
    assert_each_process_read_its_half(runs["two"])
    assert sorted(p.name for p in runs["two"].iterdir()) == sorted(ONLY_THE_CHIEF_WRITES + ["gan_0.npz", "gan_1.npz"])


def test_two_workers_equal_one_process(runs):
    recon_two, recon_one = np.load(runs["two"] / "recon.npz"), np.load(runs["one"] / "recon.npz")
    difference = max(np.abs(recon_two[k] - recon_one[k]).max() for k in recon_one.files)
    assert difference <= RECONSTRUCTION_TOLERANCE
    moved = max(np.abs(recon_one[f"arr_{i}"] - w).max() for i, w in enumerate(runs["initial"]) if w.dtype.kind == "f")
    assert moved > 1e-3  # it trained


def test_gan_and_r1_steps_are_finite_counted_once_and_identical_on_every_worker(runs):
    logs = np.load(runs["two"] / "logs.npz")
    assert int(logs["d_iterations"]) == 3  # 2 GAN steps + 1 lazy R1 step
    assert logs["r1_penalty"] > 0
    assert all(np.isfinite(logs[k]).all() for k in logs.files)
    first, second = np.load(runs["two"] / "gan_0.npz"), np.load(runs["two"] / "gan_1.npz")
    for key in first.files:
        assert np.isfinite(first[key]).all(), key
        np.testing.assert_array_equal(first[key], second[key])


def test_a_killed_worker_stops_the_other_with_one_line_and_the_same_commands_resume(tmp_path):
    from tests.distribute.test_torch_processes import kill_after_a_checkpoint
    from tests.distribute.test_torch_processes import start
    from tests.distribute.test_torch_processes import train_args

    run, port, steps = tmp_path / "run", free_port(), 6
    flags = ("--coordinator", f"127.0.0.1:{port}", "--num-processes", 2)
    command = lambda i: (*train_args(run, steps), *flags, "--process-id", i)  # noqa: E731
    done = kill_after_a_checkpoint(
        start(*command(0)), start(*command(1)), run, "Lost the training worker of rank 1 (of 2)"
    )
    assert 2 <= done < steps
    outputs = wait([start(*command(0)), start(*command(1))])
    remaining = steps - done
    assert f"{remaining}/{remaining} - " in outputs[0] and f"step {steps}: EMA generator" in outputs[0]
