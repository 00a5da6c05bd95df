"""NTEDGenerator forward time and images/s per backend, against the FLOP floor measured in the same run.

For every preset and batch size this builds `NTEDGenerator.from_preset(preset)`, times
`model.predict_on_batch([reference, skeleton])` (median and best of `--repeats` calls after
`--warmup` calls) and converts it to images/s and to achieved GFLOP/s with the released
model's multiply-add count (counted on the released modules: 91.05 G per 256x176 pair, 134.87 G per 512x352 pair;
other presets: counted from the layers' shapes; 1 MAC = 2 FLOPs).

`predict_on_batch` is what a user gets: on JAX a `jax.jit`-compiled predict step; on
TensorFlow a `tf.function` (keras turns XLA off on CPU-only machines and on with a GPU); on
torch eager execution under `no_grad`. `--jit-compile true|false` overrides keras' choice
(`true` on torch means `torch.compile`).

The floor is the time the model's FLOPs would take at this machine's float32 matmul peak,
measured in the same process with a large `keras.ops.matmul` on the same backend (best of
`--repeats`, measured before and after the generator runs). The goal (issue 16): every backend
within 1.3x of that floor. Peak memory is the
process's `ru_maxrss` (a running maximum: model, activations, compilation and the matmul
operands). `--threads N` caps every backend's thread pool (see `benchmark_utils.limit_threads`;
useful when other jobs share the cores); by default each backend uses its own default.

Usage:
    KERAS_BACKEND=jax python benchmarks/forward.py --quick
    python benchmarks/forward.py --all-backends --quick      # one subprocess per backend
    python benchmarks/forward.py --all-backends              # both presets, batch 1 and 4
    KERAS_BACKEND=torch python benchmarks/forward.py --presets nted_fashion_256 --batch-size 1 8 32  # a GPU

The backend is chosen by KERAS_BACKEND, never by this script (except in `--all-backends`);
the device by Keras (a GPU when the backend sees one); both are printed.
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
from train_step import device
from train_step import model_macs

# Multiply-adds per (reference, skeleton) pair, from the released model (counted on its modules).
MACS_PER_PAIR = {"nted_fashion_256": 91.05e9, "nted_fashion_512": 134.87e9}
GOAL_RATIO = 1.3
BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=list(MACS_PER_PAIR))
    parser.add_argument("--batch-size", "--batch-sizes", dest="batch_sizes", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case (median and best)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (compilation included)")
    parser.add_argument("--matmul-size", type=int, default=4096, help="side of the square matmul for the peak")
    parser.add_argument("--jit-compile", choices=["auto", "true", "false"], default="auto")
    parser.add_argument("--threads", type=int, default=None, help="cap the backends' thread pools")
    parser.add_argument("--quick", action="store_true", help="nted_fashion_256, batch 1, 3 repeats")
    parser.add_argument("--all-backends", action="store_true", help="run each backend in a subprocess")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--json", action="store_true", help="print one JSON line of results (for --all-backends)")
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.batch_sizes, args.repeats = ["nted_fashion_256"], [1], 3
    return args


def matmul_peak(size, repeats):
    """Float32 FLOP/s of an eager `keras.ops.matmul` of two `size x size` matrices (best of `repeats`)."""
    import keras

    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype="float32"))
    b = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype="float32"))

    def run():
        start = time.perf_counter()
        c = keras.ops.matmul(a, b)
        keras.ops.convert_to_numpy(c[0, 0])  # waits for the result (JAX dispatches asynchronously)
        return time.perf_counter() - start

    run()
    times = [run() for _ in range(max(repeats, 3))]
    return 2.0 * size**3 / min(times), times


def time_generator(preset, batch_sizes, repeats, warmup, jit_compile):
    import keras

    from keras_nted.models import NTEDGenerator

    start = time.perf_counter()
    model = NTEDGenerator.from_preset(preset)
    build_s = time.perf_counter() - start
    if jit_compile != "auto":
        model.jit_compile = jit_compile == "true"
    height, width = model.image_size
    macs_per_pair = MACS_PER_PAIR.get(preset) or model_macs(model)
    # What keras-nted computes: the NTED extraction pools before its value convolution.
    executed_macs = macs_per_pair - model_macs(model) + model_macs(model, pooled_extraction=True)
    rng = np.random.default_rng(0)
    results = []
    for batch in batch_sizes:
        inputs = [
            rng.uniform(-1, 1, (batch, height, width, 3)).astype("float32"),
            rng.uniform(0, 1, (batch, height, width, model.semantic_dim)).astype("float32"),
        ]
        start = time.perf_counter()
        for _ in range(warmup):
            model.predict_on_batch(inputs)
        warmup_s = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.predict_on_batch(inputs)  # returns numpy: the call has finished
            times.append(time.perf_counter() - start)
        results.append(
            {
                "preset": preset,
                "size": f"{height}x{width}",
                "batch": batch,
                "macs_per_pair": macs_per_pair,
                "executed_macs_per_pair": executed_macs,
                "median_s": statistics.median(times),
                "images_per_s": batch / statistics.median(times),
                "best_s": min(times),
                "times_s": times,
                "warmup_s": warmup_s,
                "build_s": build_s,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    path = f"predict_on_batch, jit_compile={model.jit_compile}"
    del model
    keras.backend.clear_session()
    return results, path


def run_one_backend(args):
    import keras

    # The peak is measured before and after the generator runs and the better one kept: on
    # shared cores a single measurement taken while another job runs understates it.
    peak_before, times_before = matmul_peak(args.matmul_size, args.repeats)
    cases, path = [], None
    for preset in args.presets:
        results, path = time_generator(preset, args.batch_sizes, args.repeats, args.warmup, args.jit_compile)
        for r in results:
            log(
                f"  {preset} {r['size']} batch {r['batch']}: median {r['median_s']:.3f} s (best {r['best_s']:.3f}), "
                f"{r['images_per_s']:.2f} images/s, "
                f"build {r['build_s']:.1f} s, warm-up {r['warmup_s']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB"
            )
        cases += results
    peak_after, times_after = matmul_peak(args.matmul_size, args.repeats)
    peak = max(peak_before, peak_after)
    log(
        f"backend {keras.backend.backend()}: float32 matmul {args.matmul_size}^3 peak {peak / 1e9:.1f} GFLOP/s "
        f"(before {peak_before / 1e9:.1f}, after {peak_after / 1e9:.1f}; "
        f"times {', '.join(f'{t:.3f}' for t in times_before + times_after)} s)"
    )
    for r in cases:
        flops = 2.0 * r["macs_per_pair"] * r["batch"]
        r["gflops_per_s"] = flops / r["median_s"] / 1e9
        r["floor_s"] = flops / peak
        r["ratio_to_floor"] = r["median_s"] / r["floor_s"]
    return {
        "backend": keras.backend.backend(),
        "device": device(),
        "keras": keras.__version__,
        "path": path,
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "matmul_peak_gflops_per_s": peak / 1e9,
        "cases": cases,
        "peak_rss_mib": peak_rss_mib(),
    }


def log(message):
    print(message, file=sys.stderr, flush=True)


def print_table(runs):
    """Side-by-side table: one row per (preset, batch), one column group per backend."""
    runs = [r for r in runs if r is not None]
    if not runs:
        print("no backend produced results")
        return
    threads = runs[0]["threads"] or "backend default"
    print(
        f"\nNTEDGenerator forward, float32, {runs[0]['cpu_count']} CPU cores visible, threads: {threads}; "
        "medians of timed calls."
    )
    for r in runs:
        print(
            f"  {r['backend']:<10} on {r['device']}, path: {r['path']}; "
            f"matmul peak {r['matmul_peak_gflops_per_s']:.1f} GFLOP/s; "
            f"process peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
    header = f"{'case':<28}" + "".join(f"| {r['backend']:^39} " for r in runs)
    print("\n" + header)
    print(f"{'':<28}" + "".join(f"| {'time s':>8} {'img/s':>8} {'GFLOP/s':>8} {'x floor':>8}    " for _ in runs))
    print("-" * len(header))
    keys = [(c["preset"], c["size"], c["batch"]) for c in runs[0]["cases"]]
    for key in keys:
        row = f"{key[0][5:]} {key[1]} b{key[2]}"
        line = f"{row:<28}"
        for r in runs:
            case = next((c for c in r["cases"] if (c["preset"], c["size"], c["batch"]) == key), None)
            if case is None:
                line += f"| {'-':>8} {'-':>8} {'-':>8} {'-':>8}    "
                continue
            line += (
                f"| {case['median_s']:>8.3f} {case['images_per_s']:>8.2f} {case['gflops_per_s']:>8.1f} "
                f"{case['ratio_to_floor']:>8.2f}    "
            )
        print(line)
    # The machine's floor: its FLOPs at the best matmul peak any backend reached in this run
    # (each column above uses its own backend's peak).
    machine_peak = max(r["matmul_peak_gflops_per_s"] for r in runs) * 1e9
    print(f"\nmachine float32 matmul peak (best backend): {machine_peak / 1e9:.1f} GFLOP/s")
    for key in keys:
        cases = [(r["backend"], c) for r in runs for c in r["cases"] if (c["preset"], c["size"], c["batch"]) == key]
        floor = 2.0 * cases[0][1]["macs_per_pair"] * key[2] / machine_peak
        ratios = ", ".join(f"{backend} {c['median_s'] / floor:.2f}x" for backend, c in cases)
        worst = max(c["median_s"] for _, c in cases) / floor
        verdict = "MET" if worst <= GOAL_RATIO else "NOT MET"
        print(
            f"{key[0]} {key[1]} batch {key[2]}: floor {floor:.3f} s; {ratios} "
            f"(goal: every backend <= {GOAL_RATIO}x: {verdict})"
        )
    macs = {(c["preset"], c["macs_per_pair"], c.get("executed_macs_per_pair")) for r in runs for c in r["cases"]}
    for preset, released, executed in sorted(macs, key=str):
        if executed:
            print(
                f"{preset}: the floor counts the released model's {released / 1e9:.2f} G multiply-adds per image; "
                f"keras-nted computes {executed / 1e9:.2f} G (the NTED extraction pools before its value convolution)"
            )


def run_all_backends(args, argv):
    runs = run_backends(__file__, argv, args.backends, log)
    print_table(runs)
    return runs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.all_backends:
        run_all_backends(args, argv)
        return
    limit_threads(args.threads)  # before the first keras import
    result = run_one_backend(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_table([result])


if __name__ == "__main__":
    main()
