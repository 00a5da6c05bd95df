"""`keras-nted generate`: re-render reference images in target poses, named as the release names them."""

NAME = "generate"
HELP = (
    "Re-render reference image(s) in target pose(s) (released pose .txt, OpenPose *_keypoints.json "
    "or (18, 2) .npy files, or the pose of the person in other photos with --pose-from), or every pair "
    "of a released-style pairs file, and write <source>_2_<target>_vis.png images (optionally "
    "reference | skeleton | result strips)."
)


def add_arguments(parser):
    parser.add_argument(
        "--model", help="generator .keras file (default: the shipped saved_models/nted_mannequin_64.keras)"
    )
    parser.add_argument("--reference", nargs="+", metavar="IMAGE", help="reference image file(s), any size PIL reads")
    parser.add_argument(
        "--pose",
        nargs="+",
        metavar="POSE",
        help="target pose file(s): released pose .txt, OpenPose *_keypoints.json (COCO-18) or an (18, 2) .npy "
        "of x, y. As many as --reference (paired in order), or one reference for many poses (or the reverse).",
    )
    parser.add_argument(
        "--pose-from",
        nargs="+",
        metavar="PHOTO",
        help="instead of --pose: photo(s) of people in the target pose(s). Their keypoints are estimated "
        "(BlazePose, the [pose] extra; see `keras-nted pose`), and both these photos and the --reference "
        "photos are framed around their person to the model's aspect (cut and padded) first.",
    )
    parser.add_argument(
        "--reference-person",
        type=int,
        metavar="N",
        help="with --pose-from: the person of the reference photos to use, by the detector's confidence "
        "(default: 0, the most confident); --person picks the person of the --pose-from photos",
    )
    parser.add_argument(
        "--models",
        metavar="DIR",
        help="with --pose-from: the folder of the pose model files (default: the Keras cache; "
        "`keras-nted pose --get-models` obtains them)",
    )
    parser.add_argument(
        "--pose-frame",
        choices=("deepfashion", "pixels"),
        help="coordinate frame of the --pose files: 'deepfashion' (the released 256x256 pose-file frame "
        "with its 40-px border) or 'pixels' (pixel coordinates of the reference image at its original "
        "size). Default per file: .txt -> deepfashion, .json and .npy -> pixels.",
    )
    parser.add_argument(
        "--person",
        type=int,
        metavar="N",
        help="for OpenPose .json poses with several people: the index of the one to use (default: the person "
        "whose keypoint confidences sum highest); with --pose-from, the person of those photos by the "
        "detector's confidence (default: 0, the most confident)",
    )
    parser.add_argument(
        "--pairs",
        metavar="PAIRS_FILE",
        help="a released-style pairs file ('target,source1,...' lines, e.g. test_pairs.txt) instead of "
        "--reference / --pose; needs --root",
    )
    parser.add_argument(
        "--root",
        help="data set root in the released layout for --pairs (img/ or <H>-<W>/, and pose/); results "
        "get the released flattened names",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder to write the images to")
    parser.add_argument("--batch-size", type=int, default=8, help="images per generator call (default: %(default)s)")
    parser.add_argument(
        "--strip",
        action="store_true",
        help="also write <source>_2_<target>_strip.png: reference | target skeleton | result, as the released demo",
    )


def _task(args):
    """The task around the generator file `--model`, or the default preset's shipped one."""
    from keras_nted.models import DEFAULT_PRESET
    from keras_nted.models import PoseTransfer
    from keras_nted.models.generator import load_generator
    from keras_nted.models.preset_io import builtin_weights_path

    return PoseTransfer(load_generator(args.model or builtin_weights_path(DEFAULT_PRESET)))


def _say_photo_note(args):
    """On stderr, one line when the model is the built-in mannequin one (`presets.photo_note`)."""
    import sys

    from keras_nted.models.presets import DEFAULT_PRESET
    from keras_nted.models.presets import photo_note

    note = photo_note(args.model or DEFAULT_PRESET)
    if note and not args.quiet_start:
        print(f"keras-nted: note: {note}", file=sys.stderr)


def _check_photo_arguments(args):
    if args.pose and args.pose_from:
        raise ValueError("Give either --pose POSE... or --pose-from PHOTO..., not both.")
    if not args.pose_from and (args.reference_person is not None or args.models):
        raise ValueError("--reference-person and --models go with --pose-from.")
    if args.pose_from and args.pose_frame:
        raise ValueError("--pose-frame does not apply to --pose-from (the photos' poses are estimated).")
    for flag, value in (("--person", args.person), ("--reference-person", args.reference_person)):
        if value is not None and value < 0:
            raise ValueError(f"Expected {flag} >= 0. Received: {flag} {value}")


def _photo_pairs(args, folder):
    """--reference and --pose-from photos framed into `folder`, as generation pairs."""
    from keras_nted import generation
    from keras_nted.pose import PoseEstimator
    from keras_nted.pose.photos import frame_photo_files

    generation.pairs_from_files(args.reference, args.pose_from, "deepfashion")  # counts, before the slow part
    estimator = PoseEstimator(args.models, max_people=1 + max(args.person or 0, args.reference_person or 0))
    references, poses = frame_photo_files(
        args.reference, args.pose_from, folder, estimator, args.reference_person, args.person
    )
    return generation.pairs_from_files(references, poses)


def run(args):
    import tempfile

    from keras_nted import generation
    from keras_nted.files import check_output_path

    if args.pairs or args.root:
        if args.reference or args.pose or args.pose_from or args.pose_frame or args.person is not None:
            raise ValueError("Give either --pairs with --root, or --reference with --pose, not both.")
        if not (args.pairs and args.root):
            raise ValueError(
                "--pairs needs --root (the data set root in the released layout), and --root needs --pairs."
            )
    elif not (args.reference and (args.pose or args.pose_from)):
        raise ValueError(
            "Give --reference IMAGE... and --pose POSE... (or --pose-from PHOTO..., or --pairs PAIRS_FILE --root ROOT)."
        )
    _check_photo_arguments(args)
    if args.batch_size < 1:
        raise ValueError(f"Expected a positive --batch-size. Received: --batch-size {args.batch_size}")
    check_output_path(args.output, "-o", folder=True)

    with tempfile.TemporaryDirectory(prefix="keras-nted-framed-") as framed:
        if args.pairs:
            task = _task(args)
            pairs = generation.pairs_from_pairs_file(args.pairs, args.root, task.image_size)
        else:
            if args.pose_from:
                pairs = _photo_pairs(args, framed)
                _say_photo_note(args)
            else:
                pairs = generation.pairs_from_files(args.reference, args.pose, args.pose_frame, args.person)
            generation.check_pairs(pairs)  # bad input fails before the model is loaded
            task = _task(args)
        written = generation.generate(task, pairs, args.output, batch_size=args.batch_size, strip=args.strip)
    height, width = task.image_size
    strips = f" and {len(pairs)} strips" if args.strip else ""
    print(f"{len(pairs)} images{strips} ({height}x{width}) -> {args.output}")
    return 0 if written else 1
