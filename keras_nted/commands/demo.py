"""`keras-nted demo`: re-pose held-out mannequin identities with the shipped model."""

NAME = "demo"
HELP = (
    "Load the shipped mannequin model (saved_models/nted_mannequin_64.keras), re-pose held-out "
    "mannequin identities into several target poses, and write a results grid and attention "
    "pictures (as the release draws them) to ./demo_output/. Takes seconds on a CPU; nothing is downloaded."
)


def add_arguments(parser):
    parser.add_argument(
        "--model", help="generator .keras file (default: the shipped saved_models/nted_mannequin_64.keras)"
    )
    parser.add_argument("-o", "--output", default="demo_output", help="folder to write (default: %(default)s)")
    parser.add_argument("--identities", type=int, default=4, help="held-out identities, rows of the grid (default: 4)")
    parser.add_argument("--poses", type=int, default=5, help="target poses, columns of the grid (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="mannequin data seed (default: %(default)s)")


def run(args):
    import pathlib

    from keras_nted.data.mannequin import check_mannequin_size
    from keras_nted.demo import write_demo
    from keras_nted.files import check_output_path
    from keras_nted.models import DEFAULT_PRESET
    from keras_nted.models import PoseTransfer
    from keras_nted.models.generator import load_generator
    from keras_nted.models.preset_io import builtin_weights_path

    for flag, value in (("--identities", args.identities), ("--poses", args.poses)):
        if not 1 <= value <= 50:
            raise ValueError(f"Expected {flag} between 1 and 50. Received: {flag} {value}")
    if args.seed < 0:
        raise ValueError(f"Expected --seed >= 0. Received: --seed {args.seed}")
    check_output_path(args.output, "-o", folder=True)
    model = pathlib.Path(args.model) if args.model else builtin_weights_path(DEFAULT_PRESET)
    if not model.is_file():
        if args.model:
            raise FileNotFoundError(f"Model file not found: {model}")
        raise FileNotFoundError(
            f"The shipped model is missing: {model}. Make it with the recipe in saved_models/nted_mannequin_64.md "
            "(`keras-nted train --preset nted_mannequin_64 ...`), or pass --model."
        )
    task = PoseTransfer(load_generator(model))
    try:
        check_mannequin_size(task.image_size)
    except ValueError:
        raise ValueError(
            f"{model} makes {task.image_size[0]}x{task.image_size[1]} images; the mannequin demo "
            "needs WIDTH = HEIGHT * 11 / 16."
        ) from None
    written = write_demo(task, args.output, num_identities=args.identities, num_poses=args.poses, seed=args.seed)
    print(f"model: {model}")
    for label, path in written.items():
        print(f"{label}: {path}")
