"""Milliseconds per image through BlazePose's two networks: the Keras models of
`keras_nted.pose.networks` (on KERAS_BACKEND) beside LiteRT, in one run.

    PYTHONPATH=. KERAS_BACKEND=tensorflow python benchmarks/blazepose_keras.py [--repeats 30] [--batch 1] [--threads N]

The Keras models run through `predict_on_batch` (their compiled predict step); LiteRT runs the
same `.tflite` files one image at a time with its default delegate (XNNPACK). Medians over
`--repeats` runs, after two warm-up runs; inputs are random in the networks' value ranges.
"""

import argparse

import numpy as np
from benchmark_utils import limit_threads
from benchmark_utils import median_ms


def _litert_call(interpreter, image):
    index = interpreter.get_input_details()[0]["index"]

    def call():
        interpreter.set_tensor(index, image)
        interpreter.invoke()

    return call


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="folder with the two .tflite files (default: the Keras cache)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1, help="images per Keras call (LiteRT: always 1)")
    parser.add_argument("--threads", type=int, default=None, help="threads for every runtime (default: each one's)")
    args = parser.parse_args()
    limit_threads(args.threads)

    import keras

    from keras_nted.pose.model_files import DETECTOR
    from keras_nted.pose.model_files import LANDMARKS
    from keras_nted.pose.model_files import find_model_files
    from keras_nted.pose.model_files import load_interpreter
    from keras_nted.pose.networks import detector_network
    from keras_nted.pose.networks import landmark_network

    paths = find_model_files(args.models)
    rng = np.random.default_rng(0)
    print(f"backend {keras.backend.backend()}, batch {args.batch}, threads {args.threads or 'default'}")
    for file_name, build, size, low in (
        (DETECTOR, detector_network, 224, -1.0),
        (LANDMARKS, landmark_network, 256, 0.0),
    ):
        model = build(paths[file_name].parent)
        x = rng.uniform(low, 1.0, (args.batch, size, size, 3)).astype("float32")
        keras_ms = median_ms(lambda: model.predict_on_batch(x), args.repeats, warmup=2) / args.batch
        interpreter = load_interpreter(paths[file_name], num_threads=args.threads)
        litert_ms = median_ms(_litert_call(interpreter, x[:1]), args.repeats, warmup=2)
        print(f"{file_name:28s} keras {keras_ms:7.1f} ms/image   litert {litert_ms:7.1f} ms/image")


if __name__ == "__main__":
    main()
