"""What the torch gradient all-reduce costs per optimizer step: 2 processes on this host (gloo on CPUs).

Times `keras_nted.backend.torch_processes.mean_over_processes` on tensors shaped like each
preset's generator and discriminator weights (the G step and the D step each all-reduce one
such set; an R1 step the discriminator's again).

    KERAS_BACKEND=torch python benchmarks/all_reduce.py [--presets nted_tiny nted_fashion_256]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time


def measure(presets, repeats):
    import keras

    from keras_nted import distribute
    from keras_nted.backend.torch_processes import mean_over_processes
    from keras_nted.models import NTEDDiscriminator
    from keras_nted.models import NTEDGenerator

    for preset in presets:
        for network in (NTEDGenerator.from_preset(preset), NTEDDiscriminator.from_preset(preset)):
            grads = [keras.ops.ones_like(v.value) for v in network.trainable_variables]
            mib = sum(g.numel() * g.element_size() for g in grads) / 2**20
            times = []
            for _ in range(repeats + 1):
                start = time.perf_counter()
                mean_over_processes(grads)
                times.append(time.perf_counter() - start)
            if distribute.is_chief():
                print(
                    f"{preset} {type(network).__name__}: {len(grads)} tensors, {mib:.1f} MiB: "
                    f"all-reduce median {statistics.median(times[1:]) * 1e3:.1f} ms over {distribute.process_count()} "
                    "processes"
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["nted_tiny", "nted_fashion_256"])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--process-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--coordinator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.process_id is not None:
        from keras_nted import distribute

        distribute.initialize(args.coordinator, num_processes=2, process_id=args.process_id)
        measure(args.presets, args.repeats)
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    command = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--coordinator", f"127.0.0.1:{port}"]
    procs = [subprocess.Popen([*command, "--process-id", str(i)], env=env) for i in (0, 1)]
    sys.exit(max(p.wait() for p in procs))


if __name__ == "__main__":
    main()
