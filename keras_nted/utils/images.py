"""Image value ranges, one home: uint8 pixels <-> the model's `[-1, 1]` floats.

The released conversions (its `ToTensor` + `Normalize(0.5, 0.5)` in, `(x + 1) / 2 * 255`
truncated out), as numpy functions for host code and `keras.ops` functions for compiled code
(the exported serving signatures). Both directions agree bit for bit between the two forms.
Outputs are clipped to `[-1, 1]` before the uint8 mapping (the release wraps around without it).
"""

import numpy as np
from keras import ops

# k -> (k / 255 - 0.5) / 0.5 in float32, the released input normalisation, one entry per level.
_UNIT_RANGE = (np.arange(256, dtype="float32") / np.float32(255) - np.float32(0.5)) / np.float32(0.5)


def from_uint8(images):
    """uint8 images (any shape) -> float32 in `[-1, 1]`, as the released data loader computes them.

    Example:
    >>> from_uint8(np.array([0, 255], np.uint8)).tolist()
    [-1.0, 1.0]
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"Expected uint8 images. Received: images.dtype={images.dtype}")
    return _UNIT_RANGE[images]


def to_uint8(images):
    """`[-1, 1]` float images -> uint8: clipped, `(x + 1) * 127.5` (= `(x + 1) / 2 * 255` exactly), truncated.

    Example:
    >>> to_uint8(np.array([-1.5, 0.0, 1.0])).tolist()
    [0, 127, 255]
    """
    images = np.clip(np.asarray(images, dtype="float32"), -1.0, 1.0)
    return ((images + np.float32(1.0)) * np.float32(127.5)).astype(np.uint8)


def ops_from_uint8(images):
    """`from_uint8` in `keras.ops` (for compiled functions): uint8 or float pixel levels -> `[-1, 1]`."""
    return (ops.cast(images, "float32") / 255.0 - 0.5) / 0.5


def ops_to_uint8(images):
    """`to_uint8` in `keras.ops`: clipped to `[-1, 1]`, `(x + 1) * 127.5`, truncated, uint8."""
    images = (ops.clip(ops.cast(images, "float32"), -1.0, 1.0) + 1.0) * 127.5
    return ops.cast(ops.floor(images), "uint8")
