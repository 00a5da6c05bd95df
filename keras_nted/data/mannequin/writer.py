"""`write_mannequin_dataset`: a mannequin set on disk, in the released DeepFashion layout."""

import json
import os

import cv2
import keras
import numpy as np

from keras_nted.data.keypoints import pixels_to_deepfashion
from keras_nted.data.keypoints import write_pose_file
from keras_nted.data.layout import pose_path
from keras_nted.data.layout import write_pairs_file
from keras_nted.data.mannequin.dataset import MannequinDataset
from keras_nted.data.mannequin.rendering import LABEL_NAMES
from keras_nted.data.mannequin.seeds import check_mannequin_size
from keras_nted.utils.validation import check_int
from keras_nted.version import __version__


def write_mannequin_dataset(
    out_dir, num_identities, poses_per_identity, image_size=(128, 88), seed=0, test_fraction=0.1, verbose=1
):
    """Writes a mannequin set in the released DeepFashion layout, plus part-label maps.

    The set is exactly what `MannequinDataset(image_size, split=..., seed=seed,
    num_identities=..., poses_per_identity=...)` streams: `keras_nted.data.DeepFashionDataset`
    reads it back with the same images, skeletons and face centres (without augmentation). Layout:

    - `img/MANNEQUIN/<Train|Test>/id_XXXXXXXX/01_<pose>_<view>.png`: the images (RGB PNG at
      `image_size`, which the loader reads as images already at the training size);
    - `pose/...txt` (same relative path): OpenPose COCO-18 keypoints in the released 256x256
      frame with the 40-pixel border, `-1` for missing (`keras_nted.data.write_pose_file`);
    - `labels/...png` (same relative path): uint8 part labels, values index `LABEL_NAMES`;
    - `train_pairs.txt`, `test_pairs.txt`: one `target,source` line per ordered pair of two poses
      of one identity, in the stream's order;
    - `mannequin.json` (the generation parameters) and `README.txt`.

    Args:
        out_dir: the folder to write (created if missing; existing files are overwritten).
        num_identities: identities in total, split into train and test.
        poses_per_identity: poses per identity, at least 2.
        image_size: `(height, width)` with `width = height * 11 / 16`.
        seed: non-negative integer seed.
        test_fraction: the share of identities in the test split, in [0, 1); a positive
            fraction gives at least one test identity.
        verbose: 1 shows a progress bar, 0 is silent.

    Returns:
        A dict of the generation parameters (also written to `mannequin.json`).

    Raises:
        ValueError: for a bad argument (naming it).

    Example:

    ```python
    write_mannequin_dataset("/tmp/mannequin", num_identities=10, poses_per_identity=3,
                            image_size=(128, 88))
    test = keras_nted.data.DeepFashionDataset("/tmp/mannequin", "test", image_size=(128, 88))
    ```
    """
    image_size = check_mannequin_size(image_size)
    num_identities = check_int("num_identities", num_identities)
    poses_per_identity = check_int("poses_per_identity", poses_per_identity, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    if not 0 <= test_fraction < 1:
        raise ValueError(f"Expected test_fraction in [0, 1). Received: test_fraction={test_fraction!r}")
    num_test = max(1, int(round(num_identities * test_fraction))) if test_fraction > 0 else 0
    counts = {"train": num_identities - num_test, "test": num_test}
    if counts["train"] < 1:
        raise ValueError(
            f"Expected num_identities large enough for at least one train identity with "
            f"test_fraction={test_fraction}. Received: num_identities={num_identities}"
        )
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    progress = keras.utils.Progbar(num_identities * poses_per_identity, verbose=verbose, unit_name="image")
    info = {
        "generator": "keras_nted.data.mannequin",
        "keras_nted_version": __version__,
        "image_size": list(image_size),
        "seed": seed,
        "num_identities": num_identities,
        "poses_per_identity": poses_per_identity,
        "test_fraction": test_fraction,
        "splits": {},
        "label_names": list(LABEL_NAMES),
    }
    for split, count in counts.items():
        pairs = []
        if count:
            data = MannequinDataset(image_size, split=split, seed=seed, num_identities=count,
                                    poses_per_identity=poses_per_identity)  # fmt: skip
            paths = {}
            for identity_index in range(count):
                for pose_index in range(poses_per_identity):
                    image, labels, pose = data.sample(identity_index, pose_index)
                    path = data.image_path(identity_index, pose_index, pose)
                    paths[identity_index, pose_index] = path
                    _write_png(os.path.join(out_dir, path), image[..., ::-1])  # OpenCV writes BGR
                    _write_png(os.path.join(out_dir, "labels", path[len("img/") :]), labels)
                    # Round away the conversion's last-bit error: the values are multiples of
                    # 1/16 (KEYPOINT_GRID), which the loader's inverse maps back exactly.
                    keypoints = np.round(pixels_to_deepfashion(pose.keypoints, image_size) * 16) / 16
                    write_pose_file(pose_path(out_dir, path), keypoints)
                    progress.add(1)
            for j in range(data.num_pairs):
                identity_index, source, target = data.pair(j)
                pairs.append((paths[identity_index, target], (paths[identity_index, source],)))
        write_pairs_file(os.path.join(out_dir, f"{split}_pairs.txt"), pairs)
        info["splits"][split] = {"identities": count, "pairs": len(pairs)}
    with open(os.path.join(out_dir, "mannequin.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    with open(os.path.join(out_dir, "README.txt"), "w", encoding="utf-8") as f:
        f.write(_README.format(**info, **{f"{s}_{k}": v for s, d in info["splits"].items() for k, v in d.items()}))
    return info


def _write_png(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, array, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"Could not write {path}")


_README = """\
A procedural "mannequin" person-image data set in the released DeepFashion layout, written by
keras-nted {keras_nted_version} (keras_nted.data.mannequin.write_mannequin_dataset / keras-nted make-mannequin).

image size (HxW): {image_size[0]}x{image_size[1]}; seed: {seed}
identities: {train_identities} train, {test_identities} test (disjoint); poses per identity: {poses_per_identity}
pairs: {train_pairs} train, {test_pairs} test (every ordered pair of two poses of one identity)

img/MANNEQUIN/<Train|Test>/id_XXXXXXXX/01_<pose>_<view>.png   RGB images
pose/...txt     OpenPose COCO-18 keypoints (x y per line) in the released 256x256 frame
                (x includes the 40-px border), -1 for missing points
labels/...png   part labels: 0 background, 1 hair, 2 skin, 3 upper garment, 4 lower garment, 5 shoes
train_pairs.txt, test_pairs.txt   one "target,source" line per pair
mannequin.json  the generation parameters

Read it with keras_nted.data.DeepFashionDataset(root, split, image_size=({image_size[0]}, {image_size[1]})).
"""
