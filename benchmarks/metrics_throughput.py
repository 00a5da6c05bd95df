"""LPIPS throughput (images scored per second) per backend, beside this CPU's matmul rate measured in the same run.

Scores `--batch-size` (generated, ground-truth) pairs of `--size` images with
`keras_nted.metrics.LPIPS` (random weights: the work is the same as with the real ones) through
`model.predict_on_batch` (on JAX a jit-compiled predict step, on TensorFlow a `tf.function`, on
torch eager under `no_grad`), and prints the median time per batch, the images scored per
second and the achieved GFLOP/s from the trunk's multiply-adds (both images of a pair go
through it; 1 MAC = 2 FLOPs). The baseline is a large float32 `keras.ops.matmul` on the same
backend in the same process (best of `--repeats`), as `forward.py` measures it. 8,570 test
pairs at 256x176 are the real load of `keras-nted metrics`.

Figures, and what made them (issue 24): benchmarks/README.md, "FID's Inception and LPIPS";
`metrics_ab.py` compares against an earlier revision in one process.

Usage:
    KERAS_BACKEND=jax python benchmarks/metrics_throughput.py
    python benchmarks/metrics_throughput.py --all-backends      # one subprocess per backend
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from benchmark_utils import limit_threads
from forward import matmul_peak

BACKENDS = ("tensorflow", "jax", "torch")
TEST_PAIRS = 8570


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=["alex"], choices=["alex", "vgg"])
    parser.add_argument("--size", nargs=2, type=int, default=[256, 176], metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5, help="timed batches (median and best)")
    parser.add_argument("--matmul-size", type=int, default=4096, help="side of the square matmul for the peak")
    parser.add_argument("--threads", type=int, default=None, help="cap the backends' thread pools")
    parser.add_argument("--all-backends", action="store_true", help="run each backend in a subprocess")
    return parser.parse_args(argv)


def trunk_macs(net, height, width):
    """Multiply-adds of one image through the LPIPS trunk's convolutions, walked from `lpips.TRUNKS`."""
    from keras_nted.metrics.lpips import TRUNKS

    macs, channels = 0, 3
    for kind, argument in TRUNKS[net]:
        if kind == "conv":
            filters, size, stride, padding = argument
            height, width = ((n + 2 * padding - size) // stride + 1 for n in (height, width))
            macs += height * width * filters * channels * size * size
            channels = filters
        elif kind == "pool":
            height, width = ((n - argument) // 2 + 1 for n in (height, width))
    return macs


def time_lpips(net, args):
    import keras

    from keras_nted.metrics import LPIPS

    model = LPIPS(net, backbone_weights=None, lin_weights=None)
    height, width = args.size
    rng = np.random.default_rng(0)
    pairs = [rng.uniform(0, 1, (args.batch_size, height, width, 3)).astype("float32") for _ in range(2)]
    start = time.perf_counter()
    model.predict_on_batch(pairs)
    warmup_s = time.perf_counter() - start
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.predict_on_batch(pairs)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    flops = 2.0 * 2 * trunk_macs(net, height, width) * args.batch_size
    print(
        f"{keras.backend.backend():10s} LPIPS-{net} {height}x{width} batch {args.batch_size}: "
        f"median {median:.3f} s (best {min(times):.3f}, first call {warmup_s:.2f}) = "
        f"{args.batch_size / median:.1f} images/s, {flops / median / 1e9:.1f} GFLOP/s; "
        f"{TEST_PAIRS} test pairs in {TEST_PAIRS / args.batch_size * median / 60:.1f} min"
    )


def main(argv=None):
    args = parse_args(argv)
    if args.all_backends:
        for backend in BACKENDS:
            command = [sys.executable, __file__, *[a for a in (argv or sys.argv[1:]) if a != "--all-backends"]]
            subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}, check=True)
        return
    limit_threads(args.threads)
    import keras

    peak, _ = matmul_peak(args.matmul_size, args.repeats)
    print(f"{keras.backend.backend():10s} matmul {args.matmul_size}^2 float32: {peak / 1e9:.1f} GFLOP/s (baseline)")
    for net in args.nets:
        time_lpips(net, args)


if __name__ == "__main__":
    main()
