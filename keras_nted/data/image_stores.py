"""Where the DeepFashion loader reads its images from: image files under a folder, or the released LMDB."""

import io
import os
import threading

from keras_nted.data.images import open_image
from keras_nted.data.layout import find_image_file
from keras_nted.data.layout import lmdb_key


class ImageFiles:
    """Images stored as files under a folder (`.png` and `.jpg` are interchangeable)."""

    def __init__(self, folder):
        self.folder = folder

    def __str__(self):
        return f"image files under {self.folder}"

    def name(self, path):
        return find_image_file(self.folder, path) or os.path.join(self.folder, path)

    def exists(self, path):
        return find_image_file(self.folder, path) is not None

    def open(self, path):
        return open_image(self.name(path), f"image {self.name(path)}")


# LMDB allows one open environment per folder and process; readers share it.
_LMDB_ENVIRONMENTS = {}
_LMDB_LOCK = threading.Lock()


def _lmdb_environment(folder):
    key = (os.path.realpath(folder), os.getpid())
    with _LMDB_LOCK:
        if key not in _LMDB_ENVIRONMENTS:
            try:
                import lmdb
            except ImportError:
                raise ImportError(
                    f"Reading {folder} needs the `lmdb` package: pip install 'keras-nted[lmdb]'."
                ) from None
            _LMDB_ENVIRONMENTS[key] = lmdb.open(folder, readonly=True, lock=False, readahead=False, meminit=False)
        return _LMDB_ENVIRONMENTS[key]


class ImageLmdb:
    """Images stored as PNG bytes in the released LMDB (keys `img/...png`)."""

    def __init__(self, folder):
        self.folder = folder

    def __str__(self):
        return f"the LMDB {self.folder}"

    def name(self, path):
        return f"{self.folder} (LMDB key {lmdb_key(path)})"

    def _get(self, path):
        with _lmdb_environment(self.folder).begin(write=False) as txn:
            return txn.get(lmdb_key(path).encode("utf-8"))

    def exists(self, path):
        return self._get(path) is not None

    def open(self, path):
        value = self._get(path)
        if value is None:
            raise FileNotFoundError(f"No key {lmdb_key(path)} in {self.folder}")
        return open_image(io.BytesIO(value), f"image {self.name(path)}")


def open_image_store(root, image_size):
    """The store of a root's images at `image_size`: the first of `<root>/<H>-<W>/` as the released
    LMDB, `<root>/<H>-<W>/` as image files, `<root>` as image files already at that size.

    Returns:
        An `ImageLmdb` or `ImageFiles`: `name(path)`, `exists(path)`, `open(path)` (a PIL image).
    """
    sized = os.path.join(root, f"{image_size[0]}-{image_size[1]}")
    if os.path.isfile(os.path.join(sized, "data.mdb")):
        return ImageLmdb(sized)
    if os.path.isdir(sized):
        return ImageFiles(sized)
    return ImageFiles(root)
