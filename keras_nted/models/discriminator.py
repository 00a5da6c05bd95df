"""The NTED discriminator (StyleGAN2 ResNet discriminator, as released)."""

import math

import keras

from keras_nted.layers.equalized import EqualizedConv2D
from keras_nted.layers.equalized import EqualizedDense
from keras_nted.layers.equalized import FusedLeakyReLU
from keras_nted.layers.merge import ScaledAdd
from keras_nted.layers.minibatch_std import MinibatchStdDev
from keras_nted.layers.resample import Blur
from keras_nted.models.base import KERAS_MODEL_ARGS
from keras_nted.models.base import PresetNetwork
from keras_nted.models.base import default_width
from keras_nted.models.base import log2_size
from keras_nted.models.presets import MAX_CHANNELS
from keras_nted.models.presets import MAX_SIZE
from keras_nted.models.presets import bounded_int
from keras_nted.models.presets import bounded_int_keys
from keras_nted.utils.validation import check_keywords


def _down(n):
    # Blur (pad 2, 2) then a 3x3 stride-2 valid conv: n -> floor((n - 2) / 2) + 1.
    return (n - 2) // 2 + 1


@keras.saving.register_keras_serializable(package="keras_nted")
class NTEDDiscriminator(PresetNetwork, keras.Model):
    """The released discriminator: a StyleGAN2 ResNet discriminator with minibatch stddev.

    A 1x1 conv, one ResBlock per halving from `size` down to 4 (each
    `(conv2(conv1(x)) + skip(x)) / sqrt(2)` with blurred stride-2 downsampling),
    minibatch standard deviation (group 4), a 3x3 conv, a flatten in the released
    `(channels, height, width)` order and two equalized dense layers. Layer names are the
    released module paths (`convs.1.conv2.1`, `final_linear.0`, ...).

    Args:
        size: image height (a power of two).
        channels: `{resolution: channels}` for resolutions 4 .. size.
        is_square_image: the released flag; only the input width follows from it
            (`size` when True, else `image_width`).
        image_width: input width (default `size * 11 / 16`).

    Call arguments:
        inputs: `(batch, size, width, 3)` images in [-1, 1]. The batch must be divisible
            by `min(batch, 4)`.

    Returns:
        `(batch, 1)` logits.

    Example:
    >>> discriminator = NTEDDiscriminator.from_preset("nted_tiny")
    >>> discriminator(np.zeros((2, 64, 44, 3))).shape
    (2, 1)
    """

    preset_section = "discriminator"
    config_args = ("size", "channels", "is_square_image", "image_width")

    def __init__(self, size, channels, is_square_image=False, image_width=None, **kwargs):
        check_keywords(type(self).__name__, kwargs, (*self.config_args, *KERAS_MODEL_ARGS))
        # Bounded before anything is allocated (a .keras file's config is input too).
        channels = bounded_int_keys(channels, "channels", 1, MAX_CHANNELS)
        bounded_int(size, "size", 32, MAX_SIZE)
        if image_width is not None:
            bounded_int(image_width, "image_width", 1, 4 * size)
        log_size = log2_size(size)
        missing = [2**i for i in range(2, log_size + 1) if 2**i not in channels]
        if missing:
            raise ValueError(f"Expected `channels` to define resolutions {missing}. Received: channels={channels}")
        if image_width is None:
            image_width = size if is_square_image else default_width(size)
        dtype = kwargs.pop("dtype", None)

        h, w = size, image_width
        image = keras.Input((size, image_width, 3), name="image")
        x = EqualizedConv2D(channels[size], 1, use_bias=False, dtype=dtype, name="convs-0-0")(image)
        x = FusedLeakyReLU(dtype=dtype, name="convs-0-1")(x)
        in_ch = channels[size]
        for block, i in enumerate(range(log_size, 2, -1), start=1):
            out_ch = channels[2 ** (i - 1)]
            name = f"convs-{block}"
            y = EqualizedConv2D(in_ch, 3, padding="same", use_bias=False, dtype=dtype, name=f"{name}-conv1-0")(x)
            y = FusedLeakyReLU(dtype=dtype, name=f"{name}-conv1-1")(y)
            y = Blur(pad=(2, 2), dtype=dtype, name=f"{name}-conv2-0")(y)
            y = EqualizedConv2D(
                out_ch, 3, strides=2, padding="valid", use_bias=False, dtype=dtype, name=f"{name}-conv2-1"
            )(y)
            y = FusedLeakyReLU(dtype=dtype, name=f"{name}-conv2-2")(y)
            s = Blur(pad=(1, 1), dtype=dtype, name=f"{name}-skip-0")(x)
            s = EqualizedConv2D(
                out_ch, 1, strides=2, padding="valid", use_bias=False, dtype=dtype, name=f"{name}-skip-1"
            )(s)
            x = ScaledAdd(1.0 / math.sqrt(2.0), dtype=dtype, name=f"{name}-residual")([y, s])
            in_ch = out_ch
            h, w = _down(h), _down(w)
        if h < 1 or w < 1:
            raise ValueError(f"The input width {image_width} is too small for {log_size - 2} down-sampling steps.")
        x = MinibatchStdDev(4, dtype=dtype, name="minibatch_stddev")(x)
        x = EqualizedConv2D(channels[4], 3, padding="same", use_bias=False, dtype=dtype, name="final_conv-0")(x)
        x = FusedLeakyReLU(dtype=dtype, name="final_conv-1")(x)
        # The release flattens NCHW tensors: (channels, height, width) order.
        x = keras.layers.Permute((3, 1, 2), dtype=dtype, name="to_channels_first")(x)
        x = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
        x = EqualizedDense(channels[4], activation="fused_lrelu", dtype=dtype, name="final_linear-0")(x)
        logits = EqualizedDense(1, dtype="float32", name="final_linear-1")(x)
        super().__init__(inputs=image, outputs=logits, dtype=dtype, **kwargs)
        if dtype is not None:  # a functional model does not keep it: get_config / clone would lose it
            self.dtype_policy = dtype
        self.size = size
        self.channels = channels
        self.is_square_image = is_square_image
        self.image_width = image_width
        self.final_size = (h, w)

    def __call__(self, inputs, *args, **kwargs):
        shape = tuple(getattr(inputs, "shape", ()))
        if len(shape) != 4 or shape[1:] != (self.size, self.image_width, 3):
            raise ValueError(
                f"Expected images of shape (batch, {self.size}, {self.image_width}, 3). Received: inputs.shape={shape}"
            )
        return super().__call__(inputs, *args, **kwargs)
