"""Shared fixtures of the loss tests: the released loss fixture and a backend-specific gradient."""

import keras
import numpy as np
import pytest


@pytest.fixture(scope="session")
def losses_fixture(fixtures_dir):
    return dict(np.load(fixtures_dir / "official_losses_s0.npz"))


def nhwc(array):
    return np.ascontiguousarray(np.transpose(array, (0, 2, 3, 1)))


@pytest.fixture(scope="session")
def to_nhwc():
    return nhwc


def _input_gradients(fn, *arrays):
    """Gradients of the scalar `fn(*arrays)` w.r.t. every array, as numpy (None = no path)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.convert_to_tensor(a) for a in arrays]
        with tf.GradientTape(persistent=True) as tape:
            for t in tensors:
                tape.watch(t)
            value = fn(*tensors)
        grads = [tape.gradient(value, t) for t in tensors]
        return [None if g is None else g.numpy() for g in grads]
    if backend == "jax":
        import jax

        # Compiled: op-by-op JAX differentiation of a VGG is several times slower on CPU.
        grads = jax.jit(jax.grad(lambda *a: fn(*a), argnums=tuple(range(len(arrays)))))(*arrays)
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        value = fn(*tensors)
        grads = torch.autograd.grad(value, tensors, allow_unused=True)
        return [None if g is None else g.detach().cpu().numpy() for g in grads]
    pytest.skip(f"No gradient helper for backend {backend}")


@pytest.fixture(scope="session")
def input_gradients():
    return _input_gradients


def _jit(fn):
    """`fn` compiled the way a train step is on this backend (torch runs eagerly)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    return fn


@pytest.fixture(scope="session")
def jit():
    return _jit


@pytest.fixture(scope="session")
def fast():
    """`fn` jitted on JAX, where eager dispatch compiles every op for every new shape
    (seconds per test on a busy CPU); unchanged elsewhere, so the eager path is tested there."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit
    return lambda fn: fn
