"""Pose transfer from files: reference images and target poses -> result images named as released.

The logic behind `keras-nted generate`. A `GenerationPair` names one reference image, one
target pose file and the output file name; `pairs_from_files` (reference and pose files given
directly) and `pairs_from_pairs_file` (a released-style pairs file over a DeepFashion-layout
root) make lists of them, and `generate` runs a generator over such a list in batches.

The images are made by `keras_nted.models.PoseTransfer`, the task a notebook uses: its
preprocessor prepares the inputs as the released `demo.py` does (RGB, bilinear resize to the
model's size, [-1, 1]; the 20-channel skeleton at the model's size) and its `predict_batches`
batches them and maps the results to uint8 as released. This module adds files: reading pairs,
checking every input before anything is written, naming and writing the results.
"""

import dataclasses
import functools
import os

import keras
import numpy as np

from keras_nted.data.image_stores import open_image_store
from keras_nted.data.images import decode_image
from keras_nted.data.images import open_image
from keras_nted.data.keypoints import FRAMES
from keras_nted.data.keypoints import default_pose_frame
from keras_nted.data.keypoints import read_keypoints
from keras_nted.data.layout import output_name
from keras_nted.data.layout import pose_path
from keras_nted.data.layout import read_pairs_file
from keras_nted.files import write_png
from keras_nted.models.pose_transfer import as_pose_transfer
from keras_nted.utils.images import to_uint8
from keras_nted.utils.validation import check_int
from keras_nted.visualize import display_factor
from keras_nted.visualize import enlarge
from keras_nted.visualize import label_columns

# The column names on the strips of `generate(..., strip=True)`.
STRIP_LABELS = ("reference", "target pose", "generated")


class _Files:
    """Images as plain file paths (the counterpart of the DeepFashion loader's image stores)."""

    def __str__(self):
        return "image files"

    def name(self, path):
        return path

    def exists(self, path):
        return os.path.isfile(path)

    def open(self, path):
        return open_image(path, f"image {path}")


_FILES = _Files()


@dataclasses.dataclass(frozen=True)
class GenerationPair:
    """One result to make: a reference image re-rendered in a target pose.

    Attributes:
        reference: the reference image: a file path, or an image path inside `images`.
        pose: the target pose file (`.txt`, OpenPose `.json` or `.npy`).
        output: the result's file name, e.g. `a_2_b_vis.png`.
        pose_frame: `"deepfashion"` (the released pose-file frame) or `"pixels"` (pixel
            coordinates of the reference image at its original size).
        images: where `reference` is read from (default: plain files).
        person: which person of an OpenPose `.json` pose with several (default: the most
            confident, see `read_openpose_json`).
    """

    reference: str
    pose: str
    output: str
    pose_frame: str = "deepfashion"
    images: object = dataclasses.field(default=_FILES, compare=False, repr=False)
    person: int = None


def _open_image(images, path):
    """The PIL image (header read, pixels not yet decoded), with one-line errors."""
    if not images.exists(path):
        raise FileNotFoundError(f"Reference image not found: {images.name(path)}")
    return images.open(path)  # `keras_nted.data.images.open_image`: its errors name the image


def _stem(path):
    name = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    # OpenPose names its output `<image>_keypoints.json`: the image's name is what matters.
    return name[: -len("_keypoints")] if name.endswith("_keypoints") and len(name) > len("_keypoints") else name


def pairs_from_files(references, poses, pose_frame=None, person=None):
    """Pairs of reference image files and pose files, zipped or broadcast.

    Equal counts are paired in order; one reference with many poses (or many references with
    one pose) is broadcast. Results are named `<reference stem>_2_<pose stem>_vis.png`
    (an OpenPose `_keypoints` suffix is dropped from the pose stem).

    Args:
        references: image file paths.
        poses: pose file paths (`.txt`, OpenPose `.json`, `.npy`).
        pose_frame: `"deepfashion"` or `"pixels"` for every pose file, or `None` for each
            file type's default (`DEFAULT_POSE_FRAMES`).
        person: which person of OpenPose `.json` poses with several (default: the most
            confident).

    Returns:
        A list of `GenerationPair`.

    Raises:
        ValueError: for counts that neither match nor broadcast, an unknown pose file type or
            frame.
    """
    references, poses = [os.fspath(p) for p in references], [os.fspath(p) for p in poses]
    if not references or not poses:
        raise ValueError("Expected at least one reference image and one pose file.")
    if pose_frame is not None and pose_frame not in FRAMES:
        raise ValueError(f"Expected a pose frame in {FRAMES}. Received: {pose_frame!r}")
    if len(references) != len(poses):
        if len(references) == 1:
            references = references * len(poses)
        elif len(poses) == 1:
            poses = poses * len(references)
        else:
            raise ValueError(
                f"Got {len(references)} reference images and {len(poses)} poses: give as many of each "
                "(paired in order), or one reference (or one pose) for all."
            )
    return [
        GenerationPair(
            reference=reference,
            pose=pose,
            output=f"{_stem(reference)}_2_{_stem(pose)}_vis.png",
            pose_frame=pose_frame or default_pose_frame(pose),
            person=person,
        )
        for reference, pose in zip(references, poses)
    ]


def pairs_from_pairs_file(pairs_file, root, image_size):
    """Pairs of a released-style pairs file (`target,source1,...` lines) over a released root.

    Every `(source, target)` combination is one pair: the source image is the reference, the
    target's pose file (`<root>/pose/...txt`, the `"deepfashion"` frame) is the pose. Images
    are read as the DeepFashion loader finds them (`<root>/<H>-<W>/` as files or the released
    LMDB, else `<root>/img/...`); results are named as released,
    `<flattened source>_2_<flattened target>_vis.png`.

    Args:
        pairs_file: the pairs file.
        root: the data set root (the released layout).
        image_size: `(height, width)` of the model (selects `<root>/<H>-<W>/` when present).

    Returns:
        A list of `GenerationPair`.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Data set root not found: {root}")
    if not os.path.isfile(os.fspath(pairs_file)):
        raise FileNotFoundError(f"Pairs file not found: {pairs_file}")
    images = open_image_store(root, image_size)
    pairs = [
        GenerationPair(
            reference=source,
            pose=pose_path(root, target),
            output=output_name(source, target),
            pose_frame="deepfashion",
            images=images,
        )
        for _, target, sources in read_pairs_file(pairs_file)
        for source in sources
    ]
    if not pairs:
        raise ValueError(f"Pairs file {pairs_file} lists no pairs.")
    return pairs


def check_pairs(pairs):
    """Checks every input of `pairs` before anything is generated.

    Returns:
        `(keypoints, sizes)`: `{(pose file, person): (18, 2) keypoints}` and `{reference: (height,
        width)}` of the reference images as stored.

    Raises:
        FileNotFoundError: for a missing image or pose file.
        ValueError: for a pose that is not `(18, 2)`, an image PIL cannot read or decode
            (every image is decoded in full here, so a truncated file fails before anything is
            written), or two pairs with the same output name.
    """
    keypoints, sizes, names = {}, {}, {}
    for pair in pairs:
        if (pair.pose, pair.person) not in keypoints:
            keypoints[(pair.pose, pair.person)] = read_keypoints(pair.pose, pair.person)
        key = (id(pair.images), pair.reference)
        if key not in sizes:
            with _open_image(pair.images, pair.reference) as image:
                width, height = image.size
                decode_image(image, f"image {pair.images.name(pair.reference)}")
            sizes[key] = (height, width)
        if pair.output in names and names[pair.output] != pair:
            raise ValueError(
                f"Two pairs would both be written to {pair.output}: ({names[pair.output].reference}, "
                f"{names[pair.output].pose}) and ({pair.reference}, {pair.pose}). Rename one of the files."
            )
        names[pair.output] = pair
    return keypoints, sizes


def strip_path(path):
    """`.../a_2_b_vis.png` -> `.../a_2_b_strip.png`: where `generate(..., strip=True)` puts a strip."""
    path = os.fspath(path)
    stem = path[: -len("_vis.png")] if path.endswith("_vis.png") else os.path.splitext(path)[0]
    return stem + "_strip.png"


def _strip_picture(reference, skeleton, result):
    """reference | target skeleton (channels 0-2) | result, enlarged for display (`visualize.display_factor`:
    x4 for 64 x 44, nearest neighbour), under a header naming the columns."""
    # The skeleton's own colours, exactly (the release shows it brightened, through the
    # [-1, 1] mapping meant for images).
    colors = np.rint(skeleton[..., :3] * 255).astype(np.uint8)
    picture = np.concatenate([to_uint8(reference), colors, result], axis=1)
    return label_columns(enlarge(picture, display_factor(picture.shape[0])), STRIP_LABELS)


def generate(generator, pairs, output_dir, batch_size=8, strip=False, verbose=1):
    """Runs `generator` on every pair and writes the results as PNG files.

    All inputs are checked first (`check_pairs`), so bad input writes nothing. Batches keep
    one shape (the last is padded), so the model is compiled once. Each result is written
    atomically as `<output_dir>/<pair.output>`; with `strip=True` also a strip next to it
    (`<src>_2_<tgt>_strip.png`, see `strip_path`): reference | target skeleton (channels 0-2) |
    result, under a white header naming the columns (`STRIP_LABELS`).

    Args:
        generator: an `NTEDGenerator`, or a `keras_nted.models.PoseTransfer` around one.
        pairs: a list of `GenerationPair`.
        output_dir: the folder to write (created).
        batch_size: pairs per generator call.
        strip: also write the reference | skeleton | result strips.
        verbose: 1 for a progress bar, 0 for none.

    Returns:
        The list of paths written, results first then strips, in pair order per batch.
    """
    batch_size = check_int("batch_size", batch_size)
    task = as_pose_transfer(generator)
    pairs = list(pairs)
    keypoints, sizes = check_pairs(pairs)
    output_dir = os.fspath(output_dir)

    @functools.lru_cache(maxsize=2 * batch_size)
    def reference_array(images, reference):
        with _open_image(images, reference) as image:
            return task.preprocessor.reference_image(image, f"image {images.name(reference)}")[0]

    def inputs(start, stop):
        batch = pairs[start:stop]
        references = np.stack([reference_array(p.images, p.reference) for p in batch])
        skeletons = [
            task.preprocessor.target_skeleton(
                keypoints[(p.pose, p.person)], p.pose_frame, sizes[(id(p.images), p.reference)]
            )
            for p in batch
        ]
        return references, np.stack(skeletons)

    progress = keras.utils.Progbar(len(pairs), unit_name="image", verbose=verbose)
    written = []
    for start, references, skeletons, results in task.predict_batches(len(pairs), inputs, batch_size):
        for i, pair in enumerate(pairs[start : start + len(results)]):
            path = os.path.join(output_dir, pair.output)
            written.append(write_png(path, results[i]))
            if strip:
                written.append(write_png(strip_path(path), _strip_picture(references[i], skeletons[i], results[i])))
        progress.add(len(results))
    return written
