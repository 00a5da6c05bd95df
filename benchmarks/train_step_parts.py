"""Where a train step's time goes: its parts, each compiled and timed alone, on one backend.

The parts of one `NTEDGAN` step at batch `2 x --batch-size` (pairs in both directions),
each as `value_and_grad` compiled by the backend (`keras_nted.backend.autodiff.
compiled_value_and_grad`): the generator's forward and backward (with the L1 term, the
cheapest loss), each loss term's forward and backward with respect to the generated image
(perceptual VGG19 with random weights, face, attention is part of the generator's output),
the GAN term through the discriminator, and the discriminator's own step on a real and a
fake batch. Their sum is compared with the whole step timed by `train_step.py`.

    KERAS_BACKEND=jax   PYTHONPATH=. python benchmarks/train_step_parts.py
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/train_step_parts.py --preset nted_tiny
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(step, args, repeats):
    """Median seconds of `step(*args)` after one compiling call, and that call's seconds."""
    import keras

    def run():
        loss, _, grads = step(*args)
        keras.ops.convert_to_numpy(loss)
        for g in grads:
            keras.ops.convert_to_numpy(keras.ops.reshape(g, (-1,))[:1])

    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), first


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="nted_fashion_256")
    parser.add_argument("--batch-size", type=int, default=1, help="pairs (the step generates 2x this many images)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import keras
    from keras import ops

    from keras_nted.backend.autodiff import compiled_value_and_grad
    from keras_nted.losses import discriminator_gan_loss
    from keras_nted.losses import generator_gan_loss
    from keras_nted.models import NTEDGAN

    gan = NTEDGAN.from_preset(args.preset, vgg_weights="random")
    gan.compile()
    generator, discriminator = gan.generator, gan.discriminator
    height, width = generator.image_size
    rng = np.random.default_rng(0)
    n = 2 * args.batch_size

    def tensor(*shape, low=-1.0, high=1.0):
        return ops.convert_to_tensor(rng.uniform(low, high, shape).astype("float32"))

    image, skeleton, truth = (
        tensor(n, height, width, 3),
        tensor(n, height, width, 20, low=0.0),
        tensor(n, height, width, 3),
    )
    face = ops.convert_to_tensor(np.array([[width * 0.4, height * 0.2, width * 0.6, height * 0.2]] * n, "float32"))
    fake = keras.Variable(rng.uniform(-1, 1, (n, height, width, 3)).astype("float32"), name="fake")

    def l1(a, b):
        return ops.mean(ops.abs(a - b))

    parts = {
        "generator forward + backward (L1)": (
            lambda x, s, t: (l1(generator([x, s], training=True)["image"], t), None),
            generator.trainable_variables,
            (image, skeleton, truth),
        ),
        "perceptual loss (VGG19), d/d fake": (lambda t: (gan.perceptual_loss(fake.value, t), None), [fake], (truth,)),
        "face loss (VGG19 on crops), d/d fake": (
            lambda t, c: (gan.face_loss(fake.value, t, c), None),
            [fake],
            (truth, face),
        ),
        "GAN term through D, d/d fake": (
            lambda: (generator_gan_loss(discriminator(fake.value, training=True)), None),
            [fake],
            (),
        ),
        "discriminator step (real + fake)": (
            lambda t: (
                discriminator_gan_loss(discriminator(t, training=True), discriminator(fake.value, training=True)),
                None,
            ),
            discriminator.trainable_variables,
            (truth,),
        ),
    }
    rows = []
    for name, (fn, variables, fn_args) in parts.items():
        seconds, first = timed(compiled_value_and_grad(fn, list(variables)), fn_args, args.repeats)
        rows.append((name, seconds, first))
        print(f"  {name}: {seconds:.3f} s (first call {first:.1f} s)", file=sys.stderr, flush=True)
    total = sum(r[1] for r in rows)
    print(f"{keras.backend.backend()}: {args.preset}, {n} generated images per step; parts alone {total:.2f} s")
    print(f"{'part':40s} {'s':>8s} {'share':>7s} {'first call s':>13s}")
    for name, seconds, first in rows:
        print(f"{name:40s} {seconds:8.3f} {100 * seconds / total:6.1f}% {first:13.1f}")


if __name__ == "__main__":
    main()
