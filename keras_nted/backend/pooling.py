"""2-D max and average pooling of channels-last data in the form each backend runs fastest.

torch: its own pooling of the channels-last data as it lies (`x.permute(0, 3, 1, 2)` is an
NCHW view in torch's channels-last memory format, which its CPU and GPU pools take and return
as they are); keras' `ops.max_pool` / `ops.average_pool` copy the input to NCHW first and
the output back, and pad "same" max pools with a copy (a 3x3 stride-1 "same" max pool of a
(16, 35, 35, 288) map: ~250 ms through keras, ~50 ms so on this CPU). JAX and TensorFlow:
`keras.ops` as it is.
"""

import keras
from keras import ops

BACKEND = keras.backend.backend()


def _torch_padding(pool_size, strides, padding):
    """torch's symmetric padding for Keras' `padding`, or None where torch has no equal form."""
    if padding == "valid":
        return 0
    if strides == 1 and pool_size % 2 == 1:
        return pool_size // 2
    return None


def max_pool2d(x, pool_size, strides, padding="valid"):
    """`keras.ops.max_pool(x, pool_size, strides, padding)` for square windows, any backend.

    Args:
        x: `(batch, height, width, channels)`.
        pool_size: an integer side of the window.
        strides: an integer stride for both axes.
        padding: `"valid"` or `"same"` (torch pads with -inf, as Keras' "same" max pool does).
    """
    pad = _torch_padding(pool_size, strides, padding)
    if BACKEND == "torch" and pad is not None:
        import torch.nn.functional as F

        x = ops.convert_to_tensor(x).permute(0, 3, 1, 2)
        return F.max_pool2d(x, pool_size, strides, pad).permute(0, 2, 3, 1)
    return ops.max_pool(x, pool_size, strides, padding)


def average_pool2d(x, pool_size, strides, padding="valid"):
    """`keras.ops.average_pool(x, pool_size, strides, padding)` for square windows, any backend.

    "same" leaves the padding out of each mean, as Keras does on every backend (torch's
    `count_include_pad=False`).
    """
    pad = _torch_padding(pool_size, strides, padding)
    if BACKEND == "torch" and pad is not None:
        import torch.nn.functional as F

        x = ops.convert_to_tensor(x).permute(0, 3, 1, 2)
        return F.avg_pool2d(x, pool_size, strides, pad, count_include_pad=False).permute(0, 2, 3, 1)
    return ops.average_pool(x, pool_size, strides, padding)
