"""The released preprocessing of pose transfer: reference images and target keypoints -> model inputs.

`PoseTransferPreprocessor` turns what a user has (photos of any size, keypoints in a stated
frame, or pose files) into what an `NTEDGenerator` takes, and its outputs back into uint8
pictures, as the released `demo.py` does: the image is converted to RGB, resized to the
model's size with PIL's bilinear filter and normalised to `[-1, 1]`; the pose is rendered as
the 20-channel skeleton at the model's size; results are clipped to `[-1, 1]` and mapped to
uint8 by `(x + 1) / 2 * 255` with truncation.

The functions below are its steps. Pose files are read by `keras_nted.data.keypoints`
(`read_keypoints`).
"""

import os

import keras
import numpy as np
from PIL import Image

from keras_nted.data.images import decode_image
from keras_nted.data.images import open_image
from keras_nted.data.keypoints import FRAMES
from keras_nted.data.keypoints import default_pose_frame
from keras_nted.data.keypoints import read_keypoints
from keras_nted.data.keypoints import rescale_pixel_keypoints
from keras_nted.data.keypoints import validate_image_size
from keras_nted.data.keypoints import validate_keypoints
from keras_nted.data.skeleton import render_skeleton
from keras_nted.utils.images import from_uint8
from keras_nted.utils.images import to_uint8
from keras_nted.utils.validation import refuse_bools


def load_image(image, image_size, name="image"):
    """A PIL image -> `(height, width, 3)` float32 in [-1, 1] at `image_size` (bilinear resize).

    Decoded by `keras_nted.data.images.decode_image` (16-bit greyscale scaled to 8 bits; a
    truncated file is a `ValueError` naming `name`).
    """
    height, width = image_size
    image = decode_image(image, name, "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.BILINEAR)
    return from_uint8(np.asarray(image))


def pose_skeleton(keypoints, frame, image_size, pose_image_size=None):
    """The 20-channel skeleton of `keypoints` at `image_size`.

    Args:
        keypoints: `(18, 2)` keypoints in `frame`.
        frame: `"deepfashion"`, or `"pixels"` for pixel coordinates of an image of
            `pose_image_size` (the reference image's original size), rescaled to `image_size`.
        image_size: `(height, width)` of the model.
        pose_image_size: `(height, width)` the pixel keypoints refer to.
    """
    if frame not in FRAMES:
        raise ValueError(f"Expected a pose frame in {FRAMES}. Received: {frame!r}")
    if frame == "pixels" and pose_image_size is not None and tuple(pose_image_size) != tuple(image_size):
        keypoints = rescale_pixel_keypoints(keypoints, image_size, pose_image_size)
    return render_skeleton(keypoints, image_size, frame=frame)


def _is_path(x):
    return isinstance(x, (str, os.PathLike))


def _as_list(x, item_ndim, name):
    """One item or a batch of them -> a list of items (paths, PIL images or arrays)."""
    if _is_path(x) or isinstance(x, Image.Image):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    array = np.asarray(x)
    if array.ndim == item_ndim:
        return [array]
    if array.ndim == item_ndim + 1:
        return list(array)
    raise ValueError(
        f"Expected `{name}` as one item of {item_ndim} dimensions, a batch of {item_ndim + 1}, a file path or a "
        f"list of them. Received: {name}.shape={array.shape}"
    )


def _to_uint8_levels(array, value_range, name):
    """A float image in `value_range` -> uint8 levels, rounded (the model reads 8-bit images).

    `value_range=None`: a float image with values above 1 is read as `(0, 255)`; one within
    `[-1, 1]` could be `(0, 1)`, `(-1, 1)` or a dark `(0, 255)` image, and is refused.
    """
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"Expected {name} of uint8 levels or floats. Received: {name}.dtype={array.dtype}")
    array = np.asarray(array, "float64")
    if value_range is None:
        if not np.all(np.isfinite(array)) or array.max(initial=0.0) > 1.0:
            value_range = (0, 255)
        else:
            raise ValueError(
                f"Expected value_range=(0, 1), (-1, 1) or (0, 255) for a float {name} with values within [-1, 1] "
                f"(ambiguous). Received: value_range=None for values from {array.min()} to {array.max()}"
            )
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"Expected value_range=(low, high) with high > low. Received: value_range={value_range}")
    if not np.all(np.isfinite(array)) or array.min(initial=low) < low or array.max(initial=high) > high:
        raise ValueError(
            f"Expected {name} values in value_range={tuple(value_range)} (pass value_range=(-1, 1) or (0, 1) for "
            f"images in those ranges). Received values from {array.min()} to {array.max()}"
        )
    return np.rint((array - low) / (high - low) * 255.0).astype(np.uint8)


@keras.saving.register_keras_serializable(package="keras_nted")
class PoseTransferPreprocessor:
    """The released preprocessing of `PoseTransfer`: images and keypoints in, model inputs out.

    Host-side (PIL and numpy), not a layer: the bilinear resize is PIL's, which is what makes
    the results equal the released ones and `keras-nted generate`'s to the bit. Serializable
    (`get_config`), so a saved `PoseTransfer` holds it.

    Args:
        image_size: `(height, width)` of the model's images, e.g. `generator.image_size`.

    Call arguments:
        images: the reference images: file paths, PIL images, or arrays `(H, W, 3)` /
            `(batch, H, W, 3)` (or a list, sizes may differ), any size. uint8 arrays are pixel
            levels; float arrays are in `value_range` and rounded to the nearest of the 256
            levels first (the model was trained on 8-bit images). Bool arrays are refused.
        keypoints: the target poses: `(18, 2)` / `(batch, 18, 2)` arrays of `(x, y)` (`-1` for
            a missing point) in `keypoints_frame`, or pose files (`.txt`, OpenPose `.json`,
            `.npy`). As many as `images` (paired in order), or one of either for all.
        keypoints_frame: `"pixels"` (pixel coordinates of an image of `keypoints_image_size`)
            or `"deepfashion"` (the released 256x256 pose-file frame). Required for arrays; for
            files it defaults per file type as in `keras-nted generate` (`.txt` -> deepfashion,
            `.json` and `.npy` -> pixels).
        keypoints_image_size: `(height, width)` the `"pixels"` keypoints refer to (default:
            each reference image's own size, as `keras-nted generate` takes it).
        value_range: the range of float `images`: `(0, 1)`, `(-1, 1)`, `(0, 255)`, ... Default
            `None`: float images with values above 1 are read as `(0, 255)`, and float images
            within `[-1, 1]` (ambiguous) are refused with a `ValueError` asking for it.
        person: for OpenPose `.json` files with several people, the one to use.

    Returns:
        A dict of float32 arrays: `reference_image` `(batch, H, W, 3)` in `[-1, 1]` and
        `target_skeleton` `(batch, H, W, 20)` in `[0, 1]`.

    Example:
    >>> preprocessor = PoseTransferPreprocessor((64, 44))
    >>> inputs = preprocessor(np.zeros((128, 88, 3), "uint8"), np.full((18, 2), 40.0), keypoints_frame="pixels")
    >>> inputs["reference_image"].shape, inputs["target_skeleton"].shape
    ((1, 64, 44, 3), (1, 64, 44, 20))
    """

    def __init__(self, image_size):
        if len(tuple(image_size)) != 2 or any(int(s) != s or s < 1 for s in image_size):
            raise ValueError(f"Expected image_size=(height, width) of positive integers. Received: {image_size}")
        self.image_size = tuple(int(s) for s in image_size)

    def get_config(self):
        return {"image_size": list(self.image_size)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def reference_image(self, image, name="image", value_range=None):
        """One reference image -> `((H, W, 3) float32 in [-1, 1], (height, width) as given)`."""
        if _is_path(image):
            with open_image(image, f"{name} {os.fspath(image)}") as opened:
                return load_image(opened, self.image_size, f"{name} {os.fspath(image)}"), opened.size[::-1]
        if not isinstance(image, Image.Image):
            array = np.asarray(image)
            if array.ndim != 3 or array.shape[-1] != 3 or min(array.shape[:2]) < 1:
                raise ValueError(f"Expected {name} of shape (height, width, 3). Received: shape={array.shape}")
            if array.dtype != np.uint8:
                array = _to_uint8_levels(array, value_range, name)
            image = Image.fromarray(array, "RGB")
        return load_image(image, self.image_size, name), image.size[::-1]

    def target_skeleton(self, keypoints, frame, keypoints_image_size=None):
        """`(18, 2)` keypoints in `frame` -> the `(H, W, 20)` skeleton at the model's size."""
        if frame not in FRAMES:
            raise ValueError(f"Expected keypoints_frame in {FRAMES}. Received: keypoints_frame={frame!r}")
        return pose_skeleton(validate_keypoints(keypoints), frame, self.image_size, keypoints_image_size)

    def _keypoints(self, keypoints, keypoints_frame, person):
        """`[(keypoints, frame)]`: files read (frame by file type unless given), arrays in the given frame."""
        refuse_bools(keypoints, "keypoints")
        if isinstance(keypoints, (list, tuple)) and not any(_is_path(k) for k in keypoints):
            keypoints = np.asarray(keypoints, "float64")  # nested lists: one pose or a batch, by shape
        items = []
        for i, item in enumerate(_as_list(keypoints, 2, "keypoints")):
            if _is_path(item):
                items.append((read_keypoints(item, person), keypoints_frame or default_pose_frame(item)))
            elif keypoints_frame is None:
                raise ValueError(
                    f"Expected keypoints_frame='pixels' or 'deepfashion' for keypoint arrays (the frame is not "
                    f"guessed). Received: keypoints_frame=None for keypoints[{i}]"
                )
            else:
                items.append((validate_keypoints(np.asarray(item, "float64"), f"keypoints[{i}]"), keypoints_frame))
        return items

    def __call__(
        self, images, keypoints, keypoints_frame=None, keypoints_image_size=None, value_range=None, person=None
    ):
        if keypoints_frame is not None and keypoints_frame not in FRAMES:
            raise ValueError(f"Expected keypoints_frame in {FRAMES}. Received: keypoints_frame={keypoints_frame!r}")
        if keypoints_image_size is not None and keypoints_frame == "deepfashion":
            raise ValueError(
                "keypoints_image_size applies to keypoints_frame='pixels' (the 'deepfashion' frame has its own "
                f"size). Received: keypoints_image_size={keypoints_image_size}"
            )
        if keypoints_image_size is not None:
            keypoints_image_size = validate_image_size(keypoints_image_size, "keypoints_image_size")
        images = _as_list(images, 3, "images")
        poses = self._keypoints(keypoints, keypoints_frame, person)
        if not images or not poses:
            raise ValueError(f"Expected at least one image and one pose. Received: {len(images)} and {len(poses)}")
        if len(images) != len(poses) and 1 not in (len(images), len(poses)):
            raise ValueError(
                f"Expected as many images as keypoints (paired in order), or one of either for all. "
                f"Received: {len(images)} images and {len(poses)} keypoints"
            )
        references = [self.reference_image(x, f"images[{i}]", value_range) for i, x in enumerate(images)]
        count = max(len(references), len(poses))
        references, poses = references * (count // len(references)), poses * (count // len(poses))
        skeletons = [
            self.target_skeleton(points, frame, keypoints_image_size or size)
            for (_, size), (points, frame) in zip(references, poses)
        ]
        return {
            "reference_image": np.stack([r for r, _ in references]).astype("float32"),
            "target_skeleton": np.stack(skeletons).astype("float32"),
        }

    def postprocess(self, images):
        """Generated `[-1, 1]` images -> uint8, clipped and truncated as released (`to_uint8`)."""
        return to_uint8(images)
