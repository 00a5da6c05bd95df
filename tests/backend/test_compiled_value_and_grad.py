"""`compiled_value_and_grad`: the gradient of a function of its arguments, compiled once."""

import keras
import numpy as np
from keras import ops

from keras_nted.backend import autodiff


def test_gradient_and_value_match_the_formula_and_follow_the_variables():
    w = keras.Variable(np.array([1.0, -2.0, 3.0], "float32"))
    frozen = keras.Variable(np.array([0.5, 0.5, 0.5], "float32"), trainable=False)

    def fn(x, target):
        y = ops.sum(ops.square(w * x * frozen - target))
        return y, w * x

    step = autodiff.compiled_value_and_grad(fn, [w])
    x = ops.convert_to_tensor(np.array([1.0, 2.0, 4.0], "float32"))
    target = ops.convert_to_tensor(np.zeros(3, "float32"))
    for values in ([1.0, -2.0, 3.0], [0.0, 1.0, 2.0]):
        w.assign(np.array(values, "float32"))
        loss, aux, (grad,) = step(x, target)
        v = np.array(values, "float32")
        xs = np.array([1.0, 2.0, 4.0], "float32")
        np.testing.assert_allclose(float(ops.convert_to_numpy(loss)), np.sum((v * xs * 0.5) ** 2), rtol=1e-6)
        np.testing.assert_allclose(ops.convert_to_numpy(grad), 2 * v * (xs * 0.5) ** 2, rtol=1e-6)
        np.testing.assert_allclose(ops.convert_to_numpy(aux), v * xs, rtol=1e-6)
