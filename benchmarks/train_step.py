"""Median `NTEDGAN` train-step time per backend, with images/s and GFLOP/s against the matmul peak.

One step = `--batch-size` pairs in both directions (a batch of 2 x batch-size generated
images: images/s counts those), the released losses (VGG19 perceptual with random weights,
`vgg_weights="random"`: the same FLOPs as ImageNet ones, plus style, attention, face), G step,
EMA, and with `--phase gan` also the D step (the steady state after `gan_start_step`; R1
steps, every 16th, are not timed). The step's multiply-adds are counted
analytically: generator forward x 3 (forward + backward) per image, VGG19 passes up to relu5_1
(targets forward, fakes forward and input-gradient backward) at full and face size, and the
discriminator's passes. The floor is that count at the best float32 matmul rate measured in
the same run.

    python benchmarks/train_step.py --all-backends                 # tiny and nted_fashion_256
    python benchmarks/train_step.py --all-backends --presets nted_tiny --repeats 5
    KERAS_BACKEND=jax python benchmarks/train_step.py --presets nted_fashion_256 --batch-size 1 4 8   # a GPU
Devices are Keras' choice (a GPU when the backend sees one); the device is printed.

Data-parallel over processes (`keras_nted.distribute.initialize`, the model built under
`distribute.data_parallel()`: torch processes, JAX DataParallel, TF MultiWorkerMirroredStrategy), each
process stepping on its own `--batch-size` pairs (the global batch is N times that); images/s
are per process, and on torch the time of the gradient all-reduce within a step is shown too:

    KERAS_BACKEND=torch python benchmarks/train_step.py --presets nted_tiny --batch-size 2 --processes 2
    KERAS_BACKEND=torch python benchmarks/train_step.py --presets nted_tiny --batch-size 2 --processes 2 --no-all-reduce
On a CPU host each process gets `cpu_count // N` threads (unless `OMP_NUM_THREADS` is set).
Goals (issue 16): every backend within 2.5x of the floor. "compile s" is the first step's
time less a steady step's (tracing and compilation of the phase timed); "RSS MiB" the
process's peak resident memory after the case.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_utils import peak_rss_mib  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
GOAL_FLOOR = 2.5
# Generator multiply-adds per image (counted on the released modules) and discriminator multiply-adds per image.
GENERATOR_MACS = {"nted_fashion_256": 91.05e9}
DISCRIMINATOR_MACS = {"nted_fashion_256": 32.29e9}
VGG_LAYERS = [
    (3, 64, 0),
    (64, 64, 0),
    (64, 128, 1),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 2),
    (256, 256, 2),
    (256, 256, 2),
    (256, 512, 3),
    (512, 512, 3),
    (512, 512, 3),
    (512, 512, 3),
    (512, 512, 4),
]


def vgg_macs(height, width):
    """Multiply-adds of Keras' VGG19 up to block5_conv1 (relu5_1) for one image."""
    return sum(9 * cin * cout * (height >> level) * (width >> level) for cin, cout, level in VGG_LAYERS)


def model_macs(model, pooled_extraction=False):
    """Multiply-adds of the convolutions and matmuls of a functional model, from its layers' shapes.

    `pooled_extraction`: count the NTED extraction's value convolution as keras-nted computes it
    (`layers.nted.pool_through_conv`: the weights pooled with the input per tap, then the kernel
    on the `k` pooled vectors) instead of as the released model does (a full convolution).
    """
    from keras_nted.layers import EqualizedConv2D
    from keras_nted.layers import EqualizedConv2DTranspose
    from keras_nted.layers import EqualizedDense
    from keras_nted.layers import NTEDDistribution
    from keras_nted.layers import NTEDExtraction

    total = 0
    for layer in model.layers:
        if isinstance(layer, (EqualizedConv2D, EqualizedConv2DTranspose)):
            k = layer.kernel.shape
            out = layer.output.shape if isinstance(layer, EqualizedConv2D) else layer.input.shape
            total += k[0] * k[1] * k[2] * k[3] * out[1] * out[2]
        elif isinstance(layer, EqualizedDense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, (NTEDExtraction, NTEDDistribution)):
            shape = layer.input[0].shape if isinstance(layer.input, (list, tuple)) else layer.input.shape
            pixels, channels = shape[1] * shape[2], shape[3]
            convs = (
                [layer.value_conv, layer.semantic_extraction_filter]
                if isinstance(layer, NTEDExtraction)
                else [layer.semantic_distribution_filter]
            )
            total += sum(int(np.prod(c.kernel.shape)) * pixels for c in convs)
            total += pixels * channels * layer.num_labels  # the texture einsum
            if pooled_extraction and isinstance(layer, NTEDExtraction):
                m, k, filters = layer.match_kernel_size, layer.num_labels, layer.value_conv.filters
                total -= m * m * channels * filters * pixels + pixels * channels * k
                total += m * m * k * pixels * channels + k * m * m * channels * filters
    return total


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["nted_tiny", "nted_fashion_256"])
    parser.add_argument("--phase", choices=["generator", "gan"], default="gan", help="G only, or G + D (steady state)")
    parser.add_argument(
        "--batch-size",
        "--batch-sizes",
        dest="batch_sizes",
        nargs="+",
        type=int,
        default=[1],
        help="pairs per step (each is generated in both directions); several: one case each",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (compilation included; at least 1)")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--all-backends", action="store_true")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--processes", type=int, default=1, help="data-parallel processes on this host")
    parser.add_argument(
        "--no-all-reduce", action="store_true", help="torch: skip the gradient all-reduce (what it costs)"
    )
    parser.add_argument("--process-id", type=int, help=argparse.SUPPRESS)  # set for the processes it starts
    parser.add_argument("--coordinator", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup < 1:
        parser.error(f"--warmup must be at least 1 (the first step compiles). Received: {args.warmup}")
    return args


def matmul_peak(size):
    import keras

    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype="float32"))
    times = []
    for _ in range(4):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.matmul(a, a)[0, 0])
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / min(times[1:])


def device():
    """The device Keras computes on, e.g. `cpu:0` or `gpu:0` (the first one listed)."""
    import keras

    backend = keras.backend.backend()
    if backend == "torch":  # keras.distribution has no torch implementation
        import torch

        return "gpu:0" if torch.cuda.is_available() else "cpu:0"
    return keras.distribution.list_devices()[0]


def timed_all_reduce(args, seconds):
    """torch: the step's gradient all-reduce, its time added to `seconds` (or skipped: `--no-all-reduce`)."""
    import keras

    if keras.backend.backend() != "torch":
        return
    from keras_nted.backend import optimizers

    average = optimizers.mean_over_processes

    def timed(grads):
        if args.no_all_reduce:
            return list(grads)
        start = time.perf_counter()
        out = average(grads)
        seconds.append(time.perf_counter() - start)
        return out

    optimizers.mean_over_processes = timed


def time_steps(preset, batch_size, args):
    import keras

    from keras_nted.models import NTEDGAN

    all_reduce_s = []
    timed_all_reduce(args, all_reduce_s)

    from keras_nted import distribute

    with distribute.data_parallel():  # JAX: DataParallel; TF: the (multi-worker) strategy's scope; torch: processes
        gan = NTEDGAN.from_preset(preset, vgg_weights="random")
        gan.compile(gan_start_step=-1 if args.phase == "gan" else 10**9, r1_interval=10**9)
    # Every timed step in one phase: from step 1 on (step 0 would be an R1 step, and the first
    # timed step would then compile the steady phase's program inside the timing).
    gan.step.assign(1)
    height, width = gan.generator.image_size
    rng = np.random.default_rng(0)
    face = np.array([[width * 0.4, height * 0.2, width * 0.6, height * 0.2]] * batch_size, "float32")
    batch = {
        "source_image": rng.uniform(-1, 1, (batch_size, height, width, 3)).astype("float32"),
        "target_image": rng.uniform(-1, 1, (batch_size, height, width, 3)).astype("float32"),
        "source_skeleton": rng.uniform(0, 1, (batch_size, height, width, 20)).astype("float32"),
        "target_skeleton": rng.uniform(0, 1, (batch_size, height, width, 20)).astype("float32"),
        "source_face_center": face,
        "target_face_center": face,
    }
    start = time.perf_counter()
    gan.train_on_batch(batch)  # traces and compiles the phase
    first_s = time.perf_counter() - start
    for _ in range(args.warmup - 1):
        gan.train_on_batch(batch)
    times = []
    all_reduce_s.clear()
    for _ in range(args.repeats):
        start = time.perf_counter()
        gan.train_on_batch(batch)  # returns host values: the step has finished
        times.append(time.perf_counter() - start)
    g_macs = GENERATOR_MACS.get(preset) or model_macs(gan.generator)
    d_macs = DISCRIMINATOR_MACS.get(preset) or model_macs(gan.discriminator)
    face_size = height // 32 * 8
    macs = 2 * 3 * g_macs + 6 * vgg_macs(height, width) + 6 * vgg_macs(face_size, face_size)
    if args.phase == "gan":
        macs += 16 * d_macs
    del gan
    keras.backend.clear_session()
    median = statistics.median(times)
    return {
        "preset": preset,
        "size": f"{height}x{width}",
        "batch": batch_size,
        "median_s": median,
        "best_s": min(times),
        "compile_s": max(first_s - median, 0.0),
        "gmacs": batch_size * macs / 1e9,
        "images_per_s": 2 * batch_size / median,
        "rss_mib": peak_rss_mib(),
        "all_reduce_s": sum(all_reduce_s) / args.repeats,
    }


def run_processes(argv, args):
    """`--processes N`: this script in N processes joined on localhost; process 0's JSON, or its table."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.processes)))
    child = [a for a in argv if a != "--json"] + ["--json", "--coordinator", f"127.0.0.1:{port}"]
    script = os.path.abspath(__file__)
    procs = [
        subprocess.Popen(
            [sys.executable, script, *child, "--process-id", str(i)], env=env, stdout=subprocess.PIPE, text=True
        )
        for i in range(args.processes)
    ]
    outputs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        sys.exit(f"a process failed: exit codes {[p.returncode for p in procs]}")
    return json.loads(outputs[0].strip().splitlines()[-1])


def run_one_backend(args):
    import keras

    peak = matmul_peak(args.matmul_size)
    cases = [time_steps(p, b, args) for p in args.presets for b in args.batch_sizes]
    return {
        "backend": keras.backend.backend(),
        "device": device(),
        "peak": peak,
        "cases": cases,
        "rss_mib": peak_rss_mib(),
        "processes": args.processes,
        "no_all_reduce": args.no_all_reduce,
    }


def print_table(runs, args):
    runs = [r for r in runs if r]
    machine_peak = max(r["peak"] for r in runs)
    print(
        f"\nNTEDGAN train step ({args.phase}), batch-size pairs both directions (images/s: generated images), "
        f"float32; medians of {args.repeats} steps"
    )
    for r in runs:
        print(
            f"  {r['backend']:<10} on {r['device']}: matmul peak {r['peak'] / 1e9:6.1f} GFLOP/s, "
            f"peak RSS {r['rss_mib']:.0f} MiB"
        )
    print(f"\n{'case':<30}" + "".join(f"| {r['backend']:^54} " for r in runs))
    print(
        f"{'':<30}"
        + "".join(
            f"| {'time s':>8} {'img/s':>8} {'GFLOP/s':>8} {'x floor':>8} {'compile s':>9} {'RSS MiB':>8} " for _ in runs
        )
    )
    for i, case in enumerate(runs[0]["cases"]):
        line = f"{case['preset'] + ' ' + case['size'] + ' b' + str(case['batch']):<30}"
        for r in runs:
            c = r["cases"][i]
            floor = 2 * c["gmacs"] * 1e9 / machine_peak
            line += (
                f"| {c['median_s']:>8.3f} {c['images_per_s']:>8.2f} {2 * c['gmacs'] / c['median_s']:>8.1f} "
                f"{c['median_s'] / floor:>8.2f} {c.get('compile_s', float('nan')):>9.1f} "
                f"{c.get('rss_mib', float('nan')):>8.0f} "
            )
        print(line)
    for r in runs:
        if r.get("processes", 1) > 1:
            reduce = "skipped (--no-all-reduce)" if r["no_all_reduce"] else "all-reduce"
            for c in r["cases"]:
                print(
                    f"{r['backend']} {c['preset']} b{c['batch']} x {r['processes']} processes: "
                    f"{c['images_per_s']:.2f} images/s per process; {reduce} "
                    f"{c['all_reduce_s'] * 1e3:.1f} ms of the {c['median_s'] * 1e3:.0f} ms step"
                )
    print(f"\nmachine float32 matmul peak (best backend): {machine_peak / 1e9:.1f} GFLOP/s")
    for i, case in enumerate(runs[0]["cases"]):
        floor = 2 * case["gmacs"] * 1e9 / machine_peak
        ratios = ", ".join(f"{r['backend']} {r['cases'][i]['median_s'] / floor:.2f}x" for r in runs)
        met = all(r["cases"][i]["median_s"] / floor <= GOAL_FLOOR for r in runs)
        print(
            f"{case['preset']} batch {case['batch']}: {case['gmacs']:.1f} GMAC/step, floor {floor:.2f} s; {ratios} "
            f"(goal: every backend <= {GOAL_FLOOR}x: {'MET' if met else 'NOT MET'})"
        )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.process_id is not None:
        from keras_nted import distribute

        distribute.initialize(args.coordinator, args.processes, args.process_id)
    if not args.all_backends:
        multi = args.processes > 1 and args.process_id is None
        result = run_processes(argv, args) if multi else run_one_backend(args)
        if args.json:
            print(json.dumps(result))
        else:
            print_table([result], args)
        return
    child = [a for a in argv if a != "--all-backends"] + ["--json"]
    runs = []
    for backend in args.backends:
        print(f"=== KERAS_BACKEND={backend} ===", file=sys.stderr, flush=True)
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), *child], env=env, stdout=subprocess.PIPE, text=True
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None)
    print_table(runs, args)


if __name__ == "__main__":
    main()
