"""Bilinear resizing exactly as torch's `F.interpolate(mode="bilinear", align_corners=False)`."""

import keras
from keras import ops


def _source_indices(input_size, output_size):
    """Torch's half-pixel source positions: the two neighbours and the weight of the second.

    Computed in float32 as torch does for float32 images: `scale = input / output`,
    `source = max(scale * (target + 0.5) - 0.5, 0)`, neighbours `floor(source)` and the next one
    (clamped to the last row), weight `source - floor(source)`. There is no antialiasing
    filter: downsampling reads only the two nearest rows, as torch does (jax.image.resize and
    `keras.ops.image.resize(antialias=True)` average over more).
    """
    scale = ops.cast(input_size, "float32") / float(output_size)
    target = ops.arange(output_size, dtype="float32")
    source = ops.maximum(scale * (target + 0.5) - 0.5, 0.0)
    first = ops.cast(ops.floor(source), "int32")
    second = ops.minimum(first + 1, ops.cast(input_size, "int32") - 1)
    return first, second, source - ops.cast(first, "float32")


def _resize_axis(x, output_size, axis):
    first, second, weight = _source_indices(ops.shape(x)[axis], output_size)
    weight = ops.cast(ops.reshape(weight, (-1,) + (1,) * (3 - axis)), x.dtype)
    near = ops.take(x, first, axis=axis)
    far = ops.take(x, second, axis=axis)
    return near * (1.0 - weight) + far * weight


@keras.saving.register_keras_serializable(package="keras_nted")
class BilinearResize(keras.layers.Layer):
    """Resizes images to a fixed size as torch's bilinear `F.interpolate` does (no antialias).

    The FID scripts of the pose-transfer papers (GFLA, DPTN, PIDM, CFLD) and pytorch-fid resize
    every image to 299x299 with `F.interpolate(x, size=(299, 299), mode="bilinear")`
    (`align_corners=False`, no antialiasing), for upsampling and downsampling alike. This layer
    reproduces it on every backend with gathers of the two neighbouring rows (then columns)
    and a linear blend. `keras.ops.image.resize` agrees when upsampling but antialiases (or,
    on JAX, always filters) when downsampling, e.g. 512x352 -> 299x299.

    Args:
        height: output height.
        width: output width.

    Call arguments:
        images: `(batch, height, width, channels)` images of any size.

    Returns:
        `(batch, self.height, self.width, channels)` in the layer's compute dtype.

    Example:
    >>> import numpy as np
    >>> BilinearResize(3, 2)(np.arange(4.0).reshape(1, 2, 2, 1)).shape
    (1, 3, 2, 1)
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Expected a positive integer. Received: {name}={value!r}")
        self.height = height
        self.width = width

    def call(self, images):
        x = ops.cast(images, self.compute_dtype)
        x = _resize_axis(x, self.height, axis=1)
        return _resize_axis(x, self.width, axis=2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
