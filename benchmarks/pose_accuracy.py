"""Keypoints from mannequin renders: parity with mediapipe 0.10.21 and PCK against ground truth.

    PYTHONPATH=. python benchmarks/pose_accuracy.py [--models DIR] [--threshold 0.2]

On `keras_nted.evaluation.pose.pose_test_set()` (120 mannequins at 512x352 and 8 photo-like
frames), prints:

* parity with the reference fixture `tests/pose/fixtures/mediapipe_0.10.21.json` (mediapipe's
  own Pose solution, made by `tests/pose/make_mediapipe_fixture.py` in its own venv): the
  images each found a person in, and the distances between the 33 landmarks where both did,
  in ground-truth torso lengths;
* PCK at `--threshold` x torso per view over the 120 renders at 512x352 (the images where a
  person was found; a missing point is a miss), for keras-nted and, on the same images with
  the same COCO-18 mapping, for the reference.

Needs the model files (`keras-nted pose --get-models`) and `ai-edge-litert`.
"""

import argparse
import json
import os

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "tests", "pose", "fixtures", "mediapipe_0.10.21.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="folder with the two .tflite files (default: the Keras cache)")
    parser.add_argument("--threshold", type=float, default=0.2, help="PCK radius in torso lengths")
    args = parser.parse_args()

    from keras_nted.evaluation.pose import RENDER_SIZE
    from keras_nted.evaluation.pose import parity
    from keras_nted.evaluation.pose import pck_by_view
    from keras_nted.evaluation.pose import pose_test_set
    from keras_nted.evaluation.pose import reference_landmarks
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose.coco import to_coco18

    with open(FIXTURE) as f:
        reference = reference_landmarks(json.load(f))
    estimator = PoseEstimator(args.models, max_people=1)
    test_set = pose_test_set()
    people = {item.name: estimator(item.image) for item in test_set}
    landmarks = {name: (p[0].landmarks.points if p else None) for name, p in people.items()}
    result = parity(landmarks, {n: (r[0] if r else None) for n, r in reference.items()}, test_set)
    print(f"Parity with mediapipe 0.10.21 on {result['images']} images:")
    print(
        f"  person found by both: {len(result['found_by_both'])}; only by keras-nted: "
        f"{result['found_only_by_estimate'] or 'none'}; "
        f"only by mediapipe: {result['found_only_by_reference'] or 'none'}"
    )
    print(
        f"  33 landmarks, distance / torso: median {result['median']:.4f}, 90th percentile {result['p90']:.4f}, "
        f"max {result['max']:.3f}; worst image's median {result['worst_image_median']:.4f}"
    )

    renders = [item for item in test_set if item.image.shape[:2] == RENDER_SIZE]
    ours = [(item, people[item.name][0].keypoints if people[item.name] else None) for item in renders]
    theirs = []
    for item in renders:
        ref = reference[item.name]
        theirs.append((item, None if ref is None else to_coco18(ref[0], ref[1], RENDER_SIZE)[0]))
    print(f"\nPCK@{args.threshold:g} x torso on {len(renders)} mannequins at 512x352 (images with a person found):")
    print(f"  {'view':6} {'images':>6} | {'keras-nted found':>16} {'PCK':>6} | {'mediapipe found':>15} {'PCK':>6}")
    mine, ref = pck_by_view(ours, args.threshold), pck_by_view(theirs, args.threshold)
    for view, row in mine.items():
        other = ref[view]
        print(
            f"  {view:6} {row['images']:6d} | {row['found']:16d} {row['pck']:6.3f} | "
            f"{other['found']:15d} {other['pck']:6.3f}"
        )


if __name__ == "__main__":
    main()
