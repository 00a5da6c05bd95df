"""Scores of a generator on held-out mannequin identities, against the copy-the-reference baseline."""

import keras
import numpy as np

from keras_nted.evaluation.garments import GarmentScores
from keras_nted.evaluation.garments import format_garments
from keras_nted.metrics.ssim_psnr import gaussian_ssim


def check_num_pairs(num_pairs, available=None):
    """Checks a number of held-out pairs (before a model is loaded: no generator needed).

    Args:
        num_pairs: the number asked for.
        available: the test split's pair count (default: the default mannequin set's, which
            does not depend on the image size).
    """
    if available is None:
        from keras_nted.data.mannequin import MannequinDataset

        available = MannequinDataset(image_size=(64, 44), batch_size=1, split="test").num_pairs
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, (int, np.integer)) or not 1 <= num_pairs <= available:
        raise ValueError(f"Expected 1 <= pairs <= {available}. Received: {num_pairs}")


def evaluate_mannequin(generator, num_pairs=1200, seed=0, batch_size=16, verbose=1, lpips=None, inception=None, **fid):
    """SSIM and L1 of a generator and of copying the reference, on test-split mannequin pairs.

    The pairs are the first `num_pairs` of the test split (identities disjoint from the
    training ones; 100 identities x 4 poses x 3 targets = 1200 pairs by default) at the
    generator's image size. Images are compared as uint8 pixels: the generator's as
    `keras-nted generate` writes them (`keras_nted.utils.images.to_uint8`: clamped to [-1, 1],
    truncated), the reference and the ground truth as the data set renders them. The scores are
    SSIM (`keras_nted.metrics.gaussian_ssim`, on [0, 255]), L1 (mean absolute difference on [0, 1]) and
    the per-garment colour scores (`keras_nted.evaluation.garments`: each part's mean-colour error
    over the target's part mask, and the separation of the top's and trousers' colours).

    Args:
        generator: an `NTEDGenerator` (or a `PoseTransfer` around one) whose image size is a mannequin
            size (`W = H * 11 / 16`).
        num_pairs: number of held-out pairs (at most 1200).
        seed: the data seed (the training run's).
        batch_size: pairs per forward pass.
        verbose: 1 for a progress bar (`keras.utils.Progbar`, in pairs), 0 for none.
        lpips: a `keras_nted.metrics.LPIPS` for the field's LPIPS, or None.
        inception: an Inception model (`keras_nted.metrics.inception_v3`) for FID, or None.
        **fid: with `inception`: `num_real` (training-split images in FID's real set, default
            all) and `fid_kind` (`"field"` or `"standard"`, reported).

    Returns:
        A dict: `pairs`, `copy_reference` and `model` (each `{"ssim", "l1"}`), `garments`
        (`{"copy_reference", "model"}`, each `GarmentScores.result()`'s: `hair`, `skin`, `top`,
        `trousers`, `separation`, `pairs`),
        `gap_closed`: `(ssim_model - ssim_copy) / (1 - ssim_copy)`, and `field`: the field's
        metrics as `keras-nted metrics --protocol cfld` computes them (`ssim` where its 51-pixel
        window fits the images, `ssim_256`, `psnr`,
        and `lpips` with `lpips`, for `model` and `copy_reference`; `fid` of the model's images
        against the training split's with `inception`, then also `fid_kind` and `fid_real`).
    """
    from keras_nted.data.mannequin import MannequinDataset
    from keras_nted.models.pose_transfer import as_pose_transfer

    task = as_pose_transfer(generator)  # the pixels `keras-nted generate` writes
    data = MannequinDataset(image_size=generator.image_size, batch_size=batch_size, split="test", seed=seed)
    check_num_pairs(num_pairs, data.num_pairs)
    scores = {"copy_reference": ([], []), "model": ([], [])}
    field = FieldScores(lpips, inception)
    garments = GarmentScores()
    progress = keras.utils.Progbar(num_pairs, unit_name="pair") if verbose else None
    done = 0
    index = 0
    while done < num_pairs:
        batch = data[index]
        take = min(batch_size, num_pairs - done)
        references, target, target_labels = _data_pixels(data, data.batch_pairs(index)[:take])
        index += 1
        fake = task.predict_on_inputs(batch["source_image"], batch["target_skeleton"])[:take]
        for name, images in (("copy_reference", references), ("model", fake)):
            scores[name][0].extend(keras.ops.convert_to_numpy(gaussian_ssim(target, images, data_range=255.0)))
            scores[name][1].extend(np.abs(images.astype("float32") - target).mean(axis=(1, 2, 3)) / 255.0)
            field.update(name, images, target)
            garments.update(name, images, target, target_labels)
        done += take
        if progress is not None:
            progress.update(done)
    result = {"pairs": num_pairs}
    for name, (s, l1) in scores.items():
        result[name] = {"ssim": float(np.mean(s)), "l1": float(np.mean(l1))}
    copy = result["copy_reference"]["ssim"]
    result["gap_closed"] = (result["model"]["ssim"] - copy) / (1.0 - copy)
    result["garments"] = garments.result()
    result["field"] = field.result()
    if inception is not None:
        real, count = training_statistics(
            inception, generator.image_size, seed, fid.get("num_real"), batch_size, verbose
        )
        result["field"].update(fid=field.fid(real), fid_kind=fid.get("fid_kind"), fid_real=count)
    return result


class FieldScores:
    """The field's metrics (`keras_nted.evaluation.field`, protocol `cfld`) of the methods' uint8 images."""

    def __init__(self, lpips=None, inception=None):
        self.lpips = lpips
        self.inception = inception
        self.values = {}
        self.generated = None
        if inception is not None:
            from keras_nted.metrics import FeatureStatistics

            self.generated = FeatureStatistics()

    def update(self, method, images, target):
        from keras_nted.evaluation.field import inception_features
        from keras_nted.evaluation.field import network_batch
        from keras_nted.evaluation.field import pixel_scores

        values = self.values.setdefault(method, {})
        # `ssim`'s 51-pixel window does not fit 64x44 mannequins: left out there.
        names = [n for n in ("ssim", "ssim_256", "psnr") if n != "ssim" or min(images.shape[1:3]) >= 51]
        for name, scores in pixel_scores(target, images, "cfld", names).items():
            values.setdefault(name, []).extend(scores)
        if self.lpips is not None:
            distances = self.lpips.predict_on_batch([network_batch(images, "cfld"), network_batch(target, "cfld")])
            values.setdefault("lpips", []).extend(np.asarray(keras.ops.convert_to_numpy(distances)).reshape(-1))
        if self.inception is not None and method == "model":
            self.generated.update(inception_features(self.inception, network_batch(images, "cfld")))

    def result(self):
        field = {"protocol": "cfld"}
        for method, values in self.values.items():
            field[method] = {name: float(np.mean(v)) for name, v in values.items()}
        return field

    def fid(self, real):
        from keras_nted.metrics import frechet_distance

        return float(frechet_distance(real.mean, real.covariance, self.generated.mean, self.generated.covariance))


def training_statistics(inception, image_size, seed=0, num_images=None, batch_size=16, verbose=1):
    """FID statistics of the training split's mannequin images (identity by identity, every pose).

    Returns:
        `(statistics, count)`: a `keras_nted.metrics.FeatureStatistics` and the number of images.
    """
    from keras_nted.data.mannequin import MannequinDataset
    from keras_nted.evaluation.field import inception_features
    from keras_nted.metrics import FeatureStatistics

    data = MannequinDataset(image_size=image_size, batch_size=1, split="train", seed=seed)
    keys = [(i, p) for i in range(data.num_identities) for p in range(data.poses_per_identity)]
    keys = keys[:num_images] if num_images else keys
    statistics = FeatureStatistics()
    progress = keras.utils.Progbar(len(keys), unit_name="real image") if verbose else None
    for start in range(0, len(keys), batch_size):
        images = np.stack([data.sample(i, p)[0] for i, p in keys[start : start + batch_size]])
        statistics.update(inception_features(inception, images.astype("float32") / 255.0))
        if progress is not None:
            progress.add(len(images))
    return statistics, len(keys)


def _data_pixels(data, pairs):
    """The uint8 source and target images and target labels of `(identity, source_pose, target_pose)` pairs.

    The exact pixels: a `[-1, 1]` batch image truncated back to uint8 would be one level darker
    at a quarter of the levels.
    """
    sources = np.stack([data.sample(identity, source)[0] for identity, source, _ in pairs])
    targets, labels, _ = zip(*(data.sample(identity, target) for identity, _, target in pairs))
    return sources, np.stack(targets), np.stack(labels)


# The scored methods: result keys and table labels.
METHODS = (("copy_reference", "copy the reference"), ("model", "model"))


def format_table(result, goal=0.6):
    """A Markdown table of an `evaluate_mannequin` result, with the gap-closed line."""
    lines = [
        f"Held-out mannequin pairs (test split): {result['pairs']}",
        "",
        "| method | SSIM (higher is better) | L1 (lower is better) |",
        "|---|---|---|",
        f"| copy the reference | {result['copy_reference']['ssim']:.4f} | {result['copy_reference']['l1']:.4f} |",
        f"| model | {result['model']['ssim']:.4f} | {result['model']['l1']:.4f} |",
        "",
        f"SSIM gap to 1.0 closed over copying the reference: {100 * result['gap_closed']:.1f}% "
        f"(goal: {100 * goal:.0f}%: {'met' if result['gap_closed'] >= goal else 'not met'})",
    ]
    if "garments" in result:
        lines += ["", *format_garments(result["garments"], METHODS)]
    field = result.get("field")
    if field:
        names = [n for n in ("ssim", "ssim_256", "psnr", "lpips") if n in field["model"]]
        lines += ["", "The field's metrics (keras-nted metrics --protocol cfld):", ""]
        lines += ["| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for method, label in METHODS:
            lines.append(f"| {label} | " + " | ".join(f"{field[method][n]:.4f}" for n in names) + " |")
        if "fid" in field:
            lines.append(
                f"FID of the model's images ({field['fid_kind']}, {field['fid_real']} training images): "
                f"{field['fid']:.4f}"
            )
    return "\n".join(lines)
