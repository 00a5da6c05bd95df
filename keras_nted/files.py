"""File helpers: atomic writes, run-folder locks and config files."""

import contextlib
import datetime
import errno
import json
import os
import pathlib
import shutil
import socket
import sys
import tempfile

# Every temporary `atomic_path` makes is named `.<name>.<random>.tmp<suffixes>`.
TEMPORARY_MARK = ".tmp"


def check_free_space(path, size):
    """An `OSError` (`ENOSPC`) naming `path` when its file system has less than `size` bytes free.

    HDF5 (Keras' weights files) reacts badly to a disk that fills mid-write: pages of errors,
    then at times a segmentation fault. So writers that know their size check it first.
    """
    folder = _existing_parent(pathlib.Path(path) / "x")
    free = shutil.disk_usage(folder).free
    if free < size:
        raise OSError(
            errno.ENOSPC,
            f"No space left on the device to write {path}: it needs about {size / 2**20:.1f} MiB, "
            f"{free / 2**20:.1f} MiB are free. Free some space and run the same command again",
        )


@contextlib.contextmanager
def atomic_path(path, size=None):
    """Yield a temporary path beside `path` (same suffixes); move it onto `path` on success.

    `size`, the bytes about to be written, if known: refused first (`check_free_space`) when
    the disk has less free.

    A crash or an exception leaves `path` as it was (never half-written) and removes the
    temporary file and the (still empty) folders made for it (a SIGKILL can leave the
    temporary behind: `remove_stale_temporaries`).
    Keras needs the real suffix (`.keras`, `.weights.h5`), so it is kept. A file is flushed
    to disk before the rename and the rename itself after it, so a power cut cannot leave a
    renamed but empty file either.
    """
    path = pathlib.Path(path)
    if size is not None:
        check_free_space(path, size)
    created = [parent for parent in path.parents if not parent.exists()]  # innermost first
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # Keras writers refuse to overwrite some paths; let them create it
    try:
        yield pathlib.Path(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
        created = []
    finally:
        if os.path.exists(tmp):
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.unlink(tmp)
        for folder in created:  # a failed write leaves no empty folders behind either
            with contextlib.suppress(OSError):
                folder.rmdir()


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. a directory on a platform that cannot open one
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder):
    """Delete the temporaries `atomic_path` left in `folder` when a process was killed mid-write.

    Call it only while no other process writes into `folder` (e.g. holding its `RunLock`).

    Returns:
        The removed paths.
    """
    folder = pathlib.Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if path.name.startswith(".") and TEMPORARY_MARK in path.name:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class RunFolderBusy(OSError):
    """Another process holds the `RunLock` of a folder."""


class RunLock:
    """An exclusive lock on a run folder, held while a process trains into it.

    The lock is an OS file lock (`fcntl.flock`) on `folder/.lock`, so it is released when the
    process ends in any way (a SIGKILL included) and never goes stale. The file records the
    holder (process id, host, start time, command) for the error message a second process
    gets.

    Args:
        folder: the run folder (created if missing).

    Raises:
        RunFolderBusy: (on entering) when another process holds the lock; the message names
            the holder.

    Example:
    >>> with RunLock("runs/tiny"):  # doctest: +SKIP
    ...     train(...)
    """

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.path = self.folder / ".lock"
        self._file = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks in the standard library
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunFolderBusy(
                f"{self.folder} is in use by {holder}. Wait for that run to end, or train into another folder."
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        command = " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {started} ({command})\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc):
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.close()  # closing releases the lock
            self._file = None
        return False


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
            raise ValueError(
                f"Reading {path} needs PyYAML (`pip install pyyaml`), or give the config as JSON."
            ) from None
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


def write_png(path, image):
    """Write an RGB uint8 `(H, W, 3)` array as a PNG atomically (parent folders created)."""
    import cv2
    import numpy as np

    encoded, data = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not encoded:
        raise ValueError(f"Could not encode {path} as a PNG: an array of shape {image.shape}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())  # a full disk raises OSError(ENOSPC) here; the temporary goes
    return path
