"""The DeepFashion (In-shop, GFLA split) pose-transfer pairs, read as the released code reads them.

A root in the released layout holds:

* `train_pairs.txt` and `test_pairs.txt`: one line per target image, `target,source1,source2,...`,
  with paths like `img/WOMEN/Dresses/id_00006288/01_1_front.jpg`;
* `pose/...txt`: the keypoints of `img/....jpg` (see `keras_nted.data.keypoints`);
* the images at the training size, in the first of these that exists:
  `<root>/<H>-<W>/` as the released LMDB (keys `img/...png`, PNG bytes; built by the released
  `prepare_data.py` or `keras-nted prepare-deepfashion --lmdb`), `<root>/<H>-<W>/img/...` as
  image files (`keras-nted prepare-deepfashion`), or `<root>/img/...` as image files already at
  `H x W` (`.jpg` or `.png`).

The layout's files (`keras_nted.data.layout`), the augmentation (`keras_nted.data.augmentation`)
and the image stores (`keras_nted.data.image_stores`) have their own modules.
"""

import logging
import os

import keras
import numpy as np

from keras_nted.data.augmentation import augment_image
from keras_nted.data.augmentation import sample_augmentation
from keras_nted.data.image_stores import ImageLmdb
from keras_nted.data.image_stores import open_image_store
from keras_nted.data.images import decode_image
from keras_nted.data.keypoints import read_pose_file
from keras_nted.data.keypoints import validate_image_size
from keras_nted.data.layout import PAIRS_FILES
from keras_nted.data.layout import output_name
from keras_nted.data.layout import pose_path
from keras_nted.data.layout import read_pairs_file
from keras_nted.data.skeleton import face_center
from keras_nted.data.skeleton import render_skeleton
from keras_nted.utils.images import from_uint8
from keras_nted.utils.openpose import NUM_SKELETON_CHANNELS
from keras_nted.utils.validation import check_int

logger = logging.getLogger(__name__)


# Random streams drawn from (seed, epoch, stream, ...): independent of batching and workers.
_SHUFFLE_STREAM, _SAMPLE_STREAM = 0, 1


class _BadInput(Exception):
    """A bad file found while checking a pairs line; `error_type` is what to raise."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


class DeepFashionDataset(keras.utils.PyDataset):
    """Batches of DeepFashion pose-transfer pairs, as the released loader builds them.

    Every pairs-file line names a target image and one or more source (reference) images of
    the same person. In `"train"` mode each line is one sample per epoch whose source is drawn
    uniformly from the line's sources, and each image gets the released augmentation (the
    released `data/fashion_base_function.py`: an independent random up-scaling of at most
    `scale_param` and a random crop back to `image_size`, PIL bicubic, with the keypoints
    transformed the same way). In
    `"test"` mode every `(target, source)` combination is one sample, in file order, without
    augmentation, so evaluation is deterministic and covers every listed pair.

    All randomness comes from `numpy` generators seeded by `(seed, epoch, sample)`, so the
    batches are reproducible and do not depend on the number of workers or on which worker
    builds which batch. `epoch` advances in `on_epoch_end`, which Keras calls after every pass
    over the data and once more when `fit`, `evaluate` or `predict` start (so every pass sees
    new draws); set `epoch` to choose the draws, e.g. when resuming.

    The constructor checks every listed file before training starts: images exist, decode as
    image headers and have size `image_size`; pose files parse as 18x2 without NaN. Bad input
    raises an error naming the file and the pairs-file line, or, with `skip_bad_pairs=True`,
    the bad pairs are dropped, counted in `skipped` and logged.

    Args:
        root: the data set root (see the module docstring for the layout).
        split: `"train"` or `"test"` (reads `train_pairs.txt` or `test_pairs.txt`).
        image_size: `(height, width)` of the images, e.g. `(256, 176)` or `(512, 352)`.
        batch_size: samples per batch.
        augment: apply the training augmentation. Defaults to `split == "train"`.
        scale_param: the largest relative up-scaling of the augmentation (release: 0.1).
        seed: non-negative integer seed of source choice, augmentation and shuffling.
        shuffle: reorder the samples every epoch. Defaults to `split == "train"`.
        drop_remainder: drop the last incomplete batch. Defaults to `split == "train"` (the
            release drops it in training; a constant batch size also avoids re-tracing).
        skip_bad_pairs: drop pairs with missing or bad files instead of raising.
        verify_images: also decode every image once in the constructor, which finds truncated
            files up front (slower; without it they raise when loaded).
        workers: number of threads (or processes) `fit` loads batches with.
        use_multiprocessing: load in processes instead of threads (batches are then pickled;
            not with the LMDB).
        max_queue_size: batches `fit` prepares ahead.

    Attributes:
        pairs: list of `(target, sources)` kept from the pairs file (`sources` a tuple).
        skipped: number of `(target, source)` pairs dropped by `skip_bad_pairs`.
        epoch: the current epoch (seeds augmentation, source choice and shuffling).
        image_source: where the images are read from, in words.

    Call arguments (`dataset[index]`):
        index: batch index in `[0, len(dataset))`.

    Returns:
        A dict of numpy arrays: `source_image` and `target_image` `(batch, height, width, 3)`
        float32 in [-1, 1]; `source_skeleton` and `target_skeleton`
        `(batch, height, width, 20)` float32 in [0, 1] (`render_skeleton`); `source_face_center`
        and `target_face_center` `(batch, 4)` float32 (`face_center`). `model.fit(dataset)`
        passes this dict to `train_step` as `data` (it is the model's `x`).

    Raises:
        FileNotFoundError: for a missing root, pairs file, image or pose file.
        ValueError: for a bad argument, a malformed pairs line, a pose file that is not 18x2
            or holds NaN, an image of the wrong size or one that does not decode.

    Example:

    ```python
    train = keras_nted.data.DeepFashionDataset("dataset/deepfashion", "train",
                                               image_size=(256, 176), batch_size=4, workers=2)
    batch = train[0]
    batch["target_skeleton"].shape  # (4, 256, 176, 20)
    train.output_names(0)           # ['fashion..._2_fashion..._vis.png', ...]
    ```
    """

    def __init__(
        self,
        root,
        split="train",
        image_size=(256, 176),
        batch_size=4,
        augment=None,
        scale_param=0.1,
        seed=0,
        shuffle=None,
        drop_remainder=None,
        skip_bad_pairs=False,
        verify_images=False,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        if split not in PAIRS_FILES:
            raise ValueError(f"Expected `split` to be one of {tuple(PAIRS_FILES)}. Received: split={split!r}")
        check_int("batch_size", batch_size)
        check_int("seed", seed, minimum=0)
        if not 0 <= scale_param < 1:
            raise ValueError(f"Expected `scale_param` in [0, 1). Received: scale_param={scale_param!r}")
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"DeepFashion root not found: {root}")
        self.root = root
        self.split = split
        self.image_size = validate_image_size(image_size)
        self.batch_size = int(batch_size)
        self.augment = split == "train" if augment is None else bool(augment)
        self.scale_param = float(scale_param)
        self.seed = int(seed)
        self.shuffle = split == "train" if shuffle is None else bool(shuffle)
        self.drop_remainder = split == "train" if drop_remainder is None else bool(drop_remainder)
        self.epoch = 0
        self.pairs_file = os.path.join(root, PAIRS_FILES[split])
        self._images = open_image_store(root, self.image_size)
        self.image_source = str(self._images)
        if use_multiprocessing and isinstance(self._images, ImageLmdb):
            raise ValueError(
                f"Reading {self.image_source} needs use_multiprocessing=False: an LMDB opened in "
                "this process cannot be reopened in forked worker processes. Threads "
                "(workers > 1) load in parallel."
            )

        self._keypoints = {}  # image path -> its (18, 2) keypoints, read once
        self._checked = {}  # image / pose path -> None or the _BadInput it raised
        self._lines = []  # (line_number, target, sources), kept lines only
        self.skipped = 0
        total = 0
        first_bad = None
        for number, target, sources in read_pairs_file(self.pairs_file):
            total += len(sources)
            errors = {path: self._check(path, verify_images) for path in (target, *sources)}
            kept = () if errors[target] else tuple(path for path in sources if not errors[path])
            bad = next((error for error in errors.values() if error), None)
            if bad is not None:
                bad = bad.error_type(f"{self.pairs_file}:{number}: {bad}")
                if not skip_bad_pairs:
                    raise type(bad)(f"{bad} (pass skip_bad_pairs=True to drop the pairs with bad files)")
                first_bad = first_bad or bad
            self.skipped += len(sources) - len(kept)
            if kept:
                self._lines.append((number, target, kept))
        if self.skipped:
            logger.warning(
                "Skipped %d of %d pairs in %s with missing or bad files; the first: %s",
                self.skipped,
                total,
                self.pairs_file,
                first_bad,
            )
        if split == "train":
            self._samples = [(i, None) for i in range(len(self._lines))]
        else:
            self._samples = [(i, k) for i, (_, _, sources) in enumerate(self._lines) for k in range(len(sources))]
        if len(self) == 0:
            raise ValueError(
                f"{self.pairs_file} gives {len(self._samples)} usable samples, fewer than one "
                f"{'full ' if self.drop_remainder else ''}batch of batch_size={self.batch_size}."
            )

    @property
    def pairs(self):
        """The kept pairs-file lines as `(target, sources)`, `sources` a tuple of paths."""
        return [(target, sources) for _, target, sources in self._lines]

    def _check(self, path, verify_images):
        """Checks an image and its pose file once; returns None or a `_BadInput`."""
        if path not in self._checked:
            try:
                self._check_image(path, verify_images)
                poses = pose_path(self.root, path)
                try:
                    self._keypoints[path] = read_pose_file(poses)
                except FileNotFoundError as e:
                    raise _BadInput(FileNotFoundError, f"{e} (the pose file of {path})") from None
                except ValueError as e:
                    raise _BadInput(ValueError, str(e)) from None
                self._checked[path] = None
            except _BadInput as bad:
                self._checked[path] = bad
        return self._checked[path]

    def _check_image(self, path, verify_images):
        if not self._images.exists(path):
            raise _BadInput(FileNotFoundError, f"image {self._images.name(path)} not found")
        with self._open_image(path) as image:
            self._check_size(image, path)
            if verify_images:
                try:
                    decode_image(image, f"image {self._images.name(path)}")
                except ValueError as e:
                    raise _BadInput(ValueError, str(e)) from None

    def _open_image(self, path):
        try:
            return self._images.open(path)
        except (OSError, ValueError) as e:  # keras_nted.data.images' errors name the image
            raise _BadInput(ValueError, str(e)) from None

    def _check_size(self, image, path):
        height, width = self.image_size
        if image.size != (width, height):
            hint = (
                f" (high-resolution originals? run `keras-nted prepare-deepfashion ROOT --image-size {height}x{width}`)"
                if image.size[0] > width
                else ""
            )
            raise _BadInput(
                ValueError,
                f"image {self._images.name(path)} is {image.size[1]}x{image.size[0]} (HxW), "
                f"expected {height}x{width}{hint}",
            )

    def __len__(self):
        n = len(self._samples)
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1

    def _batch_samples(self, index, epoch):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        order = np.arange(len(self._samples))
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch, _SHUFFLE_STREAM]).permutation(order)
        return order[index * self.batch_size : (index + 1) * self.batch_size]

    def _plan(self, sample, epoch):
        """The source, target and both augmentations of one sample at `epoch`."""
        line, k = self._samples[sample]
        number, target, sources = self._lines[line]
        rng = np.random.default_rng([self.seed, epoch, _SAMPLE_STREAM, int(sample)])
        if k is None:
            k = int(rng.integers(len(sources)))
        scale = self.scale_param if self.augment else 0.0
        target_augmentation = sample_augmentation(rng, self.image_size, scale)
        source_augmentation = sample_augmentation(rng, self.image_size, scale)
        return number, (sources[k], source_augmentation), (target, target_augmentation)

    def batch_pairs(self, index):
        """The `(source, target)` image paths of batch `index` at the current epoch."""
        samples = self._batch_samples(index, self.epoch)
        return [(source, target) for _, (source, _), (target, _) in (self._plan(s, self.epoch) for s in samples)]

    def output_names(self, index):
        """The released result file names (`output_name`) of batch `index`'s pairs."""
        return [output_name(source, target) for source, target in self.batch_pairs(index)]

    def _load(self, path, augmentation, number, image_out, skeleton_out):
        """Writes one augmented image and its skeleton into the batch; returns the face centre."""
        try:
            with self._open_image(path) as image:
                self._check_size(image, path)
                image = decode_image(image, f"image {self._images.name(path)}")
        except _BadInput as bad:
            raise ValueError(f"{self.pairs_file}:{number}: {bad}") from None
        except (OSError, ValueError) as e:  # keras_nted.data.images' errors name the image
            raise ValueError(
                f"{self.pairs_file}:{number}: {e}. "
                "Pass verify_images=True and skip_bad_pairs=True to drop such files up front."
            ) from None
        image_out[...] = from_uint8(np.asarray(augment_image(image, augmentation)))
        keypoints = self._keypoints[path]
        render_skeleton(keypoints, self.image_size, "deepfashion", augmentation, out=skeleton_out)
        return face_center(keypoints, self.image_size, "deepfashion", augmentation)

    def __getitem__(self, index):
        return self.batch_at(index, self.epoch)

    def batch_at(self, index, epoch):
        """Batch `index` of epoch `epoch` (order, sources and augmentation), whatever `self.epoch` is.

        A pure function of `(seed, epoch, index)`, safe to call from several threads at once:
        `keras_nted.training` draws the batch of every global step with it.
        """
        samples = self._batch_samples(index, epoch)
        height, width = self.image_size
        n = len(samples)
        batch = {}
        for role in ("source", "target"):
            batch[f"{role}_image"] = np.empty((n, height, width, 3), dtype="float32")
            batch[f"{role}_skeleton"] = np.empty((n, height, width, NUM_SKELETON_CHANNELS), dtype="float32")
            batch[f"{role}_face_center"] = np.empty((n, 4), dtype="float32")
        for i, sample in enumerate(samples):
            number, source, target = self._plan(sample, epoch)
            for role, (path, augmentation) in (("source", source), ("target", target)):
                batch[f"{role}_face_center"][i] = self._load(
                    path, augmentation, number, batch[f"{role}_image"][i], batch[f"{role}_skeleton"][i]
                )
        return batch
