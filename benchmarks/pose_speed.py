"""Milliseconds per image for each stage of `keras_nted.pose.PoseEstimator` on this CPU.

    PYTHONPATH=. python benchmarks/pose_speed.py [--models DIR] [--repeats 20] [--threads N]

Stages, on the 512x352 mannequins of `pose_test_set` with a person in them: the detector's
letterboxed input (resampling), the detector network, decoding + weighted NMS, the landmark
network's input (rotated crop), the landmark network, heatmap refinement + projection +
COCO-18 mapping; then the whole `PoseEstimator` call. Medians over `--repeats` runs per image.
"""

import argparse

import numpy as np
from benchmark_utils import median_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="folder with the two .tflite files (default: the Keras cache)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--images", type=int, default=10, help="mannequins with a person to time on")
    parser.add_argument("--threads", type=int, default=None, help="LiteRT threads (default: LiteRT's)")
    args = parser.parse_args()

    from keras_nted.evaluation.pose import pose_test_set
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose import coco
    from keras_nted.pose import detector as stage_one
    from keras_nted.pose import landmarks as stage_two
    from keras_nted.pose.geometry import letterbox_region

    estimator = PoseEstimator(args.models, max_people=1, num_threads=args.threads)
    det, lm = estimator.detector, estimator.landmark_model
    images = [item.image for item in pose_test_set(num_renders=40, num_photo_like=0) if estimator(item.image)]
    rows = {}
    for image in images[: args.images]:
        view = letterbox_region(image.shape[:2])
        tensor = view.crop(image, stage_one.INPUT_SIZE, (-1.0, 1.0))
        det.interpreter.set_tensor(det._input, tensor)
        raw = (det.interpreter.get_tensor(det._boxes)[0], det.interpreter.get_tensor(det._scores)[0])
        region = stage_one.region_of_interest(det(image)[0])
        crop = region.crop(image, stage_two.INPUT_SIZE, (0.0, 1.0), outside="edge")
        lm.interpreter.set_tensor(lm._input, crop)
        lm.interpreter.invoke()
        points = lm.interpreter.get_tensor(lm._points).reshape(39, 5)[:33]
        heatmap = lm.interpreter.get_tensor(lm._heatmap)[0]

        def finish():
            uv = stage_two.refine_with_heatmap(points[:, :2] / stage_two.INPUT_SIZE, heatmap)
            coco.to_coco18(region.to_image(uv), 1 / (1 + np.exp(-points[:, 3])), image.shape[:2])

        stages = {
            "detector input (letterbox 224)": lambda: view.crop(image, stage_one.INPUT_SIZE, (-1.0, 1.0)),
            "detector network": det.interpreter.invoke,
            "decode + weighted NMS": lambda: stage_one.weighted_nms(*stage_one.decode(*raw, det.anchors)),
            "landmark input (rotated crop 256)": lambda: region.crop(image, stage_two.INPUT_SIZE, (0.0, 1.0), "edge"),
            "landmark network": lm.interpreter.invoke,
            "heatmap refinement + projection": finish,
            "whole PoseEstimator call": lambda: estimator(image),
        }
        for name, function in stages.items():
            rows.setdefault(name, []).append(median_ms(function, args.repeats))
    print(
        f"ms per image, median over {len(images[: args.images])} mannequins at 512x352 x {args.repeats} runs "
        f"(LiteRT threads: {args.threads or 'default'}):"
    )
    for name, values in rows.items():
        print(f"  {name:36} {np.median(values):7.2f}")


if __name__ == "__main__":
    main()
