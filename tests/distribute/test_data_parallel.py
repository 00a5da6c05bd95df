"""Data-parallel NTEDGAN training: JAX DataParallel and TF MirroredStrategy against one device.

The device count is fixed when a backend starts, so the runs happen in a fresh process
(`data_parallel_run.py`, two CPU devices); the tests read what it wrote.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BACKEND = keras.backend.backend()

needs_fit_distribution = pytest.mark.skipif(BACKEND == "torch", reason="Keras has no distribution API for fit on torch")

# Measured after 3 reconstruction steps (SGD 5e-4, 2 CPU devices vs 1): JAX 1.5e-8, TF 8.5e-7:
# the same math, only the order of float sums differs.
RECONSTRUCTION_TOLERANCE = 1e-4
# After 2 more GAN steps (one with lazy R1); the GAN steps themselves move the weights by
# 1e-3 (JAX) to 3e-3 (TF). JAX: one program over the global batch, rounding only (measured
# 1.5e-8). TF: minibatch stddev groups per replica, so the discriminator's logits differ by
# design (2.5e-3 on a fresh batch) and so do the GAN gradients (measured 1.4e-5).
GAN_TOLERANCE = {"jax": 1e-5, "tensorflow": 1e-4}


def run_script(name, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, name), *map(str, args)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode:
        raise AssertionError(f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    path = tmp_path_factory.mktemp("data_parallel") / "runs.npz"
    run_script("data_parallel_run.py", path)
    return dict(np.load(path))


@needs_fit_distribution
@pytest.mark.slow
def test_reconstruction_phase_equals_one_device(runs):
    assert runs["recon_difference"] <= RECONSTRUCTION_TOLERANCE
    assert all(np.isfinite(runs[k]).all() for k in runs if k.startswith("parallel_recon_"))


@needs_fit_distribution
@pytest.mark.slow
def test_gan_and_r1_phases_train_close_to_one_device(runs):
    for name in ("single", "parallel"):
        assert all(np.isfinite(runs[k]).all() for k in runs if k.startswith(f"{name}_final_"))
        # 2 GAN steps + 1 lazy R1 step, each counted once (not once per replica).
        assert runs[f"{name}_log_discriminator_iterations"] == 3
        assert runs[f"{name}_log_r1_penalty"] > 0
        # Each phase compiled once, when first used: reconstruction, GAN, GAN + R1 (the one
        # tf.function of a MirroredStrategy step traces the step once per replica).
        replicas = 2 if BACKEND == "tensorflow" and name == "parallel" else 1
        assert runs[f"{name}_traced"].tolist() == [phase for phase in (0, 2, 3) for _ in range(replicas)]
    floats = [
        k[len("parallel_final_") :] for k in runs if k.startswith("parallel_final_") and runs[k].dtype.kind == "f"
    ]
    moved = max(np.abs(runs[f"parallel_final_{i}"] - runs[f"parallel_recon_{i}"]).max() for i in floats)
    assert moved > 5 * GAN_TOLERANCE[BACKEND]  # the GAN steps changed the weights
    assert runs["final_difference"] <= GAN_TOLERANCE[BACKEND]
    np.testing.assert_allclose(
        runs["parallel_log_discriminator_loss"], runs["single_log_discriminator_loss"], atol=0.05
    )


@needs_fit_distribution
@pytest.mark.slow
def test_minibatch_stddev_groups_over_the_batch_each_step_program_sees(runs):
    # `predict` splits a 4-image batch over the 2 devices as `fit` does.
    if BACKEND == "jax":
        # One GSPMD program over the global batch: the groups of the undivided batch.
        np.testing.assert_allclose(runs["logits_predict"], runs["logits_whole"], atol=1e-5)
        assert np.abs(runs["logits_predict"] - runs["logits_halves"]).max() > 1e-4
    else:
        # One program per replica, as the release's per-GPU groups: each half on its own.
        np.testing.assert_allclose(runs["logits_predict"], runs["logits_halves"], atol=1e-5)
        assert np.abs(runs["logits_predict"] - runs["logits_whole"]).max() > 1e-4


@pytest.mark.slow
@pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason="per-replica loss scaling is MirroredStrategy's case; a JAX DataParallel step is one program over the "
    "global batch, whose loss scaling tests/models/test_gan.py tests (checked by hand with two devices: "
    "tests/distribute/mixed_precision_run.py); torch has no distribution API for fit",
)
def test_mixed_float16_scales_each_optimizers_loss_when_data_parallel():
    """Loss scaling per replica: each step either applies or halves its optimizer's scale."""
    import json

    env_path = os.pathsep.join(filter(None, [REPO, HERE, os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, "mixed_precision_run.py")],
        env=dict(os.environ, PYTHONPATH=env_path), cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-6000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["classes"] == {"generator": "LossScaleOptimizer", "discriminator": "LossScaleOptimizer"}
    assert report["replicas"] == 2
    assert report["step"] == 2  # counted once per step, not once per replica
    # G: 2 steps; D: both GAN steps plus lazy R1 at the first. A step whose scaled gradients
    # overflowed was skipped and halved the scale (2**15 at the start).
    for name, updates in (("generator", 2), ("discriminator", 3)):
        skipped = np.log2(2.0**15 / report["scales"][name])
        assert skipped == int(skipped) and report["iterations"][name] + skipped == updates, report
    assert report["iterations"]["discriminator"] >= 1 and report["iterations"]["generator"] >= 1
    assert report["finite"] and all(np.isfinite(v) for v in report["logs"].values()), report
