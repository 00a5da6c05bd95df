"""2-D convolution with a fast kernel gradient on JAX, and the FIR filter's form per backend.

`conv2d(x, kernel, strides, padding)` is `keras.ops.conv` (channels-last, `HWIO` kernel).
On JAX its kernel gradient is computed differently: XLA's CPU backend lowers the kernel
gradient of a convolution (a convolution whose "batch" is the input channels and whose
window is the whole feature map) to a slow generic loop: 46-60 GFLOP/s for a 3x3 layer of
this model where the forward runs at 270 GFLOP/s, and 1-2 GFLOP/s through a transposed
convolution, which made the JAX train step 4x slower than TensorFlow's. Here that gradient
is one matrix product per kernel tap, `dK[i, j] = x_shifted(i, j)^T dY`, which runs at the
matmul rate (the forward pass and the input gradient are XLA's own). The convolution keeps
its input for the backward pass as before, and each tap copies a strided window of it: the
peak memory of the nted_fashion_256 train step rose from 6.5 to 10 GB on this CPU while the
step went from 69 s to 33 s. TensorFlow (oneDNN / Eigen kernels) and torch (its own
kernels) keep `keras.ops.conv` and its gradient.
"""

import functools

import keras
from keras import ops

BACKEND = keras.backend.backend()

# Whether `upfirdn2d` filters with rank-1 kernels as two 1-D passes of shifted slices (JAX:
# XLA's CPU depthwise convolution is 20-30x slower) or as a depthwise convolution
# (TensorFlow's oneDNN kernel, without XLA as the GAN trains, and torch's are 2-3x faster
# than the slices, their backward too).
SEPARABLE_FIR = BACKEND == "jax"
# ... for feature maps of at least this many values per example (the depthwise form of a
# smaller one costs well under a millisecond, and compiles with fewer operations).
MIN_SEPARABLE_FIR_SIZE = 2**17


def separable_fir(x):
    """Whether `upfirdn2d` should filter `x` (channels-last) with a rank-1 kernel as 1-D passes."""
    return SEPARABLE_FIR and _product(x.shape[1:]) >= MIN_SEPARABLE_FIR_SIZE


# JAX takes the forms below for convolutions of at least this many multiply-adds per example
# (the released 256x176 model's layers from 16x11 up; the tiny test preset's all stay below). Below it
# XLA's own forms cost a few ms at most, and compile with fewer operations.
MIN_CUSTOM_MACS = 10**8


def _product(dims):
    """The product of static dimensions; 0 if one is unknown (then XLA's own forms are used)."""
    total = 1
    for d in dims:
        if d is None:
            return 0
        total *= d
    return total


def _macs(x, kernel):
    """Input pixels x kernel size: the multiply-adds per example of a stride-1 or transposed
    convolution of `x` (channels-last) with `kernel` (an upper bound for "valid" padding)."""
    return _product(x.shape[1:3]) * _product(kernel.shape)


def conv_transpose2d(x, kernel, strides):
    """`keras.ops.conv_transpose(x, kernel, strides, padding="valid")`, any backend.

    JAX computes it as stride-1 convolutions (`conv_transpose_polyphase`): XLA's CPU
    transposed convolution runs at 35-80 GFLOP/s at this model's sizes and its kernel
    gradient at 1-2; TensorFlow's and torch's own kernels are 1.2-2x faster than the
    polyphase form, forward and backward, and keep it.
    """
    if BACKEND == "jax" and _macs(x, kernel) >= MIN_CUSTOM_MACS:
        return conv_transpose_polyphase(x, kernel, strides)
    return ops.conv_transpose(x, kernel, strides=strides, padding="valid")


def conv_transpose_polyphase(x, kernel, strides):
    """`keras.ops.conv_transpose(x, kernel, strides, padding="valid")` as `strides**2` convolutions.

    A stride-`s` transposed convolution scatters every input pixel `x[j]` times the kernel
    to the outputs `s * j + t`, so output phase `a` (the outputs `s * i + a`) only meets
    the taps `a, a + s, ...`: it is an ordinary stride-1 convolution of the zero-padded input
    with those taps, flipped. The `s**2` phase outputs are interleaved. The multiply-adds
    are those of the transposed convolution and no zeros are inserted. Written with
    `keras.ops` (and `conv2d`), so it runs and is tested on every backend.

    Args:
        x: `(batch, height, width, in_channels)`.
        kernel: `(k, k, filters, in_channels)` (the `keras.ops.conv_transpose` layout).
        strides: integer upsampling factor `s`.

    Returns:
        `(batch, s * (height - 1) + k, s * (width - 1) + k, filters)`.
    """
    k, s = kernel.shape[0], strides
    if k < s:  # some phases meet no tap at all
        return ops.conv_transpose(x, kernel, strides=s, padding="valid")
    kernel = ops.transpose(kernel, (0, 1, 3, 2))  # (k, k, in_channels, filters)
    taps = -(-k // s)  # the most taps a phase meets
    height, width = x.shape[1], x.shape[2]
    padded = ops.pad(x, [(0, 0), (taps - 1, taps - 1), (taps - 1, taps - 1), (0, 0)])
    rows = []
    for a in range(s):
        row = []
        for b in range(s):
            ta, tb = -(-(k - a) // s), -(-(k - b) // s)
            phase_kernel = ops.stack(
                [ops.stack([kernel[a + s * (ta - 1 - r), b + s * (tb - 1 - c)] for c in range(tb)]) for r in range(ta)]
            )
            window = padded[:, taps - ta :, taps - tb :]
            row.append(conv2d(window, phase_kernel, 1, "valid"))
        rows.append(ops.stack(row, axis=3))  # (batch, h', w', s, filters)
    y = ops.stack(rows, axis=2)  # (batch, h', s, w', s, filters)
    filters = kernel.shape[-1]
    y = ops.reshape(y, (-1, s * (height + taps - 1), s * (width + taps - 1), filters))
    return y[:, : s * (height - 1) + k, : s * (width - 1) + k]


def _paddings(kernel_size, strides, padding):
    """`(before, after)` per spatial axis for the cases this module handles, else None."""
    if padding == "valid":
        return 0, 0
    if padding == "same" and strides == 1:
        total = kernel_size - 1
        return total // 2, total - total // 2
    return None


def conv2d(x, kernel, strides=1, padding="valid"):
    """`keras.ops.conv(x, kernel, strides, padding)` for a square kernel, any backend.

    Args:
        x: `(batch, height, width, channels)`.
        kernel: `(k, k, channels, filters)`.
        strides: an integer stride for both axes.
        padding: `"valid"` or `"same"`.
    """
    k = kernel.shape[0]
    if (
        BACKEND != "jax" or kernel.shape[1] != k or _paddings(k, strides, padding) is None
        or _macs(x, kernel) // (strides * strides) < MIN_CUSTOM_MACS
    ):  # fmt: skip
        return ops.conv(x, kernel, strides=strides, padding=padding)
    return _jax_conv()(x, kernel, strides, padding)


@functools.lru_cache(maxsize=None)
def _jax_conv():
    import jax
    import jax.numpy as jnp

    def forward(x, kernel, strides, padding):
        return ops.conv(x, kernel, strides=strides, padding=padding)

    @functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
    def conv(x, kernel, strides, padding):
        return forward(x, kernel, strides, padding)

    def conv_fwd(x, kernel, strides, padding):
        return forward(x, kernel, strides, padding), (x, kernel)

    def conv_bwd(strides, padding, residuals, dy):
        x, kernel = residuals
        _, x_vjp = jax.vjp(lambda x: forward(x, kernel, strides, padding), x)
        (dx,) = x_vjp(dy)
        # The windows below must not exist before `dy` does: without this (data) dependency
        # XLA's scheduler cuts them right after the forward pass and keeps them all until the
        # backward pass reaches their matmuls (3.4 of the 5.7 GB of temporaries at the
        # nted_fashion_256 train step's peak; `lax.optimization_barrier` does not survive
        # XLA:CPU's passes). Adding `0 * dy[0, 0, 0, 0]` fuses into the window copies: free.
        x = x + (dy[0, 0, 0, 0] * 0).astype(x.dtype)
        k = kernel.shape[0]
        before, after = _paddings(k, strides, padding)
        if before or after:
            x = jnp.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
        rows, cols = dy.shape[1], dy.shape[2]
        flat_dy = dy.reshape(-1, dy.shape[-1])
        taps = []
        for i in range(k):
            for j in range(k):
                window = x[:, i : i + strides * (rows - 1) + 1 : strides, j : j + strides * (cols - 1) + 1 : strides]
                taps.append(jnp.matmul(window.reshape(-1, x.shape[-1]).T, flat_dy))
        dkernel = jnp.stack(taps).reshape(kernel.shape).astype(kernel.dtype)
        return dx, dkernel

    conv.defvjp(conv_fwd, conv_bwd)
    return conv
