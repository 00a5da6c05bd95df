"""`tf.distribute.MirroredStrategy` as TensorFlow's guides write it, several times in one process.

Run by `tests/distribute/test_mirrored_patterns.py` (logical CPU devices can only be set before
TensorFlow first touches a device, so this runs in a fresh process):

    python tests/distribute/mirrored_patterns_run.py [PATTERN ...]

Each pattern makes its own `MirroredStrategy(["/cpu:0", "/cpu:1"])` and trains a tiny NTEDGAN
on 3 batches of 4 mannequin pairs, one after the other in this process, as a user's loop, a
notebook or a test session does. The first trains through every phase (reconstruction, GAN,
GAN + lazy R1), so later reconstruction steps would meet its discriminator all-reduces if a
strategy reused another's collective keys. Prints one JSON line per pattern: the step counter,
each optimizer's iterations, whether every weight is finite and how far the generator moved.
"""

import json
import sys

import numpy as np
import tensorflow as tf

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

from keras_nted.data.mannequin import MannequinDataset  # noqa: E402
from keras_nted.models import NTEDGAN  # noqa: E402
from keras_nted.models import NTEDDiscriminator  # noqa: E402
from keras_nted.models import NTEDGenerator  # noqa: E402

STEPS = 3
DATA = MannequinDataset(image_size=(64, 44), batch_size=4, steps_per_epoch=STEPS, seed=0)


def arrays():
    return {k: np.concatenate([DATA[i][k] for i in range(STEPS)]) for k in DATA[0]}


def generator():
    for i in range(STEPS):
        yield (DATA[i],)  # Keras takes a generator's batches as tuples


# name: (how the GAN is made, optimizers, data, fit inside the scope, compile arguments)
PATTERNS = {
    # Every phase first: reconstruction, GAN, GAN + R1 (see the module docstring).
    "tf_data_inside_scope_all_phases": (
        "from_preset", "sgd", lambda: tf.data.Dataset.from_tensor_slices(arrays()).batch(4), True,
        {"gan_start_step": 0, "r1_interval": 2},
    ),
    # The snippet of issue 25, word for word.
    "py_dataset_outside_scope": (
        "from_preset", "default", lambda: DATA, False, {"gan_start_step": 2, "r1_interval": 2},
    ),
    "generator_inside_scope_constructor": (
        "constructor", "adam", generator, True, {"gan_start_step": 2, "r1_interval": 2, "jit_compile": False},
    ),
    "numpy_outside_scope_constructor": (
        "constructor", "default", arrays, False, {"gan_start_step": 2, "batch_size": 4},
    ),
}  # fmt: skip


def make_gan(how):
    if how == "from_preset":
        return NTEDGAN.from_preset("nted_tiny", vgg_weights="none")
    generator, discriminator = NTEDGenerator.from_preset("nted_tiny"), NTEDDiscriminator.from_preset("nted_tiny")
    return NTEDGAN(generator, discriminator, perceptual_loss=None)


def optimizers(kind):
    if kind == "default":
        return {}
    make = {"adam": lambda: keras.optimizers.Adam(1e-3), "sgd": lambda: keras.optimizers.SGD(1e-3)}[kind]
    return {"generator_optimizer": make(), "discriminator_optimizer": make()}


def run(name):
    how, kind, data, inside, arguments = PATTERNS[name]
    arguments = dict(arguments)
    fit_arguments = {"batch_size": arguments.pop("batch_size")} if "batch_size" in arguments else {}
    if data is generator:
        fit_arguments["steps_per_epoch"] = STEPS
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        gan = make_gan(how)
        gan.compile(**optimizers(kind), **arguments)
        start = [w.numpy() for w in gan.generator.weights]
        if inside:
            history = gan.fit(data(), epochs=1, shuffle=False, verbose=0, **fit_arguments)
    if not inside:
        history = gan.fit(data(), epochs=1, shuffle=False, verbose=0, **fit_arguments)
    weights = [np.asarray(w.numpy()) for w in gan.weights]
    moved = max(np.abs(w.numpy() - s).max() for w, s in zip(gan.generator.weights, start))
    return {
        "pattern": name,
        "replicas": strategy.num_replicas_in_sync,
        "step": int(gan.step.numpy()),
        "generator_iterations": int(gan.generator_optimizer.iterations.numpy()),
        "discriminator_iterations": int(gan.discriminator_optimizer.iterations.numpy()),
        "finite": bool(all(np.isfinite(w).all() for w in weights if w.dtype.kind == "f")),
        "generator_moved": float(moved),
        "losses_finite": bool(all(np.isfinite(v[-1]) for v in history.history.values())),
    }


if __name__ == "__main__":
    for name in sys.argv[1:] or PATTERNS:
        print(json.dumps(run(name)), flush=True)
