"""Applying gradients inside the shared GAN step: one meaning on every backend.

A `keras.optimizers.LossScaleOptimizer` skips a step whose gradients are not finite with an
`ops.cond` whose branches assign variables. TensorFlow (a `tf.cond` in a `tf.function`, also
under `tf.distribute`) and torch (eager) run that stateful form; in a jitted JAX step its
assignments leak tracers, so JAX takes the stateless form, the one Keras' own JAX trainer
uses (TensorFlow refuses `stateless_apply`: it is incompatible with `tf.distribute`).

On torch, when several processes train data-parallel (`keras_nted.distribute.initialize`),
the gradients are first averaged across them (`torch_processes.mean_over_processes`): every
G, D and R1 step applies the gradient of the global batch, in every process.
"""

import keras

BACKEND = keras.backend.backend()

if BACKEND == "torch":
    from keras_nted.backend.torch_processes import mean_over_processes


def apply_gradients(optimizer, grads, variables):
    """`optimizer.apply(grads, variables)` from inside a train step, on any backend.

    Args:
        optimizer: a built `keras.optimizers.Optimizer` (a `LossScaleOptimizer` included).
        grads: one gradient per variable (of the scaled loss for a `LossScaleOptimizer`).
        variables: the variables `optimizer` was built with, in the same order.
    """
    if BACKEND == "torch":
        grads = mean_over_processes(grads)
    if BACKEND != "jax" or not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer.apply(grads, variables)
        return
    new_values, new_state = optimizer.stateless_apply(
        [v.value for v in optimizer.variables], grads, [v.value for v in variables]
    )
    for variable, value in zip(list(variables) + optimizer.variables, list(new_values) + list(new_state)):
        variable.assign(value)
