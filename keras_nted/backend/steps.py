"""Keras' train functions for a stateful step on every backend (the JAX branch of `NTEDGAN`'s steps).

Keras' JAX trainer calls a step as `step(state, data) -> (logs, state)` on explicit variable
values; TensorFlow and torch call `step(data) -> logs` on the variables themselves. With
these, a model writes its step once, statefully, as `step_fn(data) -> logs`:

- `run_step(step_fn, variable_groups, *args)`: runs `step_fn` under the backend's signature
  (`variable_groups`: `train_variables(model)` or `test_variables(model)`);
- `make_train_function(model, step_fn)`: Keras' train function of `step_fn` (jit,
  tf.function or eager, as the model was compiled). A model with several kinds of step (the
  GAN's phases) makes one per kind; on JAX each gets its own jitted function, since JAX
  caches traces by function identity. It calls Keras' own function makers
  (`Trainer._make_function`; torch's one-step wrapper), pinned by the tests of `fit` on
  every backend.
"""

import keras

from keras_nted.backend.autodiff import stateless_step

BACKEND = keras.backend.backend()


def train_variables(model):
    """The variable lists of Keras' JAX training state, in its order."""
    return [model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
            model.metrics_variables]  # fmt: skip


def test_variables(model):
    """The variable lists of Keras' JAX evaluation state, in its order."""
    return [model.trainable_variables, model.non_trainable_variables, model.metrics_variables]


if BACKEND == "jax":
    import jax

    def run_step(step_fn, variable_groups, *args):
        state, data = args
        return stateless_step(step_fn, variable_groups, state, data)

    def make_train_function(model, step_fn):
        def train_step(state, data):  # a fresh function per call: its own jit cache
            return stateless_step(step_fn, train_variables(model), state, data)

        if model.jit_compile and not model.run_eagerly:
            shardings = None
            if keras.distribution.distribution() is not None:
                shardings = (None, model._get_state_sharding_spec())
            train_step = jax.jit(train_step, donate_argnums=0, out_shardings=shardings)
        return model._make_function(train_step)

elif BACKEND == "tensorflow":

    def run_step(step_fn, variable_groups, *args):
        return step_fn(args[0])

    def make_train_function(model, step_fn):
        return model._make_function(step_fn)  # tf.function (XLA when jit_compile), per replica

else:
    import torch

    def run_step(step_fn, variable_groups, *args):
        return step_fn(args[0])

    def make_train_function(model, step_fn):
        def one_step_on_data(data):
            return step_fn(data[0])

        return torch.compile(one_step_on_data) if model._should_torch_compile() else one_step_on_data
