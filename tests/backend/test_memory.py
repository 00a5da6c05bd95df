"""`backend.memory`: the heap is trimmed after long XLA compilations (JAX), and only then."""

import platform

import keras
import numpy as np
import pytest

from keras_nted.backend import memory

JAX = keras.backend.backend() == "jax"


def test_glibc_has_malloc_trim():
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc_trim is glibc's; this C library has none (trimming stays off there)")
    assert memory._malloc_trim() is not None


@pytest.mark.skipif(JAX, reason="the JAX behaviour is tested below")
def test_other_backends_do_not_trim():
    assert memory.trim_after_compilations() is False


@pytest.fixture
def counted_trims(monkeypatch):
    """`trim_after_compilations` with a counting trim; the listener is removed afterwards."""
    import jax.monitoring

    calls = []
    monkeypatch.setattr(memory, "_listener", None)
    monkeypatch.setattr(memory, "_malloc_trim", lambda: calls.append)
    yield calls
    jax.monitoring.unregister_event_duration_listener(memory._listener)


@pytest.mark.skipif(not JAX, reason="XLA compilations (and their freed heap) are JAX's")
def test_a_compilation_trims_the_heap_once_installed(counted_trims, monkeypatch):
    import jax

    monkeypatch.setattr(memory, "MIN_COMPILE_SECONDS", 0.0)
    assert memory.trim_after_compilations() is True
    listener = memory._listener
    assert memory.trim_after_compilations() is True and memory._listener is listener  # installed once
    jax.jit(lambda x: x * 3.0 + 1.0)(np.arange(7, dtype="float32")).block_until_ready()
    assert counted_trims and set(counted_trims) == {0}


@pytest.mark.skipif(not JAX, reason="XLA compilations (and their freed heap) are JAX's")
def test_short_compilations_and_other_events_do_not_trim(counted_trims):
    memory.trim_after_compilations()
    memory._listener(memory.COMPILE_EVENT, memory.MIN_COMPILE_SECONDS / 2, fun_name="f")
    memory._listener("/jax/other/event", 100.0)
    assert counted_trims == []
    memory._listener(memory.COMPILE_EVENT, memory.MIN_COMPILE_SECONDS, fun_name="f")
    assert counted_trims == [0]
