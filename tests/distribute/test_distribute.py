"""keras_nted.distribute in one process: shards, chief, errors; the CLI flags."""

from unittest import mock

import keras
import numpy as np
import pytest

from keras_nted import distribute
from keras_nted.cli import main
from keras_nted.data.mannequin import MannequinDataset
from tests.distribute.multi_process_run import tiny_gan
from tests.distribute.test_data_parallel import BACKEND


def test_process_shards_make_up_the_global_batches():
    local = MannequinDataset(image_size=(64, 44), batch_size=2, seed=3)
    whole = MannequinDataset(image_size=(64, 44), batch_size=4, seed=3)
    shards = [distribute.ProcessShard(local, index=i, count=2) for i in (0, 1)]
    assert len(shards[0]) == len(local) // 2
    for step in (0, 1, 7):
        for key in ("source_image", "target_skeleton", "target_face_center"):
            joined = np.concatenate([shard[step][key] for shard in shards])
            np.testing.assert_array_equal(joined, whole[step][key])


def test_process_shards_pass_the_epoch_to_data_sets_that_take_one():
    class ByEpoch(keras.utils.PyDataset):
        def __len__(self):
            return 6

        def __getitem__(self, index):
            return ("plain", index)

        def batch_at(self, index, epoch):
            return ("at", index, epoch)

    shard = distribute.ProcessShard(ByEpoch(), index=1, count=2)
    assert shard.batch_at(2, epoch=5) == ("at", 5, 5)  # local batch 2 * 2 + 1, pass 5
    assert shard[2] == ("plain", 5)
    plain = distribute.ProcessShard(MannequinDataset(image_size=(64, 44), batch_size=2, seed=3), index=1, count=2)
    np.testing.assert_array_equal(plain.batch_at(1, epoch=3)["source_image"], plain[1]["source_image"])


def test_one_process_is_the_chief_and_reads_everything():
    assert distribute.is_chief()
    assert (distribute.process_index(), distribute.process_count()) == (0, 1)
    assert distribute.local_batch_size(6) == 6
    local = MannequinDataset(image_size=(64, 44), batch_size=2, seed=0)
    np.testing.assert_array_equal(distribute.ProcessShard(local)[5]["source_image"], local[5]["source_image"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: distribute.ProcessShard(MannequinDataset(batch_size=2), index=2, count=2), "index=2"),
        (lambda: distribute.ProcessShard(MannequinDataset(batch_size=2), count=0), "count=0"),
        (lambda: distribute.local_batch_size(0), "Received: 0"),
        (lambda: distribute.split_host_cpu(0), "count=0"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_multi_process_needs_an_address_and_a_valid_rank():
    if BACKEND != "torch":
        with pytest.raises(ValueError, match="torch's collectives only"):
            distribute.initialize("127.0.0.1:1", num_processes=2, process_id=0, timeout=5)
    if BACKEND == "tensorflow":  # refused before any strategy is made
        with pytest.raises(ValueError, match="together"):
            distribute.initialize("127.0.0.1:1", num_processes=2)
        with mock.patch.dict("os.environ", {"TF_CONFIG": ""}):
            with pytest.raises(ValueError, match="TF_CONFIG"):
                distribute.initialize()
        with pytest.raises(ValueError, match="process_id=2"):
            distribute.initialize("127.0.0.1:1", num_processes=2, process_id=2)
        return
    with pytest.raises(ValueError, match="process_id=2"):
        distribute.initialize("127.0.0.1:1", num_processes=2, process_id=2)
    empty = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "", "MASTER_ADDR": ""}
    with mock.patch.dict("os.environ", empty):
        with pytest.raises(ValueError, match="job_addresses"):
            distribute.initialize(None, num_processes=2, process_id=0)
    if BACKEND == "torch":
        with pytest.raises(ValueError, match="timeout=0"):
            distribute.initialize("127.0.0.1:1", num_processes=2, process_id=0, timeout=0)
        with mock.patch.dict("os.environ", {"KERAS_DISTRIBUTION_NUM_PROCESSES": ""}):
            with pytest.raises(ValueError, match="num_processes=0"):
                distribute.initialize("127.0.0.1:1", process_id=0)


@pytest.mark.skipif(BACKEND == "jax", reason="JAX trains under keras.distribution (test_data_parallel.py)")
def test_fit_refuses_a_keras_distribution_it_cannot_honour():
    gan = tiny_gan()
    gan.compile(weight_l1=10.0)
    data = MannequinDataset(image_size=(64, 44), batch_size=2, steps_per_epoch=1)
    expected = "no distribution API for `fit` on the torch" if BACKEND == "torch" else "MirroredStrategy"
    with mock.patch("keras.distribution.distribution", return_value=object()):
        with pytest.raises(ValueError, match=expected):
            gan.fit(data, epochs=1, verbose=0)


@pytest.mark.skipif(BACKEND != "torch", reason="torch processes join by torch.distributed (test_torch_processes.py)")
def test_train_on_torch_without_a_process_count_is_a_one_line_error(tmp_path, capsys):
    out = str(tmp_path / "r")
    args = ["train", "--preset", "nted_tiny", "--vgg-weights", "none", "-o", out]
    with mock.patch.dict("os.environ", {"KERAS_DISTRIBUTION_NUM_PROCESSES": ""}):
        code = main([*args, "--coordinator", "127.0.0.1:1", "--process-id", "0"])
    assert code == 2
    assert "Received: num_processes=0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
