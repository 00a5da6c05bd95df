"""`keras-nted evaluate`: score a generator on held-out mannequin identities."""

NAME = "evaluate"
HELP = (
    "Score a generator (.keras) on held-out (test-split) mannequin identities: SSIM and L1 of the "
    "model's output and of copying the reference image, and the share of the SSIM gap to 1.0 closed."
)


def add_arguments(parser):
    parser.add_argument(
        "model", metavar="MODEL", help="generator .keras file (e.g. saved_models/nted_mannequin_64.keras)"
    )
    parser.add_argument(
        "--pairs", type=int, default=1200, help="held-out pairs to score, at most 1200 (default: all 1200)"
    )
    parser.add_argument("--seed", type=int, default=0, help="mannequin data seed (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="pairs per forward pass (default: %(default)s)")
    parser.add_argument("--json", metavar="PATH", help="also write the scores to this JSON file")


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
        raise ValueError(f"--pairs: {e}") from None
    if args.json:
        check_output_path(args.json, "--json", folder=False)
    generator = load_generator(args.model)
    try:
        check_mannequin_size(generator.image_size)
    except ValueError:
        raise ValueError(
            f"{args.model} makes {generator.image_size[0]}x{generator.image_size[1]} images; the mannequin set "
            "needs WIDTH = HEIGHT * 11 / 16."
        ) from None
    result = evaluate_mannequin(generator, num_pairs=args.pairs, seed=args.seed, batch_size=args.batch_size)
    print(format_table(result))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=2))
