"""`backend.activations.fused_leaky_relu`: `scale * leaky_relu(x + bias)`, values and gradients."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_nted.backend import autodiff
from keras_nted.backend.activations import fused_leaky_relu
from tests.helpers import to_numpy


def _reference(x, bias, slope, scale):
    y = x + (0.0 if bias is None else bias)
    return scale * np.where(y >= 0, y, slope * y)


@pytest.mark.parametrize("use_bias, scale", [(True, 2.0**0.5), (False, 2.0**0.5), (True, -0.5)])
def test_fused_leaky_relu_values_and_gradients(use_bias, scale):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")
    bias = rng.normal(size=(3,)).astype("float32") if use_bias else None
    with autodiff.no_grad():  # torch: the in-place form
        out = to_numpy(fused_leaky_relu(x, bias, 0.2, scale))
    np.testing.assert_allclose(out, _reference(x, bias, 0.2, scale), rtol=1e-6, atol=1e-6)

    variables = [keras.Variable(x)] + ([keras.Variable(bias)] if use_bias else [])
    probe = ops.convert_to_tensor(rng.normal(size=x.shape).astype("float32"))

    def loss():
        b = variables[1].value if use_bias else None
        return ops.sum(fused_leaky_relu(variables[0].value, b, 0.2, scale) * probe), None

    grads = [to_numpy(g) for g in autodiff.value_and_grad(loss, variables)[2]]
    y = x + (0.0 if bias is None else bias)
    dx = to_numpy(probe) * scale * np.where(y >= 0, 1.0, 0.2)
    np.testing.assert_allclose(grads[0], dx, rtol=1e-5, atol=1e-6)
    if use_bias:
        np.testing.assert_allclose(grads[1], dx.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
