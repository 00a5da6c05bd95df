"""The `keras-nted` command line (also `python -m keras_nted`).

Each subcommand lives in `keras_nted/commands/<name>.py` and defines `NAME`, `HELP`,
`add_arguments(parser)` and `run(args)`. `--backend` is read before Keras is imported.
"""

import argparse
import importlib
import logging
import sys

# Module names under keras_nted/commands, in the order `--help` lists them.
COMMANDS = (
    "demo",
    "train",
    "generate",
    "convert",
    "make_mannequin",
    "prepare_deepfashion",
    "export",
    "control",
    "evaluate",
    "pose",
)


class CommandError(Exception):
    """An error the CLI reports as one line (a traceback only with `--debug`)."""


def _available_commands():
    found = []
    for name in COMMANDS:
        try:
            found.append(importlib.import_module(f"keras_nted.commands.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"keras_nted.commands.{name}":
                raise
    return found


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (it may be replaced after set-up)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _log_to_stderr():
    """keras-nted's own INFO messages to stderr; other libraries' loggers keep their levels.

    (Not the root logger at INFO: that prints JAX's "Unable to initialize backend 'tpu'" and
    the like.)
    """
    logger = logging.getLogger("keras_nted")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-nted",
        description="NTED pose transfer and appearance control on Keras 3 (TensorFlow, JAX, PyTorch).",
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax", "torch"),
        help="Keras backend (default: $KERAS_BACKEND, else Keras' own default).",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="store_true", help="print the versions and the active backend")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _available_commands():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # `--backend` (and quieter TensorFlow start-up) took effect when the package was imported,
    # before Keras: see keras_nted/_backend_flag.py. Here argparse only validates it.
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import keras

        from keras_nted.version import __version__

        print(f"keras-nted {__version__} (Keras {keras.__version__}, backend {keras.backend.backend()})")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    _log_to_stderr()
    try:
        result = args._run(args)
    except KeyboardInterrupt:
        print("keras-nted: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, FileNotFoundError, OSError, ImportError) as e:  # ImportError: optional packages
        if args.debug:
            raise
        print(f"keras-nted {args.command}: error: {e}", file=sys.stderr)
        return 2  # bad input, like argparse's own usage errors
    return 0 if result is None else int(result)


if __name__ == "__main__":
    sys.exit(main())
