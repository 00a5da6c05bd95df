"""Pictures two generators side by side on the demo's held-out mannequins: before and after.

Each row is a held-out identity: its reference, then for each target pose the ground truth,
the `--before` model's output and the `--after` model's (the shipped one by default), x4 with
labelled columns. It also prints, for the first `--pairs` held-out test pairs, each model's SSIM,
L1, per-part colour error and top / trousers separation (`keras-nted evaluate`'s figures), so the
picture and the figures come from one run.

Usage: KERAS_BACKEND=tensorflow python benchmarks/before_after.py --before OLD.keras
       [--after NEW.keras] [--identities 4] [--poses 2] [--pairs 300]
       [--out docs/images/mannequin_before_after.png]
"""

import argparse
import os

import numpy as np

from keras_nted.demo import demo_batch
from keras_nted.demo import repose_all
from keras_nted.files import write_png
from keras_nted.models import PoseTransfer
from keras_nted.utils.images import to_uint8
from keras_nted.visualize import display_factor
from keras_nted.visualize import enlarge
from keras_nted.visualize import label_columns
from keras_nted.visualize import skeleton_picture
from keras_nted.visualize import stack_rows


def before_after_picture(batch, before, after, factor):
    """The labelled picture: reference, then per pose truth | before | after; a header row of skeletons."""
    n, p = before.shape[:2]
    height, width = before.shape[2:4]
    truth = to_uint8(batch["target_image"])
    blank = np.full((height, width, 3), 255, np.uint8)
    skeletons = to_uint8(skeleton_picture(batch["target_skeleton"]))
    header = np.concatenate([blank] + [piece for j in range(p) for piece in (skeletons[j], blank, blank)], axis=1)
    rows = [header] + [
        np.concatenate(
            [to_uint8(batch["source_image"][i])]
            + [piece for j in range(p) for piece in (truth[i, j], before[i, j], after[i, j])],
            axis=1,
        )
        for i in range(n)
    ]
    labels = ["reference"] + [name for j in range(p) for name in (f"truth, pose {j + 1}", "before", "after")]
    return label_columns(enlarge(stack_rows(rows), factor), labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier generator (.keras)")
    parser.add_argument("--after", default="nted_mannequin_64", help="the later generator: a .keras or a preset")
    parser.add_argument("--identities", type=int, default=4)
    parser.add_argument("--poses", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=300, help="held-out test pairs for the figures (0: none)")
    parser.add_argument("--out", default=os.path.join("docs", "images", "mannequin_before_after.png"))
    args = parser.parse_args()
    tasks = {"before": PoseTransfer.from_preset(args.before), "after": PoseTransfer.from_preset(args.after)}
    size = tasks["after"].image_size
    if tasks["before"].image_size != size:
        raise ValueError(f"Expected two models of one image size. Received: {tasks['before'].image_size} and {size}")
    batch = demo_batch(size, args.identities, args.poses)
    outputs = {name: repose_all(task, batch) for name, task in tasks.items()}
    picture = before_after_picture(batch, outputs["before"], outputs["after"], display_factor(size[0]))
    print(f"wrote {write_png(args.out, picture)}")
    if args.pairs:
        from keras_nted.evaluation.mannequin import evaluate_mannequin

        print(f"{args.pairs} held-out test pairs (seed 0):")
        print("| model | SSIM | L1 | hair | skin | top | trousers | separation |")
        print("|---|---|---|---|---|---|---|---|")
        for name, task in tasks.items():
            report = evaluate_mannequin(task.generator, num_pairs=args.pairs, verbose=0)
            g = report["garments"]["model"]
            print(
                f"| {name} | {report['model']['ssim']:.4f} | {report['model']['l1']:.4f} | {g['hair']:.4f} | "
                f"{g['skin']:.4f} | {g['top']:.4f} | {g['trousers']:.4f} | {100 * g['separation']:.1f}% |"
            )


if __name__ == "__main__":
    main()
