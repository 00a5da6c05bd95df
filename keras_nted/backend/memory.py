"""Handing the heap XLA's compiler freed back to the operating system (JAX on glibc).

Compiling the nted_fashion_256 GAN step on XLA:CPU leaves about 1.1 GB of freed compiler
memory in glibc's heap, which glibc keeps; the step's own buffers come from elsewhere
(large blocks are mapped afresh), so the process's resident memory grows by both. Calling
`malloc_trim(0)` once a long compilation has finished returns it before the program runs:
the step's peak resident memory drops by that much (measured in benchmarks/README).
"""

import ctypes
import ctypes.util

import keras

BACKEND = keras.backend.backend()
# The event JAX records when XLA has compiled a program, and the shortest compilation worth a
# trim: small programs (eager-style ops, a layer's initializer) leave little behind, and a
# trim walks the whole heap (milliseconds).
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
MIN_COMPILE_SECONDS = 1.0

_listener = None


def _malloc_trim():
    """glibc's `malloc_trim`, or None where the C library has none (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def trim_after_compilations():
    """From now on, trim the heap after every XLA compilation of at least `MIN_COMPILE_SECONDS`.

    JAX only (other backends do nothing), idempotent. Returns whether trimming is active:
    False where the C library has no `malloc_trim`.
    """
    global _listener
    if BACKEND != "jax":
        return False
    if _listener is not None:
        return True
    trim = _malloc_trim()
    if trim is None:
        return False

    def listener(event, duration, **kwargs):
        if event == COMPILE_EVENT and duration >= MIN_COMPILE_SECONDS:
            trim(0)

    import jax.monitoring

    jax.monitoring.register_event_duration_secs_listener(listener)
    _listener = listener
    return True
