"""Weights read from pickles without torch and without running code: both torch.save formats and pickled numpy."""

import collections
import os
import pickle
import zipfile

import numpy as np
import pytest

from keras_nted.metrics.pickle_files import LEGACY_MAGIC_NUMBER
from keras_nted.metrics.pickle_files import LEGACY_PROTOCOL_VERSION
from keras_nted.metrics.pickle_files import read_state_dict


def _tensors(torch):
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    return collections.OrderedDict(
        [
            ("conv.weight", base.permute(2, 0, 1)),  # strided
            ("conv.bias", base[1, 1:, 2]),  # an offset into a shared storage
            ("half", torch.linspace(-1, 1, 5, dtype=torch.float16)),
            ("steps", torch.tensor(7, dtype=torch.int64)),
            ("mask", torch.tensor([True, False])),
            ("empty", torch.zeros(0, 3)),
        ]
    )


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_torch_save_files_read_as_numpy(tmp_path, zipped):
    torch = pytest.importorskip("torch", reason="torch writes the reference files")
    tensors = _tensors(torch)
    path = tmp_path / "weights.pth"
    torch.save(tensors, path, _use_new_zipfile_serialization=zipped)
    assert zipfile.is_zipfile(path) == zipped
    arrays = read_state_dict(path)
    assert list(arrays) == list(tensors)
    for name, tensor in tensors.items():
        expected = tensor.numpy()
        assert arrays[name].dtype == expected.dtype and arrays[name].shape == expected.shape, name
        np.testing.assert_array_equal(arrays[name], expected)


def test_a_parameter_in_a_checkpoint_reads_as_its_data(tmp_path):
    torch = pytest.importorskip("torch", reason="torch writes the reference files")
    layer = torch.nn.Linear(3, 2)
    path = tmp_path / "checkpoint.pth"
    torch.save({"model": layer.state_dict(keep_vars=True), "epoch": 3}, path)
    arrays = read_state_dict(path)
    assert sorted(arrays) == ["model/bias", "model/weight"]
    np.testing.assert_array_equal(arrays["model/weight"], layer.weight.detach().numpy())


def test_pickled_numpy_reads_as_a_flat_dict(tmp_path):
    params = {"Net_0": {"Conv_0": {"kernel": np.ones((3, 3, 2, 4), "float32"), "bias": np.arange(4.0)}}}
    path = tmp_path / "net.ckpt"
    path.write_bytes(pickle.dumps(params, protocol=3))
    arrays = read_state_dict(path)
    assert list(arrays) == ["Net_0/Conv_0/kernel", "Net_0/Conv_0/bias"]
    np.testing.assert_array_equal(arrays["Net_0/Conv_0/bias"], np.arange(4.0))


class _Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _legacy_stream(payload):
    header = [pickle.dumps(LEGACY_MAGIC_NUMBER), pickle.dumps(LEGACY_PROTOCOL_VERSION), pickle.dumps({})]
    return b"".join(header) + payload


@pytest.mark.parametrize("form", ["pickle", "zip", "legacy"])
def test_a_pickle_that_calls_a_function_is_refused_before_it_runs(tmp_path, form):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"weight": _Hostile(marker)}, protocol=2)
    path = tmp_path / "hostile.pth"
    if form == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", payload)
    else:
        path.write_bytes(_legacy_stream(payload) if form == "legacy" else payload)
    with pytest.raises(ValueError, match=r"^Refused to read .*hostile.pth: it asks for posix.system") as error:
        read_state_dict(path)
    assert "\n" not in str(error.value)
    assert not marker.exists()


class _OutsideObject(pickle.Pickler):
    def persistent_id(self, obj):
        return ("module", "os", "import os") if obj == "x" else None


def test_outside_objects_and_stray_reads_are_refused(tmp_path):
    path = tmp_path / "outside.pth"
    with open(path, "wb") as f:
        f.write(_legacy_stream(b""))
        _OutsideObject(f, protocol=2).dump({"w": "x"})
    with pytest.raises(ValueError, match=r"outside.pth: it refers to an outside object"):
        read_state_dict(path)
    torch = pytest.importorskip("torch", reason="torch writes the reference files")
    path = tmp_path / "stray.pth"
    torch.save({"w": torch.zeros(4)}, path)
    # The same storage, but a tensor that claims 400 elements: numpy must never be asked for them.
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    pkl = next(name for name in files if name.endswith("data.pkl"))
    files[pkl] = files[pkl].replace(b"K\x04\x85", b"M\x90\x01\x85")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=r"stray.pth as a file of weights .*reaches element 399 of a storage of 4"):
        read_state_dict(path)


def test_files_that_are_not_weights(tmp_path):
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(ValueError, match=r"Could not read .*text.pth as a file of weights"):
        read_state_dict(tmp_path / "text.pth")
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match=r"list.pkl holds a list, not a dict of weights"):
        read_state_dict(tmp_path / "list.pkl")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        read_state_dict(tmp_path / "missing.pth")
