"""The two BlazePose model files: where they live, how to obtain them, how to open them.

The networks (Apache 2.0) ship inside the `mediapipe==0.10.21` wheel; later wheels no longer
carry them, and that release cannot be installed beside numpy 2, so keras-nted never installs
mediapipe. `obtain_model_files` asks pip to *download* the wheel (no install, no dependencies),
takes the two files out of it and checks their SHA-256 before anything is kept. They land in
the Keras cache, `$KERAS_HOME/models/blazepose-0.10.21/` (`~/.keras/...` by default), or in a
folder the caller names. Nothing is fetched at run time: `find_model_files` only looks, and
says how to obtain the files when they are missing.
"""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

MEDIAPIPE_VERSION = "0.10.21"
# The wheel pip is asked for: any platform's wheel carries the same two files, so one fixed
# choice works from every machine and Python version (`pip download --platform ...`).
WHEEL_PLATFORM = "manylinux_2_28_x86_64"
WHEEL_PYTHON = "311"
WHEEL_DOWNLOAD_MB = 36
DETECTOR = "pose_detection.tflite"
LANDMARKS = "pose_landmark_full.tflite"
# File name -> (path inside the wheel, SHA-256).
MODEL_FILES = {
    DETECTOR: (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    ),
    LANDMARKS: (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
}
HOW_TO_OBTAIN = (
    "Run `keras-nted pose --get-models` (pip downloads the mediapipe=={version} wheel, about {mb} MB, "
    "and the two files are taken out of it), or give a folder holding {files} (--models DIR)."
)


def default_model_dir():
    """`$KERAS_HOME/models/blazepose-0.10.21`, with Keras' own default `~/.keras` for `KERAS_HOME`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "models" / f"blazepose-{MEDIAPIPE_VERSION}"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _how_to_obtain():
    return HOW_TO_OBTAIN.format(version=MEDIAPIPE_VERSION, mb=WHEEL_DOWNLOAD_MB, files=" and ".join(MODEL_FILES))


def find_model_files(model_dir=None):
    """The paths of the two model files, checked; nothing is downloaded.

    Args:
        model_dir: the folder holding `pose_detection.tflite` and `pose_landmark_full.tflite`
            (default: `default_model_dir()`).

    Returns:
        `{"pose_detection.tflite": path, "pose_landmark_full.tflite": path}`.

    Raises:
        FileNotFoundError: naming the folder and how to obtain the files, when one is missing.
        ValueError: when a file's SHA-256 is not the released one.
    """
    folder = pathlib.Path(model_dir) if model_dir is not None else default_model_dir()
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"BlazePose model file(s) {', '.join(missing)} not found in {folder}. {_how_to_obtain()}"
        )
    for name, (_, expected) in MODEL_FILES.items():
        actual = sha256(folder / name)
        if actual != expected:
            raise ValueError(
                f"{folder / name} is not the mediapipe {MEDIAPIPE_VERSION} model (SHA-256 {actual}, expected "
                f"{expected}). Delete it and obtain the files again. {_how_to_obtain()}"
            )
    return {name: folder / name for name in MODEL_FILES}


def download_wheel(folder):
    """`pip download mediapipe==0.10.21` (the wheel only) into `folder`; returns the wheel's path.

    Uses the running interpreter's pip, so the user's pip configuration (index, proxy,
    certificates) applies.

    Raises:
        OSError: when pip fails (offline, no index), with pip's last lines.
    """
    command = [
        sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps",
        "--only-binary=:all:", "--platform", WHEEL_PLATFORM, "--python-version", WHEEL_PYTHON,
        "--implementation", "cp", "--abi", f"cp{WHEEL_PYTHON}", "--dest", os.fspath(folder),
        "--quiet", "--disable-pip-version-check",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(pathlib.Path(folder).glob("mediapipe-*.whl"))
    if result.returncode != 0 or not wheels:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise OSError(
            f"Could not download the mediapipe=={MEDIAPIPE_VERSION} wheel with pip (exit {result.returncode}): "
            f"{tail or 'no wheel written'}. Without a network, copy the wheel here and pass it with --wheel, "
            "or give a folder holding the two model files with --models."
        )
    return wheels[0]


def extract_model_files(wheel, model_dir=None):
    """Takes the two model files out of a mediapipe 0.10.21 wheel, verified, into `model_dir`.

    Each file is checked against its SHA-256 before it is moved into place, so a wrong or
    damaged wheel leaves the folder as it was.

    Args:
        wheel: the `.whl` file.
        model_dir: where to put them (default: `default_model_dir()`).

    Returns:
        The paths, as `find_model_files` returns them.

    Raises:
        FileNotFoundError: for a missing wheel.
        ValueError: when the wheel lacks a file or a file's SHA-256 differs.
    """
    wheel = pathlib.Path(wheel)
    if not wheel.is_file():
        raise FileNotFoundError(f"Wheel not found: {wheel}")
    folder = pathlib.Path(model_dir) if model_dir is not None else default_model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise ValueError(f"{wheel} is not a wheel (not a zip archive).") from None
    with archive, tempfile.TemporaryDirectory(dir=folder, prefix=".extract-") as tmp:
        for name, (member, expected) in MODEL_FILES.items():
            if member not in archive.namelist():
                raise ValueError(f"{wheel} has no {member}: expected the mediapipe=={MEDIAPIPE_VERSION} wheel.")
            target = pathlib.Path(tmp) / name
            with archive.open(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            if sha256(target) != expected:
                raise ValueError(f"{member} in {wheel} does not have the expected SHA-256 {expected}.")
        for name in MODEL_FILES:
            os.replace(pathlib.Path(tmp) / name, folder / name)
    return find_model_files(folder)


def obtain_model_files(model_dir=None, wheel=None):
    """Makes sure the two model files are in `model_dir`: kept if already there, else obtained.

    Args:
        model_dir: the folder (default: `default_model_dir()`).
        wheel: a mediapipe 0.10.21 wheel already on disk; default: pip downloads it (about
            36 MB, into a temporary folder that is removed afterwards).

    Returns:
        The paths, as `find_model_files` returns them.
    """
    try:
        return find_model_files(model_dir)
    except (FileNotFoundError, ValueError):
        pass
    if wheel is not None:
        return extract_model_files(wheel, model_dir)
    with tempfile.TemporaryDirectory(prefix="keras-nted-mediapipe-") as tmp:
        return extract_model_files(download_wheel(tmp), model_dir)


def load_interpreter(path, num_threads=None):
    """A LiteRT interpreter for one `.tflite` file, tensors allocated.

    Raises:
        ImportError: saying how to install the interpreter, when `ai-edge-litert` is missing.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ImportError(
            "Pose estimation needs the LiteRT interpreter: pip install 'keras-nted[pose]' (or ai-edge-litert)."
        ) from None
    interpreter = Interpreter(model_path=os.fspath(path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter
