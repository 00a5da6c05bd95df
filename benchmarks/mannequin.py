"""Prints how fast the mannequin data set generates, on one core.

Rates are per CPU-second of this (single-threaded) process, i.e. what one dedicated core does,
so they hold on a busy machine too; `--wall` uses wall-clock time instead.

- `render`: `make_pose` + `render` (one image with its part labels), images/s;
- `batch`: `MannequinDataset.__getitem__`, i.e. per pair two images, two 20-channel skeletons
  (`render_skeleton`) and two face centres, reported as images/s (2 per pair).

Usage: python benchmarks/mannequin.py [--seconds 3] [--wall]
"""

import argparse
import time

import cv2

from keras_nted.data import mannequin

SIZES = ((64, 44), (128, 88), (256, 176))


def _rate(fn, seconds, clock):
    """Calls `fn(i)` for i = 0, 1, ... for about `seconds` of `clock`; returns calls per second."""
    fn(0)  # warm-up
    count, start = 0, clock()
    while clock() - start < seconds:
        fn(count)
        count += 1
    return count / (clock() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default: 3)")
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core: OpenCV would otherwise spread some calls over threads
    clock = time.perf_counter if args.wall else time.process_time
    identities = [mannequin.make_identity(k) for k in range(64)]
    print(f"{'size':>9}  {'render img/s':>12}  {'batch img/s':>11}")
    for size in SIZES:

        def render(i, size=size):
            mannequin.render(identities[i % 64], mannequin.make_pose(i, size))

        data = mannequin.MannequinDataset(size, batch_size=8, num_identities=1000)
        batches = _rate(lambda i: data[i % len(data)], args.seconds, clock)
        print(f"{size[0]:>4}x{size[1]:<4}  {_rate(render, args.seconds, clock):>12.0f}  {batches * 16:>11.0f}")


if __name__ == "__main__":
    main()
