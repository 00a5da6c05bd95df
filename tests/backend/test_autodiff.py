"""The gradient plumbing shared by every backend's train step."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_nted.backend import autodiff
from keras_nted.losses import r1_penalty
from tests.helpers import to_numpy


def tiny_discriminator():
    inputs = keras.Input((6, 5, 2))
    x = keras.layers.Conv2D(3, 3, activation="tanh")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def test_input_grad_matches_finite_differences_and_r1():
    d = tiny_discriminator()
    x = np.random.default_rng(0).normal(size=(2, 6, 5, 2)).astype("float32")
    grads = to_numpy(autodiff.input_grad(lambda t: d(t), ops.convert_to_tensor(x)))
    eps = 1e-2
    numeric = np.zeros_like(x, dtype="float64")
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (to_numpy(d(plus)).sum() - to_numpy(d(minus)).sum()) / (2 * eps)
    np.testing.assert_allclose(grads, numeric, atol=2e-3, rtol=2e-2)
    expected_r1 = np.mean(np.sum(numeric**2, axis=(1, 2, 3)))
    assert float(to_numpy(r1_penalty(grads))) == pytest.approx(expected_r1, rel=2e-2)


def test_r1_gradient_reaches_the_discriminator_weights():
    # R1 is a double backprop: d penalty / d weights through d D / d x.
    d = tiny_discriminator()
    x = ops.convert_to_tensor(np.random.default_rng(1).normal(size=(2, 6, 5, 2)).astype("float32"))
    variables = d.trainable_variables

    def penalty():
        value = r1_penalty(autodiff.input_grad(lambda t: d(t), x))
        return value, value

    def run():
        return autodiff.value_and_grad(penalty, variables, variables)

    if autodiff.BACKEND == "jax":
        import jax  # the JAX path needs a stateless scope around the call, as in fit()

        values = [v.value for v in variables]

        def pure(vals):
            with keras.StatelessScope(state_mapping=list(zip(variables, vals))):
                loss, _, grads = run()
            return loss, grads

        loss, grads = jax.jit(pure)(values)
    else:
        loss, _, grads = run()
    kernel_grad = to_numpy(grads[0])
    assert kernel_grad.shape == tuple(variables[0].shape)
    assert np.abs(kernel_grad).sum() > 0
    # Finite difference on one kernel entry.
    kernel = to_numpy(variables[0]).copy()
    eps = 1e-2
    totals = []
    for sign in (1, -1):
        shifted = kernel.copy()
        shifted[0, 0, 0, 0] += sign * eps
        variables[0].assign(shifted)
        totals.append(float(to_numpy(r1_penalty(autodiff.input_grad(lambda t: d(t), x)))))
    variables[0].assign(kernel)
    numeric = (totals[0] - totals[1]) / (2 * eps)
    assert kernel_grad[0, 0, 0, 0] == pytest.approx(numeric, rel=5e-2, abs=1e-3)
