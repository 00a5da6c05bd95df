"""Export a generator for serving: a TF Serving SavedModel (or ONNX) with two signatures.

`export_saved_model` writes `EXPORT_DIR/<version>/` in TensorFlow Serving's layout
(`saved_model.pb` + `variables/`), with two signatures, both with a dynamic batch size:

* `serving_default`: `reference_image` uint8 `(batch, H, W, 3)` and `keypoints` float32
  `(batch, 18, 2)` (OpenPose COCO-18 `(x, y)` in the output image's pixel coordinates, -1 for
  a missing coordinate) -> `image` uint8 `(batch, H, W, 3)`. The pose map is rendered in the
  graph by `keras_nted.layers.SkeletonRenderer`; the reference is mapped to [-1, 1] as the
  release's `ToTensor` + `Normalize(0.5, 0.5)` do, and the result is clipped to [-1, 1] and
  mapped to uint8 by `(x + 1) * 127.5` with truncation, as `keras-nted generate` writes it.
* `generate_from_skeleton`: `reference_image` float32 `(batch, H, W, 3)` in [-1, 1] and
  `skeleton` float32 `(batch, H, W, 20)` in [0, 1] -> `image` float32, the Keras model's own
  computation (unclipped).

The export runs on the TensorFlow backend, which writes plain TF ops (the JAX backend writes
one `XlaCallModule` op, the torch backend cannot export a two-input model). On another backend
the model is saved to a temporary `.keras` file and exported by `python -m keras_nted.export`
(the `keras_nted/export/__main__.py` entry point) in a subprocess with `KERAS_BACKEND=tensorflow`,
which reports its outcome as a JSON file; so a model trained on any backend serves.

ONNX (`format="onnx"`) is written on the TensorFlow backend by `tf2onnx`, as above, or without
TensorFlow by Keras' own exporter on the torch backend (`keras_nted.export.onnx`): in process on
torch, and in a `KERAS_BACKEND=torch` subprocess from JAX when torch and `onnx` are installed.
"""

import contextlib
import errno
import json
import logging
import numbers
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import keras

from keras_nted.data.keypoints import MAX_COORDINATE
from keras_nted.export.onnx import ONNX_FILES
from keras_nted.export.onnx import is_installed
from keras_nted.export.onnx import missing_keras_onnx_packages
from keras_nted.export.onnx import write_onnx
from keras_nted.models.pose_transfer import as_pose_transfer
from keras_nted.utils.openpose import NUM_KEYPOINTS

FORMATS = ("tf_saved_model", "onnx")
# The backend that writes the two-photo graphs (`pose_model`), by format, and how messages name backends.
PHOTO_BACKENDS = {"tf_saved_model": "tensorflow", "onnx": "torch"}
BACKEND_NAMES = {"tensorflow": "TensorFlow", "torch": "torch", "jax": "JAX"}
# What ONNX export needs on the TensorFlow backend (not installed by default); on torch, see
# `keras_nted.export.onnx`.
ONNX_PACKAGES = ("tf2onnx", "onnx")


def existing_versions(export_dir):
    """The version numbers under `export_dir`: its sub-folders named by a plain integer."""
    export_dir = pathlib.Path(export_dir)
    if not export_dir.is_dir():
        return []
    return sorted(int(p.name) for p in export_dir.iterdir() if p.name.isdigit() and p.is_dir())


def _check_version(export_dir, version):
    if version is None:
        versions = existing_versions(export_dir)
        return versions[-1] + 1 if versions else 1
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 0:
        raise ValueError(f"Expected `version` to be a non-negative integer. Received: version={version!r}")
    return int(version)


def _check_target(export_dir, version):
    export_dir = pathlib.Path(export_dir)
    if export_dir.exists() and not export_dir.is_dir():
        raise NotADirectoryError(f"Expected the export directory to be a folder. Received a file: {export_dir}")
    target = export_dir / str(version)
    if os.path.lexists(target):
        free = _check_version(export_dir, None)
        raise FileExistsError(
            f"Export version {version} already exists: {target}. Nothing was overwritten; choose another "
            f"version (the next free one is {free}) or remove that folder."
        )
    return target


def export_backend(format):
    """The backend the export runs on: TensorFlow, or for ONNX torch (Keras' own exporter) where it can.

    On torch, ONNX is Keras' export; on TensorFlow, `tf2onnx`'s; on JAX (whose Keras exporter
    needs `jax2onnx` and flax), a torch-backend subprocess's when torch and `onnx` are installed,
    else a TensorFlow one's. A SavedModel is always written on TensorFlow.

    Args:
        format: `"tf_saved_model"` or `"onnx"`.

    Returns:
        `"tensorflow"` or `"torch"`; when it is not the active backend, `export_saved_model`
        runs the export in a subprocess on it.

    Raises:
        ValueError: for an unknown `format`.
        ImportError: when the packages for that route are not installed (named, with the
            `pip install` line).

    Example:

    >>> export_backend("tf_saved_model")
    'tensorflow'
    """
    if format not in FORMATS:
        raise ValueError(f"Expected `format` to be one of {FORMATS}. Received: format={format!r}")
    backend = keras.backend.backend()
    tf_missing = [name for name in ("tensorflow", *ONNX_PACKAGES) if not is_installed(name)]
    if format == "onnx" and backend == "torch":
        if missing_keras_onnx_packages():
            raise ImportError(
                "ONNX export on the torch backend needs the package onnx, which is not installed. "
                "Install it with `pip install onnx`."
            )
        return "torch"
    if format == "onnx" and backend != "tensorflow" and not missing_keras_onnx_packages():
        return "torch"
    if format == "onnx" and any(name in tf_missing for name in ONNX_PACKAGES):
        torch_way = "" if backend == "tensorflow" else " (or, without TensorFlow, torch and onnx: `pip install onnx`)"
        missing = [name for name in ONNX_PACKAGES if name in tf_missing]
        raise ImportError(
            f"ONNX export needs the packages {' and '.join(ONNX_PACKAGES)}, which are not installed "
            f"(missing: {', '.join(missing)}). Install them with `pip install {' '.join(ONNX_PACKAGES)}`{torch_way}."
        )
    if "tensorflow" in tf_missing:
        raise ImportError(
            "Exporting needs TensorFlow (the export runs on the TensorFlow backend, whatever backend the "
            "model was trained on). Install it with `pip install tensorflow-cpu` (or `tensorflow`)."
        )
    return "tensorflow"


def _check_generator(generator_or_path):
    from keras_nted.models.generator import NTEDGenerator

    if isinstance(generator_or_path, (str, os.PathLike)):
        path = pathlib.Path(generator_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"Model file not found: {path}")
        if path.suffix != ".keras":
            raise ValueError(f"Expected a .keras model file. Received: {path}")
        return path
    if not isinstance(generator_or_path, NTEDGenerator):
        raise TypeError(
            "Expected `generator_or_path` to be an NTEDGenerator or the path of one saved as .keras. "
            f"Received: {type(generator_or_path).__name__}"
        )
    return generator_or_path


def photo_functions(task, pose_model):
    """The two-photo signatures (`two_photos`, `two_photos_encoded`) and their specs (TensorFlow backend).

    Each takes `reference_photo` and `pose_photo` (uint8 `(batch, H, W, 3)`, or `(batch,)`
    encoded images) and returns `image` (uint8, the re-posed reference) and `keypoints` (the
    target pose it drew, in the image's pixels); a photo without a person fails the request
    with "No person found in the reference photo ..." (or the pose photo).
    """
    from keras_nted.backend.tf_serving import check_batch
    from keras_nted.backend.tf_serving import check_found
    from keras_nted.backend.tf_serving import decode_images
    from keras_nted.backend.tf_serving import string_spec

    model = task.photo_model(pose_model)
    names = ["reference_photo", "pose_photo"]

    def two_photos(reference_photo, pose_photo):
        photos = check_batch([reference_photo, pose_photo], names)
        out = model(photos)
        (image,) = check_found([out["image"]], out["reference_found"], "the reference photo")
        (image,) = check_found([image], out["pose_found"], "the pose photo")
        return {"image": image, "keypoints": out["keypoints"]}

    def two_photos_encoded(reference_photo, pose_photo):
        reference_photo, pose_photo = check_batch([reference_photo, pose_photo], names)
        return two_photos(decode_images(reference_photo, names[0]), decode_images(pose_photo, names[1]))

    photo_specs = [keras.InputSpec(shape=(None, None, None, 3), dtype="uint8", name=n) for n in names]
    return {
        "two_photos": (two_photos, photo_specs),
        "two_photos_encoded": (two_photos_encoded, [string_spec(n) for n in names]),
    }


def serving_functions(generator):
    """The two signature functions of `generator` and their input specs (TensorFlow backend).

    Each function first checks its inputs, so that a bad request fails with a message naming
    the input (a signature checks dtypes only): the shapes, one non-empty batch size for both
    inputs (no broadcasting), and for `keypoints` the rule of every keypoint reader
    (`keras_nted.data.keypoints.validate_keypoints`: finite, within `MAX_COORDINATE`).

    Args:
        generator: an `NTEDGenerator`.

    Returns:
        A dict `{signature name: (function, [keras.InputSpec, ...])}`; each function takes the
        inputs by name and returns `{"image": tensor}`.
    """
    from keras_nted.backend.tf_serving import check_batch
    from keras_nted.backend.tf_serving import check_keypoints
    from keras_nted.backend.tf_serving import ensure_shape

    task = as_pose_transfer(generator)
    height, width = task.image_size
    image_shape = (None, height, width, 3)
    skeleton_shape = (None, height, width, task.generator.semantic_dim)

    def serving_default(reference_image, keypoints):
        reference_image = ensure_shape(reference_image, image_shape, "reference_image")
        keypoints = ensure_shape(keypoints, (None, NUM_KEYPOINTS, 2), "keypoints")
        reference_image, keypoints = check_batch([reference_image, keypoints], ["reference_image", "keypoints"])
        return {"image": task.serve(reference_image, check_keypoints(keypoints, MAX_COORDINATE))}

    def generate_from_skeleton(reference_image, skeleton):
        reference_image = ensure_shape(reference_image, image_shape, "reference_image")
        skeleton = ensure_shape(skeleton, skeleton_shape, "skeleton")
        reference_image, skeleton = check_batch([reference_image, skeleton], ["reference_image", "skeleton"])
        return {"image": task.serve_skeleton(reference_image, skeleton)}

    def spec(shape, dtype, name):
        return keras.InputSpec(shape=shape, dtype=dtype, name=name)

    return {
        "serving_default": (
            serving_default,
            [spec(image_shape, "uint8", "reference_image"), spec((None, NUM_KEYPOINTS, 2), "float32", "keypoints")],
        ),
        "generate_from_skeleton": (
            generate_from_skeleton,
            [spec(image_shape, "float32", "reference_image"), spec(skeleton_shape, "float32", "skeleton")],
        ),
    }


@contextlib.contextmanager
def _quiet(*logger_names):
    """Raises the given loggers to WARNING for a while: their INFO lines name temporary paths."""
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _write(generator, directory, format, pose_model=None):
    """Writes the export into the existing empty `directory` (TensorFlow backend; torch for ONNX)."""
    if keras.backend.backend() != "tensorflow":
        write_onnx(generator, directory, pose_model)
        return
    archive = keras.export.ExportArchive()
    archive.track(generator)
    endpoints = serving_functions(generator)
    if pose_model is not None:
        archive.track(pose_model)
        endpoints.update(photo_functions(as_pose_transfer(generator), pose_model))
    functions = {}
    for name, (function, specs) in endpoints.items():
        functions[name] = archive.add_endpoint(name, function, input_signature=specs)
    if format == "tf_saved_model":
        with _quiet("tensorflow"):
            archive.write_out(os.fspath(directory), verbose=False)
        return
    import tf2onnx  # checked by export_backend

    for name, function in functions.items():
        with _quiet("tensorflow", "tf2onnx"):
            tf2onnx.convert.from_function(
                function, input_signature=function.input_signature, output_path=os.fspath(directory / ONNX_FILES[name])
            )


def _export_in_subprocess(model_path, export_dir, version, format, backend):
    """`python -m keras_nted.export ...` with `KERAS_BACKEND=backend`; its outcome read from its JSON file."""
    package_root = str(pathlib.Path(__file__).resolve().parents[2])
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="keras_nted_export_") as scratch:
        outcome_path = pathlib.Path(scratch) / "outcome.json"
        command = [
            sys.executable, "-m", "keras_nted.export", os.path.abspath(model_path), os.path.abspath(export_dir),
            "--version", str(version), "--format", format, "--outcome", str(outcome_path),
        ]  # fmt: skip
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        outcome = json.loads(outcome_path.read_text()) if outcome_path.is_file() else {}
    if result.returncode == 0 and "path" in outcome:
        return
    if "error" in outcome:
        reason = outcome["error"]["message"]
    else:  # it ended before it could report (a crash): its exit code and last words
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = f"exit code {result.returncode}" + (f" ({lines[-1]})" if lines else "")
    raise RuntimeError(f"The {BACKEND_NAMES[backend]}-backend export subprocess failed: {reason}")


def export_outcome(model_path, export_dir, version, format):
    """The subprocess side of `export_saved_model`: the export, or its error, as a JSON-ready dict.

    Returns:
        `{"path": "<version folder>"}`, or `{"error": {"type": "<exception class>", "message": "..."}}`
        for any error (the export runs on this process's backend, TensorFlow when the library
        starts it).
    """
    try:
        expected = export_backend(format)
        if keras.backend.backend() != expected:
            raise RuntimeError(f"Expected the {expected} backend. Received: backend {keras.backend.backend()}")
        path = export_saved_model(model_path, export_dir, version=version, format=format)
    except Exception as e:  # reported to the parent process, which raises it
        return {"error": {"type": type(e).__name__, "message": str(e)}}
    return {"path": str(path)}


def export_saved_model(generator_or_path, export_dir, version=None, format="tf_saved_model", pose_model=None):
    """Exports a generator for TensorFlow Serving (or ONNX), from a model of any backend.

    Writes `export_dir/<version>/` (`saved_model.pb` + `variables/`) with the signatures
    `serving_default` (uint8 reference image + keypoints -> uint8 image, the pose map rendered
    in the graph by `SkeletonRenderer`) and `generate_from_skeleton` (the Keras model's
    computation on a [-1, 1] image and a 20-channel skeleton); see the module docstring. The
    folder is written beside its final place and renamed into it when complete, so a model
    server watching `export_dir` never sees a half-written version, and an existing version is
    never overwritten.

    The export runs on the TensorFlow backend. On JAX or torch, the model is saved to a
    temporary `.keras` file and exported by a `KERAS_BACKEND=tensorflow` subprocess
    (`python -m keras_nted.export`, which reports its outcome as JSON). ONNX needs no
    TensorFlow: on torch, Keras' own exporter writes it in process; on JAX, a torch-backend
    subprocess does when torch and `onnx` are installed (else TensorFlow's path is taken).

    Args:
        generator_or_path: an `NTEDGenerator`, or the path of one saved as `.keras`.
        export_dir: the model's base folder (TF Serving's `--model_base_path`); created if
            missing.
        version: the version number (sub-folder name); default: one more than the largest
            existing version, or 1.
        format: `"tf_saved_model"`, or `"onnx"` to write `model.onnx` (the `serving_default`
            computation) and `generate_from_skeleton.onnx` instead (Triton's layout); ONNX
            needs `onnx` and, on torch or JAX, torch (Keras' exporter), else `tf2onnx`.
        pose_model: `keras_nted.pose.pose_pipeline()`, to add the signatures `two_photos` (two
            uint8 photos of any size) and `two_photos_encoded` (two JPEG / PNG files' bytes), each
            returning the re-posed `image` and the `keypoints` it drew (see `photo_functions`):
            a SavedModel on the TensorFlow backend; or, with `format="onnx"` on torch, the file
            `two_photos.onnx` (uint8 photos only; see `keras_nted.export.onnx`).

    Returns:
        The `pathlib.Path` of the version folder written.

    Raises:
        FileNotFoundError: if a model path does not exist.
        FileExistsError: if `export_dir/<version>` exists already.
        ValueError: for a bad `version` or `format`, or a file that is not a `.keras` model.
        TypeError: for a `generator_or_path` that is neither a generator nor a path.
        ImportError: if TensorFlow (or, for ONNX, `onnx`, or torch / `tf2onnx`) is not installed.
        RuntimeError: if the export subprocess fails (with its error).

    Example:

    ```python
    path = keras_nted.export.export_saved_model("saved_models/nted_mannequin_64.keras", "export/nted")
    # export/nted/1; then, with TensorFlow:
    model = tf.saved_model.load(str(path))
    image = model.signatures["serving_default"](
        reference_image=tf.constant(uint8_images), keypoints=tf.constant(keypoints)
    )["image"]
    ```
    """
    generator = _check_generator(generator_or_path)
    version = _check_version(export_dir, version)
    backend = export_backend(format)
    if pose_model is not None and keras.backend.backend() != PHOTO_BACKENDS[format]:
        raise ValueError(
            "Expected the TensorFlow backend with format='tf_saved_model', or torch with format='onnx', for the "
            f"two-photo signatures (pose_model). Received: backend {keras.backend.backend()}, format={format!r}"
        )
    export_dir = pathlib.Path(export_dir)
    target = _check_target(export_dir, version)

    if keras.backend.backend() != backend:
        if isinstance(generator, pathlib.Path):
            _export_in_subprocess(generator, export_dir, version, format, backend)
        else:
            with tempfile.TemporaryDirectory(prefix="keras_nted_export_") as scratch:
                model_path = pathlib.Path(scratch) / "generator.keras"
                generator.save(model_path)
                _export_in_subprocess(model_path, export_dir, version, format, backend)
        return target

    if isinstance(generator, pathlib.Path):
        from keras_nted.models.generator import load_generator

        generator = load_generator(generator)
    created = not export_dir.exists()
    export_dir.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=export_dir))
    # mkdtemp makes it 0700; the version folder gets the umask's mode, as os.mkdir would give it,
    # so that a model server running as another user can read it.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(scratch, 0o777 & ~umask)
    try:
        try:
            _write(generator, scratch, format, pose_model)
        except Exception as e:  # TensorFlow's writers raise their own errors (ResourceExhaustedError)
            if "No space left on device" not in str(e):
                raise
            raise OSError(errno.ENOSPC, f"No space left on the device to export {target}: free some space") from None
        # os.rename of a folder onto an existing non-empty one fails: another writer won.
        _check_target(export_dir, version)
        os.rename(scratch, target)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
        if created and not any(export_dir.iterdir()):  # a failed export leaves no empty folder behind
            export_dir.rmdir()
    return target
