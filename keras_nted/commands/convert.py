"""`keras-nted convert`: a released PyTorch checkpoint -> Keras weights or a `.keras` model."""

NAME = "convert"
HELP = "Convert a released NTED PyTorch checkpoint to a Keras .weights.h5 or .keras file."


def add_arguments(parser):
    parser.add_argument(
        "checkpoint", help="released checkpoint (.pt with net_G_ema / net_G / net_D), state dict or .npz"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", default="nted_fashion_256", help="configuration preset (default: %(default)s)")
    source.add_argument(
        "--config",
        help="released YAML/JSON config instead of a preset (its gen.param / dis.param, or a bare param dict)",
    )
    parser.add_argument("-o", "--output", required=True, help="generator output: NAME.weights.h5 or NAME.keras")
    parser.add_argument("--discriminator-output", help="also convert net_D to this .weights.h5 / .keras file")
    parser.add_argument(
        "--image-size",
        metavar="HxW",
        help="HEIGHTxWIDTH of the images (default: the config's size x size * 11 / 16; HEIGHT must be its size)",
    )


def _config(args):
    """The preset name, or the `--config` file's dict (the loaders take their part of a released one)."""
    if not args.config:
        return args.preset
    from keras_nted.files import read_config_file

    return read_config_file(args.config)


def _image_size(args):
    """`(height or None, width or None)` from `--image-size`."""
    if args.image_size is None:
        return None, None
    from keras_nted.cli import parse_image_size

    return parse_image_size(args.image_size)


def _save(models):
    """Writes every `(part, model, output)` or none: each to a temporary, renamed once all are written."""
    import contextlib

    from keras_nted.files import atomic_path

    with contextlib.ExitStack() as stack:
        for _, model, output in models:
            tmp = stack.enter_context(atomic_path(output))
            if str(output).endswith(".keras"):
                model.save(tmp)
            else:
                model.save_weights(tmp)


def run(args):
    from keras_nted.convert import load_official_discriminator
    from keras_nted.convert import load_official_generator
    from keras_nted.files import check_output_path

    for out in filter(None, (args.output, args.discriminator_output)):
        if not (out.endswith(".weights.h5") or out.endswith(".keras")):
            raise ValueError(f"Expected an output ending in .weights.h5 or .keras. Received: {out}")
    check_output_path(args.output, "-o", folder=False)
    if args.discriminator_output:
        check_output_path(args.discriminator_output, "--discriminator-output", folder=False)
    height, image_width = _image_size(args)
    generator = load_official_generator(args.checkpoint, _config(args), image_width=image_width)
    if height is not None and generator.image_size[0] != height:
        raise ValueError(
            f"Expected --image-size with HEIGHT the config's size, {generator.image_size[0]}. "
            f"Received: --image-size {args.image_size}"
        )
    models = [("generator", generator, args.output)]
    if args.discriminator_output:  # read and checked before anything is written
        discriminator = load_official_discriminator(args.checkpoint, _config(args), image_width=image_width)
        models.append(("discriminator", discriminator, args.discriminator_output))
    _save(models)
    for part, model, output in models:
        print(f"{part} ({model.count_params():,} parameters) -> {output}")
