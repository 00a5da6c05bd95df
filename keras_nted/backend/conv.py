"""2-D convolutions in the form each backend runs fastest, and the FIR filter's form per backend.

`conv2d`, `depthwise_conv2d` and `conv_transpose2d` compute `keras.ops.conv`,
`keras.ops.depthwise_conv` and `keras.ops.conv_transpose` (channels-last, square kernels):

- JAX: the kernel gradient of a convolution is one matrix product per kernel tap,
  `dK[i, j] = x_shifted(i, j)^T dY` (`jax.custom_vjp`; the forward pass and the input
  gradient are XLA's own). XLA's CPU backend lowers that gradient to a slow generic loop:
  46-60 GFLOP/s for a 3x3 layer of this model whose forward runs at 270, and 1-2 GFLOP/s
  through a transposed convolution, which is computed here as stride-1 polyphase
  convolutions. The nted_fashion_256 train step (batch 1, G + D) takes 15 s instead of
  64-71 s on this CPU (same run), and compiles in about 25 s instead of about 275; the
  windows depend on `dY` so that XLA does not keep them all alive (temporaries 5.7 -> 2.4
  GB). Undifferentiated strided convolutions are one matmul per tap (faster inference).
- torch: its own convolutions, called on channels-last data without copies; keras'
  `ops.conv` copies every input to NCHW and back to channels-last first (1.1-2.4x slower
  per layer, 1.6x for the whole generator forward). Inference reuses one scaled kernel in
  torch's layout per variable (`torch_kernel`), and the FIR blur pads inside its convolution.
- TensorFlow: `keras.ops` as it is (oneDNN / Eigen kernels, without XLA as the GAN trains).
"""

import functools
import weakref

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
# ... and computes the forward pass of strided ones as one matmul per tap (not differentiated).
STRIDED_TAPS = True
# ... and undifferentiated transposed convolutions with XLA's own kernel.
NATIVE_TRANSPOSE_INFERENCE = True


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


def conv_transpose2d(x, kernel, strides, scale=1.0):
    """`keras.ops.conv_transpose(x, kernel * scale, strides, padding="valid")`, any backend.

    JAX computes it as stride-1 convolutions (`conv_transpose_polyphase`): XLA's CPU
    transposed convolution runs at 35-80 GFLOP/s at this model's sizes and its kernel
    gradient at 1-2; TensorFlow's and torch's own kernels are 1.2-2x faster than the
    polyphase form, forward and backward, and keep it (torch's without keras' copies).
    """
    if BACKEND == "torch" and kernel.shape[0] >= strides:  # (keras pads smaller kernels' outputs)
        import torch.nn.functional as F

        # (k, k, filters, in_channels) -> torch's (in_channels, filters, k, k); no copies of
        # `x` (see `_torch_conv`).
        x = ops.convert_to_tensor(x).permute(0, 3, 1, 2)
        kernel = torch_kernel(kernel, scale, (3, 2, 0, 1), x.dtype)
        return F.conv_transpose2d(x, kernel, stride=strides).permute(0, 2, 3, 1)
    kernel = kernel * scale
    if BACKEND == "jax" and _macs(x, kernel) >= MIN_CUSTOM_MACS:
        return _jax_conv_transpose()(x, kernel, strides)
    return ops.conv_transpose(x, kernel, strides=strides, padding="valid")


@functools.lru_cache(maxsize=None)
def _jax_conv_transpose():
    """XLA's transposed convolution when not differentiated (its forward is faster than the
    polyphase form's here), the polyphase form's value and gradients when differentiated."""
    import jax

    @functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
    def conv_transpose(x, kernel, strides):
        if not NATIVE_TRANSPOSE_INFERENCE:
            return conv_transpose_polyphase(x, kernel, strides)
        return ops.conv_transpose(x, kernel, strides=strides, padding="valid")

    def forward(x, kernel, strides):
        # The vjp function is a pytree (`jax.tree_util.Partial`): the residuals.
        return jax.vjp(lambda x, kernel: conv_transpose_polyphase(x, kernel, strides), x, kernel)

    def backward(strides, vjp, dy):
        return vjp(dy)

    conv_transpose.defvjp(forward, backward)
    return conv_transpose


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


def conv2d(x, kernel, strides=1, padding="valid", scale=1.0):
    """`keras.ops.conv(x, kernel * scale, strides, padding)` for a square kernel, any backend.

    Args:
        x: `(batch, height, width, channels)`.
        kernel: `(k, k, channels, filters)`, a tensor or a variable.
        strides: an integer stride for both axes.
        padding: `"valid"` or `"same"`.
        scale: a constant factor of the kernel (the equalized learning rate's); on torch,
            inference reuses one scaled, re-laid-out kernel per variable (`torch_kernel`).
    """
    k = kernel.shape[0]
    paddings = _paddings(k, strides, padding) if kernel.shape[1] == k else None
    if BACKEND == "torch" and paddings is not None:
        x = ops.convert_to_tensor(x)
        return _torch_conv(x, torch_kernel(kernel, scale, (3, 2, 0, 1), x.dtype), strides, (paddings, paddings))
    kernel = kernel * scale
    if BACKEND != "jax" or paddings is None or _macs(x, kernel) // (strides * strides) < MIN_CUSTOM_MACS:
        return ops.conv(x, kernel, strides=strides, padding=padding)
    return _jax_conv()(x, kernel, strides, padding)


# JAX convolves one example at a time where a convolution's output has at least this many
# values per example: XLA:CPU's convolution slows down 4-5x with the batch on such maps (Inception's
# 80 -> 192 3x3 on 73x73: 190 GFLOP/s at batch 1, 37 at batch 16, 124 mapped over the batch;
# its 35x35 layers, below this size, keep ~250 at batch 16).
MIN_MAPPED_OUTPUT = 2**19


def conv2d_bias_relu(x, kernel, bias=None, strides=1, padding="valid", relu=True):
    """`relu(keras.ops.conv(x, kernel, strides, padding) + bias)` (inference networks), any backend.

    The form of frozen feature extractors (Inception with its BatchNorm folded in, LPIPS'
    trunks). torch: one oneDNN convolution of the channels-last data as it lies
    (`_torch_conv`), with the bias and, on the CPU without gradients, the ReLU inside it;
    keras' `Conv2D` copies every input to NCHW and back to channels-last, its kernel to
    channels-last and its output back to NHWC, then adds the bias and the ReLU in two more
    passes over the output. JAX: `conv2d` (strided inference convolutions as one matmul per
    tap), one example at a time for large outputs (`MIN_MAPPED_OUTPUT`), then the bias and
    the ReLU, which XLA fuses into one pass. TensorFlow: `BiasAdd` and `Relu` after the
    convolution, which grappler fuses into one oneDNN convolution.

    Args:
        x: `(batch, height, width, channels)`.
        kernel: `(kernel_height, kernel_width, channels, filters)`.
        bias: `(filters,)` or None.
        strides: an integer stride for both axes.
        padding: `"valid"` or `"same"`.
        relu: whether to apply the ReLU.
    """
    paddings = [_paddings(k, strides, padding) for k in kernel.shape[:2]]
    if BACKEND == "torch" and None not in paddings:
        x = ops.convert_to_tensor(x)
        kernel = torch_kernel(kernel, 1.0, (3, 2, 0, 1), x.dtype)
        bias = None if bias is None else ops.convert_to_tensor(bias).to(x.dtype)
        return _torch_conv(x, kernel, strides, paddings, bias=bias, relu=relu)
    if BACKEND == "jax" and x.shape[0] not in (None, 1) and _output_size(x, kernel, strides) >= MIN_MAPPED_OUTPUT:
        # One example at a time (`lax.map`): see MIN_MAPPED_OUTPUT.
        return ops.map(lambda image: conv2d_bias_relu(image[None], kernel, bias, strides, padding, relu)[0], x)
    if BACKEND == "jax" and kernel.shape[0] == kernel.shape[1]:
        y = conv2d(x, kernel, strides, padding)
    else:
        # The variable itself: `conv2d` would multiply every kernel by its scale (1.0) per call.
        y = ops.conv(x, kernel, strides=strides, padding=padding)
    if bias is not None:
        y = _bias_add(y, bias)
    return ops.relu(y) if relu else y


def _output_size(x, kernel, strides):
    """About the values per example of a convolution's output (0 if a dimension is unknown)."""
    return _product(x.shape[1:3]) // (strides * strides) * kernel.shape[-1]


def _bias_add(y, bias):
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.nn.bias_add(y, ops.cast(bias, y.dtype))  # the op grappler fuses into the convolution
    return y + ops.cast(bias, y.dtype)


def depthwise_conv2d(x, kernel, strides=1, pad=0):
    """`keras.ops.depthwise_conv` of `x` zero-padded by `pad` on every side, "valid", square kernel.

    torch pads inside its convolution instead of writing a padded copy of `x` (a zero fill
    and a copy of the whole map: ~0.2 s of the nted_fashion_256 generator's forward at batch 4).

    Args:
        x: `(batch, height, width, channels)`.
        kernel: `(k, k, channels, 1)`.
        strides: an integer stride for both axes.
        pad: zeros added before and after both spatial axes (>= 0).
    """
    if BACKEND == "torch" and kernel.shape[-1] == 1:
        x = ops.convert_to_tensor(x)
        kernel = torch_kernel(kernel, 1.0, (2, 3, 0, 1), x.dtype)
        return _torch_conv(x, kernel, strides, ((pad, pad), (pad, pad)), groups=x.shape[-1])
    if pad:
        x = ops.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    return ops.depthwise_conv(x, kernel, strides=strides, padding="valid")


def depthwise_conv2d_bias(x, kernel, bias, strides=1, paddings=((0, 0), (0, 0))):
    """`keras.ops.depthwise_conv` (multiplier 1, "valid") of `x` zero-padded by `paddings`, plus
    `bias` (inference networks: BlazePose's), any backend.

    JAX: the sum of `k * k` shifted multiply-adds (`_tap_windows`), which XLA fuses into one
    loop: XLA:CPU's depthwise convolution is 10-20x slower (a 5x5 on 64x64x96: 11.6 ms, the
    taps 0.59 ms, TensorFlow's kernel 0.61 ms on this CPU). torch: one oneDNN convolution of
    the channels-last data as it lies, padded and biased inside it (`_torch_conv`).
    TensorFlow: its depthwise kernel and `BiasAdd`.

    Args:
        x: `(batch, height, width, channels)`.
        kernel: `(k, k, channels, 1)`.
        bias: `(channels,)`.
        strides: an integer stride for both axes.
        paddings: `((top, bottom), (left, right))` zeros.
    """
    if BACKEND == "torch":
        x = ops.convert_to_tensor(x)
        kernel = torch_kernel(kernel, 1.0, (2, 3, 0, 1), x.dtype)
        bias = ops.convert_to_tensor(bias).to(x.dtype)
        return _torch_conv(x, kernel, strides, paddings, groups=x.shape[-1], bias=bias)
    if any(p for pair in paddings for p in pair):
        x = ops.pad(x, [(0, 0), *paddings, (0, 0)])
    if BACKEND != "jax":
        return _bias_add(ops.depthwise_conv(x, kernel, strides=strides, padding="valid"), bias)
    k = kernel.shape[0]
    rows, cols = (x.shape[1] - k) // strides + 1, (x.shape[2] - k) // strides + 1
    y = ops.cast(bias, x.dtype)
    for (i, j), window in _tap_windows(x, k, strides, rows, cols):
        y = y + window * ops.cast(kernel[i, j, :, 0], x.dtype)
    return y


def _torch_conv(x, kernel, strides, paddings, groups=1, bias=None, relu=False):
    """torch's convolution on channels-last data without copying it; `kernel` in torch's layout.

    `x.permute(0, 3, 1, 2)` is `x` seen as NCHW in torch's channels-last memory format, which
    its CPU (oneDNN) and GPU (cuDNN) convolutions take as it is, and return in; keras'
    `ops.conv` copies the input to NCHW and back to channels-last first (two copies of every
    input: this is 1.1-2.4x faster per layer of this model on this CPU). `paddings` is
    `((top, bottom), (left, right))`; torch pads symmetric ones inside the convolution. With
    `relu`, the ReLU is applied inside oneDNN's convolution where `_fused_relu` allows (the
    pass over the output it saves was 20% of Inception's time on this CPU), else in place.
    """
    import torch
    import torch.nn.functional as F

    x = x.permute(0, 3, 1, 2)
    if any(before != after for before, after in paddings):
        (top, bottom), (left, right) = paddings
        x = F.pad(x, (left, right, top, bottom))
        paddings = ((0, 0), (0, 0))
    padding = [before for before, _ in paddings]
    if relu and _fused_relu(x):
        y = torch.ops.mkldnn._convolution_pointwise(
            x, kernel, bias, padding, [strides] * 2, [1, 1], groups, "relu", [], ""
        )
    else:
        y = F.conv2d(x, kernel, bias, stride=strides, padding=padding, groups=groups)
        # In place: the convolution's backward pass needs its inputs, not its output.
        y = torch.relu_(y) if relu else y
    return y.permute(0, 2, 3, 1)


def _fused_relu(x):
    """Whether oneDNN's convolution with a ReLU post-op (the op TorchInductor fuses into on
    CPU) can take `x`: float32 on the CPU, without gradients (the op has no backward)."""
    import torch

    return (
        FUSED_TORCH_RELU
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
    )


# Whether torch CPU inference applies a convolution's ReLU inside oneDNN's kernel (off: in place after it).
FUSED_TORCH_RELU = True


# torch inference: `id(variable tensor) -> (weak reference, (version, scale, order, dtype), kernel)`.
_TORCH_KERNELS = {}
# Whether torch inference reuses prepared kernels (off: prepare one per call, as training does).
TORCH_KERNEL_CACHE = True


def torch_kernel(kernel, scale, order, dtype):
    """`(kernel * scale).permute(order)` in `dtype`, as a torch tensor, for torch's convolutions.

    Without gradients (inference: `predict` runs under `torch.no_grad`), a variable's kernel
    is prepared once, contiguous, and reused until the variable changes (torch counts every
    in-place write, `assign` included, in the tensor's `_version`). Scaling and re-laying out
    every kernel on every call cost about 80 ms of the nted_fashion_256 generator's
    ~0.78 s forward at batch 1 (the `mul` and `copy_` of torch's profile); the cache holds one
    copy of the weights (169 MB for that generator). With gradients, or for a tensor that is
    not a variable's own (a mixed-precision cast), the kernel is prepared on every call.
    """
    import torch

    tensor = ops.convert_to_tensor(kernel)
    if torch.is_grad_enabled() or not TORCH_KERNEL_CACHE or not isinstance(tensor, torch.nn.Parameter):
        return (tensor * scale).permute(*order).to(dtype)
    key = id(tensor)
    stamp = (tensor._version, scale, order, dtype)
    entry = _TORCH_KERNELS.get(key)
    if entry is not None and entry[0]() is tensor and entry[1] == stamp:
        return entry[2]
    # In torch's channels-last memory format: the one `_torch_conv`'s channels-last inputs make
    # oneDNN use, which would otherwise copy a contiguous kernel into it on every call.
    prepared = (tensor.permute(*order) * scale).to(dtype).contiguous(memory_format=torch.channels_last)
    _TORCH_KERNELS[key] = (weakref.ref(tensor, lambda _, key=key: _TORCH_KERNELS.pop(key, None)), stamp, prepared)
    return prepared


def _tap_windows(x, k, strides, rows, cols):
    """`((i, j), window)` per tap of a `k x k` kernel, row-major: the `rows x cols` inputs that
    tap meets at stride `strides` (a strided slice of channels-last `x`)."""
    for i in range(k):
        for j in range(k):
            yield (i, j), x[:, i : i + strides * (rows - 1) + 1 : strides, j : j + strides * (cols - 1) + 1 : strides]


@functools.lru_cache(maxsize=None)
def _jax_conv():
    import jax
    import jax.numpy as jnp

    def inference(x, kernel, strides, padding):
        if strides == 1 or padding != "valid" or not STRIDED_TAPS:
            return ops.conv(x, kernel, strides=strides, padding=padding)
        # Strided: one matmul per tap on its strided window, summed. XLA:CPU runs strided
        # 3x3 convolutions at 57-105 GFLOP/s (stride 1: ~270); this form is 1.1-1.7x faster
        # at this model's sizes (256x176x128 and 128x88x256 inputs, batch 1 and 4), and the
        # generator's forward 4-11%. Not when differentiated: in the train step it made the
        # temporaries 0.8 GB larger and the step ~10% slower.
        k = kernel.shape[0]
        rows = (x.shape[1] - k) // strides + 1
        cols = (x.shape[2] - k) // strides + 1
        y = None
        for (i, j), window in _tap_windows(x, k, strides, rows, cols):
            term = jnp.einsum("nhwc,co->nhwo", window, kernel[i, j])
            y = term if y is None else y + term
        return y

    @functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
    def conv(x, kernel, strides, padding):
        return inference(x, kernel, strides, padding)

    def conv_fwd(x, kernel, strides, padding):
        return ops.conv(x, kernel, strides=strides, padding=padding), (x, kernel)

    def conv_bwd(strides, padding, residuals, dy):
        x, kernel = residuals
        _, x_vjp = jax.vjp(lambda x: ops.conv(x, kernel, strides=strides, padding=padding), x)
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
        taps = [
            jnp.matmul(window.reshape(-1, x.shape[-1]).T, flat_dy)
            for _, window in _tap_windows(x, k, strides, rows, cols)
        ]
        dkernel = jnp.stack(taps).reshape(kernel.shape).astype(kernel.dtype)
        return dx, dkernel

    conv.defvjp(conv_fwd, conv_bwd)
    return conv
