"""Small helpers shared by the benchmark scripts (no backend imports: KERAS_BACKEND decides)."""

import os
import resource


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


def peak_rss_mib():
    """The process's peak resident memory so far (`ru_maxrss`, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
