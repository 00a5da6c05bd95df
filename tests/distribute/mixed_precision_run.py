"""Trains the tiny NTEDGAN under mixed_float16, data-parallel on two CPU devices, in a fresh process.

Run by `tests/distribute/test_data_parallel.py` (the device count is fixed when the backend
starts). Two steps, both with the GAN on: GAN + lazy R1, then GAN (the generator's own
float16 path is the same in every phase). Prints one JSON line: the replicas,
each optimizer's class, loss scale and iterations, the step counter, the last logs and whether
every weight is finite.
"""

import json

import numpy as np

from keras_nted import distribute

distribute.split_host_cpu(2)  # before anything touches a device

import keras  # noqa: E402
from data_parallel_run import Batches  # noqa: E402

from keras_nted.backend.distribution import num_replicas  # noqa: E402
from keras_nted.backend.distribution import to_host  # noqa: E402
from keras_nted.models import NTEDGAN  # noqa: E402
from keras_nted.models import NTEDDiscriminator  # noqa: E402
from keras_nted.models import NTEDGenerator  # noqa: E402

keras.mixed_precision.set_dtype_policy("mixed_float16")
with distribute.data_parallel():
    gan = NTEDGAN(NTEDGenerator.from_preset("nted_tiny"), NTEDDiscriminator.from_preset("nted_tiny"), None, None)
    gan.compile(gan_start_step=-1, r1_interval=2)
    history = gan.fit(Batches(2), epochs=1, verbose=0, shuffle=False).history
    optimizers = {"generator": gan.generator_optimizer, "discriminator": gan.discriminator_optimizer}
    print(json.dumps({
        "replicas": num_replicas(gan),
        "devices": len(keras.distribution.list_devices()) if keras.backend.backend() == "jax" else None,
        "classes": {k: type(o).__name__ for k, o in optimizers.items()},
        "scales": {k: float(to_host(o.dynamic_scale)) for k, o in optimizers.items()},
        "iterations": {k: int(to_host(o.iterations)) for k, o in optimizers.items()},
        "step": int(to_host(gan.step)),
        "logs": {k: v[-1] for k, v in history.items()},
        "finite": bool(all(np.isfinite(to_host(w)).all() for w in gan.weights)),
    }))  # fmt: skip
