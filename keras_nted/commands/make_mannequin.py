"""`keras-nted make-mannequin`: write a procedural mannequin data set in the DeepFashion layout."""

import logging

NAME = "make-mannequin"
HELP = (
    "Write a procedural 'mannequin' person data set in the released DeepFashion layout (img/, pose/ "
    "in the released keypoint frame, train_pairs.txt / test_pairs.txt) plus part-label maps, for "
    "DeepFashionDataset to read."
)


def add_arguments(parser):
    parser.add_argument(
        "-o", "--output", dest="out", metavar="OUT", required=True, help="folder to write (created if missing)"
    )
    parser.add_argument(
        "--identities", type=int, default=100, help="number of identities, train and test together (default: 100)"
    )
    parser.add_argument("--poses", type=int, default=4, help="poses per identity, at least 2 (default: 4)")
    parser.add_argument(
        "--image-size",
        dest="size",
        default="128x88",
        metavar="HxW",
        help="image size HEIGHTxWIDTH with WIDTH = HEIGHT * 11 / 16 (default: 128x88)",
    )
    parser.add_argument("--seed", type=int, default=0, help="non-negative integer seed (default: 0)")
    parser.add_argument(
        "--test-fraction", type=float, default=0.1, help="share of identities in the test split (default: 0.1)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace another mannequin set already in OUT (not any other folder)"
    )


def parse_size(text):
    """`"128x88"` -> `(128, 88)`; a `ValueError` naming `--image-size` for anything else.

    The mannequin's constraint (`WIDTH = HEIGHT * 11 / 16`) is checked by
    `keras_nted.data.mannequin.check_mannequin_size`.
    """
    from keras_nted.data.mannequin import check_mannequin_size

    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"Expected --image-size as HEIGHTxWIDTH, e.g. 128x88. Received: --image-size {text}") from None
    try:
        return check_mannequin_size((height, width))
    except ValueError:
        raise ValueError(
            "Expected --image-size HEIGHTxWIDTH with HEIGHT a positive multiple of 16 and WIDTH = HEIGHT * 11 / 16 "
            f"(64x44, 128x88, 256x176, 512x352). Received: --image-size {text}"
        ) from None


# What a mannequin set is made of: an --overwrite removes these, so that two sets never mix.
_SET_ENTRIES = ("img", "pose", "labels", "train_pairs.txt", "test_pairs.txt", "mannequin.json", "README.txt")


def _check_existing_set(args, image_size):
    """Refuses an OUT that holds anything but the same set (or, with --overwrite, another mannequin set)."""
    import json
    import pathlib
    import shutil

    out = pathlib.Path(args.out)
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        before = json.loads((out / "mannequin.json").read_text())
    except (OSError, ValueError):
        raise ValueError(
            f"Expected -o to be a new or empty folder. Received: -o {out}, which holds other files"
        ) from None
    asked = {"image_size": list(image_size), "seed": args.seed, "num_identities": args.identities,
             "poses_per_identity": args.poses, "test_fraction": args.test_fraction}  # fmt: skip
    if isinstance(before, dict) and all(before.get(key) == value for key, value in asked.items()):
        return  # the same set again: the same files
    if not args.overwrite:
        raise ValueError(
            f"{out} holds another mannequin set (see its mannequin.json); writing this one there would mix the two. "
            "Give a new -o, or --overwrite to replace it."
        )
    for name in _SET_ENTRIES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def run(args):
    from keras_nted.data.mannequin import write_mannequin_dataset
    from keras_nted.files import check_output_path

    image_size = parse_size(args.size)
    check_output_path(args.out, "-o", folder=True)
    for flag, value, minimum in (("--identities", args.identities, 1), ("--poses", args.poses, 2)):
        if value < minimum:
            raise ValueError(f"Expected {flag} to be an integer >= {minimum}. Received: {flag} {value}")
    if args.seed < 0:
        raise ValueError(f"Expected --seed to be a non-negative integer. Received: --seed {args.seed}")
    if not 0 <= args.test_fraction < 1:
        raise ValueError(f"Expected --test-fraction in [0, 1). Received: --test-fraction {args.test_fraction}")
    _check_existing_set(args, image_size)
    info = write_mannequin_dataset(
        args.out,
        num_identities=args.identities,
        poses_per_identity=args.poses,
        image_size=image_size,
        seed=args.seed,
        test_fraction=args.test_fraction,
        verbose=0 if args.quiet else 1,
    )
    splits = info["splits"]
    logging.getLogger(__name__).info(
        "Wrote %s: %d train identities (%d pairs), %d test identities (%d pairs), %dx%d images.",
        args.out,
        splits["train"]["identities"],
        splits["train"]["pairs"],
        splits["test"]["identities"],
        splits["test"]["pairs"],
        *image_size,
    )
