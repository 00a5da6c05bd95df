"""Data-parallel training over torch processes: joining them, and the collectives a step needs.

Keras has no distribution API for `fit` on torch, and torch's `DistributedDataParallel`
cannot follow the R1 step's double backward (nor Keras' own train loop), so the trainer
keeps its one shared step and this module supplies what DDP would:

- `join(...)`: one process per device joins a `torch.distributed` group (gloo on CPUs, NCCL
  on GPUs, one GPU per process by `LOCAL_RANK`).
- `mean_over_processes(tensors)`: every gradient averaged across the processes before an
  optimizer step, as DDP does, in a few large flat buckets (one all-reduce per bucket, all
  in flight together) rather than one per weight.
- `broadcast_from_chief(variables)`: process 0's values everywhere (identical initial
  weights, optimizer state and step counter before `fit`).

A collective that fails because a process died raises `ProcessLostError`, one line naming
the lost rank(s): each surviving process marks itself alive in the group's key-value store
and, after a short wait, the ranks that did not are the lost ones.

Only imported on the torch backend.
"""

import datetime
import os
import re
import socket
import time

import torch
import torch.distributed as dist

# Gradients are all-reduced in flat buckets of about this size (DDP's default is 25 MiB).
BUCKET_BYTES = 32 * 2**20
# How long a survivor waits for the others to report alive after a failed collective.
LIVENESS_WAIT_S = 5.0
_ALIVE_KEY = "keras_nted/alive/"

_group = {}  # the key-value store of the group this process joined (to name lost ranks)


class ProcessLostError(ConnectionError):
    """A collective failed because one or more training processes died (or stopped answering)."""


def process_index():
    return dist.get_rank() if dist.is_initialized() else 0


def process_count():
    return dist.get_world_size() if dist.is_initialized() else 1


def join(address, num_processes, process_id, timeout):
    """Join the training processes' `torch.distributed` group.

    Args:
        address: `"host:port"` of process 0, which serves the group's store; `None`: the
            `MASTER_ADDR` / `MASTER_PORT` / `RANK` / `WORLD_SIZE` variables that `torchrun`
            sets (its agent serves the store).
        num_processes, process_id: the group's size and this process's rank (`None` with
            `address=None`: from the variables).
        timeout: seconds a collective waits for the others before it fails.
    """
    if dist.is_initialized():
        raise ValueError(f"This process already joined a group of {process_count()} processes.")
    timeout = datetime.timedelta(seconds=timeout)
    url = "env://" if address is None else f"tcp://{address}"
    rank = -1 if process_id is None else process_id
    world_size = -1 if num_processes is None else num_processes
    store, rank, world_size = next(dist.rendezvous(url, rank=rank, world_size=world_size, timeout=timeout))
    if torch.cuda.is_available():
        # Keras places tensors on "cuda", the current device: make it this process's GPU.
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
    engine = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(engine, store=store, rank=rank, world_size=world_size, timeout=timeout)
    _group["store"] = store
    _group["store_address"] = (address or f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}").rsplit(":", 1)


def _buckets(tensors):
    """Indices of `tensors` in runs of one dtype and device, each about `BUCKET_BYTES` at most."""
    bucket, size, key = [], 0, None
    for i, t in enumerate(tensors):
        nbytes = t.numel() * t.element_size()
        if bucket and ((t.dtype, t.device) != key or size + nbytes > BUCKET_BYTES):
            yield bucket
            bucket, size = [], 0
        bucket.append(i)
        size += nbytes
        key = (t.dtype, t.device)
    if bucket:
        yield bucket


def _collective(operation, tensors):
    """`operation(flat, async_op=True)` on each bucket of `tensors` at once; returns the new tensors."""
    out = list(tensors)
    flats = []
    try:
        for bucket in _buckets(tensors):
            flat = torch.cat([tensors[i].reshape(-1) for i in bucket])
            flats.append((bucket, flat, operation(flat, async_op=True)))
        for _, _, work in flats:
            work.wait()
    except RuntimeError as e:  # torch.distributed.DistError and the gloo / NCCL transport errors
        raise _lost(e) from None
    for bucket, flat, _ in flats:
        offset = 0
        for i in bucket:
            out[i] = flat[offset : offset + tensors[i].numel()].view_as(tensors[i])
            offset += tensors[i].numel()
    return out


def mean_over_processes(tensors):
    """The element-wise mean of each tensor over all processes (`tensors` as they are in one process)."""
    count = process_count()
    if count == 1:
        return list(tensors)
    return [t / count for t in _collective(dist.all_reduce, list(tensors))]


def broadcast_from_chief(variables):
    """Give each Keras variable process 0's value, in every process (a no-op in one process)."""
    if process_count() == 1:
        return
    values = _collective(
        lambda flat, async_op: dist.broadcast(flat, src=0, async_op=async_op), [v.value for v in variables]
    )
    with torch.no_grad():
        for variable, value in zip(variables, values):
            variable.assign(value)


def _lost(error):
    """The `ProcessLostError` for a failed collective: which ranks stopped answering."""
    rank, count = process_index(), process_count()
    store = _group.get("store")
    # Closing this process's connections makes the others' pending collectives fail now,
    # not at their timeout, so that they too report alive in time.
    try:
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - the group is broken already; nothing more to close
        pass
    missing = [r for r in range(count) if r != rank]
    try:
        # Probed first, once a process killed at this instant has had time to close its sockets:
        # a store whose process died makes torch log a C++ stack trace on first use.
        time.sleep(1.0)
        host, port = _group["store_address"]
        socket.create_connection((host, int(port)), timeout=LIVENESS_WAIT_S).close()
        store.set(f"{_ALIVE_KEY}{rank}", "1")
        deadline = time.monotonic() + LIVENESS_WAIT_S
        while missing and time.monotonic() < deadline:
            missing = [r for r in missing if not store.check([f"{_ALIVE_KEY}{r}"])]
            time.sleep(0.1)
    except Exception:  # noqa: BLE001 - the store itself is gone: it lived in process 0 (torchrun: in its agent)
        missing = [0]
    # gloo: "[.../pair.cc:537] Read error [127.0.0.1]:50816: Connection reset by peer. This is ..."
    cause = re.sub(r"^\[[^\]]*\]\s*", "", str(error).strip()).split(". ")[0].splitlines()[0] or type(error).__name__
    if not missing:
        return ProcessLostError(
            f"A collective operation failed in process {rank} of {count}, though all processes are alive: {cause}"
        )
    lost = ", ".join(map(str, missing))
    return ProcessLostError(
        f"Lost the training process{'es' if len(missing) > 1 else ''} of rank {lost} (of {count}), so process "
        f"{rank} stopped too; re-run the same commands to resume from the last checkpoint. ({cause})"
    )
