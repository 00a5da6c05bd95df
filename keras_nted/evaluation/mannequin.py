"""Scores of a generator on held-out mannequin identities, against the copy-the-reference baseline."""

import numpy as np

from keras_nted.evaluation.ssim import ssim


def _to_uint8(images):
    return np.clip((np.asarray(images, dtype="float32") + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


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


def evaluate_mannequin(generator, num_pairs=1200, seed=0, batch_size=16):
    """SSIM and L1 of a generator and of copying the reference, on test-split mannequin pairs.

    The pairs are the first `num_pairs` of the test split (identities disjoint from the
    training ones; 100 identities x 4 poses x 3 targets = 1200 pairs by default) at the
    generator's image size. Images are compared as uint8 (outputs clamped to [-1, 1] first):
    SSIM (`keras_nted.evaluation.ssim`, on [0, 255]) and L1 (mean absolute difference on
    [0, 1]).

    Args:
        generator: an `NTEDGenerator` whose image size is a mannequin size (`W = H * 11 / 16`).
        num_pairs: number of held-out pairs (at most 1200).
        seed: the data seed (the training run's).
        batch_size: pairs per forward pass.

    Returns:
        A dict: `pairs`, `copy_reference` and `model` (each `{"ssim", "l1"}`) and
        `gap_closed`: `(ssim_model - ssim_copy) / (1 - ssim_copy)`.
    """
    from keras_nted.data.mannequin import MannequinDataset
    from keras_nted.generation import run_generator

    data = MannequinDataset(image_size=generator.image_size, batch_size=batch_size, split="test", seed=seed)
    check_num_pairs(num_pairs, data.num_pairs)
    scores = {"copy_reference": ([], []), "model": ([], [])}
    done = 0
    index = 0
    while done < num_pairs:
        batch = data[index]
        index += 1
        take = min(batch_size, num_pairs - done)
        fake = run_generator(generator, batch["source_image"], batch["target_skeleton"])["image"][:take]
        target = _to_uint8(batch["target_image"][:take])
        for name, images in (("copy_reference", batch["source_image"][:take]), ("model", fake)):
            images = _to_uint8(images)
            scores[name][0].extend(ssim(images, target, reduce=False))
            scores[name][1].extend(np.abs(images.astype("float32") - target).mean(axis=(1, 2, 3)) / 255.0)
        done += take
    result = {"pairs": num_pairs}
    for name, (s, l1) in scores.items():
        result[name] = {"ssim": float(np.mean(s)), "l1": float(np.mean(l1))}
    copy = result["copy_reference"]["ssim"]
    result["gap_closed"] = (result["model"]["ssim"] - copy) / (1.0 - copy)
    return result


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
    return "\n".join(lines)
