"""`MannequinDataset`: mannequin pose-transfer pairs, streamed as the trainer's batches."""

import keras
import numpy as np

from keras_nted.data.mannequin.identity import make_identity
from keras_nted.data.mannequin.pose import make_pose
from keras_nted.data.mannequin.rendering import render
from keras_nted.data.mannequin.seeds import check_mannequin_size
from keras_nted.data.mannequin.seeds import check_split
from keras_nted.data.mannequin.seeds import identity_seed
from keras_nted.data.mannequin.seeds import pair_order
from keras_nted.data.mannequin.seeds import pose_seed
from keras_nted.data.skeleton import face_center
from keras_nted.data.skeleton import render_skeleton
from keras_nted.utils.images import from_uint8
from keras_nted.utils.validation import check_int

DEFAULT_IDENTITIES = {"train": 2000, "test": 100}
# The folder under `img/` of a written set (`MannequinDataset.image_path`).
DATASET_FOLDER = "MANNEQUIN"


class MannequinDataset(keras.utils.PyDataset):
    """Batches of mannequin pose-transfer pairs, generated on the fly.

    A split holds `num_identities` identities with `poses_per_identity` poses each; every ordered
    pair of two different poses of one identity is a sample (source -> target), so a split has
    `num_identities * P * (P - 1)` pairs. Identities and poses come from seeds derived from
    `(seed, split, identity, pose)` (`identity_seed`, `pose_seed`): the train and test identities
    are disjoint, and batch `i` is a pure function of `(seed, split, i)` and the constructor
    arguments, whichever worker builds it. The train split visits the pairs in a fixed
    pseudo-random order (identities mixed across batches); the test split in identity order.

    Every batch holds exactly `batch_size` pairs: the pair sequence wraps around at its end, so a
    compiled train step never sees a ragged batch.

    `keras_nted.data.mannequin.write_mannequin_dataset` (`keras-nted make-mannequin`) writes the same
    images, keypoints and pairs in the released DeepFashion layout.

    Args:
        image_size: `(height, width)` with `width = height * 11 / 16`, e.g. `(64, 44)`,
            `(256, 176)`.
        batch_size: pairs per batch.
        split: `"train"` or `"test"`.
        seed: non-negative integer seed of the whole data set.
        num_identities: identities in the split (default 2000 for train, 100 for test).
        poses_per_identity: poses per identity, at least 2.
        num_pairs: use only the first `num_pairs` pairs of the split's order (default: all).
        steps_per_epoch: batches per epoch (default: enough to cover `num_pairs` once).
        with_labels: add `source_labels` / `target_labels` to the batches.
        with_keypoints: add `source_keypoints` / `target_keypoints` to the batches.
        workers: number of threads (or processes) `fit` builds batches with.
        use_multiprocessing: build batches in processes instead of threads.
        max_queue_size: batches `fit` prepares ahead.

    Call arguments (`dataset[index]`):
        index: batch index in `[0, len(dataset))`.

    Returns:
        A dict of numpy arrays, the same keys and conventions as
        `keras_nted.data.DeepFashionDataset`: `source_image`, `target_image`
        `(batch, height, width, 3)` float32 in [-1, 1]; `source_skeleton`, `target_skeleton`
        `(batch, height, width, 20)` float32 in [0, 1] (`render_skeleton(keypoints, image_size,
        frame="pixels")`); `source_face_center`, `target_face_center` `(batch, 4)` float32
        (`face_center`). With `with_labels=True` also `source_labels`, `target_labels`
        `(batch, height, width)` uint8 (`LABEL_NAMES`); with `with_keypoints=True` also
        `source_keypoints`, `target_keypoints` `(batch, 18, 2)` float32 pixel coordinates (`-1`:
        missing). The extra keys are off by default so that the default batches have exactly the
        trainer's keys; `get_batch` returns them on request. `model.fit(dataset)` passes the dict
        to `train_step` as `data`.

    Raises:
        ValueError: for a bad argument (naming it).

    Example:

    ```python
    data = keras_nted.data.MannequinDataset(image_size=(64, 44), batch_size=2, seed=0)
    batch = data[0]
    batch["source_image"].shape     # (2, 64, 44, 3)
    batch["target_skeleton"].shape  # (2, 64, 44, 20)
    data.get_batch(0, with_labels=True)["target_labels"].shape  # (2, 64, 44)
    ```
    """

    def __init__(
        self,
        image_size=(64, 44),
        batch_size=2,
        split="train",
        seed=0,
        num_identities=None,
        poses_per_identity=4,
        num_pairs=None,
        steps_per_epoch=None,
        with_labels=False,
        with_keypoints=False,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        self.image_size = check_mannequin_size(image_size)
        self.batch_size = check_int("batch_size", batch_size)
        self.split = check_split(split)
        self.seed = check_int("seed", seed, minimum=0)
        if num_identities is None:
            num_identities = DEFAULT_IDENTITIES[split]
        self.num_identities = check_int("num_identities", num_identities)
        self.poses_per_identity = check_int("poses_per_identity", poses_per_identity, minimum=2)
        available = self.num_identities * self.poses_per_identity * (self.poses_per_identity - 1)
        if num_pairs is None:
            num_pairs = available
        elif check_int("num_pairs", num_pairs) > available:
            raise ValueError(
                f"Expected num_pairs <= num_identities * P * (P - 1) = {available} "
                f"(P = poses_per_identity = {self.poses_per_identity}). Received: num_pairs={num_pairs}"
            )
        self.num_pairs = int(num_pairs)
        if steps_per_epoch is None:
            steps_per_epoch = -(-self.num_pairs // self.batch_size)
        self.steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch)
        self.with_labels = bool(with_labels)
        self.with_keypoints = bool(with_keypoints)
        # The train split visits its pairs in a pseudo-random order (`pair_order`).
        self._order = pair_order(self.seed, split, available)

    def __len__(self):
        return self.steps_per_epoch

    def pair(self, index):
        """The pair `index` of the split's order, as `(identity, source_pose, target_pose)` indices.

        Args:
            index: a non-negative integer; it wraps around at `num_pairs`.

        Returns:
            A tuple of three ints.
        """
        multiplier, offset = self._order
        poses = self.poses_per_identity
        available = self.num_identities * poses * (poses - 1)
        j = (multiplier * (int(index) % self.num_pairs) + offset) % available
        identity, rest = divmod(j, poses * (poses - 1))
        source, target = divmod(rest, poses - 1)
        return identity, source, target + (target >= source)

    def batch_pairs(self, index):
        """The `(identity, source_pose, target_pose)` indices of batch `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        start = index * self.batch_size
        return [self.pair(j) for j in range(start, start + self.batch_size)]

    def identity(self, identity_index):
        """The `Identity` of identity `identity_index` of this split."""
        return make_identity(identity_seed(self.seed, self.split, identity_index))

    def pose(self, identity_index, pose_index):
        """The `Pose` (at `image_size`) of pose `pose_index` of identity `identity_index`."""
        return make_pose(pose_seed(self.seed, self.split, identity_index, pose_index), self.image_size)

    def image_path(self, identity_index, pose_index, pose=None):
        """The image's path in the written DeepFashion layout (`write_mannequin_dataset`).

        `img/MANNEQUIN/<Train|Test>/id_<identity, 8 digits>/01_<pose + 1>_<view>.png`, which
        flattens (`keras_nted.data.flatten_name`) to e.g. `fashionMANNEQUINTrainid0000000301_2front.png`.

        Args:
            identity_index: the identity's index in this split.
            pose_index: the pose's index.
            pose: the `Pose`, if already made (its view names the file).

        Returns:
            A `/`-separated relative path.
        """
        pose = self.pose(identity_index, pose_index) if pose is None else pose
        return (
            f"img/{DATASET_FOLDER}/{self.split.capitalize()}/id_{identity_index:08d}/"
            f"01_{pose_index + 1}_{pose.view}.png"
        )

    def sample(self, identity_index, pose_index):
        """One rendered image: `(image, labels, pose)`.

        Args:
            identity_index: the identity's index in this split.
            pose_index: the pose's index.

        Returns:
            `image` `(height, width, 3)` uint8, `labels` `(height, width)` uint8 and the `Pose`
            (its `keypoints` in pixel coordinates).
        """
        pose = self.pose(identity_index, pose_index)
        image, labels = render(self.identity(identity_index), pose)
        return image, labels, pose

    def get_batch(self, index, with_labels=None, with_keypoints=None):
        """Batch `index`, optionally with the part labels and keypoints.

        Args:
            index: batch index in `[0, len(self))`.
            with_labels: add `source_labels` / `target_labels` (default: the constructor's).
            with_keypoints: add `source_keypoints` / `target_keypoints` (default: the
                constructor's).

        Returns:
            The batch dict described in the class docstring.
        """
        with_labels = self.with_labels if with_labels is None else with_labels
        with_keypoints = self.with_keypoints if with_keypoints is None else with_keypoints
        pairs = self.batch_pairs(index)
        fields = {role: [] for role in ("source", "target")}
        for identity_index, source, target in pairs:
            identity = self.identity(identity_index)
            for role, pose_index in (("source", source), ("target", target)):
                pose = self.pose(identity_index, pose_index)
                image, labels = render(identity, pose)
                fields[role].append((image, labels, pose.keypoints))
        batch = {}
        for role, items in fields.items():
            images, labels, keypoints = (np.stack(column) for column in zip(*items))
            batch[f"{role}_image"] = from_uint8(images)
            batch[f"{role}_skeleton"] = np.stack(
                [render_skeleton(k, self.image_size, frame="pixels") for k in keypoints]
            )
            batch[f"{role}_face_center"] = np.stack(
                [face_center(k, self.image_size, frame="pixels") for k in keypoints]
            )
            if with_labels:
                batch[f"{role}_labels"] = labels
            if with_keypoints:
                batch[f"{role}_keypoints"] = keypoints
        return batch

    def __getitem__(self, index):
        return self.get_batch(index)
