"""`keras-nted prepare-deepfashion`: resize the DeepFashion originals to the training sizes."""

NAME = "prepare-deepfashion"
HELP = (
    "Resize the high-resolution DeepFashion images named in train_pairs.txt / test_pairs.txt "
    "(ROOT/img/...) to the training sizes, as the released prepare_data.py does, into "
    "ROOT/<H>-<W>/ (PNG files, or the released LMDB with --lmdb)."
)


def add_arguments(parser):
    parser.add_argument("root", metavar="ROOT", help="DeepFashion root: the pairs files, img/ (originals), pose/")
    parser.add_argument(
        "--image-size",
        dest="sizes",
        default="256x176,512x352",
        metavar="HxW[,HxW...]",
        help="HEIGHTxWIDTH size(s) to write, comma-separated (default: 256x176,512x352)",
    )
    parser.add_argument("--lmdb", action="store_true", help="write the released LMDB (needs the `lmdb` package)")
    parser.add_argument("--workers", type=int, default=2, help="threads that decode and resize (default: 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    from keras_nted.data.prepare import parse_sizes
    from keras_nted.data.prepare import prepare_deepfashion
    from keras_nted.utils.memory import check_fits_in_memory

    sizes = parse_sizes(args.sizes)
    if args.workers < 1:
        raise ValueError(f"Expected --workers >= 1. Received: --workers {args.workers}")
    for height, width in sizes:  # each worker holds a resized RGB image and its PNG encoding
        needed = 2 * height * width * 3 * args.workers
        check_fits_in_memory("--image-size", args.sizes, needed, f"{args.workers} resized {height}x{width} images")
    outputs = prepare_deepfashion(
        args.root, sizes=sizes, use_lmdb=args.lmdb, workers=args.workers, verbose=not args.quiet
    )
    for (height, width), folder in outputs.items():
        print(f"{height}x{width}: {folder}{' (LMDB)' if args.lmdb else ''}")
