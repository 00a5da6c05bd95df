"""`keras-nted pose`: OpenPose COCO-18 keypoints of the people in photos (BlazePose on LiteRT)."""

NAME = "pose"
HELP = (
    "Find the people in photo(s) and write DIR/<stem>_keypoints.json in OpenPose's format (COCO-18, pixels "
    "of the photo; an empty 'people' list when nobody is found), optionally DIR/<stem>_pose.png. Needs the "
    "[pose] extra and the model files (--get-models)."
)


def add_arguments(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="photo file(s), any size PIL reads")
    parser.add_argument("-o", "--output", metavar="DIR", help="folder to write the keypoint files to")
    parser.add_argument(
        "--picture", action="store_true", help="also write DIR/<stem>_pose.png: the skeletons over the photo"
    )
    parser.add_argument(
        "--person",
        type=int,
        metavar="N",
        help="write only person N (people are ordered by the detector's confidence, 0 first); default: everyone",
    )
    parser.add_argument(
        "--max-people", type=int, default=4, metavar="N", help="the most people per photo (default: %(default)s)"
    )
    parser.add_argument(
        "--models",
        metavar="DIR",
        help="folder holding pose_detection.tflite and pose_landmark_full.tflite (default: the Keras cache, "
        "~/.keras/models/blazepose-0.10.21)",
    )
    parser.add_argument(
        "--get-models",
        action="store_true",
        help="obtain the two model files first: pip downloads the mediapipe==0.10.21 wheel (about 36 MB; "
        "nothing is installed), the files are taken out and checked by SHA-256",
    )
    parser.add_argument("--wheel", metavar="WHL", help="with --get-models: a mediapipe 0.10.21 wheel already on disk")


def _check_arguments(args):
    if args.wheel and not args.get_models:
        raise ValueError("--wheel goes with --get-models.")
    if not args.images and not args.get_models:
        raise ValueError("Give IMAGE... -o DIR (or --get-models to obtain the model files).")
    if args.images and not args.output:
        raise ValueError("Give -o DIR, the folder to write the keypoint files to.")
    if args.person is not None and args.person < 0:
        raise ValueError(f"Expected --person >= 0. Received: --person {args.person}")
    if args.max_people < 1:
        raise ValueError(f"Expected --max-people >= 1. Received: --max-people {args.max_people}")


def _stems(paths):
    """`{path: stem}`, checked: every file exists and two never share an output name."""
    import os

    from keras_nted.data.images import open_image

    stems = {}
    for path in paths:
        with open_image(path, f"image {path}"):
            pass
        stem = os.path.splitext(os.path.basename(path))[0]
        other = next((p for p, s in stems.items() if s == stem and p != path), None)
        if other is not None:
            raise ValueError(f"{other} and {path} would both be written as {stem}_keypoints.json. Rename one.")
        stems[path] = stem
    return stems


def run(args):
    import json
    import logging
    import os

    from keras_nted.files import atomic_path
    from keras_nted.files import check_output_path

    _check_arguments(args)
    from keras_nted.pose import model_files

    if args.get_models:
        paths = model_files.obtain_model_files(args.models, args.wheel)
        logging.getLogger(__name__).info("Model files ready in %s", os.path.dirname(paths[model_files.DETECTOR]))
    if not args.images:
        return 0
    check_output_path(args.output, "-o", folder=True)
    stems = _stems(args.images)
    from keras_nted.files import write_png
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose.photos import choose_person
    from keras_nted.pose.photos import openpose_people
    from keras_nted.pose.photos import read_photo
    from keras_nted.pose.photos import skeleton_picture

    estimator = PoseEstimator(args.models, max_people=max(args.max_people, (args.person or 0) + 1))
    found = {}
    for path in stems:  # every photo first: a bad --person writes nothing
        people = estimator(read_photo(path))
        found[path] = people if args.person is None else [choose_person(people, args.person, path)]
    for path, stem in stems.items():
        with atomic_path(os.path.join(args.output, f"{stem}_keypoints.json")) as tmp, open(tmp, "w") as f:
            json.dump(openpose_people(found[path]), f)
        if args.picture:
            picture = skeleton_picture(read_photo(path), found[path])
            write_png(os.path.join(args.output, f"{stem}_pose.png"), picture)
    print(f"{len(stems)} images, {sum(bool(p) for p in found.values())} with a person -> {args.output}")
    return 0
