"""ms per photo pair through the two-photo SavedModel signature (`keras-nted export --two-photos`)
and ONNX file (`--format onnx --two-photos`, through ONNX Runtime), beside the numpy/LiteRT
path (`keras_nted.pose.repose`: PoseEstimator, framing, PIL, the Keras model), in one run on
this CPU, on pairs of the pose test set's mannequins.

    PYTHONPATH=. KERAS_BACKEND=tensorflow python benchmarks/serve_two_photos.py [--pairs 8] [--threads N]

The SavedModel is exported to a temporary folder and loaded with plain `tf.saved_model.load`
(what TF Serving runs); `two_photos_encoded` gets the PNG files' bytes (decoding included),
`two_photos` the decoded uint8 photos. `two_photos.onnx` is written by the command on torch
(a subprocess) when torch, `onnx` and `onnxruntime` are installed, and gets the uint8 photos.
Each path runs every pair once before the timed run.
"""

import argparse
import importlib.util
import io
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from benchmark_utils import limit_threads

MODEL = str(pathlib.Path(__file__).resolve().parents[1] / "saved_models" / "nted_mannequin_64.keras")


def _png(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _time(function, pairs):
    for pair in pairs:  # warm-up: traces and compiles each photo size once
        function(*pair)
    start = time.perf_counter()
    for pair in pairs:
        function(*pair)
    return (time.perf_counter() - start) / len(pairs) * 1000


def _onnx_session(folder, threads):
    """ONNX Runtime's session of `two_photos.onnx`, exported by the command on torch; None without the packages."""
    if any(importlib.util.find_spec(name) is None for name in ("torch", "onnx", "onnxruntime")):
        return None
    import onnxruntime

    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=str(root))
    command = [sys.executable, "-m", "keras_nted", "export", "--model", MODEL, "-o", folder, "--format", "onnx"]
    subprocess.run([*command, "--two-photos"], env=env, check=True, capture_output=True)
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    return onnxruntime.InferenceSession(str(pathlib.Path(folder) / "1" / "two_photos.onnx"), options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    limit_threads(args.threads)

    import keras
    import tensorflow as tf

    from keras_nted.evaluation.pose import pose_test_set
    from keras_nted.export import export_saved_model
    from keras_nted.models import PoseTransfer
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose import pose_pipeline
    from keras_nted.pose.photos import repose

    if keras.backend.backend() != "tensorflow":
        raise SystemExit("Run with KERAS_BACKEND=tensorflow: the SavedModel export needs TF.")
    estimator = PoseEstimator()
    found = [
        item.image for item in pose_test_set(num_renders=4 * args.pairs, num_photo_like=0) if estimator(item.image)
    ]
    pairs = [(found[2 * i], found[2 * i + 1]) for i in range(min(args.pairs, len(found) // 2))]
    task = PoseTransfer.from_preset(MODEL)
    with tempfile.TemporaryDirectory() as folder:
        path = export_saved_model(MODEL, folder, pose_model=pose_pipeline())
        loaded = tf.saved_model.load(str(path))
        encoded, decoded = loaded.signatures["two_photos_encoded"], loaded.signatures["two_photos"]
        png_pairs = [(tf.constant([_png(a)]), tf.constant([_png(b)])) for a, b in pairs]
        tensor_pairs = [(tf.constant(a[None]), tf.constant(b[None])) for a, b in pairs]
        results = {
            "SavedModel two_photos_encoded (PNG bytes)": _time(
                lambda a, b: encoded(reference_photo=a, pose_photo=b)["image"].numpy(), png_pairs
            ),
            "SavedModel two_photos (uint8 photos)": _time(
                lambda a, b: decoded(reference_photo=a, pose_photo=b)["image"].numpy(), tensor_pairs
            ),
            "numpy/LiteRT repose (PoseEstimator + PIL + Keras)": _time(
                lambda a, b: repose(task, a, b, estimator), pairs
            ),
        }
        session = _onnx_session(os.path.join(folder, "onnx"), args.threads)
        if session is not None:
            results["ONNX Runtime two_photos.onnx (uint8 photos)"] = _time(
                lambda a, b: session.run(["image"], {"reference_photo": a[None], "pose_photo": b[None]}), pairs
            )
        else:
            print("two_photos.onnx not timed: it needs torch, onnx and onnxruntime")
    sizes = sorted({a.shape[:2] for pair in pairs for a in pair})
    print(f"{len(pairs)} photo pairs of {sizes}, model {task.image_size}, threads {args.threads or 'default'}")
    for name, ms in results.items():
        print(f"{name:55s} {ms:8.1f} ms per pair")


if __name__ == "__main__":
    main()
