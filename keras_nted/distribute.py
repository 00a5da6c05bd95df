"""Data-parallel and multi-process training of `NTEDGAN` with Keras' own engines.

- JAX: `keras.distribution.DataParallel` over the devices of every process; several hosts
  join with `initialize` (`keras.distribution.initialize`). A step is one program over the
  global batch (GSPMD).
- TensorFlow: `tf.distribute.MirroredStrategy` over the local devices, or
  `tf.distribute.MultiWorkerMirroredStrategy` over several processes (`initialize`); each
  replica runs the step on its slice of the batch and the gradients are summed (the losses
  are scaled by `1 / replicas` in `keras_nted.backend.autodiff`).
- torch: Keras has no distribution API for `fit`, so `torch.distributed` is the engine: one
  process per device (`initialize`, or `torchrun`), process 0's weights broadcast to all
  before `fit`, and every G, D and R1 gradient averaged across the processes before its
  optimizer step (`keras_nted.backend.torch_processes`). Each process runs the step on its
  share of the batch, as torch's `DistributedDataParallel` does.

`data_parallel()` gives the right one of these for the backend; `ProcessShard` makes each
process read only its share of every global batch; `is_chief()` tells the one process that
writes files.
"""

import contextlib
import os

import keras

from keras_nted.backend import distribution as backend
from keras_nted.utils.validation import check_int

process_index = backend.process_index
process_count = backend.process_count
to_host = backend.to_host


def alone(function, *args):
    """`function(*args)` for work this process does alone, such as the chief's writes.

    On TensorFlow's multi-worker strategy it runs outside the strategy's scope (Keras' saving
    makes variables, and a variable made in the scope is a collective that every worker must
    join); elsewhere it is a plain call.

    Returns:
        What `function` returns.
    """
    return backend.alone(function, *args)


_ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
# Seconds a torch collective waits for the other processes before it fails.
DEFAULT_TIMEOUT_S = 300


def is_chief():
    """Whether this is the process that writes files (checkpoints, models, samples, logs).

    Returns:
        `True` in a single-process run and on process 0 of a multi-process run.
    """
    return backend.process_index() == 0


def split_host_cpu(count):
    """Show this host's CPU as `count` devices, to train data-parallel without accelerators.

    For trying and testing data parallelism on a laptop or in CI. Call it at the start of
    the program, before anything runs on a device (JAX: `jax_num_cpu_devices`; TensorFlow:
    logical CPU devices).

    Args:
        count: the number of devices, at least 1.

    Raises:
        ValueError: for a bad `count`, or on torch (no distribution API for `fit`).
    """
    backend.split_host_cpu(check_int("count", count))


def initialize(job_addresses=None, num_processes=None, process_id=None, timeout=None):
    """Join a multi-process run (one process per host or per device, or several on one host).

    JAX: wraps `keras.distribution.initialize` (which reads the
    `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID` environment variables for arguments left `None`) and
    first enables cross-process collectives on CPU devices (gloo), so the same command also
    runs on CPU-only hosts.
    TensorFlow: makes the `tf.distribute.MultiWorkerMirroredStrategy` that `data_parallel()`
    then enters, from `TF_CONFIG` written from the arguments (every worker's address; one
    `"host:port"` means all workers on that host, on ports `port, port + 1, ...`) or, with
    all three `None`, from the `TF_CONFIG` already set. Each worker feeds its own share of
    every global batch (`ProcessShard`).
    torch: joins a `torch.distributed` group, gloo on CPUs and NCCL on GPUs with one GPU per
    process (`LOCAL_RANK`, else the rank modulo the GPU count); with every argument `None`
    and no `KERAS_DISTRIBUTION_*` variable it reads the variables `torchrun` sets
    (`MASTER_ADDR`, `MASTER_PORT`, `RANK`, `WORLD_SIZE`). Call it before any other Keras work.

    Args:
        job_addresses: `"host:port"` of process 0 (the coordinator), or every process's
            address separated by commas (torch uses the first).
        num_processes: the number of processes.
        process_id: this process's index in `[0, num_processes)`.
        timeout: torch only: seconds a collective waits for the other processes before
            this process stops with a `ConnectionError` (default `DEFAULT_TIMEOUT_S`). A
            process that dies is noticed at once on one host (its connections close).

    Raises:
        ValueError: for a bad argument, or a missing address (none given, in the
            environment or, on TensorFlow, in `TF_CONFIG`).

    Example:

    ```python
    # On each of two hosts (process_id 0 and 1):
    keras_nted.distribute.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
    with keras_nted.distribute.data_parallel():
        gan = keras_nted.models.NTEDGAN.from_preset("nted_tiny", vgg_weights="none")
        gan.compile(weight_l1=10.0)
    gan.fit(keras_nted.distribute.ProcessShard(local_data), epochs=1)
    ```
    """
    name = keras.backend.backend()
    if name not in ("jax", "tensorflow", "torch"):
        raise ValueError(f"Multi-process training needs JAX, TensorFlow or torch. Received: KERAS_BACKEND={name}")
    if num_processes is not None:
        num_processes = check_int("num_processes", num_processes)
    if process_id is not None and num_processes is not None:
        _check_process_id(process_id, num_processes)
    if name == "torch":
        _join_torch(job_addresses, num_processes, process_id, timeout)
        return
    if timeout is not None:
        raise ValueError(f"timeout applies to torch's collectives only. Received: timeout={timeout!r} on {name}")
    if name == "tensorflow":
        _join_tensorflow_workers(job_addresses, num_processes, process_id)
        return
    if job_addresses is None and not os.environ.get(_ENV_ADDRESSES):
        raise ValueError(f'Expected job_addresses ("host:port" of process 0) or ${_ENV_ADDRESSES}. Received: None')
    backend.enable_cpu_collectives()
    keras.distribution.initialize(job_addresses, num_processes, process_id)


def _env_int(name, default):
    text = os.environ.get(name) or str(default)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Expected ${name} to be an integer. Received: {text!r}") from None


def _check_process_id(process_id, num_processes):
    if not isinstance(process_id, int) or not 0 <= process_id < num_processes:
        raise ValueError(
            f"Expected 0 <= process_id < num_processes={num_processes}. Received: process_id={process_id!r}"
        )


def launched_by_torchrun():
    """Whether `torchrun` (torch.distributed.run) started this process (it sets `TORCHELASTIC_RUN_ID`)."""
    return keras.backend.backend() == "torch" and bool(os.environ.get("TORCHELASTIC_RUN_ID"))


def _join_torch(job_addresses, num_processes, process_id, timeout):
    """`initialize` on torch: the arguments, else Keras' variables, else `torchrun`'s."""
    timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"Expected timeout to be a positive number of seconds. Received: timeout={timeout!r}")
    env = os.environ
    job_addresses = job_addresses or env.get(_ENV_ADDRESSES) or None
    if job_addresses is None:
        if not env.get("MASTER_ADDR"):
            raise ValueError(
                f'Expected job_addresses ("host:port" of process 0), ${_ENV_ADDRESSES}, or torchrun\'s '
                "MASTER_ADDR / MASTER_PORT / RANK / WORLD_SIZE. Received: None"
            )
        backend.join_processes(None, num_processes, process_id, timeout)
        return
    if num_processes is None:
        num_processes = check_int("num_processes", _env_int("KERAS_DISTRIBUTION_NUM_PROCESSES", 0))
    if process_id is None:
        process_id = _env_int("KERAS_DISTRIBUTION_PROCESS_ID", -1)
    _check_process_id(process_id, num_processes)
    backend.join_processes(job_addresses.split(",")[0].strip(), num_processes, process_id, timeout)


def _join_tensorflow_workers(job_addresses, num_processes, process_id):
    given = (job_addresses, num_processes, process_id)
    if given == (None, None, None):
        if not os.environ.get("TF_CONFIG"):
            raise ValueError('Expected job_addresses ("host:port"), num_processes and process_id, or $TF_CONFIG.')
    elif None in given:
        raise ValueError(
            "Expected job_addresses, num_processes and process_id together (or none: $TF_CONFIG). "
            f"Received: job_addresses={job_addresses!r}, num_processes={num_processes!r}, process_id={process_id!r}"
        )
    backend.join_workers(job_addresses, num_processes, process_id)


@contextlib.contextmanager
def data_parallel():
    """Train data-parallel over all devices of all processes within this context.

    Build, compile and `fit` the model inside it. JAX: a `keras.distribution.DataParallel`
    over `keras.distribution.list_devices()` (the weights replicated, the batch split on
    its first axis; `auto_shard_dataset=False`: each process feeds its own share, see
    `ProcessShard`). TensorFlow: the `MultiWorkerMirroredStrategy` of `initialize` if this
    process joined one, else a `tf.distribute.MirroredStrategy` over the local GPUs, else the
    local (logical) CPUs. torch: the processes joined by `initialize` (or started
    by `torchrun`) are the replicas, one device each, and `fit` itself synchronises them;
    the context changes nothing, so the same program runs on every backend (in one
    process it trains on one device).

    Example:

    ```python
    with keras_nted.distribute.data_parallel():
        gan = keras_nted.models.NTEDGAN.from_preset("nted_tiny", vgg_weights="none")
        gan.compile(weight_l1=10.0)
        gan.fit(data, epochs=1)
    ```
    """
    if keras.backend.backend() == "jax":
        distribution = keras.distribution.DataParallel(
            devices=keras.distribution.list_devices(), auto_shard_dataset=False
        )
        with distribution.scope():
            yield
    elif keras.backend.backend() == "tensorflow":
        with backend.replicated_scope():
            yield
    else:
        yield


_NO_TORCH_DISTRIBUTION = (
    "Keras has no distribution API for `fit` on the torch backend: torch trains data-parallel over "
    "processes (keras_nted.distribute.initialize or torchrun), without a keras.distribution."
)


def check_fit_distribution():
    """Raise if a distribution is set that `NTEDGAN.fit` cannot honour on this backend.

    torch has none (a `keras.distribution` set there would be silently ignored: torch
    trains over processes); on TensorFlow `keras.distribution` is Keras' unsupported DTensor
    prototype, and `tf.distribute.MirroredStrategy` is the way.
    """
    if keras.distribution.distribution() is None:
        return
    if keras.backend.backend() == "torch":
        raise ValueError(f"{_NO_TORCH_DISTRIBUTION} Received: {keras.distribution.distribution()}")
    if keras.backend.backend() == "tensorflow":
        raise ValueError(
            "On TensorFlow NTEDGAN trains data-parallel under tf.distribute.MirroredStrategy "
            "(keras_nted.distribute.data_parallel()), not keras.distribution. "
            f"Received: {keras.distribution.distribution()}"
        )


def prepare_fit(model):
    """Before `model.fit` trains: `check_fit_distribution()`, then the engine's own preparation.

    TensorFlow: a `tf.distribute.MirroredStrategy` that `model` trains under gets collective
    keys no other strategy of the process uses (`keras_nted.backend.distribution`), so a
    program may train under several strategies one after the other. torch: processes each
    hold their own copy of the model: the weights, the optimizers' state and the step
    counter of process 0 (random initial weights, or a restored checkpoint) are broadcast
    to all, so every process starts from the same state and, their gradients averaged,
    stays in it. Otherwise a no-op.
    """
    check_fit_distribution()
    backend.own_collectives(model)
    backend.broadcast_from_chief(model.weights + model.optimizer.variables)


def local_batch_size(batch_size):
    """The pairs each process reads per step for a global batch of `batch_size` pairs.

    Args:
        batch_size: the global batch size.

    Returns:
        `batch_size // process_count()`.

    Raises:
        ValueError: if the batch does not split evenly over the processes.
    """
    count = backend.process_count()
    if not isinstance(batch_size, int) or batch_size < 1 or batch_size % count:
        raise ValueError(
            f"Expected the batch size to be a positive multiple of the {count} processes. Received: {batch_size!r}"
        )
    return batch_size // count


class ProcessShard(keras.utils.PyDataset):
    """This process's share of every global batch, read from a data set of local batches.

    `data` yields local batches of `b` pairs in the order of a global batch sequence
    (batch `i` holds pairs `i * b ... i * b + b - 1`, as `MannequinDataset` and
    `DeepFashionDataset` do). With `P` processes, global batch `g` (`P * b` pairs) is the
    concatenation of local batches `g * P ... g * P + P - 1`; process `p` returns local batch
    `g * P + p`, so every process reads only its own pairs and the global batch of step `g`
    equals batch `g` of the same data set made with batch size `P * b`.

    Args:
        data: a `keras.utils.PyDataset` of local batches.
        index: this process's index (default `process_index()`).
        count: the number of processes (default `process_count()`).

    Call arguments (`shard[g]`):
        g: global batch index in `[0, len(data) // count)`.

    Example:

    ```python
    local = keras_nted.data.MannequinDataset(batch_size=local_batch_size(8))
    gan.fit(ProcessShard(local), epochs=1)
    ```
    """

    def __init__(self, data, index=None, count=None):
        super().__init__(workers=data.workers, use_multiprocessing=data.use_multiprocessing)
        self.data = data
        self.count = backend.process_count() if count is None else count
        self.index = backend.process_index() if index is None else index
        self.count = check_int("count", self.count)
        if not isinstance(self.index, int) or not 0 <= self.index < self.count:
            raise ValueError(f"Expected 0 <= index < count={self.count}. Received: index={self.index!r}")
        if len(data) < self.count:
            raise ValueError(f"Expected at least {self.count} batches (one per process). Received: {len(data)}")

    def __len__(self):
        return len(self.data) // self.count

    def __getitem__(self, index):
        return self.data[index * self.count + self.index]

    def batch_at(self, index, epoch):
        """`self[index]` as pass `epoch` over the data draws it (for data sets with `batch_at`)."""
        inner = getattr(self.data, "batch_at", None)
        local = index * self.count + self.index
        return self.data[local] if inner is None else inner(local, epoch)

    def on_epoch_begin(self):
        self.data.on_epoch_begin()

    def on_epoch_end(self):
        self.data.on_epoch_end()
