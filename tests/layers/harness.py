"""The one place tests reach keras' own layer test harness.

`keras.src.testing.TestCase.run_layer_test` checks a layer's `get_config` / `from_config`
and serialization round trips, its build, a symbolic and an eager call, a compiled training
step and the mixed-precision dtypes. It lives in `keras.src` (private), so every layer test
calls it through `run_layer_test` below: if keras moves it, one file changes.

Keras' training check calls `layer(inputs)` with the inputs as one positional argument, so
it cannot train a layer that takes several call arguments (keras' own attention tests switch
it off). For those, `run_layer_test` runs its own check: the layer inside a functional model,
`fit` for one step, and every trainable weight must have moved.
"""

import warnings

import keras
import numpy as np
from keras import ops
from keras.src.testing import TestCase


class _LayerTestCase(TestCase):
    def runTest(self):  # unittest needs a test method to instantiate the case.
        pass


def run_layer_test(layer_cls, init_kwargs, input_shape=None, input_data=None, **kwargs):
    """`TestCase.run_layer_test(layer_cls, init_kwargs, ...)` usable from a pytest function.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_shape: a shape tuple, or for a layer with several call arguments a dict
            `{"<argument>_shape": shape}` (keras' convention: `build` receives the same names).
        input_data: concrete inputs instead of `input_shape` (one tensor or a tuple).
        **kwargs: any other argument of keras' `run_layer_test` (`expected_output_shape`,
            `expected_output_dtype`, `expected_num_trainable_weights`, ...).
    """
    multiple_inputs = isinstance(input_shape, dict)
    if multiple_inputs:
        own_training_check = kwargs.pop("run_training_check", True)
        kwargs["run_training_check"] = False
    elif input_shape is not None:
        # Keras would draw the inputs with the backend's RNG; on JAX that compiles a random
        # kernel for every new shape (about a second each). Numpy inputs test the same thing.
        input_data, input_shape = _numpy_inputs(input_shape), None
    case = _LayerTestCase()
    case.setUp()
    try:
        with warnings.catch_warnings():
            # Keras' training check feeds a generator and also trains weightless layers.
            warnings.filterwarnings("ignore", "`shuffle=True` was passed", UserWarning)
            warnings.filterwarnings("ignore", "The model does not have any trainable weights", UserWarning)
            case.run_layer_test(layer_cls, init_kwargs, input_shape=input_shape, input_data=input_data, **kwargs)
    finally:
        case.doCleanups()
    if multiple_inputs and own_training_check:
        _fit_one_step(layer_cls(**init_kwargs), input_shape)


def _numpy_inputs(shape, rng=None):
    """Uniform [0, 3) float32 arrays (keras' range) for a shape or a tuple / list of shapes."""
    rng = rng or np.random.default_rng(0)
    if all(isinstance(d, int) for d in shape):
        return (3.0 * rng.random(shape)).astype("float32")
    return type(shape)(_numpy_inputs(s, rng) for s in shape)


def _fit_one_step(layer, shapes):
    """Train `layer` (called with keyword arguments) for one step of `fit` in a functional model."""
    names = [name.removesuffix("_shape") for name in shapes]
    inputs = {name: keras.Input(batch_shape=shapes[f"{name}_shape"], name=name) for name in names}
    outputs = layer(**inputs)
    # One scalar per sample that depends on every output, so every weight gets a gradient.
    score = sum(
        ops.mean(ops.square(ops.cast(o, "float32")), axis=tuple(range(1, len(o.shape))))
        for o in keras.tree.flatten(outputs)
    )
    model = keras.Model(inputs, score)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda y_true, y_pred: ops.mean(y_pred))
    before = [np.array(w) for w in layer.trainable_weights]
    rng = np.random.default_rng(0)
    data = {name: rng.normal(size=shapes[f"{name}_shape"]).astype("float32") for name in names}
    batch = next(iter(shapes.values()))[0]
    history = model.fit(data, np.zeros((batch,), "float32"), batch_size=batch, epochs=1, verbose=0)
    loss = history.history["loss"][-1]
    if not np.isfinite(loss):
        raise AssertionError(f"{type(layer).__name__}: non-finite loss {loss} after one training step")
    unchanged = [w.path for w, old in zip(layer.trainable_weights, before) if np.array_equal(np.array(w), old)]
    if unchanged:
        raise AssertionError(f"{type(layer).__name__}: one training step left weights unchanged: {unchanged}")
