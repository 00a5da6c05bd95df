"""Gradient plumbing for the shared GAN `train_step` (the only backend-specific training code).

Keras 3 has no backend-agnostic gradient API, so this module provides three primitives
with one meaning on every backend:

- `value_and_grad(fn, variables, state_variables)`: run `fn() -> (loss, aux)` and return
  `(loss, aux, gradients of loss w.r.t. variables)`.
- `input_grad(fn, x)`: `d sum(fn(x)) / dx`, itself differentiable (R1's double backprop).
- `no_grad()`: a context for optimizer updates, EMA and metrics.

plus `stateless_step`, which runs the same stateful step inside a jitted JAX function, and
`compiled_value_and_grad`, `value_and_grad` as one compiled function of its arguments (for
loops that differentiate the same thing many times, like appearance control).
"""

import contextlib

import keras

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    import tensorflow as tf

    def value_and_grad(fn, variables, state_variables=None):
        with tf.GradientTape() as tape:
            loss, aux = fn()
            # Under tf.distribute each replica differentiates the loss of its slice of the
            # batch and Keras' optimizer SUMS the replicas' gradients: scale by 1 / replicas
            # so that the sum is the gradient of the mean over the global batch.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = loss if replicas == 1 else loss / replicas
        grads = tape.gradient(scaled, [v.value for v in variables])
        return loss, aux, [tf.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]

    def input_grad(fn, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(fn(x))
        return tape.gradient(total, x)

    no_grad = contextlib.nullcontext

    def compiled_value_and_grad(fn, variables):
        @tf.function(reduce_retracing=True)
        def step(*args):
            return value_and_grad(lambda: fn(*args), variables)

        return step

elif BACKEND == "torch":
    import torch

    def value_and_grad(fn, variables, state_variables=None):
        loss, aux = fn()
        values = [v.value for v in variables]
        grads = torch.autograd.grad(loss, values, allow_unused=True)
        return loss, aux, [torch.zeros_like(v) if g is None else g for g, v in zip(grads, values)]

    def input_grad(fn, x):
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        return grad

    no_grad = torch.no_grad

    def compiled_value_and_grad(fn, variables):
        return lambda *args: value_and_grad(lambda: fn(*args), variables)  # eager: torch.compile costs more

elif BACKEND == "jax":
    import jax
    import jax.numpy as jnp

    def value_and_grad(fn, variables, state_variables=None):
        """`state_variables`: every variable the step reads (JAX scopes do not nest)."""
        ids = {id(v) for v in variables}
        others = [v for v in (state_variables or ()) if id(v) not in ids]
        snapshot = [(v, v.value) for v in others]

        def pure(values):
            mapping = snapshot + list(zip(variables, values))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                loss, aux = fn()
            updated = [scope.get_current_value(v) for v, _ in snapshot]
            return loss, (aux, updated)

        (loss, (aux, updated)), grads = jax.value_and_grad(pure, has_aux=True)([v.value for v in variables])
        for (v, old), new in zip(snapshot, updated):
            if new is not None and new is not old:
                v.assign(new)  # e.g. a SeedGenerator advanced inside fn
        return loss, aux, grads

    def input_grad(fn, x):
        return jax.grad(lambda x_: jnp.sum(fn(x_)))(x)

    no_grad = contextlib.nullcontext

    def compiled_value_and_grad(fn, variables):
        def pure(values, *args):
            # Variables outside `variables` are read as constants of the compiled program.
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*args)

        grad_fn = jax.jit(jax.value_and_grad(pure, has_aux=True))

        def step(*args):
            (loss, aux), grads = grad_fn([v.value for v in variables], *args)
            return loss, aux, grads

        return step

else:  # pragma: no cover
    raise ValueError(f"keras-nted supports the tensorflow, jax and torch backends. Received: {BACKEND}")


compiled_value_and_grad.__doc__ = """`value_and_grad` of `fn(*args) -> (loss, aux)` w.r.t. `variables`, compiled once.

Returns `step(*args) -> (loss, aux, gradients)`. TensorFlow traces it with `tf.function`,
JAX with `jax.jit` (every variable `fn` reads besides `variables` becomes a constant of the
program: for frozen models); torch runs it eagerly. `args` are tensors that keep their shapes
and dtypes between calls, so it compiles once.
"""


def stateless_step(step_fn, variable_groups, state, data):
    """Run a stateful `step_fn(data)` as Keras' JAX trainer expects: `(state, data) -> (logs, state)`.

    `variable_groups` are the model's variable lists in the order of `state` (trainable,
    non-trainable, optimizer, metrics for training). On other backends call `step_fn`
    directly.
    """
    mapping = [pair for group, values in zip(variable_groups, state) for pair in zip(group, values)]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step_fn(data)
    new_state = []
    for group, values in zip(variable_groups, state):
        new_values = []
        for v, old in zip(group, values):
            new = scope.get_current_value(v)
            new_values.append(old if new is None else new)
        new_state.append(new_values)
    return logs, tuple(new_state)
