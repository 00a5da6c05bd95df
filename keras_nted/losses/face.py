"""Face crop of the released trainer and the face perceptual loss."""

import keras
import numpy as np
from keras import ops

from keras_nted.losses.perceptual import DEFAULT_LAYERS
from keras_nted.losses.perceptual import PerceptualLoss
from keras_nted.utils.validation import check_int


def default_face_size(height):
    """The released face-crop side for images of this height: `height // 32 * 8`."""
    return height // 32 * 8


def _align_corners_grid(start, side, face_size, max_side):
    """Per-sample source rows of an align_corners=True bilinear resize of the crop
    `[start, start + side)` to `face_size` samples: lower index, upper index, weight."""
    # torch's ratio (side - 1) / (face_size - 1), correctly rounded in float32. A table
    # indexed by the integer side, because XLA's CPU division can be 1 ulp off, which
    # `face_size` steps amplify beyond 1e-5.
    sides = np.arange(max_side + 1, dtype="float32")
    table = (sides - 1) / np.float32(face_size - 1) if face_size > 1 else np.zeros_like(sides)
    side_index = ops.cast(ops.clip(side, 0, max_side), "int32")
    ratio = ops.take(ops.convert_to_tensor(table.astype("float32")), side_index)
    steps = ops.cast(ops.arange(face_size), "float32")[None, :]
    offset = ratio[:, None] * steps  # (batch, face_size), in crop coordinates
    lower = ops.minimum(ops.floor(offset), (side - 1.0)[:, None])
    upper = ops.minimum(lower + 1.0, (side - 1.0)[:, None])
    weight = ops.clip(offset - lower, 0.0, 1.0)
    return lower + start[:, None], upper + start[:, None], weight


def _gather_axis(images, index, axis):
    """`images[b, index[b, i]]` along `axis` (1 or 2) with per-sample `(batch, n)` indices."""
    shape = list(images.shape)
    shape[0] = ops.shape(images)[0]
    shape[axis] = index.shape[1]
    expand = (slice(None), slice(None), None, None) if axis == 1 else (slice(None), None, slice(None), None)
    index = ops.broadcast_to(ops.cast(index, "int32")[expand], shape)
    return ops.take_along_axis(images, index, axis=axis)


def face_crop(images, face_centers, face_size=None):
    """Crop and resize the face of each image exactly as the released `crop_face_from_output`.

    Per sample, with `face_centers = (xs, ys, xe, ye)` = (right-eye x, right-eye y, left-eye
    x, left-eye y) in pixels:
    - all four equal to -1 (sum -4): no face, a zero image;
    - otherwise `xc = floor((xs + xe) / 2)`, `yc = floor((ys + ye) / 2)`,
      `L = min(W, max(32, int(2.5 * (xe - xs))))`, `yc = max(L // 2, min(H - 1 - L // 2, yc))`
      (same for `xc` with `W`), the crop is rows `yc - L // 2 .. yc + L // 2` and columns
      `xc - L // 2 .. xc + L // 2`, end-exclusive (side `2 * (L // 2)`), the last three
      channels, resized to `face_size x face_size` with bilinear `align_corners=True`.

    Crop and resize are one per-sample gather-interpolation (output row `i` samples crop row
    `i * (side - 1) / (face_size - 1)`), so crop positions may differ per sample inside a
    compiled step and all shapes are static. Runs in float32; differentiable in `images`.

    Args:
        images: `(batch, height, width, channels)` images (static height and width, at
            least 3 channels; the last three are cropped).
        face_centers: `(batch, 4)` eye positions `(xs, ys, xe, ye)`; all -1 = no face.
        face_size: output side; defaults to the released `height // 32 * 8`.

    Returns:
        `(batch, face_size, face_size, 3)` float32 crops.

    Raises:
        ValueError: for unknown spatial sizes, fewer than 3 channels, a bad `face_centers`
            shape or a non-positive `face_size`.

    Example:
    >>> images = np.zeros((2, 64, 44, 3), "float32")
    >>> centers = np.array([[20, 20, 26, 20], [-1, -1, -1, -1]], "float32")
    >>> face_crop(images, centers).shape
    (2, 16, 16, 3)

    Reference:
        Released `util/face_crop.py` (`crop_face_from_output`, `get_face_bbox_for_output`).
    """
    _, height, width, channels = images.shape
    if height is None or width is None or channels is None or channels < 3:
        raise ValueError(
            f"Expected images with static height, width and at least 3 channels. Received: images.shape={images.shape}"
        )
    if face_size is None:
        face_size = default_face_size(height)
    face_size = check_int("face_size", face_size)
    if len(face_centers.shape) != 2 or face_centers.shape[-1] != 4:
        raise ValueError(f"Expected face_centers of shape (batch, 4). Received: {face_centers.shape}")
    images = ops.cast(images, "float32")[..., -3:]
    centers = ops.cast(face_centers, "float32")
    xs, ys, xe, ye = (centers[:, i] for i in range(4))
    has_face = ops.not_equal(ops.sum(centers, axis=-1), -4.0)

    xc = ops.floor((xs + xe) / 2.0)
    yc = ops.floor((ys + ye) / 2.0)
    # int() truncates towards zero; floor differs only below 0, where max(32, .) wins anyway.
    length = ops.minimum(float(width), ops.maximum(32.0, ops.floor((xe - xs) * 2.5)))
    half = ops.floor(length / 2.0)
    yc = ops.maximum(half, ops.minimum(height - 1.0 - half, yc))
    xc = ops.maximum(half, ops.minimum(width - 1.0 - half, xc))
    side = 2.0 * half

    y0, y1, wy = _align_corners_grid(yc - half, side, face_size, max(height, width))
    x0, x1, wx = _align_corners_grid(xc - half, side, face_size, max(height, width))
    y0, y1 = ops.clip(y0, 0, height - 1), ops.clip(y1, 0, height - 1)
    x0, x1 = ops.clip(x0, 0, width - 1), ops.clip(x1, 0, width - 1)

    rows = _gather_axis(images, y0, 1) * (1.0 - wy)[:, :, None, None]
    rows = rows + _gather_axis(images, y1, 1) * wy[:, :, None, None]
    crops = _gather_axis(rows, x0, 2) * (1.0 - wx)[:, None, :, None]
    crops = crops + _gather_axis(rows, x1, 2) * wx[:, None, :, None]
    return crops * ops.cast(has_face, "float32")[:, None, None, None]


@keras.saving.register_keras_serializable(package="keras_nted")
class FaceLoss(PerceptualLoss):
    """Perceptual loss between the face crops of generated and ground-truth images.

    `face_crop` both images at the **target** face centres, then a single-scale VGG19
    perceptual loss without style term (a `PerceptualLoss` with `num_scales=1`,
    `style_weight=0`; see it for the weights and normalisation). Samples without a face
    crop to zeros in both images and add 0, but still count in the mean, as released.

    Args:
        layers: VGG19 layers, as in `PerceptualLoss` (default relu1_1 ... relu5_1).
        layer_weights: one weight per layer (default 1).
        weights: VGG19 weights: `"imagenet"`, `"random"` or a `.h5` / `.keras` / `.pth` path.
        input_normalization: `"torch"`, `"caffe"` or `None` (default of the weight source).
        face_size: crop side; `None` uses the released `height // 32 * 8`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: generated images `(batch, height, width, 3)` in `[-1, 1]`.
        targets: ground-truth images of the same shape.
        face_centers: `(batch, 4)` target eye positions; all -1 = no face.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: as `PerceptualLoss` and `face_crop`.
        FileNotFoundError: as `PerceptualLoss`.

    Example:
    >>> loss = FaceLoss(weights="random")
    >>> x = np.zeros((2, 64, 44, 3), "float32")
    >>> float(loss(x, x, np.full((2, 4), -1.0, "float32")))
    0.0

    Reference:
        Released `util/face_crop.py` and the trainer's `Face` loss (a second VGG19
        `PerceptualLoss`); not in the paper.
    """

    def __init__(
        self,
        layers=DEFAULT_LAYERS,
        layer_weights=None,
        weights="imagenet",
        input_normalization=None,
        face_size=None,
        **kwargs,
    ):
        for fixed in ("num_scales", "style_weight"):
            kwargs.pop(fixed, None)  # written by PerceptualLoss.get_config; always 1 and 0 here
        super().__init__(
            layers=layers,
            layer_weights=layer_weights,
            num_scales=1,
            style_weight=0.0,
            weights=weights,
            input_normalization=input_normalization,
            **kwargs,
        )
        self.face_size = None if face_size is None else check_int("face_size", face_size)

    def call(self, inputs, targets, face_centers):
        centers = ops.stop_gradient(face_centers)
        fake = face_crop(inputs, centers, self.face_size)
        real = face_crop(ops.stop_gradient(targets), centers, self.face_size)
        return super().call(fake, real)

    def compute_output_shape(self, inputs_shape, targets_shape, face_centers_shape):
        return ()

    def get_config(self):
        config = super().get_config()
        config.pop("num_scales")
        config.pop("style_weight")
        config["face_size"] = self.face_size
        return config
