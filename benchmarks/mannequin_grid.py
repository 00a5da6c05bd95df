"""Saves a picture of mannequin samples: image, skeleton overlay and part labels per pose.

Usage: python benchmarks/mannequin_grid.py [--size 256x176] [--identities 6] [--poses 3]
       [--seed 0] [--split train] [--out docs/images/mannequin_grid.png]
"""

import argparse
import os

import numpy as np
from PIL import Image

from keras_nted.data import mannequin
from keras_nted.data.skeleton import render_skeleton


def sample_tiles(data, identity_index, pose_index):
    """`[image, image with the skeleton's colour channels over it, label colours]`, uint8."""
    image, labels, pose = data.sample(identity_index, pose_index)
    skeleton = render_skeleton(pose.keypoints, data.image_size, frame="pixels")[..., :3]
    drawn = skeleton.max(axis=-1, keepdims=True) > 0
    overlay = np.where(drawn, skeleton * 255, image * 0.6 + 255 * 0.4).astype(np.uint8)
    return [image, overlay, mannequin.LABEL_COLORS[labels]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256x176")
    parser.add_argument("--identities", type=int, default=6)
    parser.add_argument("--poses", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="train")
    parser.add_argument("--out", default=os.path.join("docs", "images", "mannequin_grid.png"))
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    data = mannequin.MannequinDataset((height, width), split=args.split, seed=args.seed,
                                      poses_per_identity=args.poses)  # fmt: skip
    gap = np.full((height, 4, 3), 255, np.uint8)
    rows = []
    for identity_index in range(args.identities):
        row = []
        for pose_index in range(args.poses):
            row += sample_tiles(data, identity_index, pose_index) + [gap]
        rows.append(np.concatenate(row[:-1], axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    Image.fromarray(np.concatenate(rows[:-1], axis=0)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
