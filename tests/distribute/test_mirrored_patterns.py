"""MirroredStrategy as users write it: each pattern trains, several strategies in one process.

The patterns run in a fresh process (`mirrored_patterns_run.py`: logical CPU devices are set
before TensorFlow starts), one after the other, each under its own strategy: before
`keras_nted.backend.distribution.own_collectives` the second one failed at its third
all-reduce ("Shape mismatch in the collective instance 102 ... [81601] ... [93793]").
"""

import json

import keras
import pytest

from tests.distribute.test_data_parallel import run_script

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="tf.distribute.MirroredStrategy is TensorFlow's"
    ),
]


@pytest.fixture(scope="module")
def reports():
    output = run_script("mirrored_patterns_run.py")
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {report["pattern"]: report for report in lines}


def test_every_pattern_trains_in_one_process(reports):
    assert sorted(reports) == sorted(
        [
            "tf_data_inside_scope_all_phases",
            "py_dataset_outside_scope",
            "generator_inside_scope_constructor",
            "numpy_outside_scope_constructor",
        ]
    )
    for name, report in reports.items():
        assert report["replicas"] == 2, name
        # 3 steps, each counted once (not once per replica), each one generator update.
        assert report["step"] == 3 and report["generator_iterations"] == 3, report
        assert report["finite"] and report["losses_finite"], report
        assert report["generator_moved"] > 1e-4, report


def test_the_first_pattern_ran_the_gan_and_r1_phases(reports):
    # Reconstruction, GAN, GAN + R1: 2 discriminator steps and one lazy R1 step.
    assert reports["tf_data_inside_scope_all_phases"]["discriminator_iterations"] == 3
    for name in ("py_dataset_outside_scope", "generator_inside_scope_constructor", "numpy_outside_scope_constructor"):
        assert reports[name]["discriminator_iterations"] == 0  # reconstruction only, after it
