"""The in-graph pose pipeline (`keras_nted.pose.in_graph.pose_pipeline`, on KERAS_BACKEND) against
the numpy/LiteRT one (`PoseEstimator`) on the whole pose test set: people found by each, keypoint
and landmark distances in torso lengths, framing boxes, and ms per photo.

    PYTHONPATH=. KERAS_BACKEND=tensorflow python benchmarks/blazepose_in_graph.py [--renders 120] [--threads N]

The model runs through `predict` on one batch per photo size (the first batch of a size
includes its compile; the time printed is of a second run); the estimator one photo at a time.
"""

import argparse
import time

import numpy as np
from benchmark_utils import limit_threads


def _by_size(test_set):
    groups = {}
    for item in test_set:
        groups.setdefault(item.image.shape, []).append(item)
    return groups


def _in_graph(model, test_set):
    outputs, seconds = {}, 0.0
    for items in _by_size(test_set).values():
        images = np.stack([item.image for item in items])
        model.predict(images, verbose=0)
        start = time.perf_counter()
        out = model.predict(images, verbose=0)
        seconds += time.perf_counter() - start
        for i, item in enumerate(items):
            outputs[item.name] = {key: value[i] for key, value in out.items()}
    return outputs, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="folder with the two .tflite files (default: the Keras cache)")
    parser.add_argument("--renders", type=int, default=120, help="mannequin renders of the test set")
    parser.add_argument("--threads", type=int, default=None, help="threads for every runtime (default: each one's)")
    args = parser.parse_args()
    limit_threads(args.threads)

    import keras

    from keras_nted.evaluation.pose import parity
    from keras_nted.evaluation.pose import pose_test_set
    from keras_nted.evaluation.pose import torso_length
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose.framing import framing_box
    from keras_nted.pose.in_graph import pose_pipeline

    test_set = pose_test_set(num_renders=args.renders)
    estimator = PoseEstimator(args.models, num_threads=args.threads)
    start = time.perf_counter()
    people = {item.name: estimator(item.image) for item in test_set}
    numpy_ms = 1000 * (time.perf_counter() - start) / len(test_set)
    outputs, seconds = _in_graph(pose_pipeline(args.models), test_set)
    graph_ms = 1000 * seconds / len(test_set)

    mine = {name: (out["landmarks"] if out["found"] else None) for name, out in outputs.items()}
    theirs = {name: (p[0].landmarks.points if p else None) for name, p in people.items()}
    result = parity(mine, theirs, test_set)
    keypoint_errors, box_errors, presence_differs = [], [], 0
    for item in test_set:
        if item.name not in result["found_by_both"]:
            continue
        got, expected = outputs[item.name]["keypoints"], people[item.name][0].keypoints
        both = (got[:, 0] != -1) & (expected[:, 0] != -1)
        presence_differs += int(((got[:, 0] != -1) != (expected[:, 0] != -1)).sum())
        keypoint_errors.append(np.linalg.norm(got[both] - expected[both], axis=1) / torso_length(item.keypoints))
        box_errors.append(np.abs(outputs[item.name]["box"] - framing_box(expected)).max())
    errors = np.concatenate(keypoint_errors)
    print(f"backend {keras.backend.backend()}, {len(test_set)} photos, threads {args.threads or 'default'}")
    print(
        f"found by both {len(result['found_by_both'])}, only in-graph {result['found_only_by_estimate']}, "
        f"only numpy {result['found_only_by_reference']}"
    )
    print(f"landmarks: median {result['median']:.5f}, p90 {result['p90']:.5f}, max {result['max']:.5f} torso lengths")
    print(f"COCO-18 keypoints: median {np.median(errors):.5f}, max {errors.max():.5f} torso lengths")
    print(f"keypoints present in one pipeline and missing in the other: {presence_differs}")
    print(f"framing boxes: largest difference {max(box_errors, default=0):.0f} px")
    print(f"ms per photo: in-graph {graph_ms:.1f} (batched by size), numpy/LiteRT {numpy_ms:.1f}")


if __name__ == "__main__":
    main()
