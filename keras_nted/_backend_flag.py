"""The `keras-nted` command's start-up: honour `--backend NAME` and check the backend before Keras.

The console script imports this package (and so Keras) before `keras_nted.cli.main` runs, and
Keras reads `KERAS_BACKEND` once, at import. So the package's `__init__` calls
`start_command_line()` first: when the process is the `keras-nted` command (or
`python -m keras_nted`), it

* applies a `--backend` argument to `KERAS_BACKEND` (`apply_backend_flag`);
* checks the backend Keras would use: a `KERAS_BACKEND` (or `--backend`) that is not one of
  tensorflow / jax / torch, or not installed, is a one-line error (exit 2) instead of Keras'
  import traceback; with neither set, the `keras.json` / default backend is used when installed,
  else the first installed one of tensorflow, jax, torch (a JAX-only install just works);
* imports Keras with file descriptor 2 captured, so TensorFlow's C++ start-up banners (absl's
  "All log messages before absl::InitializeLog()", oneDNN's notice: `TF_CPP_MIN_LOG_LEVEL` does
  not stop them on TF 2.21) are not printed; anything else written there is passed on.
  `TF_CPP_MIN_LOG_LEVEL=0` shows everything. oneDNN itself stays on.

Library use (`import keras_nted` in a program) is left alone.
"""

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


def is_command_line(argv):
    """Whether `argv` is the `keras-nted` command's (or `python -m keras_nted`'s)."""
    if not argv:
        return False
    program = os.path.basename(argv[0])
    if program == "__main__.py":  # python -m keras_nted, once runpy runs the module
        return os.path.basename(os.path.dirname(os.path.abspath(argv[0]))) == "keras_nted"
    return program in ("keras-nted", "-m")  # "-m": while `python -m` imports the package


def apply_backend_flag(argv=None):
    """Sets `KERAS_BACKEND` from the command's `--backend NAME`; returns NAME, or None (not the
    command, no flag, or an unknown name, which argparse reports)."""
    argv = sys.argv if argv is None else argv
    if not is_command_line(argv):
        return None
    # TensorFlow's C++ start-up chatter is not for CLI users (TF_CPP_MIN_LOG_LEVEL=0 restores it).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = argv[1:]
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--backend" and i + 1 < len(args):
            backend = args[i + 1]
        elif arg.startswith("--backend="):
            backend = arg.split("=", 1)[1]
        else:
            continue
        if backend in BACKENDS:
            os.environ["KERAS_BACKEND"] = backend
            return backend
    return None


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


def start_command_line(argv=None):
    """Everything `keras-nted` does before Keras is imported (see the module docstring).

    Returns the backend in use, or `None` when `argv` is not the command's. On a start-up
    problem, prints one line and exits with code 2.
    """
    argv = sys.argv if argv is None else argv
    if not is_command_line(argv):
        return None
    flag = apply_backend_flag(argv)
    try:
        backend = resolve_backend(flag)
        try:
            _import_keras_quietly()
        except Exception as e:  # a broken install: say what failed, in one line
            message = str(e).strip().splitlines()
            raise StartupError(
                f"Could not import Keras with the {backend} backend: {type(e).__name__}: "
                f"{message[-1] if message else ''}".rstrip(": ")
            ) from None
    except StartupError as e:
        if "--debug" in argv:
            raise
        print(f"keras-nted: error: {e}", file=sys.stderr)
        sys.exit(2)
    return backend
