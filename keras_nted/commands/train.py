"""`keras-nted train`: train (or resume) an NTED model with `fit`."""

import re

from keras_nted.models.loss_settings import LOSS_TABLE

# `train`'s arguments that its errors name, as typed on this command line.
FLAGS = {
    "output_dir": "-o/--output",
    "epochs": "--epochs",
    "steps_per_epoch": "--steps-per-epoch",
    "lr_decay_steps": "--lr-decay-steps",
    "image_size": "--image-size",
    "batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "model_path": "--model-path",
    "vgg_weights": "--vgg-weights",
}

NAME = "train"
HELP = (
    "Train an NTED model from a preset or a YAML/JSON config on the mannequin set (default, generated "
    "in memory) or a DeepFashion root, with resumable checkpoints, TensorBoard logs, a sample grid per "
    "epoch and the EMA generator saved as .keras after every epoch. Running the same command again "
    "resumes where it stopped."
)


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset", default=None, help="model preset (default: nted_tiny; see keras_nted.models.PRESETS)"
    )
    source.add_argument(
        "--config", help="YAML/JSON config: a preset-form dict, or a released config (gen.param / dis.param)"
    )
    parser.add_argument(
        "--data", metavar="PATH", help="DeepFashion root (see prepare-deepfashion); default: the mannequin set"
    )
    parser.add_argument("-o", "--output", default="runs/train", help="run folder (default: %(default)s)")
    parser.add_argument("--model-path", help="where the EMA generator .keras goes (default: OUTPUT/generator.keras)")
    parser.add_argument(
        "--image-size", metavar="HxW", help="HEIGHTxWIDTH (default: the config's; HEIGHT must be its size)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="pairs per step (default: %(default)s)")
    parser.add_argument(
        "--epochs", type=int, default=1, help="epochs to train in all, counting resumed ones (default: 1)"
    )
    parser.add_argument(
        "--steps-per-epoch", type=int, help="steps per epoch (default: one pass over the training pairs)"
    )
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the model's initial weights and of the data order: the same command gives the same run "
        "(default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--vgg-weights",
        default="imagenet",
        help=(
            "VGG19 weights of the perceptual and face losses: 'imagenet' (downloaded by Keras), a local "
            ".h5/.pth file, 'random' (random weights: benchmarks), or 'none' for no loss network at all; "
            "with 'none' the perceptual and face terms are dropped and L1 (--weight-l1, default 10 then) "
            "is the reconstruction term (default: %(default)s)"
        ),
    )
    weights = parser.add_argument_group("loss weights (default: the config's training section, else the release's)")
    for setting in LOSS_TABLE:
        weights.add_argument(setting.flag, type=setting.type, help=setting.flag_help)
    parser.add_argument("--learning-rate", type=float, help="generator learning rate (default: 0.002, as released)")
    parser.add_argument(
        "--lr-decay-steps",
        type=int,
        metavar="N",
        help=(
            "cosine-decay the generator learning rate to 0 over the last N of the epochs x steps-per-epoch steps "
            "(default: constant, as released); a resumed run may change --epochs or N only while all its steps "
            "so far are in both schedules' constant phase"
        ),
    )
    parser.add_argument(
        "--checkpoint-every", type=int, default=500, help="steps between checkpoints; also every epoch (default: 500)"
    )
    parser.add_argument(
        "--keep-every",
        type=int,
        metavar="N",
        help="also keep every checkpoint whose step is a multiple of N (default: only the newest two)",
    )
    parser.add_argument("--workers", type=int, default=1, help="threads building batches (default: %(default)s)")
    _add_distribution_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar (one line per epoch instead)")


def _add_distribution_arguments(parser):
    parallel = parser.add_argument_group(
        "distributed training (JAX, TensorFlow; torch: over processes, with these flags or under torchrun)"
    )
    parallel.add_argument(
        "--data-parallel",
        action="store_true",
        help=(
            "train data-parallel over all local devices (and those of the other processes): --batch-size is "
            "the global batch, split over them (JAX: keras.distribution.DataParallel; TensorFlow: "
            "tf.distribute.MirroredStrategy; torch: the processes of --coordinator or torchrun, one device each)"
        ),
    )
    parallel.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help=(
            "multi-process training (implies --data-parallel): process 0's address, with --num-processes "
            "and --process-id (TensorFlow: workers on consecutive ports, or every address comma-separated); "
            "or set KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and _PROCESS_ID (JAX, torch) or TF_CONFIG "
            "(TensorFlow); on torch, `torchrun --nproc-per-node N -m keras_nted train ...` needs none of them"
        ),
    )
    parallel.add_argument("--num-processes", type=int, help="multi-process: the number of processes")
    parallel.add_argument("--process-id", type=int, help="multi-process: this process's index, from 0")


def run(args):
    import pathlib

    from keras_nted.files import check_output_path
    from keras_nted.models.loss_settings import check_non_negative
    from keras_nted.training import train

    if args.checkpoint_every < 1:
        raise ValueError(f"Expected --checkpoint-every >= 1. Received: {args.checkpoint_every}")
    if args.keep_every is not None and args.keep_every < 1:
        raise ValueError(f"Expected --keep-every >= 1. Received: {args.keep_every}")
    if args.seed < 0:
        raise ValueError(f"Expected --seed >= 0. Received: {args.seed}")
    if args.workers < 1:
        raise ValueError(f"Expected --workers >= 1. Received: {args.workers}")
    check_output_path(args.output, "-o", folder=True)
    if args.model_path:
        check_output_path(args.model_path, "--model-path", folder=False)
    loss_weights = {setting.name: getattr(args, setting.name) for setting in LOSS_TABLE}
    # Named as typed; `train` checks the same again for Python callers.
    if args.learning_rate is not None:
        check_non_negative("--learning-rate", args.learning_rate)
    for setting in LOSS_TABLE:
        if setting.is_weight and loss_weights[setting.name] is not None:
            check_non_negative(setting.flag, loss_weights[setting.name])

    import keras

    # The model's initialisation draws from Keras' global random state (the data has its own seed).
    keras.utils.set_random_seed(args.seed)
    try:
        gan = _train(_distributed(train, args), args, loss_weights)
    except ValueError as error:
        error.args = (as_flags(str(error)),)
        raise
    from keras_nted.distribute import is_chief

    if not is_chief():
        return
    output = pathlib.Path(args.output)
    step = int(keras.ops.convert_to_numpy(gan.step.value))
    model_path = args.model_path or output / "generator.keras"
    print(
        f"step {step}: EMA generator -> {model_path}; samples in {output / 'samples'}; "
        f"checkpoints in {output / 'backup'}"
    )


def as_flags(message):
    """`message` with the `train` arguments it names (`name`, `name=`, `name=value`) spelled as flags.

    A `name:` is a run's `config.json` entry (`check_resume` lists them so) and stays as written
    there; a name inside a path (`runs/epochs/`, `epochs.json`) stays too.
    """

    def flag(match):
        value_follows = match.group(2) and match.end() < len(message) and message[match.end()] not in " ,.;)"
        return FLAGS[match.group(1)] + (" " if value_follows else "")

    return re.sub(rf"(?<![\w/.-])({'|'.join(FLAGS)})(?![\w/:-]|\.\w)(=?)", flag, message)


def _train(train, args, loss_weights):
    """`train` called with the command's arguments."""
    from keras_nted.cli import parse_image_size

    return train(
        args.output,
        preset=args.preset,
        config_path=args.config,
        data_root=args.data,
        image_size=parse_image_size(args.image_size) if args.image_size else None,
        batch_size=args.batch_size,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        seed=args.seed,
        vgg_weights=args.vgg_weights,
        loss_weights=loss_weights,
        learning_rate=args.learning_rate,
        lr_decay_steps=args.lr_decay_steps,
        checkpoint_every=args.checkpoint_every,
        keep_every=args.keep_every,
        model_path=args.model_path,
        workers=args.workers,
        verbose=2 if args.quiet else 1,
    )


def _distributed(function, args):
    """`function`, run within the distribution that `args` asks for (none: as is)."""
    import os

    from keras.backend import backend as keras_backend

    from keras_nted import distribute

    multi_process = args.coordinator or args.num_processes is not None or args.process_id is not None
    tf_config = keras_backend() == "tensorflow" and os.environ.get("TF_CONFIG")
    launched = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or tf_config or distribute.launched_by_torchrun()
    if multi_process or launched:
        distribute.initialize(args.coordinator, args.num_processes, args.process_id)
    elif not args.data_parallel:
        return function

    def in_scope(*call_args, **kwargs):
        with distribute.data_parallel():  # several processes always train data-parallel
            return function(*call_args, **kwargs)

    return in_scope
