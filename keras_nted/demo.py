"""The demo behind `keras-nted demo`: held-out mannequins re-posed, as pictures."""

import pathlib

import numpy as np

from keras_nted.files import write_png
from keras_nted.models.pose_transfer import as_pose_transfer
from keras_nted.utils.images import to_uint8
from keras_nted.visualize import display_factor
from keras_nted.visualize import enlarge
from keras_nted.visualize import label_columns
from keras_nted.visualize import sample_rows
from keras_nted.visualize import skeleton_picture
from keras_nted.visualize import stack_rows

# Target poses come from test identities far from the re-posed ones.
_POSE_IDENTITY_OFFSET = 50


def demo_batch(image_size, num_identities=4, num_poses=5, seed=0):
    """Reference images of held-out identities and target poses, as generator inputs.

    Identity `i` (test split) in its pose 0 is the reference; target pose `j` is pose `1` of
    test identity `50 + j`, a pose none of the references has.

    Returns:
        A dict of numpy arrays: `source_image` `(n, H, W, 3)`, `target_skeleton`
        `(p, H, W, 20)`, and `target_image` `(n, p, H, W, 3)` (each identity rendered in
        each target pose: the ground truth), all as the data sets give them; and the same
        inputs as a `PoseTransfer` takes them: `source_pixels` `(n, H, W, 3)` uint8 and
        `target_keypoints` `(p, 18, 2)` in the `"pixels"` frame of `image_size`.
    """
    from keras_nted.data.mannequin import MannequinDataset
    from keras_nted.data.mannequin import render
    from keras_nted.data.skeleton import render_skeleton
    from keras_nted.utils.images import from_uint8

    data = MannequinDataset(image_size=image_size, batch_size=1, split="test", seed=seed)
    identities = [data.identity(i) for i in range(num_identities)]
    references = [render(identity, data.pose(i, 0))[0] for i, identity in enumerate(identities)]
    poses = [data.pose((_POSE_IDENTITY_OFFSET + j) % data.num_identities, 1) for j in range(num_poses)]
    targets = [[render(identity, pose)[0] for pose in poses] for identity in identities]
    return {
        "source_pixels": np.stack(references),
        "target_keypoints": np.stack([np.asarray(p.keypoints, "float64") for p in poses]),
        "source_image": from_uint8(np.stack(references)),
        "target_skeleton": np.stack([render_skeleton(p.keypoints, image_size, frame="pixels") for p in poses]),
        "target_image": from_uint8(np.stack([np.stack(t) for t in targets])),
    }


def repose_all(task, batch):
    """`(identities, poses, H, W, 3)` uint8: every reference of a `demo_batch` in every target pose,
    made by the `PoseTransfer` `task` in one generator call."""
    n, p = len(batch["source_pixels"]), len(batch["target_keypoints"])
    height, width = task.image_size
    return task.predict(
        np.repeat(batch["source_pixels"], p, axis=0),
        np.tile(batch["target_keypoints"], (n, 1, 1)),
        keypoints_frame="pixels",
        batch_size=n * p,
    ).reshape(n, p, height, width, 3)


def _grid(batch, images, factor):
    """The results layout, upscaled by `factor`: target skeletons on top, then per identity its
    reference and `images[i]` (uint8), under a header naming the columns."""
    height, width = batch["source_image"].shape[1:3]
    blank = np.full((height, width, 3), 255, np.uint8)
    header = np.concatenate([blank] + list(to_uint8(skeleton_picture(batch["target_skeleton"]))), axis=1)
    rows = [header] + [
        np.concatenate([to_uint8(batch["source_image"][i])] + list(images[i]), axis=1) for i in range(len(images))
    ]
    labels = ["reference"] + [f"pose {j + 1}" for j in range(len(batch["target_skeleton"]))]
    return label_columns(enlarge(stack_rows(rows), factor), labels)


def write_demo(generator, output_dir, num_identities=4, num_poses=5, seed=0):
    """Write `results.png`, `ground_truth.png` and `attention.png` to `output_dir`.

    `results.png`: the top row shows the target skeletons; below, one row per held-out
    identity: its reference image, then the generated image in each target pose (made by
    `keras_nted.models.PoseTransfer`, as `keras-nted generate` makes them).
    `ground_truth.png`: the same layout with the rendered ground truth.
    `attention.png`: per identity (first target pose) reference | target skeleton |
    generated | ground truth | one attention panel per NTED operation (the released
    `util/visualization/linear_attention.py`).
    Every picture has a white header naming its columns.

    Args:
        generator: an `NTEDGenerator` of a mannequin size, or a `PoseTransfer` around one.
        output_dir: the folder to write (created).
        num_identities: held-out identities, the rows.
        num_poses: target poses, the columns.
        seed: the mannequin data seed.

    Returns:
        A dict `{description: path}` of the files written.
    """
    task = as_pose_transfer(generator)
    output_dir = pathlib.Path(output_dir)
    height, width = task.image_size
    batch = demo_batch(task.image_size, num_identities, num_poses, seed)
    generated = repose_all(task, batch)
    factor = display_factor(height)

    written = {}
    written["results grid (top: target poses; rows: reference, then re-posed)"] = write_png(
        output_dir / "results.png", _grid(batch, generated, factor)
    )
    written["ground truth in the same layout"] = write_png(
        output_dir / "ground_truth.png", _grid(batch, to_uint8(batch["target_image"]), factor)
    )
    attention_batch = {
        "source_image": batch["source_image"],
        "target_skeleton": np.repeat(batch["target_skeleton"][:1], num_identities, axis=0),
        "target_image": batch["target_image"][:, 0],
    }
    rows, _ = sample_rows(task.generator, attention_batch)
    num_panels = rows.shape[2] // width - 4
    labels = ["reference", "target pose", "generated", "ground truth"] + [f"attention {k}" for k in range(num_panels)]
    written["attention (reference | skeleton | generated | ground truth | NTED attention panels)"] = write_png(
        output_dir / "attention.png", label_columns(enlarge(stack_rows(rows), factor), labels)
    )
    return written
