"""Input-pipeline throughput: pose-map rendering and data-set batches per second.

Run by hand: `python benchmarks/data.py [--sizes 128x88,256x176] [--batch-size 4]
[--workers 1,2] [--batches 24] [--step-ms MS]`. Each data source has one function in `SOURCES`
that returns a `keras.utils.PyDataset`; batches are pulled the way `fit` pulls them with
`workers` threads (a thread pool over `dataset[i]`, in order). With `--step-ms`, the time of one
training step, it also prints the loader time per batch as a fraction of it (below 1: the
pipeline keeps up with training).

The DeepFashion source is a fake root in a temporary folder: smooth random images saved as PNG
files (the released preparation's format) and random poses, in the released layout.
"""

import argparse
import concurrent.futures
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from keras_nted.data import DeepFashionDataset
from keras_nted.data import face_center
from keras_nted.data import render_skeleton
from keras_nted.data import write_pairs_file
from keras_nted.data import write_pose_file
from keras_nted.data.prepare import parse_sizes


def random_keypoints(rng):
    """A plausible-looking pose in the released frame: a person-sized box, ~10 % missing."""
    keypoints = np.stack([rng.uniform(70, 186, 18), rng.uniform(20, 240, 18)], axis=1)
    keypoints[rng.random(18) < 0.1] = -1
    return keypoints


def make_deepfashion_root(folder, image_size, num_images=16, seed=0):
    """Writes a fake DeepFashion root (PNG files at `image_size`, poses, pairs) under `folder`."""
    rng = np.random.default_rng(seed)
    height, width = image_size
    images = [f"img/WOMEN/Dresses/id_{i // 2:08d}/0{i % 2 + 1}_1_front.jpg" for i in range(num_images)]
    for image in images:
        # Smooth noise compresses and decodes like a photo, unlike white noise.
        coarse = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
        path = os.path.join(folder, os.path.splitext(image)[0] + ".png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(coarse).resize((width, height), Image.BICUBIC).save(path)
        write_pose_file(os.path.join(folder, "pose", image[len("img/") : -len(".jpg")] + ".txt"), random_keypoints(rng))
    pairs = [(images[i], [images[i ^ 1]]) for i in range(num_images)]
    write_pairs_file(os.path.join(folder, "train_pairs.txt"), pairs)
    write_pairs_file(os.path.join(folder, "test_pairs.txt"), pairs)
    return folder


def deepfashion_dataset(folder, image_size, batch_size, workers):
    """The DeepFashion source: the training loader (with augmentation) on a fake root."""
    root = make_deepfashion_root(os.path.join(folder, "deepfashion"), image_size, num_images=4 * batch_size)
    return DeepFashionDataset(root, "train", image_size=image_size, batch_size=batch_size, workers=workers)


# name -> function(temporary folder, image_size, batch_size, workers) -> keras.utils.PyDataset
SOURCES = {"deepfashion": deepfashion_dataset}


def time_render(image_size, repeats=40, seed=0):
    """Milliseconds per image of `render_skeleton` + `face_center` (with augmentation)."""
    rng = np.random.default_rng(seed)
    poses = [random_keypoints(rng) for _ in range(repeats)]
    height, width = image_size
    augmentation = (int(height * 1.05), int(width * 1.05), 2, 3)
    start = time.perf_counter()
    for keypoints in poses:
        render_skeleton(keypoints, image_size, augmentation=augmentation)
        face_center(keypoints, image_size, augmentation=augmentation)
    return (time.perf_counter() - start) / repeats * 1e3


def time_batches(dataset, num_batches, workers):
    """Seconds per batch, pulling `num_batches` batches in order with `workers` threads."""
    indices = [i % len(dataset) for i in range(num_batches)]
    dataset[0]  # warm-up: imports, first file reads
    start = time.perf_counter()
    if workers > 1:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(dataset.__getitem__, indices):
                pass
    else:
        for i in indices:
            dataset[i]
    return (time.perf_counter() - start) / num_batches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="128x88,256x176", help="HEIGHTxWIDTH list")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--batches", type=int, default=24, help="batches timed per setting")
    parser.add_argument("--sources", default=",".join(SOURCES), help=f"any of {','.join(SOURCES)}")
    parser.add_argument("--step-ms", type=float, help="a training step's time, for the loader/step ratio")
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]
    print(f"cpu cores: {os.cpu_count()}, batch size {args.batch_size}")
    for size in parse_sizes(args.sizes):
        label = f"{size[0]}x{size[1]}"
        print(f"render_skeleton + face_center {label}: {time_render(size):.2f} ms/image")
        for name in args.sources.split(","):
            for count in workers:
                with tempfile.TemporaryDirectory() as folder:
                    dataset = SOURCES[name](folder, size, args.batch_size, count)
                    seconds = time_batches(dataset, args.batches, count)
                line = (
                    f"{name} {label} workers={count}: {1 / seconds:.1f} batches/s "
                    f"({seconds * 1e3:.1f} ms/batch, {args.batch_size / seconds:.1f} pairs/s)"
                )
                if args.step_ms:
                    line += f", loader/step = {seconds * 1e3 / args.step_ms:.2f}"
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
