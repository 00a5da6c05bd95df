"""Each TFLite operator mapping on its own, in a tiny Keras model, against a numpy reference
written from TFLite's definition (padding, strides, dilations, fused activations, corners)."""

import math

import keras
import numpy as np
import pytest

from keras_nted.pose import tflite_ops

RNG = np.random.default_rng(0)


def _run(function, x, constants, options):
    inputs = [keras.Input(shape=a.shape[1:]) for a in x]
    model = keras.Model(inputs[0] if len(inputs) == 1 else inputs, function([*inputs, *constants], options, "op"))
    return keras.ops.convert_to_numpy(model(x[0] if len(x) == 1 else x))


def _conv_options(padding, stride, dilation=1, act=0, **extra):
    return {
        "padding": padding,
        "stride_w": stride,
        "stride_h": stride,
        "fused_activation_function": act,
        "dilation_w_factor": dilation,
        "dilation_h_factor": dilation,
        **extra,
    }


def _same_pad(x, k, s, d, value=0.0):
    """TensorFlow's SAME padding of `x` (batch, h, w, c): the smaller half before."""
    pads = [(0, 0)]
    for n in x.shape[1:3]:
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads + [(0, 0)], constant_values=value)


def _windows(x, k, s, d, padding, value=0.0):
    """`(batch, oh, ow, k, k, c)` windows of `x`, padded as TFLite pads."""
    x = _same_pad(x, k, s, d, value) if padding == 0 else x
    oh, ow = (x.shape[1] - (k - 1) * d - 1) // s + 1, (x.shape[2] - (k - 1) * d - 1) // s + 1
    out = np.empty((x.shape[0], oh, ow, k, k, x.shape[3]), x.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, :, i, j] = x[:, i * d : i * d + (oh - 1) * s + 1 : s, j * d : j * d + (ow - 1) * s + 1 : s]
    return out


ACTIVATIONS = {0: lambda v: v, 1: lambda v: np.maximum(v, 0), 3: lambda v: np.clip(v, 0, 6), 4: np.tanh}


@pytest.mark.parametrize(
    "size, k, stride, dilation, padding, act",
    [
        (8, 3, 2, 1, 0, 3),
        (7, 3, 2, 1, 0, 1),
        (6, 5, 1, 1, 0, 0),
        (9, 3, 2, 1, 1, 3),
        (6, 2, 1, 1, 1, 0),
        (7, 3, 1, 2, 0, 4),
    ],
)
def test_conv_2d(size, k, stride, dilation, padding, act):
    x = RNG.normal(size=(2, size, size + 1, 3)).astype("float32")
    kernel = RNG.normal(size=(4, k, k, 3)).astype("float32")
    bias = RNG.normal(size=(4,)).astype("float32")
    got = _run(tflite_ops.conv_2d, [x], [kernel, bias], _conv_options(padding, stride, dilation, act))
    windows = _windows(x.astype("float64"), k, stride, dilation, padding)
    expected = ACTIVATIONS[act](np.einsum("bhwijc,oijc->bhwo", windows, kernel) + bias)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "size, k, stride, padding, multiplier", [(8, 3, 2, 0, 1), (7, 5, 1, 0, 2), (9, 3, 2, 1, 1), (7, 5, 1, 0, 1)]
)
def test_depthwise_conv_2d(size, k, stride, padding, multiplier):
    x = RNG.normal(size=(2, size, size, 3)).astype("float32")
    kernel = RNG.normal(size=(1, k, k, 3 * multiplier)).astype("float32")
    bias = RNG.normal(size=(3 * multiplier,)).astype("float32")
    options = _conv_options(padding, stride, act=3, depth_multiplier=multiplier)
    got = _run(tflite_ops.depthwise_conv_2d, [x], [kernel, bias], options)
    windows = _windows(x.astype("float64"), k, stride, 1, padding)
    # Output channel c * multiplier + m reads input channel c.
    taps = kernel[0].reshape(k, k, 3, multiplier)
    expected = np.einsum("bhwijc,ijcm->bhwcm", windows, taps).reshape(windows.shape[:3] + (3 * multiplier,))
    np.testing.assert_allclose(got, np.clip(expected + bias, 0, 6), rtol=1e-5, atol=1e-5)


def test_convolution_layer_round_trips_its_config():
    x = RNG.normal(size=(1, 9, 8, 3)).astype("float32")
    layer = tflite_ops.Convolution((3, 3, 3, 1), 2, ((0, 1), (1, 1)), "relu6", depthwise=True)
    layer.build(x.shape)
    layer.set_weights([RNG.normal(size=(3, 3, 3, 1)).astype("float32"), np.ones((3,), "float32")])
    copy = tflite_ops.Convolution.from_config(layer.get_config())
    copy.build(x.shape)
    copy.set_weights(layer.get_weights())
    got = keras.ops.convert_to_numpy(copy(x))
    assert got.shape == layer.compute_output_shape(x.shape) == (1, 4, 4, 3)
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(layer(x)), rtol=1e-6)


@pytest.mark.parametrize("size, padding", [(8, 1), (7, 0)])
def test_max_pool_2d(size, padding):
    x = RNG.normal(size=(1, size, size, 2)).astype("float32")
    options = {"padding": padding, "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}
    got = _run(tflite_ops.max_pool_2d, [x], [], {**options, "fused_activation_function": 0})
    expected = _windows(x, 2, 2, 1, padding, value=-np.inf).max(axis=(3, 4))
    np.testing.assert_array_equal(got, expected)


def test_add_concatenation_logistic():
    x, y = RNG.normal(size=(2, 2, 3, 4)).astype("float32") * 5, RNG.normal(size=(2, 2, 3, 4)).astype("float32")
    got = _run(tflite_ops.add, [x, y], [], {"fused_activation_function": 3})
    np.testing.assert_allclose(got, np.clip(x + y, 0, 6), rtol=1e-6)
    got = _run(tflite_ops.concatenation, [x, y], [], {"axis": -2, "fused_activation_function": 0})
    np.testing.assert_array_equal(got, np.concatenate([x, y], axis=-2))
    got = _run(tflite_ops.logistic, [x], [], {})
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-x)), rtol=1e-6)


def test_pad_and_reshape():
    x = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    paddings = np.array([[0, 0], [1, 2], [2, 1], [0, 0]], "int32")
    np.testing.assert_array_equal(_run(tflite_ops.pad, [x], [paddings], {}), np.pad(x, paddings))
    got = _run(tflite_ops.reshape, [x], [np.array([1, -1, 10], "int32")], {"new_shape": None})
    np.testing.assert_array_equal(got, x.reshape(2, -1, 10))
    with pytest.raises(ValueError, match="batch axis"):
        _run(tflite_ops.pad, [x], [np.array([[1, 0], [0, 0], [0, 0], [0, 0]])], {})


def test_depth_to_space():
    x = RNG.normal(size=(2, 3, 4, 12)).astype("float32")
    got = _run(tflite_ops.depth_to_space, [x], [], {"block_size": 2})
    expected = np.empty((2, 6, 8, 3), "float32")
    for i in range(2):
        for j in range(2):
            expected[:, i::2, j::2] = x[..., (i * 2 + j) * 3 : (i * 2 + j + 1) * 3]
    np.testing.assert_array_equal(got, expected)


def _resize_reference(x, out_h, out_w, align_corners, half_pixel_centers):
    """TFLite's RESIZE_BILINEAR, pixel by pixel."""

    def source(o, n_in, n_out):
        scale = (n_in - 1) / (n_out - 1) if align_corners and n_out > 1 else n_in / n_out
        s = (o + 0.5) * scale - 0.5 if half_pixel_centers else o * scale
        lo = math.floor(s)
        return max(lo, 0), min(math.ceil(s), n_in - 1), s - lo

    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for oy in range(out_h):
        y0, y1, fy = source(oy, x.shape[1], out_h)
        for ox in range(out_w):
            x0, x1, fx = source(ox, x.shape[2], out_w)
            top = x[:, y0, x0] * (1 - fx) + x[:, y0, x1] * fx
            bottom = x[:, y1, x0] * (1 - fx) + x[:, y1, x1] * fx
            out[:, oy, ox] = top * (1 - fy) + bottom * fy
    return out


@pytest.mark.parametrize("align_corners, half_pixel_centers", [(False, True), (True, False), (False, False)])
def test_resize_bilinear(align_corners, half_pixel_centers):
    x = RNG.normal(size=(2, 3, 5, 2)).astype("float32")
    options = {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}
    got = _run(tflite_ops.resize_bilinear, [x], [np.array([6, 7], "int32")], options)
    np.testing.assert_allclose(got, _resize_reference(x, 6, 7, align_corners, half_pixel_centers), atol=1e-5)


def test_dequantize_and_unsupported_activation():
    weights = RNG.normal(size=(3, 2)).astype("float16")
    folded = tflite_ops.dequantize([weights], {}, "op")
    assert folded.dtype == np.float32
    np.testing.assert_array_equal(folded, weights.astype("float32"))
    with pytest.raises(ValueError, match="Expected a float16 constant"):
        tflite_ops.dequantize([weights.astype("float32")], {}, "op")
    with pytest.raises(ValueError, match=r"Expected a fused activation .* Received: 2"):
        tflite_ops.activation(2)
