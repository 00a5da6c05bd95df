"""Prints how closely the in-graph SkeletonRenderer agrees with OpenCV's render_skeleton.

1. Per-channel mean absolute difference of the 20-channel pose maps on the released fixture
   cases (`official_skeleton_s0.npz`: 12 cases at 128x88, 256x176, 512x352, some augmented,
   some with missing points) and on held-out mannequin poses.
2. What it does to generated images: the shipped `saved_models/nted_mannequin_64.keras` run on
   held-out mannequin pairs with the target pose rendered both ways; mean absolute difference
   of the two results in [0, 1] units and in uint8 levels (the `serving_default` output), next
   to each result's L1 error to the ground truth.

Usage: KERAS_BACKEND=tensorflow python benchmarks/skeleton_renderer.py [--pairs 1200]
       [--fixtures tests/fixtures/released]
"""

import argparse
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _channel_table(name, differences):
    """Prints mean / worst-case per channel; `differences` is `(cases, 20)`."""
    mean, worst = differences.mean(axis=0), differences.max(axis=0)
    print(f"\n{name}: mean |in-graph - OpenCV| per channel ({len(differences)} maps)")
    print("  channel " + " ".join(f"{c:>6}" for c in range(20)))
    print("  mean    " + " ".join(f"{v:6.4f}" for v in mean))
    print("  worst   " + " ".join(f"{v:6.4f}" for v in worst))
    print(f"  largest: mean over maps {mean.max():.4f} (channel {mean.argmax()}), single map {worst.max():.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1200, help="held-out mannequin pairs (default: all 1200)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--fixtures",
        default=ROOT / "tests" / "fixtures" / "released",
        help="folder with the released implementation's fixtures (default: tests/fixtures/released)",
    )
    args = parser.parse_args()

    import keras

    from keras_nted.data import MannequinDataset
    from keras_nted.data import to_pixels
    from keras_nted.layers import SkeletonRenderer
    from keras_nted.models.generator import load_generator
    from keras_nted.utils.images import to_uint8

    print(f"backend: {keras.backend.backend()}")
    renderers = {}

    def render(keypoints, size):
        if size not in renderers:
            renderers[size] = keras.Sequential([keras.Input((18, 2)), SkeletonRenderer(*size)])
        return np.asarray(renderers[size].predict_on_batch(np.asarray(keypoints, "float32")))

    official = np.load(pathlib.Path(args.fixtures) / "official_skeleton_s0.npz")
    rows = []
    for i in range(12):
        new_h, new_w, crop_x, crop_y = (int(v) for v in official[f"param_{i}"])
        augmentation = None if new_h == -1 else (new_h, new_w, crop_x, crop_y)
        size = tuple(int(v) for v in official[f"size_{i}"])
        pixels = to_pixels(official[f"kp_{i}"], size, frame="deepfashion", augmentation=augmentation)
        ours = render(pixels[None], size)[0]
        rows.append(np.abs(ours - official[f"skeleton_{i}"].transpose(1, 2, 0)).mean(axis=(0, 1)))
    _channel_table("released fixture cases", np.array(rows))

    generator = load_generator(ROOT / "saved_models" / "nted_mannequin_64.keras")
    size = generator.image_size
    test = MannequinDataset(size, batch_size=args.batch_size, split="test", seed=0)
    count = min(args.pairs, test.num_pairs)
    maps, unit, levels, equal, largest = [], [], [], [], []
    errors = {"opencv": [], "in-graph": []}
    for index in range(-(-count // args.batch_size)):
        batch = test.get_batch(index, with_keypoints=True)
        keep = min(args.batch_size, count - index * args.batch_size)
        in_graph = render(batch["target_keypoints"], size)
        maps.append(np.abs(in_graph - batch["target_skeleton"]).mean(axis=(1, 2))[:keep])
        results = {}
        for name, skeleton in (("opencv", batch["target_skeleton"]), ("in-graph", in_graph)):
            out = np.asarray(generator.predict_on_batch([batch["source_image"], skeleton])["image"])[:keep]
            results[name] = out
            truth = batch["target_image"][:keep]
            errors[name].append(np.abs((np.clip(out, -1, 1) + 1) / 2 - (truth + 1) / 2).mean(axis=(1, 2, 3)))
        a, b = (np.clip(results[n], -1, 1) for n in ("opencv", "in-graph"))
        unit.append(np.abs(a - b).mean(axis=(1, 2, 3)) / 2)
        served = [to_uint8(results[n]).astype(int) for n in ("opencv", "in-graph")]
        levels.append(np.abs(served[0] - served[1]).mean(axis=(1, 2, 3)))
        equal.append((served[0] == served[1]).mean(axis=(1, 2, 3)))
        largest.append(np.abs(served[0] - served[1]).max(axis=(1, 2, 3)))
    _channel_table(f"held-out mannequin target poses at {size[0]}x{size[1]}", np.concatenate(maps))

    unit, levels = np.concatenate(unit), np.concatenate(levels)
    print(f"\nshipped nted_mannequin_64 on {count} held-out mannequin pairs, target pose rendered in-graph vs OpenCV:")
    print(f"  mean |difference| of the results: {unit.mean():.5f} in [0, 1] units (worst pair {unit.max():.5f})")
    print(f"  uint8 (served) images: {levels.mean():.3f} levels on average (worst pair {levels.max():.3f}); "
          f"{np.concatenate(equal).mean():.1%} of values identical; largest single difference "
          f"{np.concatenate(largest).max()} levels")  # fmt: skip
    for name, values in errors.items():
        print(f"  L1 to the ground truth in [0, 1], {name:>8} skeleton: {np.concatenate(values).mean():.5f}")


if __name__ == "__main__":
    main()
