"""Resizes the high-resolution DeepFashion images to the training sizes, as the release prepares them.

The released `scripts/prepare_data.py` collects every image named in both pairs files, opens
the high-resolution original (`<root>/img/...`, 750x1101), converts it to RGB, resizes it to each
size with a plain anisotropic bicubic resize (no crop, no pad) and stores PNG bytes in an LMDB
`<root>/<H>-<W>/` under the key `img/...png`, plus the key `length`. `prepare_deepfashion` does
the same, writing either that LMDB or PNG files `<root>/<H>-<W>/img/...png`; the DeepFashion
loader reads both.
"""

import concurrent.futures
import io
import os
import shutil

import keras
from PIL import Image

from keras_nted.data.images import read_image
from keras_nted.data.keypoints import validate_image_size
from keras_nted.data.layout import PAIRS_FILES
from keras_nted.data.layout import find_image_file
from keras_nted.data.layout import lmdb_key
from keras_nted.data.layout import read_pairs_file
from keras_nted.utils.validation import check_int

DEFAULT_SIZES = ((256, 176), (512, 352))
_CHUNK = 64


def parse_sizes(text):
    """Parses `"256x176,512x352"` into `((256, 176), (512, 352))` (height x width).

    Raises:
        ValueError: if an entry is not `<height>x<width>` with positive integers.
    """
    sizes = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(
                f"Expected sizes as comma-separated HEIGHTxWIDTH, e.g. 256x176,512x352. Received: {text!r}"
            )
        sizes.append((int(parts[0]), int(parts[1])))
    return tuple(sizes)


def _listed_images(root):
    """Every image path named in the pairs files, in first-mention order, with its origin."""
    images = {}
    for name in PAIRS_FILES.values():
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            continue
        for number, target, sources in read_pairs_file(path):
            for image in (target, *sources):
                images.setdefault(image, f"{path}:{number}")
    if not images:
        raise FileNotFoundError(f"No pairs file in {root}: expected {' and/or '.join(PAIRS_FILES.values())}.")
    return images


def _resize(source_file, sizes):
    """The PNG bytes of one image resized to every size, in `sizes` order."""
    image = read_image(source_file, f"image {source_file}")
    encoded = []
    for height, width in sizes:
        buffer = io.BytesIO()
        image.resize((width, height), Image.BICUBIC).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


class _FileWriter:
    def __init__(self, folder):
        self.folder = folder

    def put(self, key, data):
        path = os.path.join(self.folder, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def close(self, count):
        pass


class _LmdbWriter:
    def __init__(self, folder, count, size):
        try:
            import lmdb
        except ImportError:
            raise ImportError("Writing an LMDB needs the `lmdb` package: pip install 'keras-nted[lmdb]'.") from None
        height, width = size
        # An upper bound on the PNG sizes (raw RGB plus row filters and zlib overhead).
        map_size = int(count * (height * (width * 3 + 1) * 1.1 + 4096)) + (64 << 20)
        self.env = lmdb.open(folder, map_size=map_size)
        self.txn = self.env.begin(write=True)
        self.pending = 0

    def put(self, key, data):
        self.txn.put(key.encode("utf-8"), data)
        self.pending += 1
        if self.pending >= 1000:
            self.txn.commit()
            self.txn = self.env.begin(write=True)
            self.pending = 0

    def close(self, count):
        self.txn.put(b"length", str(count).encode("utf-8"))
        self.txn.commit()
        self.env.close()


def prepare_deepfashion(root, sizes=DEFAULT_SIZES, use_lmdb=False, workers=2, verbose=True):
    """Writes the images of both pairs files resized to each size, as the release prepares them.

    Every image path in `train_pairs.txt` and `test_pairs.txt` is read from `<root>/<path>` (the
    high-resolution originals; `.jpg` and `.png` are interchangeable), converted to RGB, resized
    to `(height, width)` with PIL bicubic (a plain anisotropic resize) and written as PNG to
    `<root>/<H>-<W>/img/...png`, or with `use_lmdb=True` into the LMDB `<root>/<H>-<W>/` under the
    key `img/...png`, with the key `length` holding the image count.

    Args:
        root: the DeepFashion root (pairs files and `img/` with the high-resolution images).
        sizes: `(height, width)` pairs.
        use_lmdb: write the released LMDB instead of files.
        workers: threads that decode and resize.
        verbose: show a progress bar.

    Returns:
        A dict `{(height, width): output folder}`.

    Raises:
        FileNotFoundError: for a missing root, no pairs file, or a listed image that does not
            exist (named with its pairs-file line), checked before anything is written.
        ValueError: for a bad size or an image that does not decode.

    Example:

    ```python
    prepare_deepfashion("dataset/deepfashion", sizes=[(256, 176)], use_lmdb=True)
    ```
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"DeepFashion root not found: {root}")
    sizes = tuple(validate_image_size(size, name="sizes") for size in sizes)
    if not sizes:
        raise ValueError(f"Expected at least one (height, width) size. Received: sizes={sizes!r}")
    check_int("workers", workers)
    images = _listed_images(root)
    sources = {image: find_image_file(root, image) for image in images}
    missing = [image for image, found in sources.items() if found is None]
    if missing:
        raise FileNotFoundError(
            f"{images[missing[0]]}: image {os.path.join(root, missing[0])} not found ({len(missing)} "
            f"of {len(images)} listed images are missing; the originals go under {root}/img/)."
        )

    outputs = {size: os.path.join(root, f"{size[0]}-{size[1]}") for size in sizes}
    # Written into scratch folders beside the outputs and moved in when every image decoded:
    # an image that fails half-way leaves nothing behind.
    scratch = {size: os.path.join(root, f".{size[0]}-{size[1]}.partial") for size in sizes}
    try:
        writers = []
        for size, folder in scratch.items():
            shutil.rmtree(folder, ignore_errors=True)  # left by a killed run
            os.makedirs(folder)
            writers.append(_LmdbWriter(folder, len(images), size) if use_lmdb else _FileWriter(folder))
        progress = keras.utils.Progbar(len(images), unit_name="image") if verbose else None
        names = list(images)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            # In chunks, so that decoded images never pile up ahead of the writer.
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                for image, encoded in zip(chunk, pool.map(lambda i: _resize(sources[i], sizes), chunk)):
                    for writer, data in zip(writers, encoded):
                        writer.put(lmdb_key(image), data)
                if progress is not None:
                    progress.update(start + len(chunk))
        for writer in writers:
            writer.close(len(images))
        for size, folder in scratch.items():
            _move_into(folder, outputs[size])
    finally:
        for folder in scratch.values():
            shutil.rmtree(folder, ignore_errors=True)
    return outputs


def _move_into(source, target):
    """Moves the tree `source` onto `target` (a rename when `target` does not exist yet)."""
    if not os.path.exists(target):
        os.rename(source, target)
        return
    for folder, _, files in os.walk(source):
        destination = os.path.join(target, os.path.relpath(folder, source))
        os.makedirs(destination, exist_ok=True)
        for name in files:
            os.replace(os.path.join(folder, name), os.path.join(destination, name))
