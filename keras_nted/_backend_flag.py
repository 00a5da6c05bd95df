"""Honour `keras-nted --backend NAME` before anything imports Keras.

The console script imports this package (and so Keras) before `keras_nted.cli.main` runs, and
Keras reads `KERAS_BACKEND` once, at import. So the package's `__init__` calls
`apply_backend_flag()` first: when the process is the `keras-nted` command (or
`python -m keras_nted`), a `--backend` argument sets `KERAS_BACKEND`. Nothing else is touched.
"""

import os
import sys


def apply_backend_flag(argv=None):
    argv = sys.argv if argv is None else argv
    if not argv:
        return None
    program = os.path.basename(argv[0])
    if program not in ("keras-nted", "-m", "__main__.py"):
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
        if backend in ("tensorflow", "jax", "torch"):
            os.environ["KERAS_BACKEND"] = backend
            return backend
    return None
