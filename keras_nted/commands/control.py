"""`keras-nted control`: appearance control, moving a garment from one image onto another person."""

NAME = "control"
HELP = (
    "Appearance control (paper Sec. 4): dress the person of --person in the --region garment of "
    "--garment, in the target pose --pose, by optimising the neural-texture interpolation as the "
    "release does; writes [garment | person | skeleton | result] strips at chosen iterations and "
    "the coefficients (.npz)."
)


def add_arguments(parser):
    parser.add_argument("--garment", required=True, metavar="IMAGE", help="image whose garment is taken")
    parser.add_argument("--person", required=True, metavar="IMAGE", help="image of the person to dress")
    parser.add_argument(
        "--pose",
        required=True,
        metavar="POSE",
        help="target pose: released pose .txt, OpenPose *_keypoints.json or (18, 2) .npy (as in `generate`); "
        "in the release, the person's own pose",
    )
    parser.add_argument(
        "--pose-frame",
        choices=("deepfashion", "pixels"),
        help="frame of --pose: 'deepfashion' (released 256x256 pose-file frame) or 'pixels' (pixels of the "
        "--person image). Default per file: .txt -> deepfashion, .json and .npy -> pixels.",
    )
    parser.add_argument(
        "--region",
        required=True,
        metavar="upper|lower|MASK.png",
        help="'upper' or 'lower': estimated from the model's own distribution maps, seeded by the torso "
        "(or hips-to-knees) polygon of the target pose (an approximation, no segmentation network); or a "
        "PNG mask of the region in the target pose, the size of the --person image (white = region), "
        "used as is",
    )
    parser.add_argument(
        "--pose-person",
        type=int,
        metavar="N",
        help="for OpenPose .json poses with several people: the index of the one to use (default: the person "
        "whose keypoint confidences sum highest)",
    )
    garment_region = parser.add_mutually_exclusive_group()
    garment_region.add_argument(
        "--garment-region",
        metavar="MASK.png",
        help="PNG mask of the region in the --garment image itself (its size, white = region): turns on the "
        "color term (the region's mean color in the garment image; not in the release, see "
        "docs/appearance_control.md)",
    )
    garment_region.add_argument(
        "--garment-pose",
        metavar="POSE",
        help="the --garment image's own pose (same formats and --pose-frame as --pose): with --region "
        "upper|lower, the garment's region in its own image is estimated from it (the model's distribution "
        "maps) and turns on the color term",
    )
    parser.add_argument(
        "--model", help="generator .keras file (default: the shipped saved_models/nted_mannequin_64.keras)"
    )
    parser.add_argument("--steps", type=int, default=200, help="optimisation steps (default: %(default)s, as released)")
    parser.add_argument(
        "--snapshots",
        metavar="IT,IT,...",
        help="iterations to write strips for (default: every 50 and the last, as released: 0,50,100,150,200)",
    )
    parser.add_argument(
        "--loss",
        choices=("auto", "perceptual", "l1"),
        default="auto",
        help="reconstruction loss: the released VGG19 'perceptual' loss, or the pixel 'l1' fallback; 'auto' "
        "(default) uses perceptual when the --vgg-weights can be had (Keras cache or download), else l1",
    )
    parser.add_argument(
        "--vgg-weights",
        default="imagenet",
        metavar="imagenet|PATH",
        help="VGG19 weights of the perceptual loss: 'imagenet' (Keras' file, cached in ~/.keras/models/) or a "
        "Keras .h5 / torchvision .pth file",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder to write to")


def _snapshots(text, steps):
    if text is None:
        return None
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"Expected --snapshots as comma-separated integers. Received: --snapshots {text}") from None
    if not values or values[0] < 0 or values[-1] > steps:
        raise ValueError(f"Expected --snapshots between 0 and --steps ({steps}). Received: --snapshots {text}")
    return values


def _loss(args):
    """`"l1"`, or a `PerceptualLoss` (for `auto`: when its VGG19 weights can be had)."""
    if args.loss == "l1":
        return "l1"
    from keras_nted.losses import PerceptualLoss

    try:
        return PerceptualLoss(weights=args.vgg_weights, style_weight=0.0)
    except FileNotFoundError as e:
        if args.loss == "perceptual":
            raise
        reason = str(e).split(" (")[0]
        print(f"control: {reason}; using the pixel L1 loss instead (see docs/appearance_control.md)")
        return "l1"


def _name(path):
    """A file's stem, without OpenPose's `_keypoints` suffix (results are named like `generate`'s)."""
    import os

    name = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return name[: -len("_keypoints")] if name.endswith("_keypoints") and len(name) > len("_keypoints") else name


def _pose(preprocessor, keypoints, path, frame, source_size):
    """Keypoints read from pose file `path` -> (skeleton `(H, W, 20)` at the model's size,
    keypoints in its pixels)."""
    from keras_nted.data.keypoints import default_pose_frame
    from keras_nted.data.keypoints import rescale_pixel_keypoints
    from keras_nted.data.keypoints import to_pixels

    image_size = preprocessor.image_size
    frame = frame or default_pose_frame(path)
    skeleton = preprocessor.target_skeleton(keypoints, frame, source_size).astype("float32")
    if frame == "pixels" and tuple(source_size) != tuple(image_size):
        keypoints = rescale_pixel_keypoints(keypoints, image_size, source_size)
    return skeleton, to_pixels(keypoints, image_size, frame)


def run(args):
    import os

    from keras_nted.appearance import AppearanceControl
    from keras_nted.appearance import DistributionSegmenter
    from keras_nted.appearance import garment_image_region
    from keras_nted.appearance import load_mask
    from keras_nted.appearance import region_seed_mask
    from keras_nted.appearance import write_control_outputs
    from keras_nted.appearance.masks import REGIONS
    from keras_nted.appearance.masks import resize_mask
    from keras_nted.data.images import read_image
    from keras_nted.data.keypoints import read_keypoints
    from keras_nted.files import check_output_path
    from keras_nted.models import DEFAULT_PRESET
    from keras_nted.models import PoseTransfer
    from keras_nted.models.generator import load_generator
    from keras_nted.models.preset_io import builtin_weights_path

    if args.steps < 0:
        raise ValueError(f"Expected --steps >= 0. Received: --steps {args.steps}")
    snapshots = _snapshots(args.snapshots, args.steps)
    check_output_path(args.output, "-o", folder=True)
    if args.region not in REGIONS and not os.path.isfile(args.region):
        raise FileNotFoundError(f"--region must be 'upper', 'lower' or a mask file. Mask file not found: {args.region}")
    if args.garment_pose is not None and args.region not in REGIONS:
        raise ValueError("--garment-pose estimates the garment's region for --region upper|lower; with a --region "
                         "mask file, give the garment image's region as --garment-region MASK.png")  # fmt: skip
    # read (and checked) once, before the model loads
    if args.pose_person is not None and args.pose_person < 0:
        raise ValueError(f"Expected --pose-person >= 0. Received: --pose-person {args.pose_person}")
    poses = {
        path: read_keypoints(path, args.pose_person) for path in (args.pose, args.garment_pose) if path is not None
    }
    images = {}
    for flag, path in (("--garment", args.garment), ("--person", args.person)):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{flag} image not found: {path}")
        images[flag] = read_image(path, f"{flag} image {path}")  # decoded in full before the model loads
    person_size = images["--person"].size[::-1]
    garment_size = images["--garment"].size[::-1]
    mask = source = None
    if args.region not in REGIONS:
        mask = load_mask(args.region, person_size, name="--region mask")  # checked before the model loads
    if args.garment_region is not None:
        source = load_mask(args.garment_region, garment_size, name="--garment-region mask")

    task = PoseTransfer(load_generator(args.model or builtin_weights_path(DEFAULT_PRESET)))
    generator, image_size = task.generator, task.image_size
    garment = task.preprocessor.reference_image(images["--garment"], "--garment image")[0]
    person = task.preprocessor.reference_image(images["--person"], "--person image")[0]
    skeleton, keypoints = _pose(task.preprocessor, poses[args.pose], args.pose, args.pose_frame, person_size)
    options = {}
    if mask is not None:
        region = load_mask(resize_mask(mask, image_size), image_size, name="--region mask at the model's size")
        options = {"garment_mask": region, "person_mask": region}
    else:
        seed = region_seed_mask(keypoints, image_size, args.region)
        options = {"segmenter": DistributionSegmenter(seed)}
    if source is not None:
        name = "--garment-region mask at the model's size"
        options["garment_image_mask"] = load_mask(resize_mask(source, image_size), image_size, name=name)
    elif args.garment_pose is not None:
        garment_skeleton, garment_keypoints = _pose(
            task.preprocessor, poses[args.garment_pose], args.garment_pose, args.pose_frame, garment_size
        )
        options["garment_image_mask"] = garment_image_region(
            generator, garment, garment_skeleton, garment_keypoints, args.region
        )
    loss = _loss(args)
    control = AppearanceControl(generator, steps=args.steps, loss=loss, snapshots=snapshots)
    result = control(garment, person, skeleton, **options)
    loss = control.loss
    name = f"{_name(args.garment)}_2_{_name(args.person)}_2_{_name(args.pose)}"
    written = write_control_outputs(result, garment, person, skeleton, args.output, name)
    history = result.history["loss"]
    color = "with" if "garment_image_mask" in options and control.color_weight else "without"
    print(
        f"{len(written) - 1} strips and the coefficients ({generator.image_size[0]}x{generator.image_size[1]}, "
        f"{loss} loss {color} the color term, {args.steps} steps, loss {history[0]:.4g} -> {history[-1]:.4g}) "
        f"-> {args.output}"
    )
    return 0
