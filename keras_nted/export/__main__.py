"""`python -m keras_nted.export MODEL EXPORT_DIR --version N --format F --outcome FILE.json`.

The library's entry point for exporting in a separate process (`export_saved_model` starts it
with `KERAS_BACKEND=tensorflow` when another backend is active, or `KERAS_BACKEND=torch` for
ONNX from JAX through Keras' own exporter): it exports on this process's
backend and writes the outcome to `--outcome` as JSON, `{"path": ...}` or `{"error": {"type",
"message"}}`; the exit code is 0 on success, 1 on an error. Not a user command: `keras-nted
export` is.
"""

import argparse
import json
import sys

from keras_nted.export.saved_model import FORMATS
from keras_nted.export.saved_model import export_outcome
from keras_nted.files import atomic_path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_nted.export", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="generator .keras file")
    parser.add_argument("export_dir", help="the model's base folder")
    parser.add_argument("--version", type=int, required=True, help="version number (sub-folder name)")
    parser.add_argument("--format", choices=FORMATS, default="tf_saved_model")
    parser.add_argument("--outcome", required=True, help="JSON file to write the outcome to")
    args = parser.parse_args(argv)
    outcome = export_outcome(args.model, args.export_dir, args.version, args.format)
    with atomic_path(args.outcome) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(outcome, f)
    return 0 if "path" in outcome else 1


if __name__ == "__main__":
    sys.exit(main())
