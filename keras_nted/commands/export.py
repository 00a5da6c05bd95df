"""`keras-nted export`: a generator -> a TF Serving SavedModel (or ONNX), from any backend."""

NAME = "export"
HELP = (
    "Export a generator .keras file for serving: EXPORT_DIR/<version>/ in TensorFlow Serving's layout, "
    "with the signatures serving_default (uint8 reference image + (18, 2) keypoints -> uint8 image) and "
    "generate_from_skeleton (image in [-1, 1] + 20-channel skeleton -> image). Runs on the TensorFlow "
    "backend (in a subprocess when another backend is active); ONNX without TensorFlow on torch."
)


def add_arguments(parser):
    parser.add_argument("--model", metavar="MODEL", required=True, help="generator .keras file (any backend)")
    parser.add_argument(
        "-o",
        "--output",
        dest="export_dir",
        metavar="EXPORT_DIR",
        required=True,
        help="the model's base folder (TF Serving's --model_base_path); the export goes to EXPORT_DIR/<version>",
    )
    parser.add_argument(
        "--version",
        dest="model_version",
        type=int,
        metavar="N",
        help="version number, the sub-folder name (default: one more than the largest existing version, or 1); "
        "an existing version is never overwritten",
    )
    parser.add_argument(
        "--format",
        choices=("tf_saved_model", "onnx"),
        default="tf_saved_model",
        help="tf_saved_model (default), or onnx: model.onnx + generate_from_skeleton.onnx (needs onnx; on torch, "
        "or from JAX with torch installed, Keras' own exporter writes it without TensorFlow; else tf2onnx)",
    )
    parser.add_argument(
        "--two-photos",
        action="store_true",
        help="also add the signatures two_photos (two uint8 photos, any size) and two_photos_encoded (two "
        "JPEG/PNG files' bytes) -> the re-posed image and the keypoints drawn, with BlazePose in the graph "
        "(written on the TensorFlow backend: from JAX or torch the command re-runs itself in a TensorFlow-backend "
        "subprocess; the pose model files as `keras-nted pose --get-models` obtains them); with --format onnx, "
        "two_photos.onnx (uint8 photos; written on torch, re-run on torch from the other backends)",
    )
    parser.add_argument("--models", metavar="DIR", help="with --two-photos: the folder of the pose model files")


def _pose_model(args):
    """The in-graph pose pipeline for --two-photos, at the generator's aspect (None without the flag).

    `run` has already handed --two-photos on another backend than the format's to `run_on_backend`.
    """
    if not args.two_photos:
        if args.models:
            raise ValueError("--models goes with --two-photos.")
        return None
    from keras_nted.pose import pose_pipeline

    return pose_pipeline(args.models)


def command_line(args):
    """The arguments of this command as `args` holds them, for `python -m keras_nted export ...`."""
    argv = ["--model", args.model, "--output", args.export_dir, "--format", args.format]
    if args.model_version is not None:
        argv += ["--version", str(args.model_version)]
    if args.two_photos:
        argv.append("--two-photos")
    if args.models:
        argv += ["--models", args.models]
    return argv


def run_on_backend(args, backend):
    """Runs this command again in a subprocess on `backend`; its exit code.

    The two-photo graphs hold the pose pipeline (`keras_nted.pose`), which the library's own
    export subprocess (`python -m keras_nted.export`, a floor below `pose`) cannot build: so from
    another backend the whole command runs again on the one that writes the format (TensorFlow
    for a SavedModel, torch for ONNX), the weights travelling in the `.keras` file given (a
    generator file loads on every backend). Its output and errors are this command's.
    """
    import importlib.util
    import subprocess
    import sys

    from keras_nted.cli import CommandError
    from keras_nted.export.saved_model import BACKEND_NAMES

    if importlib.util.find_spec(backend) is None:
        name = BACKEND_NAMES[backend]
        raise CommandError(
            f"--two-photos --format {args.format} is written on the {name} backend, and {name} is not installed: "
            f"`pip install {backend}`."
        )
    flags = ["--backend", backend, "--quiet"] + (["--debug"] if getattr(args, "debug", False) else [])
    command = [sys.executable, "-m", "keras_nted", *flags, "export", *command_line(args)]
    return subprocess.run(command).returncode


def run(args):
    import keras

    from keras_nted.cli import CommandError
    from keras_nted.export import export_backend
    from keras_nted.export import export_saved_model
    from keras_nted.export.saved_model import BACKEND_NAMES
    from keras_nted.export.saved_model import PHOTO_BACKENDS

    if args.model_version is not None and args.model_version < 0:
        raise ValueError(f"Expected a non-negative --version. Received: --version {args.model_version}")
    backend = keras.backend.backend()
    photo_backend = PHOTO_BACKENDS[args.format]
    if args.two_photos and backend != photo_backend:
        how = f"--two-photos runs in a {BACKEND_NAMES[photo_backend]}-backend subprocess"
        print(f"Exporting {args.model} (backend {backend}: {how}) ...")
        return run_on_backend(args, photo_backend)
    try:
        runs_on = export_backend(args.format)
        how = "" if runs_on == backend else f" (backend {backend}: exporting in a {runs_on}-backend subprocess)"
        print(f"Exporting {args.model}{how} ...", flush=True)
        pose_model = _pose_model(args)
        path = export_saved_model(
            args.model, args.export_dir, version=args.model_version, format=args.format, pose_model=pose_model
        )
    except (ImportError, RuntimeError, TypeError) as e:
        raise CommandError(str(e)) from None
    if args.format == "onnx":
        also = f", {path}/two_photos.onnx" if pose_model else ""
        print(f"Wrote {path}/model.onnx (serving_default), {path}/generate_from_skeleton.onnx{also}")
    else:
        names = "serving_default, generate_from_skeleton" + (", two_photos, two_photos_encoded" if pose_model else "")
        print(f"Wrote SavedModel version {path.name} to {path} (signatures: {names})")
        print(f"Inspect it with: saved_model_cli show --dir {path} --all")
