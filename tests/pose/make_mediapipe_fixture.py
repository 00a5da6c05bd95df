"""Makes tests/pose/fixtures/mediapipe_0.10.21.json: mediapipe's own Pose solution on the test set.

mediapipe 0.10.21 pins numpy<2 and protobuf<5, so it cannot live in the project's environment.
The fixture is made in two steps, each in its own environment:

    # 1. the project's environment: write the images of keras_nted.evaluation.pose.pose_test_set
    PYTHONPATH=. .venv/bin/python tests/pose/make_mediapipe_fixture.py images /tmp/pose_images

    # 2. a separate venv with the reference (python3 -m venv /work/mp-ref-venv &&
    #    /work/mp-ref-venv/bin/pip install mediapipe==0.10.21)
    /work/mp-ref-venv/bin/python tests/pose/make_mediapipe_fixture.py mediapipe /tmp/pose_images \
        -o tests/pose/fixtures/mediapipe_0.10.21.json

Step 2 imports only mediapipe, numpy and PIL. The fixture holds, per image, the 33 landmarks of
`mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)` as pixel `x, y` and
`visibility` (or `null` where mediapipe found no one).
"""

import argparse
import json
import os
import sys


def write_images(folder):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from PIL import Image

    from keras_nted.evaluation.pose import pose_test_set

    os.makedirs(folder, exist_ok=True)
    for item in pose_test_set():
        Image.fromarray(item.image).save(os.path.join(folder, f"{item.name}.png"))


def run_mediapipe(folder, output):
    import mediapipe as mp
    import numpy as np
    from PIL import Image

    names = sorted(f[: -len(".png")] for f in os.listdir(folder) if f.endswith(".png"))
    people = {}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for name in names:
            image = np.asarray(Image.open(os.path.join(folder, f"{name}.png")).convert("RGB"))
            height, width = image.shape[:2]
            result = pose.process(image)
            if result.pose_landmarks is None:
                people[name] = None
                continue
            people[name] = [
                [round(p.x * width, 3), round(p.y * height, 3), round(p.visibility, 4)]
                for p in result.pose_landmarks.landmark
            ]
    fixture = {
        "reference": f"mediapipe {mp.__version__}: solutions.pose.Pose(static_image_mode=True, model_complexity=1)",
        "values": "per image: 33 BlazePose landmarks as [x, y, visibility], pixels of the image; null: no person",
        "people": people,
    }
    with open(output, "w") as f:
        json.dump(fixture, f, indent=0)
        f.write("\n")
    print(f"{sum(v is not None for v in people.values())} of {len(people)} images with a person -> {output}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("images").add_argument("folder")
    step = sub.add_parser("mediapipe")
    step.add_argument("folder")
    step.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    if args.step == "images":
        write_images(args.folder)
    else:
        run_mediapipe(args.folder, args.output)


if __name__ == "__main__":
    main()
