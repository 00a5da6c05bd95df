"""The `keras-nted` command line (also `python -m keras_nted`).

Each subcommand lives in `keras_nted/commands/<name>.py` and defines `NAME`, `HELP`,
`add_arguments(parser)` and `run(args)`; the module and `add_arguments` import no Keras, so
`--help` and `--version` answer at once. Keras (with `--backend`) is loaded just before a
command runs: see keras_nted/_backend_flag.py.
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
    "metrics",
    "pose",
)


class CommandError(Exception):
    """An error the CLI reports as one line (a traceback only with `--debug`)."""


def parse_image_size(text):
    """`"64x44"` -> `(64, 44)`; a `ValueError` naming `--image-size` otherwise."""
    try:
        height, width = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"Expected --image-size as HEIGHTxWIDTH, e.g. 64x44. Received: --image-size {text}") from None
    if height < 16 or width < 1:
        raise ValueError(f"Expected a positive --image-size HEIGHTxWIDTH. Received: --image-size {text}")
    return height, width


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
    parser.add_argument(
        "-q", "--quiet", dest="quiet_start", action="store_true", help="no 'loading Keras' line while starting"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _available_commands():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def parse_args(argv, parser=None):
    """The parsed command line.

    Example:

    >>> parse_args(["evaluate", "--model", "m.keras", "--num-pairs", "10"]).pairs
    10
    """
    parser = parser or build_parser()
    return parser.parse_args(argv)


def main(argv=None):
    from keras_nted._backend_flag import StartupError
    from keras_nted._backend_flag import load_keras
    from keras_nted._backend_flag import version_line

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parse_args(argv, parser)
    if args.command is None and not args.version:
        parser.print_help()
        return 2
    try:
        if args.version:
            print(version_line(args.backend))
            return 0
        load_keras(args.backend, quiet=args.quiet_start or getattr(args, "quiet", False))
    except StartupError as e:
        if args.debug:
            raise
        print(f"keras-nted: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-nted: interrupted while loading Keras", file=sys.stderr)
        return 130
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
