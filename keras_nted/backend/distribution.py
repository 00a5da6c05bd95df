"""Processes, devices and replicas: the backend side of `keras_nted.distribute`.

One meaning on every backend, chosen once at import:

- `process_index()`, `process_count()`: this process among the training processes (JAX
  multi-process, TensorFlow workers joined by `join_workers`, torch processes joined by
  `join_processes`; `0` and `1` in a single-process run).
- `join_processes(address, num_processes, process_id, timeout)`: torch only, join the
  training processes' `torch.distributed` group (`keras_nted.backend.torch_processes`).
- `join_workers(addresses, num_processes, process_id)`: TensorFlow only, join a
  `MultiWorkerMirroredStrategy` run (`TF_CONFIG` from the arguments, or as set).
- `broadcast_from_chief(variables)`: give variables process 0's values in every process
  where the processes hold separate copies (torch); a no-op elsewhere (one copy, replicated).
- `enable_cpu_collectives()`: lets several JAX processes all-reduce on CPU devices (gloo);
  must run before JAX starts its backends. A no-op elsewhere.
- `replicated_scope()`: the context under which a model is built and compiled to train
  data-parallel over this process's GPUs, else its (logical) CPUs: a
  `tf.distribute.MirroredStrategy` scope on TensorFlow; `None` on JAX, where
  `keras.distribution` is the API, and on torch, which has none for `fit`.
- `num_replicas(model)`: replicas that each run `model`'s step on a slice of the batch
  (TensorFlow's `MirroredStrategy`; 1 elsewhere: a JAX step is one program over the global
  batch).
- `alone(function, *args)`: `function(*args)`, where this process alone calls it (a file
  only the chief writes): outside a multi-worker strategy's scope on TensorFlow (see below).
- `run_step(function, *args)`: a train step, `function(*args)`; on TensorFlow's multi-worker
  strategy a step whose all-reduce lost a worker raises `WorkerLostError`, one line naming it.
- `own_collectives(model)`: give the `tf.distribute.MirroredStrategy` that `model` trains under
  collective keys no other strategy of this process uses (see below; a no-op elsewhere).
- `split_host_cpu(count)`: show this host's CPU as `count` devices (to try data parallelism
  without accelerators); must run before the backend first touches a device.
- `to_host(x)`: a numpy copy of a tensor or variable, also of a JAX array that spans other
  processes' devices and of a variable mirrored by a `tf.distribute` strategy (whose
  `.value` `np.asarray` refuses inside the strategy's scope). A replicated JAX array is read
  from this process's copy; a sharded one is gathered, which every process must then call.
"""

import keras
import numpy as np

BACKEND = keras.backend.backend()


# One process, no replicas: what TensorFlow and torch are here; JAX overrides what differs.
def process_index():
    return 0


def process_count():
    return 1


def enable_cpu_collectives():
    pass


def replicated_scope():
    return None


def num_replicas(model):
    return 1


def to_host(x):
    return keras.ops.convert_to_numpy(x)


def join_processes(address, num_processes, process_id, timeout):
    raise ValueError(f"Processes join a torch.distributed group only on torch. Received: KERAS_BACKEND={BACKEND}")


def broadcast_from_chief(variables):
    pass


def own_collectives(model):
    pass


def alone(function, *args):
    return function(*args)


def run_step(function, *args):
    return function(*args)


def join_workers(addresses, num_processes, process_id):
    raise ValueError(f"Multi-worker training with tf.distribute needs KERAS_BACKEND=tensorflow. Received: {BACKEND}")


if BACKEND == "jax":
    import jax

    def process_index():
        return jax.process_index()

    def process_count():
        return jax.process_count()

    def enable_cpu_collectives():
        # Only the CPU client reads it; without it a CPU all-reduce across processes fails.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")

    def split_host_cpu(count):
        jax.config.update("jax_num_cpu_devices", int(count))

    def to_host(x):
        if isinstance(x, keras.Variable):
            x = x.value
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            if x.is_fully_replicated:
                return np.asarray(x.addressable_data(0))
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return keras.ops.convert_to_numpy(x)

elif BACKEND == "tensorflow":
    import concurrent.futures
    import itertools
    import json
    import os
    import re
    import weakref

    import tensorflow as tf

    def split_host_cpu(count):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))

    class WorkerShards(tf.distribute.MultiWorkerMirroredStrategy):
        """`MultiWorkerMirroredStrategy` whose workers each feed their own share of every global batch.

        TensorFlow's `experimental_distribute_dataset` takes the data set as the *global*
        batches and has every worker read all of them and keep its part; here each worker's
        data set is its `ProcessShard` (the same pairs, read once), split over its devices.
        """

        def experimental_distribute_dataset(self, dataset, options=None):
            local = len(self.extended.worker_devices)

            def split(*batch):  # (local batch, ...) -> `local` per-replica batches
                return tf.nest.map_structure(lambda t: tf.stack(tf.split(t, local)), batch)

            if local > 1:
                dataset = dataset.map(split).unbatch()
            return self.distribute_datasets_from_function(lambda context: dataset, options)

        def reduce(self, reduce_op, value, axis):
            # Keras' multi-worker `fit` reduces a first batch (a dict of per-replica tensors, which
            # this strategy's own `reduce` refuses) to build the model, and every step's logs over
            # `axis=0` (which scalar logs do not have).
            def one(v):
                scalar = self.experimental_local_results(v)[0].shape.rank == 0
                return super(WorkerShards, self).reduce(reduce_op, v, None if scalar else axis)

            return tf.nest.map_structure(one, value)

    _workers = []  # the `WorkerShards` of `join_workers`, once this process has joined

    def join_workers(addresses, num_processes, process_id):
        """Join a multi-worker run: `TF_CONFIG` from the arguments (all `None`: as set), then the strategy."""
        if addresses is not None:
            addresses = addresses.split(",")
            if len(addresses) == 1:  # one host: the workers listen on consecutive ports
                host, port = addresses[0].rsplit(":", 1)
                addresses = [f"{host}:{int(port) + i}" for i in range(num_processes)]
            cluster = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": process_id}}
            os.environ["TF_CONFIG"] = json.dumps(cluster)
        _workers.append(WorkerShards())
        return _workers[-1]

    def alone(function, *args):
        if not _workers:
            return function(*args)
        # A variable made in a `MultiWorkerMirroredStrategy`'s scope starts as a broadcast from
        # worker 0 that every worker must join, and Keras' saving makes some: the chief's
        # `save_weights` alone would meet the others' next all-reduce ("Collective instance 458
        # expected type 0 ... but got type 1"). Scopes are per thread: a fresh one has none.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(function, *args).result()

    class WorkerLostError(ConnectionError):
        """An all-reduce failed because another worker of a multi-worker run died (or stopped answering)."""

    def run_step(function, *args):
        if not _workers:
            return function(*args)
        try:
            return function(*args)
        except (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError) as error:
            raise lost_worker(error) from None

    def lost_worker(error):
        """The `WorkerLostError` for a failed collective, naming the workers it could not reach.

        TensorFlow's message names them: "... from remote target /job:worker/replica:0/task:1 ...".
        """
        index, count = process_index(), process_count()
        message = str(error)
        lost = sorted({int(t) for t in re.findall(r"/job:worker/replica:\d+/task:(\d+)", message)} - {index})
        cause = re.search(r"Collective ops is aborted by: ([^\n]*)", message)
        cause = cause.group(1) if cause else type(error).__name__
        named = f"of rank {', '.join(map(str, lost))}" if lost else "(which one TensorFlow did not say)"
        return WorkerLostError(
            f"Lost the training worker{'s' if len(lost) > 1 else ''} {named} (of {count}), so worker {index} "
            f"stopped too; re-run the same commands to resume from the last checkpoint. ({cause})"
        )

    def process_index():
        return _workers[-1].cluster_resolver.task_id if _workers else 0

    def process_count():
        return _workers[-1].num_replicas_in_sync // len(_workers[-1].extended.worker_devices) if _workers else 1

    def replicated_scope():
        if _workers:
            return _workers[-1].scope()
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices]).scope()

    def num_replicas(model):
        return model.distribute_strategy.num_replicas_in_sync

    # Every MirroredStrategy numbers its all-reduces alike: group key 1, instances 100, 101, ...
    # TensorFlow's runtime remembers each (group, instance)'s shape for the life of the
    # process, so the second strategy of a process (a loop over runs, a notebook cell run
    # again, a test session, `data_parallel()` entered twice) reuses the first one's keys:
    # its all-reduce of the generator's gradients meets the record of the discriminator's
    # and fails ("Shape mismatch in the collective instance 102 ... expected shape [93793]
    # but another member in the group expected shape [81601]"), or hangs. TensorFlow's own
    # tests set each strategy's `_collective_key_base` for this; a strategy the user made
    # gets a key base of its own here before its first train function, so that a program
    # may train in as many strategies as it likes. Only single-host `MirroredStrategy`:
    # `MultiWorkerMirroredStrategy` can exist once per process and must number its
    # all-reduces alike on every worker.
    _OWN_KEYS = weakref.WeakSet()
    _KEY_BASES = itertools.count(1 << 20, 1 << 20)

    def own_collectives(model):
        strategy = model.distribute_strategy
        extended = strategy.extended
        if type(strategy) is not tf.distribute.MirroredStrategy or extended in _OWN_KEYS:
            return
        _OWN_KEYS.add(extended)
        shared = extended._collective_ops
        extended._collective_key_base = next(_KEY_BASES)
        extended._collective_ops = extended._make_collective_ops_with_fallbacks()
        if extended._cross_device_ops is shared:  # the default: all-reduce with collectives
            extended._cross_device_ops = extended._collective_ops

else:
    from keras_nted.backend import torch_processes

    process_index = torch_processes.process_index
    process_count = torch_processes.process_count
    join_processes = torch_processes.join
    broadcast_from_chief = torch_processes.broadcast_from_chief

    def split_host_cpu(count):
        raise ValueError(
            "torch trains data-parallel over processes (one device each; keras_nted.distribute.initialize or "
            f"torchrun), not over split CPU devices. Received: count={count}"
        )
