"""The `keras-nted` command's start-up: the backend, checked and loaded only when a command runs.

Importing `keras_nted` (and `keras_nted.cli`) imports no Keras, so `--help` and `--version`
answer at once. Keras reads `KERAS_BACKEND` once, at import, so `load_keras`, called by
`keras_nted.cli.main` just before a command runs,

* applies the `--backend` argument to `KERAS_BACKEND`;
* checks the backend Keras would use: a `KERAS_BACKEND` (or `--backend`) that is not one of
  tensorflow / jax / torch, or not installed, is a one-line error (exit 2) instead of Keras'
  import traceback; with neither set, the `keras.json` / default backend is used when installed,
  else the first installed one of tensorflow, jax, torch (a JAX-only install just works);
* says on stderr what it is loading (the import takes seconds), unless asked to be quiet;
* imports Keras with file descriptor 2 captured, so TensorFlow's C++ start-up banners (absl's
  "All log messages before absl::InitializeLog()", oneDNN's notice: `TF_CPP_MIN_LOG_LEVEL` does
  not stop them on TF 2.21) are not printed; anything else written there is passed on.
  `TF_CPP_MIN_LOG_LEVEL=0` shows everything. oneDNN itself stays on.

Library use (`import keras_nted` in a program) is left alone.
"""

import importlib.metadata
import importlib.util
import json
import os
import sys
import tempfile

BACKENDS = ("tensorflow", "jax", "torch")
# TensorFlow's start-up lines that carry no information for a command-line user.
_BANNERS = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on")


class StartupError(Exception):
    """A start-up problem the command reports as one line, exit code 2."""


def is_installed(backend):
    """Whether the backend's package can be imported (looked up, not imported)."""
    try:
        return importlib.util.find_spec(backend) is not None
    except (ImportError, ValueError):
        return False


def _configured_backend():
    """The backend of Keras' own `keras.json` (`$KERAS_HOME` or `~/.keras`), else Keras' default."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    return backend if backend in BACKENDS else "tensorflow"


def resolve_backend(flag=None):
    """The backend the command will run on; sets `KERAS_BACKEND` when it had to choose.

    Args:
        flag: the `--backend` value, if given (already in `KERAS_BACKEND`).

    Raises:
        StartupError: for a `KERAS_BACKEND` that is not a supported backend, a requested
            backend that is not installed, or no backend installed at all.
    """
    installed = [b for b in BACKENDS if is_installed(b)]
    requested = flag or os.environ.get("KERAS_BACKEND")
    where = f"--backend {flag}" if flag else f"KERAS_BACKEND={requested}"
    if requested:
        if requested not in BACKENDS:
            raise StartupError(
                f"Expected KERAS_BACKEND to be one of {', '.join(BACKENDS)} (keras-nted needs gradients, so not "
                f"'numpy' or 'openvino'). Received: KERAS_BACKEND={requested}"
            )
        if requested not in installed:
            others = (
                f"or use an installed one: --backend {' / '.join(installed)}" if installed else "(none is installed)"
            )
            raise StartupError(
                f"The backend {requested} ({where}) is not installed: `pip install keras-nted[{requested}]` {others}."
            )
        return requested
    configured = _configured_backend()
    if configured in installed:
        return configured
    if not installed:
        raise StartupError(
            f"No Keras backend is installed: install one of {', '.join(BACKENDS)}, e.g. `pip install keras-nted[jax]`."
        )
    os.environ["KERAS_BACKEND"] = installed[0]  # Keras would try `configured` and fail at import
    return installed[0]


def _import_keras_quietly():
    """`import keras` with fd 2 captured; passes on everything but TensorFlow's banners."""
    if "keras" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        import keras  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            lines = [line for line in text.splitlines() if line.strip() and not any(b in line for b in _BANNERS)]
            if lines:
                print("\n".join(lines), file=sys.stderr)


def version_line(backend=None):
    """`keras-nted X (Keras Y, backend Z)`, read without importing Keras (unless it is loaded).

    Args:
        backend: the `--backend` value, or `None`.

    Raises:
        StartupError: as `resolve_backend`.
    """
    from keras_nted.version import __version__

    apply_backend_flag(backend)
    if "keras" in sys.modules:
        keras = sys.modules["keras"]
        keras_version, backend = keras.__version__, keras.backend.backend()
    else:
        keras_version, backend = importlib.metadata.version("keras"), resolve_backend(backend)
    return f"keras-nted {__version__} (Keras {keras_version}, backend {backend})"


def apply_backend_flag(backend):
    """Sets `KERAS_BACKEND` from the command's `--backend NAME` (if given, and Keras not yet loaded).

    Raises:
        StartupError: when Keras is already loaded with another backend (a program calling
            `keras_nted.cli.main`): it cannot change.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ chatter is not for CLI users
    if backend is None:
        return
    if "keras" in sys.modules:
        loaded = sys.modules["keras"].backend.backend()
        if loaded != backend:
            raise StartupError(
                f"Keras is already loaded with the {loaded} backend in this process; --backend {backend} can "
                "only be chosen before Keras is imported."
            )
        return
    os.environ["KERAS_BACKEND"] = backend


def load_keras(backend=None, quiet=False):
    """Everything `keras-nted` does before a command runs (see the module docstring).

    Args:
        backend: the `--backend` value, or `None`.
        quiet: whether to skip the "loading Keras" line on stderr.

    Returns:
        The backend in use.

    Raises:
        StartupError: for a backend that is unknown, not installed or fails to import.
        KeyboardInterrupt: from Ctrl-C during the import (the caller reports it in one line).
    """
    apply_backend_flag(backend)
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    backend = resolve_backend(backend)
    if not quiet:
        print(f"keras-nted: loading Keras ({backend} backend)...", file=sys.stderr, flush=True)
    try:
        _import_keras_quietly()
    except Exception as e:  # a broken install: say what failed, in one line
        message = str(e).strip().splitlines()
        raise StartupError(
            f"Could not import Keras with the {backend} backend: {type(e).__name__}: "
            f"{message[-1] if message else ''}".rstrip(": ")
        ) from None
    return backend
