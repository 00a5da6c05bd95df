"""The two BlazePose model files: where they live, how to obtain them, how to open them.

The networks (Apache 2.0) ship inside the `mediapipe==0.10.21` wheel; later wheels no longer
carry them, and that release cannot be installed beside numpy 2, so keras-nted never installs
mediapipe. `obtain_model_files` asks pip to *download* the wheel (no install, no dependencies),
takes the two files out of it and checks their SHA-256 before anything is kept. They land in
the Keras cache, `$KERAS_HOME/models/blazepose-0.10.21/` (`~/.keras/...` by default), or in a
folder the caller names. Nothing is fetched at run time: `find_model_files` only looks, and
says how to obtain the files when they are missing.
"""

import os

from keras_nted.utils import package_files

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
MEDIAPIPE = package_files.PackageFiles(
    package="mediapipe",
    version=MEDIAPIPE_VERSION,
    files=MODEL_FILES,
    description=f"the mediapipe {MEDIAPIPE_VERSION} model",
    how_to_obtain=(
        f"Run `keras-nted pose --get-models` (pip downloads the mediapipe=={MEDIAPIPE_VERSION} wheel, about "
        f"{WHEEL_DOWNLOAD_MB} MB, and the two files are taken out of it), or give a folder holding "
        f"{' and '.join(MODEL_FILES)} (--models DIR)."
    ),
    offline_advice=(
        "Without a network, copy the wheel here and pass it with --wheel, "
        "or give a folder holding the two model files with --models."
    ),
    download_mb=WHEEL_DOWNLOAD_MB,
    pip_options=(
        "--only-binary=:all:",
        "--platform",
        WHEEL_PLATFORM,
        "--python-version",
        WHEEL_PYTHON,
        "--implementation",
        "cp",
        "--abi",
        f"cp{WHEEL_PYTHON}",
    ),  # fmt: skip
)
sha256 = package_files.sha256


def default_model_dir():
    """`$KERAS_HOME/models/blazepose-0.10.21`, with Keras' own default `~/.keras` for `KERAS_HOME`."""
    return package_files.default_dir(MEDIAPIPE).with_name(f"blazepose-{MEDIAPIPE_VERSION}")


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
    return package_files.find(MEDIAPIPE, model_dir if model_dir is not None else default_model_dir())


def download_wheel(folder):
    """`pip download mediapipe==0.10.21` (the wheel only) into `folder`; returns the wheel's path.

    Raises:
        OSError: when pip fails (offline, no index), with pip's last lines.
    """
    return package_files.download(MEDIAPIPE, folder)


def extract_model_files(wheel, model_dir=None):
    """Takes the two model files out of a mediapipe 0.10.21 wheel, verified, into `model_dir`.

    Raises:
        FileNotFoundError: for a missing wheel.
        ValueError: when the wheel lacks a file or a file's SHA-256 differs.
    """
    return package_files.extract(MEDIAPIPE, wheel, model_dir if model_dir is not None else default_model_dir())


def obtain_model_files(model_dir=None, wheel=None):
    """Makes sure the two model files are in `model_dir`: kept if already there, else obtained.

    Args:
        model_dir: the folder (default: `default_model_dir()`).
        wheel: a mediapipe 0.10.21 wheel already on disk; default: pip downloads it (about
            36 MB, into a temporary folder that is removed afterwards).

    Returns:
        The paths, as `find_model_files` returns them.
    """
    return package_files.obtain(MEDIAPIPE, model_dir if model_dir is not None else default_model_dir(), wheel)


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
