"""A training run's data: the training set, its per-epoch order, and the held-out sample batch."""

import os

import keras
import numpy as np


class RotatingEpochs(keras.utils.PyDataset):
    """Shows epoch `e` the batches `e * steps ... (e + 1) * steps - 1` of a longer data set.

    Within epoch `e` the batches come in an order drawn from `(seed, e)`; global step `g`
    then trains on batch `g % len(data)` of pass `g // len(data)` over the data (a data set
    with `batch_at(index, epoch)`, like `DeepFashionDataset`, draws that pass's augmentation
    and order). `epoch` is set by `EpochSetter` at each epoch start (also
    after a resume), before Keras starts fetching the epoch's batches, so the batch of every
    step is a function of the step number only and a resumed run sees what an uninterrupted
    one would. `fit` must not shuffle it (`shuffle=False`): Keras would draw its order from
    NumPy's global random state.
    """

    def __init__(self, data, steps_per_epoch, seed=0):
        super().__init__(workers=data.workers, use_multiprocessing=data.use_multiprocessing)
        self.data = data
        self.steps = int(steps_per_epoch)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.steps)
        step = self.epoch * self.steps + int(order[index])
        passes, batch = divmod(step, len(self.data))
        batch_at = getattr(self.data, "batch_at", None)
        return self.data[batch] if batch_at is None else batch_at(batch, epoch=passes)


class EpochSetter(keras.callbacks.Callback):
    """Sets `data.epoch` at every epoch start (`RotatingEpochs` orders its batches by it)."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def on_epoch_begin(self, epoch, logs=None):
        self.data.epoch = epoch


def make_data(image_size, batch_size, seed, data_root=None, workers=1, with_labels=False):
    """The training data and a held-out sample batch (4 pairs) for the sample grids.

    `with_labels`: the mannequin batches carry the part labels (for the part-colour loss).
    """
    if data_root is None:
        from keras_nted.data.mannequin import MannequinDataset
        from keras_nted.data.mannequin import check_mannequin_size

        check_mannequin_size(image_size)
        data = MannequinDataset(
            image_size=image_size, batch_size=batch_size, split="train", seed=seed, workers=workers,
            with_labels=with_labels,
        )  # fmt: skip
        held_out = MannequinDataset(image_size=image_size, batch_size=4, split="test", seed=seed, poses_per_identity=4)
        # Four different identities: pairs 0, 12, 24, 36 of the test order.
        pairs = [held_out.get_batch(3 * i) for i in range(4)]
        sample = {k: np.concatenate([p[k][:1] for p in pairs]) for k in pairs[0]}
        return data, sample
    from keras_nted.data.deepfashion import DeepFashionDataset

    if with_labels:
        raise ValueError(f"Expected the mannequin set for part labels (weight_part_color > 0). Received: {data_root}")

    if not os.path.isdir(data_root):
        raise FileNotFoundError(f"DeepFashion root not found: {data_root}")
    data = DeepFashionDataset(
        data_root, split="train", image_size=image_size, batch_size=batch_size, seed=seed, workers=workers
    )
    try:
        sample = DeepFashionDataset(data_root, split="test", image_size=image_size, batch_size=4, seed=seed)[0]
    except (FileNotFoundError, ValueError, IndexError):
        sample = data[0]
    return data, sample
