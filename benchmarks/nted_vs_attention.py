"""Time and peak memory of the NTED layer against vanilla dot-product attention, by resolution.

Both layers read a reference and a target feature map of the same size `(1, h, w, C)` and
return `(1, h, w, C)`. Their projections are the same 1x1 equalized convolutions, so they
cost the same and only the mixing differs:

* NTED (`match_kernel_size=1`): `W_e: C -> k`, `f: C -> C`, `W_d: C -> k`; extraction softmax
  over positions, distribution softmax over the `k` labels. Mixing costs `2 hw k C` multiply-adds
  and the largest intermediate is `(hw, k)`: linear in `h * w`.
* Attention: `Q = W_q(target): C -> k`, `K = W_k(reference): C -> k`, `V = W_v(reference): C -> C`,
  `softmax(Q K^T / sqrt(k)) V`. Mixing costs `hw^2 (k + C)` multiply-adds and materialises
  `hw x hw` scores: quadratic in `h * w`.

Every (layer, size) case runs in its own subprocess, so its peak RSS (`ru_maxrss`) is its
own. That peak includes compilation (XLA on JAX holds a few hundred MiB while it compiles),
so the script also resets the high-water mark after the warm-up call (Linux
`/proc/self/clear_refs`) and reports "+base": the peak RSS during the timed calls minus the
RSS before the layer was built (backend and inputs already loaded). What a backend keeps
after compiling stays in "+base" as a roughly constant offset; the smallest size shows it.

Attention cases whose score matrices alone would exceed `--memory-budget-gib` are not run but
printed as OOM-skipped with the memory they would need. Times are medians (and bests) of
`--repeats` calls of `predict_on_batch` on a functional model holding the layer, after a
warm-up call (compilation). Growth exponents are least-squares slopes against log(h * w), over
the sizes measured and over the two largest, of log(best time) (the best of the repeats is
the least disturbed by other jobs on a shared machine) and of log(memory growth): "+base"
minus the smallest size's "+base", which removes the constant offset.
`--threads N` caps the backend's thread pool (`benchmark_utils.limit_threads`).

Usage:
    KERAS_BACKEND=jax python benchmarks/nted_vs_attention.py --quick
    KERAS_BACKEND=torch python benchmarks/nted_vs_attention.py --channels 64 --num-labels 16
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from benchmark_utils import limit_threads
from benchmark_utils import peak_rss_mib

DEFAULT_SIZES = ("32x22", "64x44", "128x88", "256x176", "512x352")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="HxW feature-map sizes")
    parser.add_argument("--channels", type=int, default=64, help="feature channels C")
    parser.add_argument("--num-labels", type=int, default=16, help="NTED labels k = attention key size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--memory-budget-gib",
        type=float,
        default=None,
        help="skip attention whose estimated memory exceeds this (default: half of MemAvailable)",
    )
    parser.add_argument("--threads", type=int, default=None, help="cap the backend's thread pool")
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--case", choices=["nted", "attention"], help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 3
    return args


def parse_size(text):
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def proc_status_mib(field):
    """`VmRSS` (current) or `VmHWM` (peak since start or the last reset) in MiB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Restart the `VmHWM` high-water mark from the current RSS; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mem_available_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 8.0


def attention_bytes(h, w, channels, num_labels):
    """Float32 bytes attention needs at least: scores and their softmax (hw x hw each), plus the
    projections and output (linear terms)."""
    n = h * w
    return 4 * (2 * n * n + n * (2 * num_labels + 3 * channels))


def mixing_macs(case, h, w, channels, num_labels):
    n = h * w
    projections = n * (2 * channels * num_labels + channels * channels)
    return projections + (2 * n * num_labels * channels if case == "nted" else n * n * (num_labels + channels))


def build_attention_layer():
    import keras
    from keras import ops

    from keras_nted.layers import EqualizedConv2D

    class DotProductAttention(keras.layers.Layer):
        """softmax(Q K^T / sqrt(d)) V between two feature maps, with 1x1 projections."""

        def __init__(self, key_dim, **kwargs):
            super().__init__(**kwargs)
            self.key_dim = key_dim
            self.query = EqualizedConv2D(key_dim, 1, use_bias=False, name="query")
            self.key = EqualizedConv2D(key_dim, 1, use_bias=False, name="key")
            self.value = None

        def build(self, reference_features_shape, target_features_shape):
            self.value = EqualizedConv2D(target_features_shape[-1], 1, name="value")
            self.value.build(reference_features_shape)
            self.key.build(reference_features_shape)
            self.query.build(target_features_shape)

        def call(self, reference_features, target_features):
            _, h, w, _ = target_features.shape
            q = ops.reshape(self.query(target_features), (-1, h * w, self.key_dim))
            k = ops.reshape(self.key(reference_features), (-1, h * w, self.key_dim))
            v = self.value(reference_features)
            v = ops.reshape(v, (-1, h * w, v.shape[-1]))
            scores = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / math.sqrt(self.key_dim)
            out = ops.matmul(ops.softmax(scores, axis=-1), v)
            return ops.reshape(out, (-1, h, w, v.shape[-1]))

        def compute_output_shape(self, reference_features_shape, target_features_shape):
            return target_features_shape

    return DotProductAttention


def run_case(args):
    """One (layer, size) case in this process; prints one JSON line."""
    import keras

    from keras_nted.layers import NTED

    h, w = parse_size(args.size)
    c, k = args.channels, args.num_labels
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(1, h, w, c)).astype("float32") for _ in range(2)]
    base = proc_status_mib("VmRSS") or peak_rss_mib()
    reference = keras.Input((h, w, c), name="reference")
    target = keras.Input((h, w, c), name="target")
    if args.case == "nted":
        layer = NTED(num_labels=k, match_kernel_size=1)
    else:
        layer = build_attention_layer()(key_dim=k)
    model = keras.Model([reference, target], layer(reference, target))
    start = time.perf_counter()
    model.predict_on_batch(inputs)
    warmup = time.perf_counter() - start
    reset = reset_peak_rss()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.predict_on_batch(inputs)
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "case": args.case,
                "size": args.size,
                "positions": h * w,
                "median_s": statistics.median(times),
                "best_s": min(times),
                "warmup_s": warmup,
                "base_rss_mib": base,
                "peak_rss_mib": peak_rss_mib(),
                "run_peak_rss_mib": proc_status_mib("VmHWM") if reset else peak_rss_mib(),
                "path": f"predict_on_batch, jit_compile={model.jit_compile}",
            }
        )
    )


def fit_exponent(points):
    """Least-squares slope of log(y) against log(x); None with fewer than two points."""
    points = [(x, y) for x, y in points if y and y > 0]
    if len(points) < 2:
        return None
    xs, ys = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(xs, ys, 1)[0])


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def fmt_ms(row):
    if "median_s" not in row:
        return "-"
    return f"{row['median_s'] * 1e3:.1f} ({row['best_s'] * 1e3:.1f})"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    limit_threads(args.threads)  # before the first keras import; the subprocesses inherit it
    if args.case:
        run_case(args)
        return
    import keras

    budget = args.memory_budget_gib or mem_available_gib() / 2
    sizes = [parse_size(s) for s in args.sizes]
    print(
        f"NTED vs dot-product attention, backend {keras.backend.backend()}, float32, batch 1, "
        f"C={args.channels}, k={args.num_labels}, medians of {args.repeats}; attention memory budget "
        f"{budget:.1f} GiB; {os.cpu_count()} CPU cores visible, threads: {args.threads or 'backend default'}.",
        flush=True,
    )
    results = {"nted": [], "attention": []}
    for h, w in sizes:
        for case in ("nted", "attention"):
            needed = attention_bytes(h, w, args.channels, args.num_labels) / 2**30
            row = {
                "case": case,
                "size": f"{h}x{w}",
                "positions": h * w,
                "gmac": mixing_macs(case, h, w, args.channels, args.num_labels) / 1e9,
            }
            if case == "attention" and needed > budget:
                row["skipped"] = f"OOM-skipped (needs >= {needed:.1f} GiB)"
            else:
                proc = subprocess.run(
                    [
                        sys.executable,
                        os.path.abspath(__file__),
                        "--case",
                        case,
                        "--size",
                        f"{h}x{w}",
                        "--channels",
                        str(args.channels),
                        "--num-labels",
                        str(args.num_labels),
                        "--repeats",
                        str(args.repeats),
                    ],
                    env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                if proc.returncode != 0:
                    row["skipped"] = f"failed (exit status {proc.returncode}; needs ~{needed:.1f} GiB)"
                else:
                    row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
                    row["above_base_mib"] = row["run_peak_rss_mib"] - row["base_rss_mib"]
            results[case].append(row)
            status = row.get("skipped") or f"{row['median_s'] * 1e3:.1f} ms, peak RSS {row['peak_rss_mib']:.0f} MiB"
            print(f"  {case:<9} {h}x{w}: {status}", file=sys.stderr, flush=True)

    print(
        "\ntimes in ms as median (best); memory in MiB: the subprocess's peak RSS, and '+base' = peak RSS "
        "during the timed calls minus the RSS before the build"
    )
    print(
        f"{'size':>9} {'h*w':>7} | {'NTED ms':>15} {'GMAC':>6} {'RSS':>6} {'+base':>6} | "
        f"{'attention ms':>17} {'GMAC':>7} {'RSS':>6} {'+base':>6}"
    )
    for nted, attention in zip(results["nted"], results["attention"]):
        line = (
            f"{nted['size']:>9} {nted['positions']:>7} | {fmt_ms(nted):>15} "
            f"{nted['gmac']:>6.2f} {fmt(nted.get('peak_rss_mib'), '6.0f')} "
            f"{fmt(nted.get('above_base_mib'), '6.0f')} | "
        )
        if "skipped" in attention:
            line += f"{attention['skipped']} ({attention['gmac']:.0f} GMAC)"
        else:
            line += (
                f"{fmt_ms(attention):>17} {attention['gmac']:>7.2f} "
                f"{attention['peak_rss_mib']:>6.0f} {attention['above_base_mib']:>6.0f}"
            )
        print(line)

    print("\ngrowth exponents in h*w (1 = linear, 2 = quadratic):")
    print(
        f"{'':<10} {'time, all':>10} {'time, 2 largest':>16} {'memory, all':>12} {'memory, 2 largest':>18}"
        "   (analytic mixing cost: NTED 1, attention 2)"
    )
    for case in ("nted", "attention"):
        measured = [r for r in results[case] if "median_s" in r]
        t = [(r["positions"], r["best_s"]) for r in measured]
        m = [(r["positions"], r["above_base_mib"] - measured[0]["above_base_mib"]) for r in measured[1:]]
        print(
            f"{case:<10} {fmt(fit_exponent(t), '10.2f')} {fmt(fit_exponent(t[-2:]), '16.2f')} "
            f"{fmt(fit_exponent(m), '12.2f')} {fmt(fit_exponent(m[-2:]), '18.2f')}"
        )
    path = next((r["path"] for r in results["nted"] if "path" in r), "?")
    print(
        f"\n(call path: {path}. Small sizes are dominated by per-call overhead; on a shared machine times are noisy.)"
    )


if __name__ == "__main__":
    main()
