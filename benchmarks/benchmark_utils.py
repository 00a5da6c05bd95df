"""Small helpers shared by the benchmark scripts (no backend imports: KERAS_BACKEND decides)."""

import os
import resource
import time

import numpy as np


def limit_threads(threads):
    """Cap every backend's intra-op thread pool at `threads`; call before keras is imported.

    On a machine whose cores are shared with other jobs, a thread pool as wide as the machine
    waits at every op for a descheduled worker (tens of ms per op on 2 shared cores), which
    swamps small ops. `None` keeps each backend's default (what a user gets).
    """
    if threads is None:
        return
    n = str(threads)
    os.environ["OMP_NUM_THREADS"] = n  # torch (and oneDNN / MKL under TensorFlow)
    os.environ["TF_NUM_INTRAOP_THREADS"] = n
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    if threads == 1:  # XLA:CPU (JAX) only has an on/off switch for its Eigen thread pool
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()


def median_ms(function, repeats, warmup=0):
    """Median wall time of `function()` over `repeats` calls, in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def peak_rss_mib():
    """The process's peak resident memory so far (`ru_maxrss`, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_backends(script, argv, backends, log):
    """Run `script` once per backend in a subprocess (`KERAS_BACKEND` set, `--json` added).

    `argv` is the parent's command line; `--all-backends` and `--json` are dropped from it.
    Returns the parsed last stdout line of each child (`None` for a child that failed).
    """
    import json
    import subprocess
    import sys

    child_args = [a for a in argv if a not in ("--all-backends", "--json")]
    runs = []
    for backend in backends:
        log(f"=== KERAS_BACKEND={backend} ===")
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        command = [sys.executable, os.path.abspath(script), *child_args, "--json"]
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            log(f"{backend}: failed with exit status {proc.returncode}")
            runs.append(None)
            continue
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return runs
