"""`backend.conv.conv2d` and the polyphase transposed convolution: the values and gradients of
`keras.ops.conv` / `keras.ops.conv_transpose` (on JAX the kernel gradient is computed another way)."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_nted.backend import autodiff
from keras_nted.backend import conv as conv_module
from keras_nted.backend.conv import conv2d
from keras_nted.backend.conv import conv_transpose_polyphase
from tests.helpers import to_numpy


@pytest.fixture(autouse=True)
def every_size_takes_the_custom_forms(monkeypatch):
    """These tests use small tensors: make JAX take its custom forms for them too."""
    monkeypatch.setattr(conv_module, "MIN_CUSTOM_MACS", 0)


def _gradients(fn, x, kernel):
    """`(value, d value / dx, d value / dkernel)` of a scalar `fn(x, kernel)`."""
    xv, kv = keras.Variable(x), keras.Variable(kernel)
    value, _, (dx, dk) = autodiff.value_and_grad(lambda: (fn(xv.value, kv.value), None), [xv, kv])
    return to_numpy(value), to_numpy(dx), to_numpy(dk)


# (kernel size, stride, padding): every convolution of the models, then other sizes.
CONV_CASES = [(3, 1, "same"), (3, 2, "valid"), (1, 1, "valid"), (1, 2, "valid"), (5, 1, "same"), (2, 3, "valid")]


@pytest.mark.parametrize("k,strides,padding", CONV_CASES)
def test_conv2d_values_and_gradients_are_keras_conv(k, strides, padding):
    rng = np.random.default_rng(k * 10 + strides)
    x = rng.normal(size=(2, 9, 8, 3)).astype("float32")
    kernel = rng.normal(size=(k, k, 3, 4)).astype("float32")
    out_shape = ops.conv(x, kernel, strides=strides, padding=padding).shape
    weights = ops.convert_to_tensor(rng.normal(size=out_shape).astype("float32"))
    ours = _gradients(lambda x, w: ops.sum(conv2d(x, w, strides, padding) * weights), x, kernel)
    keras_ = _gradients(lambda x, w: ops.sum(ops.conv(x, w, strides=strides, padding=padding) * weights), x, kernel)
    for a, b in zip(ours, keras_):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)
    # Not differentiated (JAX computes strided ones another way then).
    np.testing.assert_allclose(
        to_numpy(conv2d(x, kernel, strides, padding)), to_numpy(ops.conv(x, kernel, strides=strides, padding=padding)),
        atol=1e-5,
    )  # fmt: skip


def test_conv2d_second_order_gradients_are_keras_conv():
    # R1 differentiates d D / d x again with respect to the weights.
    rng = np.random.default_rng(5)
    x = ops.convert_to_tensor(rng.normal(size=(2, 7, 6, 3)).astype("float32"))
    kernel = rng.normal(size=(3, 3, 3, 2)).astype("float32")

    def penalty(conv):
        def fn(_, w):
            grad = autodiff.input_grad(lambda t: ops.tanh(conv(t, w)), x)
            return ops.sum(ops.square(grad))

        return fn

    ours = _gradients(penalty(lambda t, w: conv2d(t, w, 1, "same")), np.zeros(1, "float32"), kernel)
    keras_ = _gradients(penalty(lambda t, w: ops.conv(t, w, padding="same")), np.zeros(1, "float32"), kernel)
    np.testing.assert_allclose(ours[0], keras_[0], rtol=1e-5)
    np.testing.assert_allclose(ours[2], keras_[2], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("k,strides", [(3, 2), (4, 2), (5, 2), (3, 3), (3, 1), (1, 2)])
def test_polyphase_transposed_convolution_is_keras_conv_transpose(k, strides):
    rng = np.random.default_rng(k * 10 + strides)
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")
    kernel = rng.normal(size=(k, k, 6, 3)).astype("float32")
    expected = ops.conv_transpose(x, kernel, strides=strides, padding="valid")
    weights = ops.convert_to_tensor(rng.normal(size=expected.shape).astype("float32"))
    ours = _gradients(lambda x, w: ops.sum(conv_transpose_polyphase(x, w, strides) * weights), x, kernel)
    keras_ = _gradients(
        lambda x, w: ops.sum(ops.conv_transpose(x, w, strides=strides, padding="valid") * weights), x, kernel
    )  # fmt: skip
    np.testing.assert_allclose(to_numpy(conv_transpose_polyphase(x, kernel, strides)), to_numpy(expected), atol=1e-5)
    for a, b in zip(ours, keras_):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


def _assert_same_values_and_gradients(ours_fn, keras_fn, x, kernel, seed):
    """`ours_fn(x, kernel)` has `keras_fn(x, kernel)`'s values and gradients."""
    expected = keras_fn(x, kernel)
    weights = ops.convert_to_tensor(np.random.default_rng(seed).normal(size=expected.shape).astype("float32"))
    np.testing.assert_allclose(to_numpy(ours_fn(x, kernel)), to_numpy(expected), atol=1e-5)
    ours = _gradients(lambda x, w: ops.sum(ours_fn(x, w) * weights), x, kernel)
    for a, b in zip(ours, _gradients(lambda x, w: ops.sum(keras_fn(x, w) * weights), x, kernel)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


# (ours, keras', input shape, kernel shape as a function of k): the torch-direct forms.
OTHER_FORMS = {
    "depthwise": (conv_module.depthwise_conv2d, ops.depthwise_conv, (2, 9, 8, 3), lambda k: (k, k, 3, 1)),
    "transpose": (conv_module.conv_transpose2d, ops.conv_transpose, (2, 5, 4, 3), lambda k: (k, k, 6, 3)),
}


@pytest.mark.parametrize(
    "form,k,strides",
    [("depthwise", 4, 1), ("depthwise", 4, 2), ("depthwise", 3, 1), ("depthwise", 1, 2),
     ("transpose", 3, 2), ("transpose", 4, 2), ("transpose", 1, 2)],
)  # fmt: skip
def test_depthwise_and_transposed_forms_are_keras_ops(form, k, strides):
    ours_fn, keras_fn, x_shape, kernel_shape = OTHER_FORMS[form]
    rng = np.random.default_rng(k * 10 + strides)
    _assert_same_values_and_gradients(
        lambda x, w: ours_fn(x, w, strides),
        lambda x, w: keras_fn(x, w, strides=strides, padding="valid"),
        rng.normal(size=x_shape).astype("float32"), rng.normal(size=kernel_shape(k)).astype("float32"), k,
    )  # fmt: skip


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "transposed"])
def test_inference_kernels_follow_their_variable(transposed):
    """`scale` multiplies the kernel on every backend; torch's inference reuses a prepared kernel
    per variable, and a write to the variable (`assign`) is seen by the next call."""
    from keras_nted.layers import EqualizedConv2D
    from keras_nted.layers import EqualizedConv2DTranspose

    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 6, 5, 3)).astype("float32")
    layer = EqualizedConv2DTranspose(4, 3) if transposed else EqualizedConv2D(4, 3, padding="same")
    layer.build(x.shape)

    def expected():
        kernel = to_numpy(layer.kernel) * layer.scale
        if transposed:  # (no bias, as released)
            return to_numpy(ops.conv_transpose(x, kernel, strides=2, padding="valid"))
        return to_numpy(ops.conv(x, kernel, padding="same")) + to_numpy(layer.bias)

    with autodiff.no_grad():
        for _ in range(2):  # the second call reuses torch's prepared kernel
            np.testing.assert_allclose(to_numpy(layer(x)), expected(), atol=1e-5)
        layer.kernel.assign(rng.normal(size=layer.kernel.shape).astype("float32"))
        np.testing.assert_allclose(to_numpy(layer(x)), expected(), atol=1e-5)
    if keras.backend.backend() == "torch":
        import torch

        with torch.no_grad():
            first = conv_module.torch_kernel(layer.kernel, layer.scale, (3, 2, 0, 1), torch.float32)
            assert conv_module.torch_kernel(layer.kernel, layer.scale, (3, 2, 0, 1), torch.float32) is first
            # In the channels-last memory format of the inputs, so that oneDNN does not copy it per call.
            assert first.is_contiguous(memory_format=torch.channels_last)
        # With gradients the kernel is prepared per call, so that it stays differentiable.
        assert conv_module.torch_kernel(layer.kernel, layer.scale, (3, 2, 0, 1), torch.float32).requires_grad
