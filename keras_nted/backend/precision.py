"""Which floating-point precisions the running backend can hold."""

import keras

BACKEND = keras.backend.backend()


def float64_available():
    """Whether the backend keeps float64 tensors as float64.

    JAX truncates float64 to float32 unless `jax_enable_x64` is set (`JAX_ENABLE_X64=1`);
    TensorFlow and PyTorch always keep it.
    """
    if BACKEND == "jax":
        import jax

        return bool(jax.config.jax_enable_x64)
    return True
