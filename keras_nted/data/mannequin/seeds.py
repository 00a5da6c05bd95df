"""The mannequin set's seeds and argument checks: every draw is a pure function of integer seeds.

Train and test identities come from separate seed streams of one data set seed, so the splits
are disjoint; a pose's seed also names its identity, so poses of different identities differ.
"""

import math

import numpy as np

from keras_nted.utils.validation import check_int

SPLITS = ("train", "test")
_SPLIT_CODES = {"train": 1, "test": 2}
# The streams drawn from one (seed, split): identities, poses, the train order.
_IDENTITY_STREAM, _POSE_STREAM, _ORDER_STREAM = 1, 2, 3


def check_mannequin_size(image_size):
    """Validates a mannequin image size: `(height, width)` with `width = height * 11 / 16`.

    (Not `keras_nted.models.generator.check_image_size`, which checks a generator's size.)

    Args:
        image_size: a pair of positive integers, e.g. `(64, 44)`, `(256, 176)`.

    Returns:
        `(height, width)` as a tuple of Python ints.

    Raises:
        ValueError: when it is not such a pair.

    Example:
    >>> check_mannequin_size((128, 88))
    (128, 88)
    """
    try:
        height, width = (int(v) for v in image_size)
        valid = all(float(v) == int(v) for v in image_size)
    except (TypeError, ValueError):
        valid = False
    if not valid or height < 16 or width * 16 != height * 11:
        raise ValueError(
            "Expected image_size=(height, width) with height a positive multiple of 16 and "
            "width = height * 11 / 16, e.g. (64, 44), (128, 88), (256, 176). "
            f"Received: image_size={image_size!r}"
        )
    return height, width


def check_split(split):
    """`split` if it is one of `SPLITS`, else a `ValueError` naming it."""
    if split not in _SPLIT_CODES:
        raise ValueError(f"Expected split to be one of {SPLITS}. Received: split={split!r}")
    return split


def _derive_seed(*entropy):
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def identity_seed(seed, split, index):
    """The seed of identity `index` of a split: train and test draw from separate streams.

    Args:
        seed: the data set's seed, a non-negative integer.
        split: `"train"` or `"test"`.
        index: the identity's index in its split.

    Returns:
        A 64-bit integer for `make_identity`.
    """
    return _derive_seed(
        check_int("seed", seed, minimum=0),
        _SPLIT_CODES[check_split(split)],
        _IDENTITY_STREAM,
        check_int("index", index, minimum=0),
    )


def pose_seed(seed, split, identity_index, pose_index):
    """The seed of pose `pose_index` of identity `identity_index` of a split.

    Args:
        seed: the data set's seed, a non-negative integer.
        split: `"train"` or `"test"`.
        identity_index: the identity's index in its split.
        pose_index: the pose's index for that identity.

    Returns:
        A 64-bit integer for `make_pose`.
    """
    return _derive_seed(
        check_int("seed", seed, minimum=0),
        _SPLIT_CODES[check_split(split)],
        _POSE_STREAM,
        check_int("identity_index", identity_index, minimum=0),
        check_int("pose_index", pose_index, minimum=0),
    )


def pair_order(seed, split, num_pairs):
    """The order a split visits its pairs in: `j -> (multiplier * j + offset) % num_pairs`.

    The train split's order is an affine permutation with `gcd(multiplier, num_pairs) = 1`:
    O(1) memory for any number of pairs, and consecutive batches draw from far-apart
    identities. The test split keeps identity order, `(1, 0)`.

    Args:
        seed: the data set's seed, a non-negative integer.
        split: `"train"` or `"test"`.
        num_pairs: the number of pairs to permute.

    Returns:
        `(multiplier, offset)`, two Python ints.
    """
    if check_split(split) != "train" or num_pairs <= 1:
        return 1, 0
    rng = np.random.default_rng(_derive_seed(check_int("seed", seed, minimum=0), _SPLIT_CODES[split], _ORDER_STREAM))
    multiplier = int(rng.integers(1, num_pairs))
    while math.gcd(multiplier, num_pairs) != 1:
        multiplier = multiplier % (num_pairs - 1) + 1
    return multiplier, int(rng.integers(num_pairs))
