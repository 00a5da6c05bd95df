"""File helpers: atomic writes and config files."""

import contextlib
import json
import os
import pathlib
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path` (same suffixes); move it onto `path` on success.

    A crash or an exception leaves `path` as it was (never half-written) and removes the
    temporary file. Keras needs the real suffix (`.keras`, `.weights.h5`), so it is kept.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # Keras writers refuse to overwrite some paths; let them create it
    try:
        yield pathlib.Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            if os.path.isdir(tmp):
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.unlink(tmp)


def read_config_file(path):
    """Read a JSON or YAML file (YAML needs PyYAML) into a dict, with clear errors."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file not found: {path}")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError(f"Reading {path} needs PyYAML (`pip install pyyaml`), or give the config as JSON.") from None
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"{path} is not valid YAML: {e}") from None
    else:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"Expected {path} to hold a mapping. Received: {type(config).__name__}")
    return config


def _existing_parent(path):
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def check_output_path(path, name, folder):
    """Checks, before any slow work, that `path` can be written as a folder (or a file).

    Args:
        path: the output path.
        name: the argument, for errors (e.g. `"-o"`).
        folder: whether `path` is a folder (else a file).

    Raises:
        ValueError: naming `name`, for an existing file where a folder goes (or the
            reverse), or a path under an existing file.
        PermissionError: for a path whose nearest existing folder cannot be written.
    """
    path = pathlib.Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise ValueError(f"Expected {name} to be a folder. Received an existing file: {name} {path}")
        if not folder and path.is_dir():
            raise ValueError(f"Expected {name} to be a file. Received an existing folder: {name} {path}")
        where = path if folder else path.parent
    else:
        where = _existing_parent(path)
        if not where.is_dir():
            raise ValueError(f"Expected {name} under a folder. Received: {name} {path}, but {where} is a file")
    if not os.access(where, os.W_OK | os.X_OK):
        raise PermissionError(f"Cannot write {name} {path}: the folder {where} is not writable")
