"""Processes, devices and replicas: the backend side of `keras_nted.distribute`.

One meaning on every backend, chosen once at import:

- `process_index()`, `process_count()`: this process among the training processes (JAX
  multi-process, torch processes joined by `join_processes`; always `0` and `1` on
  TensorFlow, which trains in one process here).
- `join_processes(address, num_processes, process_id, timeout)`: torch only, join the
  training processes' `torch.distributed` group (`keras_nted.backend.torch_processes`).
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
    import tensorflow as tf

    def split_host_cpu(count):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))

    def replicated_scope():
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices]).scope()

    def num_replicas(model):
        return model.distribute_strategy.num_replicas_in_sync

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
