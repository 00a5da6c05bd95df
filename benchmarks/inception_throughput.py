"""FID Inception throughput (images/s) per backend, against this machine's matmul rate in the same run.

Builds `keras_nted.metrics.inception_v3(kind)` (random weights: the speed does not depend on
them), feeds `--batch-size` images of `--height` x `--width` (the model resizes them to 299x299
itself) through `model.predict_on_batch` (`--warmup` untimed calls, then `--repeats` timed
ones; median and best), and reports images/s and the achieved GFLOP/s, counting the model's
convolution multiply-adds from its layers' shapes (1 MAC = 2 FLOPs; the pools, BatchNorm and
resize are left out). The float32 rate of a large `keras.ops.matmul` on the same backend
(`forward.matmul_peak`) is measured before and after, and the ratio printed: the time the
FLOPs would take at that rate over the time they took.

The scale of the job: FID of the 8,570 DeepFashion test images plus the training set's
statistics (about 48,000 images) is ~57,000 Inception passes.

Figures, and what made them (issue 24): benchmarks/README.md, "FID's Inception and LPIPS";
`metrics_ab.py` compares against an earlier revision in one process.

Usage:
    KERAS_BACKEND=jax python benchmarks/inception_throughput.py
    python benchmarks/inception_throughput.py --all-backends            # one subprocess per backend
    python benchmarks/inception_throughput.py --all-backends --kind standard --batch-size 16 --repeats 3
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from benchmark_utils import limit_threads
from benchmark_utils import peak_rss_mib
from benchmark_utils import run_backends
from forward import matmul_peak
from train_step import device

BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=["field", "standard"], default="field")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=176)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls (median and best)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (compilation included)")
    parser.add_argument("--matmul-size", type=int, default=4096, help="side of the square matmul for the rate")
    parser.add_argument("--threads", type=int, default=None, help="cap the backends' thread pools")
    parser.add_argument("--all-backends", action="store_true", help="run each backend in a subprocess")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--json", action="store_true", help="print one JSON line of results")
    return parser.parse_args(argv)


def convolution_macs(model):
    """Multiply-adds of one image through the model's convolutions (static shapes after the resize)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_height, kernel_width, channels, _ = layer.kernel.shape
            total += height * width * filters * kernel_height * kernel_width * channels
    return total


def run_one_backend(args):
    import keras

    from keras_nted.metrics import inception_v3

    rate_before = matmul_peak(args.matmul_size, args.repeats)[0]
    model = inception_v3(args.kind)
    images = np.random.default_rng(0).random((args.batch_size, args.height, args.width, 3), dtype=np.float32)
    for _ in range(args.warmup):
        keras.ops.convert_to_numpy(model.predict_on_batch(images))
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(model.predict_on_batch(images))
        times.append(time.perf_counter() - start)
    rate = max(rate_before, matmul_peak(args.matmul_size, args.repeats)[0])
    median = statistics.median(times)
    flops = 2.0 * convolution_macs(model) * args.batch_size
    return {
        "backend": keras.backend.backend(),
        "device": device(),
        "kind": args.kind,
        "batch": args.batch_size,
        "size": f"{args.height}x{args.width}",
        "median_s": median,
        "best_s": min(times),
        "images_per_s": args.batch_size / median,
        "gmacs_per_image": flops / 2e9 / args.batch_size,
        "gflops_per_s": flops / median / 1e9,
        "matmul_gflops_per_s": rate / 1e9,
        "fraction_of_matmul_rate": flops / median / rate,
        "peak_rss_mib": peak_rss_mib(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
    }


def print_table(runs):
    runs = [r for r in runs if r is not None]
    if not runs:
        print("no backend produced results")
        return
    first = runs[0]
    print(
        f"\nInception v3 ({first['kind']}) on {first['size']} inputs resized to 299x299, batch {first['batch']}, "
        f"float32, {first['gmacs_per_image']:.2f} G conv multiply-adds per image, {first['cpu_count']} CPU cores "
        f"visible, threads: {first['threads'] or 'backend default'}; medians of timed calls."
    )
    print(
        f"{'backend':<11}{'device':<8}{'s/batch':>9}{'img/s':>8}{'GFLOP/s':>9}{'matmul GFLOP/s':>16}{'of matmul':>11}"
    )
    for r in runs:
        print(
            f"{r['backend']:<11}{r['device']:<8}{r['median_s']:>9.3f}{r['images_per_s']:>8.2f}{r['gflops_per_s']:>9.1f}"
            f"{r['matmul_gflops_per_s']:>16.1f}{r['fraction_of_matmul_rate']:>11.2f}"
        )


def run_all_backends(args, argv):
    print_table(
        run_backends(__file__, argv, args.backends, lambda message: print(message, file=sys.stderr, flush=True))
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.all_backends:
        run_all_backends(args, argv)
        return
    limit_threads(args.threads)  # before the first keras import
    result = run_one_backend(args)
    print(json.dumps(result) if args.json else "")
    if not args.json:
        print_table([result])


if __name__ == "__main__":
    main()
