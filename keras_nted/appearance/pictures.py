"""Release-style pictures and files of an appearance-control run."""

import os

import numpy as np

from keras_nted.files import atomic_path
from keras_nted.files import write_png
from keras_nted.utils.images import to_uint8
from keras_nted.visualize import display_factor
from keras_nted.visualize import enlarge
from keras_nted.visualize import label_columns
from keras_nted.visualize import skeleton_picture

# The column names on the written strips, in `control_strip`'s order.
CONTROL_STRIP_LABELS = ("garment", "person", "target pose", "result")


def control_strip(garment, person, skeleton, result):
    """The release's strip `[garment | person | skeleton channels 0-2 | result]` as uint8.

    All four are clipped to [-1, 1] and mapped with `(x + 1) / 2 * 255` (the skeleton's
    [0, 1] colours through `2 x - 1`, so they look as in the pose map).

    Args:
        garment: `(H, W, 3)` (or `(1, H, W, 3)`) image in [-1, 1].
        person: same.
        skeleton: `(H, W, 20)` (or batched) pose map in [0, 1].
        result: `(H, W, 3)` render.

    Returns:
        `(H, 4 * W, 3)` uint8 array.
    """
    columns = [np.asarray(x, "float32").reshape(np.shape(x)[-3:]) for x in (garment, person, skeleton, result)]
    columns[2] = skeleton_picture(columns[2])
    return np.concatenate([to_uint8(c) for c in columns], axis=1)


def write_control_outputs(result, garment, person, skeleton, output_dir, name):
    """Write a run's strips (one per snapshot) and coefficients, atomically.

    Files: `<name>_<iteration>.png` for every snapshot (the release's naming, with
    `name = <garment>_2_<person>_2_<skeleton>`): the `control_strip` under a white header
    naming its columns (`CONTROL_STRIP_LABELS`), enlarged for display (`visualize.display_factor`: x4 for
    64 x 44, nearest neighbour), and `<name>_coefficients.npz` holding
    `coefficients_i` and `initial_coefficients_i` (`(k_i,)` float32 per NTED index) and the
    loss history (`history_loss`, `history_maintain`, `history_edit`,
    `history_regularization` and `history_color`).

    Args:
        result: an `AppearanceResult`.
        garment, person, skeleton: the run's inputs.
        output_dir: folder to write to (created).
        name: the file name stem.

    Returns:
        The list of paths written.
    """
    written = []
    for iteration, image in sorted(result.snapshots.items()):
        path = os.path.join(os.fspath(output_dir), f"{name}_{iteration}.png")
        strip = control_strip(garment, person, skeleton, image)
        strip = enlarge(strip, display_factor(strip.shape[0]))
        written.append(write_png(path, label_columns(strip, CONTROL_STRIP_LABELS)))
    path = os.path.join(os.fspath(output_dir), f"{name}_coefficients.npz")
    with atomic_path(path) as tmp:
        np.savez(tmp, **result.coefficient_arrays())
    written.append(path)
    return written
