"""`upfirdn2d`, `Blur` and `Upsample` against a plain numpy loop (the released `upfirdn2d`, `Blur`, `Upsample`)."""

import keras
import numpy as np
import pytest

from keras_nted.layers import Blur
from keras_nted.layers import Upsample
from keras_nted.layers import upfirdn2d
from keras_nted.layers.resample import _upfirdn2d_depthwise
from keras_nted.layers.resample import _upfirdn2d_separable
from keras_nted.layers.resample import make_kernel
from keras_nted.layers.resample import separable_factors
from tests.layers.harness import run_layer_test

K = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype("float32") / 64.0


def upfirdn2d_reference(x, kernel, up=1, down=1, pad=(0, 0)):
    """Spec §1.2 step by step, per channel: zero insertion, pad / crop, true convolution, stride."""
    batch, height, width, channels = x.shape
    p0, p1 = pad
    # 1. up - 1 zeros after every sample.
    z = np.zeros((batch, height * up, width * up, channels), "float64")
    z[:, ::up, ::up, :] = x
    # 2. Zero-pad p0 before and p1 after on both axes; negative values crop.
    z = np.pad(z, [(0, 0), (max(p0, 0), max(p1, 0)), (max(p0, 0), max(p1, 0)), (0, 0)])
    z = z[:, max(-p0, 0) : z.shape[1] - max(-p1, 0), max(-p0, 0) : z.shape[2] - max(-p1, 0), :]
    # 3. True convolution: out[i, j] = sum_{a, b} z[i + a, j + b] * kernel[kh - 1 - a, kw - 1 - b].
    kh, kw = kernel.shape
    out = np.zeros((batch, z.shape[1] - kh + 1, z.shape[2] - kw + 1, channels), "float64")
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            for a in range(kh):
                for b in range(kw):
                    out[:, i, j, :] += z[:, i + a, j + b, :] * kernel[kh - 1 - a, kw - 1 - b]
    # 4. Every `down`-th sample, starting at 0.
    return out[:, ::down, ::down, :]


def expected_side(n, kernel_size, up, down, pad):
    return (n * up + pad[0] + pad[1] - kernel_size) // down + 1


# (kernel, up, down, pad): every combination the models use (as released), then a crop and strides.
CASES = {
    "blur_K_pad22": (K, 1, 1, (2, 2)),  # encoder down-layer / D ResBlock conv2
    "blur_K_pad11": (K, 1, 1, (1, 1)),  # D ResBlock skip
    "blur_4K_pad11": (4 * K, 1, 1, (1, 1)),  # decoder up-layer, after the (2H+1) transposed conv
    "upsample_4K_up2_pad21": (4 * K, 2, 1, (2, 1)),  # ToRGB skip
    "crop": (4 * K, 2, 1, (-1, -2)),
    "crop_one_side": (K, 1, 1, (2, -1)),
    "down2": (K, 1, 2, (2, 1)),
    "up2_down2": (4 * K, 2, 2, (1, 1)),
}
# Odd, even and mixed, never square; (9, 7) is a 2H+1 size the decoder blur receives.
SIZES = [(9, 7), (8, 6), (6, 11)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_upfirdn2d_matches_numpy_loop(case, size):
    kernel, up, down, pad = CASES[case]
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(upfirdn2d(x, kernel, up=up, down=down, pad=pad))
    expected = upfirdn2d_reference(x, kernel, up, down, pad)
    assert out.shape == (2, expected_side(size[0], 4, up, down, pad), expected_side(size[1], 4, up, down, pad), 3)
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("up,down,pad", [(1, 1, (2, 1)), (2, 1, (2, 1)), (2, 2, (0, -1))])
def test_upfirdn2d_is_a_true_convolution(up, down, pad):
    # An asymmetric kernel tells convolution from correlation (the models' kernels are symmetric).
    kernel = np.arange(1.0, 13.0, dtype="float32").reshape(3, 4) / 78.0
    x = np.random.default_rng(2).normal(size=(1, 5, 7, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(upfirdn2d(x, kernel, up=up, down=down, pad=pad))
    np.testing.assert_allclose(out, upfirdn2d_reference(x, kernel, up, down, pad), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("up,down,pad", [(1, 1, (2, 1)), (2, 1, (2, 1)), (2, 2, (0, -1)), (1, 2, (3, 0))])
def test_separable_path_is_a_true_convolution_and_equals_the_depthwise_path(up, down, pad):
    # Rank 1 but asymmetric along both axes: the two 1-D passes must flip their own taps.
    kernel = np.outer([1.0, 2.0, 4.0], [1.0, 5.0, 2.0, 7.0]).astype("float32") / 105.0
    column, row = separable_factors(kernel)
    np.testing.assert_allclose(np.outer(column, row), kernel, rtol=1e-7)
    x = np.random.default_rng(3).normal(size=(2, 6, 7, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(_upfirdn2d_separable(x, (column, row), up, down, pad))
    np.testing.assert_allclose(out, upfirdn2d_reference(x, kernel, up, down, pad), atol=1e-6, rtol=1e-5)
    depthwise = keras.ops.convert_to_numpy(_upfirdn2d_depthwise(x, kernel, up, down, pad))
    np.testing.assert_allclose(out, depthwise, atol=1e-6, rtol=1e-5)


def test_only_rank_one_kernels_take_the_separable_path():
    assert separable_factors(K) is not None
    assert separable_factors(np.arange(1.0, 13.0).reshape(3, 4)) is None  # rank 2
    assert separable_factors(np.eye(3)) is None


def test_make_kernel():
    np.testing.assert_allclose(make_kernel(), K)
    np.testing.assert_allclose(make_kernel(gain=4).sum(), 4.0, rtol=1e-6)


@pytest.mark.parametrize("size", [(8, 6), (9, 7), (7, 4)])
def test_blur_shapes_and_values(size):
    x = np.random.default_rng(3).normal(size=(2, *size, 5)).astype("float32")
    for pad, gain in (((2, 2), 1.0), ((1, 1), 1.0), ((1, 1), 4.0)):
        layer = Blur(pad=pad, gain=gain)
        out = keras.ops.convert_to_numpy(layer(x))
        shape = (2, size[0] + sum(pad) - 3, size[1] + sum(pad) - 3, 5)
        assert out.shape == shape == layer.compute_output_shape(x.shape)
        np.testing.assert_allclose(out, upfirdn2d_reference(x, gain * K, pad=pad), atol=1e-5, rtol=1e-5)
    # The decoder's (2H+1) -> 2H.
    h, w = size
    assert Blur(pad=(1, 1), gain=4)(np.zeros((1, 2 * h + 1, 2 * w + 1, 2), "float32")).shape == (1, 2 * h, 2 * w, 2)
    assert Blur(pad=(2, 2)).compute_output_shape((None, None, w, 3)) == (None, None, w + 1, 3)


@pytest.mark.parametrize("size", [(4, 3), (5, 8)])
def test_upsample_shapes_and_values(size):
    x = np.random.default_rng(4).normal(size=(2, *size, 3)).astype("float32")
    layer = Upsample(2)
    assert layer.pad == (2, 1)
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (2, 2 * size[0], 2 * size[1], 3) == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(out, upfirdn2d_reference(x, 4 * K, up=2, pad=(2, 1)), atol=1e-5, rtol=1e-5)
    # A constant image stays constant away from the zero-padded border (the 4K gain).
    inner = keras.ops.convert_to_numpy(layer(np.ones((1, 6, 6, 1), "float32")))[0, 2:-2, 2:-2, 0]
    np.testing.assert_allclose(inner, 1.0, rtol=1e-6)


def test_layer_harness_blur():
    run_layer_test(
        Blur,
        {"pad": (1, 1), "gain": 4.0},
        input_shape=(2, 9, 7, 3),
        expected_output_shape=(2, 8, 6, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )


def test_layer_harness_upsample():
    run_layer_test(
        Upsample,
        {"factor": 2},
        input_shape=(2, 3, 5, 2),
        expected_output_shape=(2, 6, 10, 2),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda x: upfirdn2d(x, np.ones(4, "float32")),  # 1-D kernel
        lambda x: upfirdn2d(x, K, up=0),
        lambda x: upfirdn2d(x, K, down=1.5),
        lambda x: Blur(pad=(1, 1, 1)),
        lambda x: Blur(pad=(1, 1), kernel=(1, -1)),  # zero-sum kernel
        lambda x: Upsample(factor=0),
        lambda x: Upsample(factor=2.0),
    ],
    ids=["kernel_1d", "up_0", "down_float", "blur_pad_3", "blur_zero_sum", "upsample_0", "upsample_float"],
)
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call(np.zeros((1, 4, 4, 1), "float32"))


def test_blur_integer_pad_raises_value_error():
    with pytest.raises(ValueError):
        Blur(pad=2)
