"""FIR resampling (`upfirdn2d`) on `keras.ops`, and the `Blur` / `Upsample` layers."""

import keras
import numpy as np
from keras import ops

from keras_nted.backend.conv import depthwise_conv2d
from keras_nted.backend.conv import separable_fir
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import shape_of

DEFAULT_KERNEL = (1, 3, 3, 1)


def make_kernel(kernel=DEFAULT_KERNEL, gain=1.0):
    """The normalised 2-D FIR kernel `outer(k, k) / sum * gain` as a float32 numpy array."""
    k = np.asarray(kernel, dtype="float64")
    if k.ndim == 1:
        k = np.outer(k, k)
    if k.ndim != 2 or k.sum() == 0:
        raise ValueError(f"Expected a 1-D or 2-D kernel with a non-zero sum. Received: kernel={kernel!r}")
    return (k / k.sum() * gain).astype("float32")


def check_pad(pad):
    """`pad` as a `(before, after)` tuple of ints (negative values crop), else a `ValueError`."""
    if (
        not isinstance(pad, (tuple, list))
        or len(pad) != 2
        or not all(isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)) for p in pad)
    ):
        raise ValueError(f"Expected pad=(before, after), two integers. Received: pad={pad!r}")
    return tuple(int(p) for p in pad)


def _pad_or_crop(x, axis, before, after):
    """Zero-pad (positive) or crop (negative) `x` along `axis`."""
    if before > 0 or after > 0:
        widths = [(0, 0)] * len(x.shape)
        widths[axis] = (max(before, 0), max(after, 0))
        x = ops.pad(x, widths)
    if before < 0 or after < 0:
        index = [slice(None)] * len(x.shape)
        stop = None if after >= 0 else after
        index[axis] = slice(max(-before, 0), stop)
        x = x[tuple(index)]
    return x


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """Upsample, FIR-filter and downsample a channels-last image batch.

    Per channel: insert `up - 1` zeros after every sample, pad `pad[0]` before and
    `pad[1]` after (negative values crop), convolve with `kernel` (a true convolution,
    i.e. correlation with the flipped kernel) and keep every `down`-th sample. The output
    side is `(n * up + pad[0] + pad[1] - kernel_size) // down + 1`.

    Args:
        x: `(batch, height, width, channels)` tensor with known channels.
        kernel: 2-D numpy array (or nested list) `(kh, kw)`.
        up: integer upsampling factor.
        down: integer downsampling factor.
        pad: `(before, after)` padding, applied to both spatial axes.

    Returns:
        The filtered `(batch, new_height, new_width, channels)` tensor.
    """
    kernel = np.asarray(kernel, dtype="float32")
    if kernel.ndim != 2:
        raise ValueError(f"Expected a 2-D kernel. Received: kernel.shape={kernel.shape}")
    up, down = check_int("up", up), check_int("down", down)
    shape = shape_of(x)
    if len(shape) != 4 or shape[-1] is None:
        raise ValueError(
            f"Expected `x` of shape (batch, height, width, channels) with known channels. Received: {shape}"
        )
    pad = check_pad(pad)
    for n, size in zip(shape[1:3], kernel.shape):
        if n is not None and upfirdn2d_output_size(n, size, up, down, pad) < 1:
            raise ValueError(
                f"Expected `pad` leaving at least one output pixel: a {shape[1]}x{shape[2]} input with a "
                f"{kernel.shape[0]}x{kernel.shape[1]} kernel, up={up} and down={down} leaves none. Received: pad={pad}"
            )
    factors = separable_factors(kernel)
    if factors is not None and separable_fir(x):
        return _upfirdn2d_separable(x, factors, up, down, pad)
    return _upfirdn2d_depthwise(x, kernel, up, down, pad)


def _upfirdn2d_separable(x, factors, up, down, pad):
    """`upfirdn2d` for a rank-1 kernel `outer(*factors)`: two 1-D passes of shifted slices.

    2k multiply-adds per output instead of a depthwise k x k convolution, which XLA's CPU
    backend runs 20-30x slower (TensorFlow's oneDNN and torch's kernels run it 2-3x faster
    than the slices: see `keras_nted.backend.conv.separable_fir`).
    """
    for axis, taps in ((1, factors[0]), (2, factors[1])):
        x = _fir_1d(x, taps, axis, up, down, pad)
    return x


def separable_factors(kernel):
    """`(column_taps, row_taps)` whose outer product is `kernel`, or `None` if it has rank > 1."""
    kernel = np.asarray(kernel, dtype="float64")
    i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    column, row = kernel[:, j] / kernel[i, j], kernel[i, :]
    if not np.allclose(np.outer(column, row), kernel, rtol=1e-7, atol=0):
        return None
    return column, row


def _fir_1d(x, taps, axis, up, down, pad):
    """`upfirdn` along one spatial axis (1 or 2) of a channels-last batch."""
    if up > 1:
        shape = list(x.shape[1:])
        x = ops.expand_dims(x, axis + 1)
        widths = [(0, 0)] * len(x.shape)
        widths[axis + 1] = (0, up - 1)
        x = ops.pad(x, widths)
        shape[axis - 1] *= up
        x = ops.reshape(x, (-1, *shape))
    x = _pad_or_crop(x, axis, pad[0], pad[1])
    size = upfirdn2d_output_size(x.shape[axis], len(taps), down=down)
    out = None
    for offset, tap in enumerate(taps[::-1]):  # a true convolution: correlation with the flipped taps
        if tap == 0:
            continue
        index = [slice(None)] * len(x.shape)
        index[axis] = slice(offset, offset + (size - 1) * down + 1, down)
        term = x[tuple(index)] * float(tap)
        out = term if out is None else out + term
    return out


def _upfirdn2d_depthwise(x, kernel, up, down, pad):
    """`upfirdn2d` for any 2-D kernel: zero insertion, padding and a depthwise convolution."""
    p0, p1 = pad
    channels = x.shape[-1]
    if up > 1:
        h, w = x.shape[1], x.shape[2]
        x = ops.reshape(x, (-1, h, 1, w, 1, channels))
        x = ops.pad(x, [(0, 0), (0, 0), (0, up - 1), (0, 0), (0, up - 1), (0, 0)])
        x = ops.reshape(x, (-1, h * up, w * up, channels))
    inner = p0 if p0 == p1 and p0 > 0 else 0  # equal padding: the convolution's own
    x = _pad_or_crop(x, 1, p0 - inner, p1 - inner)
    x = _pad_or_crop(x, 2, p0 - inner, p1 - inner)
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    depthwise = np.tile(flipped[:, :, None, None], (1, 1, channels, 1))
    depthwise = ops.cast(depthwise, x.dtype)
    return depthwise_conv2d(x, depthwise, down, pad=inner)


def upfirdn2d_output_size(n, kernel_size, up=1, down=1, pad=(0, 0)):
    """Output side of `upfirdn2d` for an input side `n` (`None` stays `None`)."""
    if n is None:
        return None
    return (n * up + pad[0] + pad[1] - kernel_size) // down + 1


@keras.saving.register_keras_serializable(package="keras_nted")
class Blur(keras.layers.Layer):
    """Low-pass FIR filter (the released `Blur`): `upfirdn2d(x, K * gain, pad=pad)`.

    Args:
        pad: `(before, after)` zero padding of both spatial axes.
        kernel: 1-D FIR taps, made separable and normalised to sum 1.
        gain: factor applied to the normalised kernel (`4` after a stride-2 transposed
            convolution, so that the zero-inserted grid keeps its energy).

    Call arguments:
        inputs: `(batch, height, width, channels)` tensor.

    Returns:
        `(batch, height + sum(pad) - 3, width + sum(pad) - 3, channels)` for a 4-tap kernel.

    Example:
    >>> Blur(pad=(1, 1), gain=4)(np.ones((1, 9, 9, 2), "float32")).shape
    (1, 8, 8, 2)
    """

    def __init__(self, pad, kernel=DEFAULT_KERNEL, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.pad = check_pad(pad)
        self.kernel = tuple(kernel)
        self.gain = float(gain)
        self._kernel_2d = make_kernel(self.kernel, self.gain)

    @property
    def fir_kernel(self):
        """The 2-D FIR kernel actually applied (a numpy constant)."""
        return self._kernel_2d

    def call(self, inputs):
        return upfirdn2d(inputs, self._kernel_2d, pad=self.pad)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        k = self._kernel_2d.shape[0]
        return (b, upfirdn2d_output_size(h, k, pad=self.pad), upfirdn2d_output_size(w, k, pad=self.pad), c)

    def get_config(self):
        config = super().get_config()
        config.update(pad=self.pad, kernel=self.kernel, gain=self.gain)
        return config


@keras.saving.register_keras_serializable(package="keras_nted")
class Upsample(keras.layers.Layer):
    """FIR upsampling by `factor` (the released `Upsample`, used on the ToRGB skip path).

    `upfirdn2d(x, K * factor**2, up=factor)` with the padding that keeps the output at
    exactly `factor` times the input: `(2, 1)` for the 4-tap kernel and factor 2.

    Args:
        factor: integer upsampling factor.
        kernel: 1-D FIR taps.

    Call arguments:
        inputs: `(batch, height, width, channels)` tensor.

    Returns:
        `(batch, height * factor, width * factor, channels)` tensor.

    Example:
    >>> Upsample()(np.ones((1, 4, 3, 3), "float32")).shape
    (1, 8, 6, 3)
    """

    def __init__(self, factor=2, kernel=DEFAULT_KERNEL, **kwargs):
        super().__init__(**kwargs)
        factor = check_int("factor", factor)
        self.factor = factor
        self.kernel = tuple(kernel)
        self._kernel_2d = make_kernel(self.kernel, factor**2)
        p = self._kernel_2d.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    @property
    def fir_kernel(self):
        """The 2-D FIR kernel actually applied (a numpy constant)."""
        return self._kernel_2d

    def call(self, inputs):
        return upfirdn2d(inputs, self._kernel_2d, up=self.factor, pad=self.pad)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        scale = lambda n: None if n is None else n * self.factor  # noqa: E731
        return (b, scale(h), scale(w), c)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, kernel=self.kernel)
        return config
