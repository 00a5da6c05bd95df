"""TFLite builtin operators as Keras layers and `keras.ops`, one function per operator.

Each function takes the operator's inputs (Keras tensors, or numpy arrays for constants), its
builtin options (as `tflite_file` reads them) and a name, and returns its output. Operators on
constants only (`DEQUANTIZE` of float16 weights, `DENSIFY` of sparse ones) are folded in numpy
when the model is built. Weights become the variables of Keras layers (`Convolution`, or
`Conv2D` / `DepthwiseConv2D` for the dilated and depth-multiplied forms BlazePose does not use),
so a saved or exported model carries them.

TFLite's conventions, as the reference kernels (`tensorflow/lite/kernels/internal/reference`)
define them: images `(batch, height, width, channels)`; convolution filters
`(out, height, width, in)`, depthwise ones `(1, height, width, in * multiplier)` with output
channel `c * multiplier + k`; padding `SAME` pads `max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)`
in all, the smaller half before (TensorFlow's rule, which Keras' `"same"` follows on every
backend); `VALID` pads nothing.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_nted.backend.conv import conv2d_bias_relu
from keras_nted.backend.conv import depthwise_conv2d_bias
from keras_nted.utils.gather import gather

PADDINGS = {0: "same", 1: "valid"}
# schema.fbs `ActivationFunctionType` (RELU_N1_TO_1 and SIGN_BIT have no Keras activation).
ACTIVATIONS = {0: None, 1: "relu", 3: "relu6", 4: "tanh"}


def activation(code):
    """The Keras activation of a fused activation code."""
    if code not in ACTIVATIONS:
        raise ValueError(
            f"Expected a fused activation in {sorted(ACTIVATIONS)} (NONE, RELU, RELU6, TANH). Received: {code}"
        )
    return ACTIVATIONS[code]


def _padding(options):
    if options["padding"] not in PADDINGS:
        raise ValueError(f"Expected padding 0 (SAME) or 1 (VALID). Received: padding={options['padding']}")
    return PADDINGS[options["padding"]]


def _with_weights(layer, x, weights):
    layer.build(x.shape)
    layer.set_weights(weights)
    return layer(x)


def _bias(inputs, channels, dtype="float32"):
    has_bias = len(inputs) > 2 and inputs[2] is not None
    return np.asarray(inputs[2], dtype) if has_bias else np.zeros((channels,), dtype)


def _paddings(x, kernel_size, options):
    """`((top, bottom), (left, right))` of a SAME or VALID convolution of `x` (TFLite's rule)."""
    if _padding(options) == "valid":
        return ((0, 0), (0, 0))
    pairs = []
    for n, k, s in zip(x.shape[1:3], kernel_size, (options["stride_h"], options["stride_w"])):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)


def _fast_form(x, kernel_size, options):
    """Whether `Convolution` computes this operator: square kernel and strides, no dilation,
    known spatial size, a ReLU / ReLU6 / no activation."""
    return (
        kernel_size[0] == kernel_size[1]
        and options["stride_h"] == options["stride_w"]
        and options["dilation_h_factor"] == options["dilation_w_factor"] == 1
        and None not in x.shape[1:3]
        and activation(options["fused_activation_function"]) in (None, "relu", "relu6")
    )


def _convolution(x, weights, options, name, depthwise):
    """`Convolution` of `x` with `weights = [kernel (k, k, in, out), bias]`."""
    paddings = _paddings(x, weights[0].shape[:2], options)
    code = options["fused_activation_function"]
    layer = Convolution(weights[0].shape, options["stride_h"], paddings, activation(code), depthwise, name=name)
    return _with_weights(layer, x, weights)


def conv_2d(inputs, options, name):
    """CONV_2D: `inputs = (x, filter (out, kh, kw, in), bias (out,) or None)`."""
    x, kernel = inputs[0], np.asarray(inputs[1], "float32")
    weights = [kernel.transpose(1, 2, 3, 0), _bias(inputs, kernel.shape[0])]
    if _fast_form(x, kernel.shape[1:3], options):
        return _convolution(x, weights, options, name, depthwise=False)
    layer = keras.layers.Conv2D(
        kernel.shape[0],
        kernel.shape[1:3],
        strides=(options["stride_h"], options["stride_w"]),
        padding=_padding(options),
        dilation_rate=(options["dilation_h_factor"], options["dilation_w_factor"]),
        activation=activation(options["fused_activation_function"]),
        name=name,
    )
    return _with_weights(layer, x, weights)


def depthwise_conv_2d(inputs, options, name):
    """DEPTHWISE_CONV_2D: `inputs = (x, filter (1, kh, kw, in * multiplier), bias or None)`."""
    x, kernel = inputs[0], np.asarray(inputs[1], "float32")
    channels = x.shape[-1]
    multiplier = kernel.shape[-1] // channels
    weights = [kernel[0].reshape(kernel.shape[1], kernel.shape[2], channels, multiplier)]
    weights.append(_bias(inputs, kernel.shape[-1]))
    if multiplier == 1 and _fast_form(x, kernel.shape[1:3], options):
        return _convolution(x, weights, options, name, depthwise=True)
    layer = keras.layers.DepthwiseConv2D(
        kernel.shape[1:3],
        strides=(options["stride_h"], options["stride_w"]),
        padding=_padding(options),
        depth_multiplier=multiplier,
        dilation_rate=(options["dilation_h_factor"], options["dilation_w_factor"]),
        activation=activation(options["fused_activation_function"]),
        name=name,
    )
    return _with_weights(layer, x, weights)


def max_pool_2d(inputs, options, name):
    """MAX_POOL_2D: `inputs = (x,)`."""
    layer = keras.layers.MaxPooling2D(
        (options["filter_height"], options["filter_width"]),
        strides=(options["stride_h"], options["stride_w"]),
        padding=_padding(options),
        name=name,
    )
    return _activate(layer(inputs[0]), options, name)


def _activate(x, options, name):
    code = options["fused_activation_function"]
    return x if activation(code) is None else keras.layers.Activation(activation(code), name=f"{name}_act")(x)


def add(inputs, options, name):
    """ADD: `inputs = (x, y)`, broadcast."""
    return _activate(keras.layers.Add(name=name)(list(inputs)), options, name)


def concatenation(inputs, options, name):
    """CONCATENATION along `axis`."""
    return _activate(keras.layers.Concatenate(axis=options["axis"], name=name)(list(inputs)), options, name)


def logistic(inputs, options, name):
    """LOGISTIC: the sigmoid."""
    return keras.layers.Activation("sigmoid", name=name)(inputs[0])


def pad(inputs, options, name):
    """PAD with zeros: `inputs = (x, paddings (rank, 2))`; the batch axis is never padded."""
    paddings = np.asarray(inputs[1]).tolist()
    if paddings[0] != [0, 0]:
        raise ValueError(f"Expected no padding of the batch axis. Received: paddings={paddings}")
    return ops.pad(inputs[0], paddings)


def reshape(inputs, options, name):
    """RESHAPE to `inputs[1]` (or the `new_shape` option); the batch axis stays free."""
    shape = np.asarray(inputs[1]).tolist() if len(inputs) > 1 and inputs[1] is not None else options["new_shape"]
    known = int(np.prod(inputs[0].shape[1:]))
    rest = [d for d in shape[1:] if d != -1]
    shape = [known // int(np.prod(rest)) if d == -1 else d for d in shape[1:]]
    return keras.layers.Reshape(shape, name=name)(inputs[0])


def depth_to_space(inputs, options, name):
    """DEPTH_TO_SPACE: `(b, h, w, s * s * c) -> (b, h * s, w * s, c)`, channel `(i * s + j) * c + k`
    of pixel `(y, x)` going to pixel `(y * s + i, x * s + j)`."""
    return DepthToSpace(options["block_size"], name=name)(inputs[0])


def resize_bilinear(inputs, options, name):
    """RESIZE_BILINEAR to `inputs[1] = (height, width)`, TFLite's corner rules."""
    size = np.asarray(inputs[1]).tolist()
    return ResizeBilinear(size, options["align_corners"], options["half_pixel_centers"], name=name)(inputs[0])


def dequantize(inputs, options, name):
    """DEQUANTIZE of a float16 constant: float32, folded when the model is built."""
    if not isinstance(inputs[0], np.ndarray) or inputs[0].dtype != np.float16:
        raise ValueError(f"Expected a float16 constant to dequantize. Received: {name}")
    return inputs[0].astype("float32")


def densify(values, shape, sparsity):
    """A sparse constant (TFLite's `SparsityParameters`, compressed sparse row per dimension)
    made dense, in numpy.

    Args:
        values: the stored values, in traversal order.
        shape: the dense shape.
        sparsity: a `tflite_file.Sparsity`.

    Returns:
        The dense array, `shape`, the dtype of `values`.
    """
    rank = len(shape)
    order, block_map = list(sparsity.traversal_order), list(sparsity.block_map)
    positions = np.zeros((1,), "int64")
    coordinates = np.zeros((len(order), 1), "int64")
    for level, meta in enumerate(sparsity.dim_metadata):
        if meta[0] == "dense":
            count, size = positions.size, meta[1]
            parents = np.repeat(np.arange(count), size)
            here = np.tile(np.arange(size), count)
            positions = positions[parents] * size + here
        else:
            segments, indices = meta[1], meta[2]
            counts = segments[positions + 1] - segments[positions]
            parents = np.repeat(np.arange(positions.size), counts)
            positions = np.concatenate(
                [np.arange(a, b) for a, b in zip(segments[:-1][positions], segments[1:][positions])]
            )
            here = indices[positions]
        coordinates = coordinates[:, parents]
        coordinates[order[level]] = here
    dense = np.zeros(shape, values.dtype)
    index = coordinates[:rank].copy()
    for block, dim in enumerate(block_map):
        index[dim] = index[dim] * sparsity.dim_metadata[order.index(rank + block)][1] + coordinates[rank + block]
    dense[tuple(index)] = values[positions]
    return dense


def densify_op(inputs, options, name):
    """DENSIFY: see `densify`; folded when the model is built (`inputs[0]` is a `tflite_file.Tensor`)."""
    tensor = inputs[0]
    return densify(tensor.data, tensor.shape, tensor.sparsity)


@keras.saving.register_keras_serializable(package="keras_nted")
class Convolution(keras.layers.Layer):
    """A convolution or depthwise convolution with bias and activation, in each backend's fast
    form (`keras_nted.backend.conv`: taps on JAX, channels-last oneDNN on torch).

    Args:
        kernel_shape: `(k, k, in, out)`, or `(k, k, channels, 1)` when `depthwise`.
        strides: an integer stride for both axes.
        paddings: `((top, bottom), (left, right))` zeros added to the input.
        activation: None, `"relu"` or `"relu6"`.
        depthwise: a depthwise convolution (depth multiplier 1).

    Call arguments:
        inputs: `(batch, height, width, in)`.

    Returns:
        `(batch, height', width', out)` ("valid" convolution of the padded input).
    """

    def __init__(self, kernel_shape, strides, paddings, activation=None, depthwise=False, **kwargs):
        super().__init__(**kwargs)
        if activation not in (None, "relu", "relu6"):
            raise ValueError(f"Expected activation None, 'relu' or 'relu6'. Received: activation={activation!r}")
        self.kernel_shape = tuple(int(d) for d in kernel_shape)
        self.strides = int(strides)
        self.paddings = tuple(tuple(int(p) for p in pair) for pair in paddings)
        self.activation = activation
        self.depthwise = bool(depthwise)

    @property
    def filters(self):
        return self.kernel_shape[2] if self.depthwise else self.kernel_shape[3]

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=self.kernel_shape, initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, inputs):
        if self.depthwise:
            y = depthwise_conv2d_bias(inputs, self.kernel, self.bias, self.strides, self.paddings)
        else:
            k = self.kernel_shape[0]
            if self.strides == 1 and self.paddings == (((k - 1) // 2, k // 2),) * 2:
                padding = "same"
            else:
                padding = "valid"
                if any(p for pair in self.paddings for p in pair):
                    inputs = ops.pad(inputs, [(0, 0), *self.paddings, (0, 0)])
            y = conv2d_bias_relu(inputs, self.kernel, self.bias, self.strides, padding, self.activation == "relu")
            if self.activation == "relu":
                return y
        return y if self.activation is None else keras.activations.get(self.activation)(y)

    def compute_output_shape(self, input_shape):
        k, s = self.kernel_shape[0], self.strides
        spatial = [
            None if n is None else (n + sum(pair) - k) // s + 1 for n, pair in zip(input_shape[1:3], self.paddings)
        ]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_shape": self.kernel_shape,
            "strides": self.strides,
            "paddings": self.paddings,
            "activation": self.activation,
            "depthwise": self.depthwise,
        }


@keras.saving.register_keras_serializable(package="keras_nted")
class DepthToSpace(keras.layers.Layer):
    """Moves `block_size x block_size` channel groups into space (TFLite's DEPTH_TO_SPACE).

    Args:
        block_size: the spatial factor.

    Call arguments:
        inputs: `(batch, height, width, block_size ** 2 * channels)`.

    Returns:
        `(batch, height * block_size, width * block_size, channels)`.
    """

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"Expected a positive integer. Received: block_size={block_size}")
        self.block_size = block_size

    def call(self, inputs):
        _, h, w, c = inputs.shape
        s = self.block_size
        x = ops.reshape(inputs, (-1, h, w, s, s, c // (s * s)))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, h * s, w * s, c // (s * s)))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        s = self.block_size
        return (b, h * s, w * s, c // (s * s))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


def bilinear_taps(in_size, out_size, align_corners, half_pixel_centers):
    """The two source indices and the weight of the second, per output index (TFLite's rule);
    at the edges both indices are the same pixel, whatever the weight.

    >>> bilinear_taps(2, 4, False, True)
    (array([0, 0, 0, 1]), array([0, 1, 1, 1]), array([0.75, 0.25, 0.75, 0.25], dtype=float32))
    """
    scale = (in_size - 1) / (out_size - 1) if align_corners and out_size > 1 else in_size / out_size
    out = np.arange(out_size, dtype="float64")
    source = (out + 0.5) * scale - 0.5 if half_pixel_centers else out * scale
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype("int64")
    upper = np.minimum(np.ceil(source), in_size - 1).astype("int64")
    return lower, upper, (source - floor).astype("float32")


@keras.saving.register_keras_serializable(package="keras_nted")
class ResizeBilinear(keras.layers.Layer):
    """Bilinear resizing with TFLite's RESIZE_BILINEAR sampling: two taps per axis, clamped at
    the edges, source coordinates from `align_corners` / `half_pixel_centers`.

    Args:
        size: `(height, width)` of the output.
        align_corners: corner pixels' centres coincide.
        half_pixel_centers: pixel centres at half-integers (TensorFlow 2's resize).

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, size[0], size[1], channels)`.
    """

    def __init__(self, size, align_corners=False, half_pixel_centers=True, **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(int(s) for s in size)
        self.align_corners = bool(align_corners)
        self.half_pixel_centers = bool(half_pixel_centers)

    def build(self, input_shape):
        # The taps from the static input size (a traced shape, as torch's ONNX exporter gives, is
        # not a number numpy can take).
        self._taps = [
            bilinear_taps(int(input_shape[axis]), out_size, self.align_corners, self.half_pixel_centers)
            for axis, out_size in ((1, self.size[0]), (2, self.size[1]))
        ]

    def _axis(self, x, axis, out_size):
        lower, upper, weight = self._taps[axis - 1]
        shape = [1, 1, 1, 1]
        shape[axis] = out_size
        weight = ops.cast(np.reshape(weight, shape), x.dtype)
        first = gather(x, lower, axis=axis)
        return first + (gather(x, upper, axis=axis) - first) * weight

    def call(self, inputs):
        return self._axis(self._axis(inputs, 1, self.size[0]), 2, self.size[1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "align_corners": self.align_corners,
            "half_pixel_centers": self.half_pixel_centers,
        }


OPERATORS = {
    "ADD": add,
    "CONCATENATION": concatenation,
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "DEPTH_TO_SPACE": depth_to_space,
    "DEQUANTIZE": dequantize,
    "LOGISTIC": logistic,
    "MAX_POOL_2D": max_pool_2d,
    "RESHAPE": reshape,
    "RESIZE_BILINEAR": resize_bilinear,
    "PAD": pad,
    "DENSIFY": densify_op,
}
