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
        "(TensorFlow backend; the pose model files as `keras-nted pose --get-models` obtains them)",
    )
    parser.add_argument("--models", metavar="DIR", help="with --two-photos: the folder of the pose model files")


def _pose_model(args):
    """The in-graph pose pipeline for --two-photos, at the generator's aspect (None without the flag)."""
    import keras

    from keras_nted.cli import CommandError

    if not args.two_photos:
        if args.models:
            raise ValueError("--models goes with --two-photos.")
        return None
    if keras.backend.backend() != "tensorflow" or args.format != "tf_saved_model":
        raise CommandError(
            "--two-photos writes a SavedModel on the TensorFlow backend: run with KERAS_BACKEND=tensorflow."
        )
    from keras_nted.pose import pose_pipeline

    return pose_pipeline(args.models)


def run(args):
    import keras

    from keras_nted.cli import CommandError
    from keras_nted.export import export_backend
    from keras_nted.export import export_saved_model

    if args.model_version is not None and args.model_version < 0:
        raise ValueError(f"Expected a non-negative --version. Received: --version {args.model_version}")
    backend = keras.backend.backend()
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
        print(f"Wrote {path}/model.onnx (serving_default) and {path}/generate_from_skeleton.onnx")
    else:
        names = "serving_default, generate_from_skeleton" + (", two_photos, two_photos_encoded" if pose_model else "")
        print(f"Wrote SavedModel version {path.name} to {path} (signatures: {names})")
        print(f"Inspect it with: saved_model_cli show --dir {path} --all")
