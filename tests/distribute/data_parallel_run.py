"""Trains one tiny NTEDGAN on one device and data-parallel on two, in a fresh process.

Run by `tests/distribute/test_data_parallel.py` (the device count is fixed when the backend
starts, so this cannot run inside the test process):

    python tests/distribute/data_parallel_run.py OUT.npz [--optimizer adam]

Both runs start from the same weights and see the same global batches: `--recon-steps`
reconstruction steps, then `--gan-steps` GAN steps (lazy R1 every second step). OUT.npz holds
each run's weights after each part (`single_*`, `parallel_*`), its last logs, the phases its
step was traced for (`2 * gan_on + r1_on`, once per trace), the largest differences, and the
2-device discriminator's logits on one batch three ways: `predict` (the batch split over the
devices, as in `fit`), the whole batch, and each half alone. Prints the largest weight
differences.
"""

import argparse

import numpy as np

from keras_nted import distribute

distribute.split_host_cpu(2)  # before anything touches a device

import keras  # noqa: E402

from tests.distribute.multi_process_run import tiny_gan  # noqa: E402

BATCH = 4


def make_batch(index):
    rng = np.random.default_rng(index)
    batch = {}
    for role in ("source", "target"):
        coarse = rng.uniform(-1, 1, (BATCH, 8, 11, 3))
        batch[f"{role}_image"] = np.repeat(np.repeat(coarse, 8, axis=1), 4, axis=2).astype("float32")
        batch[f"{role}_skeleton"] = rng.uniform(0, 1, (BATCH, 64, 44, 20)).astype("float32")
        batch[f"{role}_face_center"] = np.full((BATCH, 4), -1.0, "float32")
    return batch


class Batches(keras.utils.PyDataset):
    def __init__(self, count, start=0):
        super().__init__()
        self.count, self.start = count, start

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return make_batch(self.start + index)


def build(initial=None):
    gan = tiny_gan()
    if initial is not None:
        gan.set_weights(initial)
    return gan


def optimizers(name):
    if name == "adam":
        return None, None  # the release's Adam pair
    return keras.optimizers.SGD(5e-4), keras.optimizers.SGD(5e-4)


def train(gan, args, jit_compile="auto"):
    """Reconstruction steps, then (in a second `fit`, which continues the step counter) GAN steps."""
    generator_optimizer, discriminator_optimizer = optimizers(args.optimizer)
    gan.compile(
        generator_optimizer, discriminator_optimizer, weight_l1=10.0, gan_start_step=args.recon_steps - 1,
        r1_interval=2, jit_compile=jit_compile,
    )  # fmt: skip
    # Record each trace of the step: on JAX and TF each phase must compile once, when first used.
    traced, step = [], gan.phase_step

    def traced_step(phase, data):
        traced.append(2 * phase.gan + ("r1" in phase.updates))
        return step(phase, data)

    gan.phase_step = traced_step
    gan.fit(Batches(args.recon_steps), epochs=1, shuffle=False, verbose=0)
    recon = [distribute.to_host(w) for w in gan.weights]
    history = gan.fit(Batches(args.gan_steps, start=args.recon_steps), epochs=1, shuffle=False, verbose=0)
    final = [distribute.to_host(w) for w in gan.weights]
    logs = {k: v[-1] for k, v in history.history.items()}
    logs["discriminator_iterations"] = distribute.to_host(gan.discriminator_optimizer.iterations)
    return recon, final, logs, traced


def discriminator_logits(discriminator, batch_size):
    """`predict` splits the batch over the devices, as `fit` does; direct calls see all of it."""
    images = make_batch(99)["target_image"]
    return {
        "predict": discriminator.predict(images, batch_size=batch_size, verbose=0),
        "whole": distribute.to_host(discriminator(images)),
        "halves": np.concatenate([distribute.to_host(discriminator(half)) for half in np.split(images, 2)]),
    }


def max_difference(a, b):
    return max(np.max(np.abs(x.astype("float64") - y), initial=0.0) for x, y in zip(a, b))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--recon-steps", type=int, default=3)
    parser.add_argument("--gan-steps", type=int, default=2)
    # The release's Adam (beta_1 = 0, epsilon = 1e-8) moves a weight whose gradient is ~0 by
    # about +-lr whatever the gradient's size: in the first steps it turns float rounding
    # into differences of ~lr (measured: a 1e-6 weight perturbation on ONE device gives a
    # 0.011 difference after 3 steps). SGD's update is proportional to the gradient, so it
    # shows what data parallelism itself changes.
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    single = build()
    initial = single.get_weights()
    runs = {"single": train(single, args)}
    with distribute.data_parallel():
        parallel = build(initial)
        # Asks for XLA, which NTEDGAN turns off under a multi-replica tf.distribute strategy.
        runs["parallel"] = train(parallel, args, jit_compile=True)
        logits = discriminator_logits(parallel.discriminator, BATCH)
    out = {f"logits_{k}": v for k, v in logits.items()}
    for name, (recon, final, logs, traced) in runs.items():
        out[f"{name}_traced"] = np.array(traced)
        out.update({f"{name}_recon_{i}": w for i, w in enumerate(recon)})
        out.update({f"{name}_final_{i}": w for i, w in enumerate(final)})
        out.update({f"{name}_log_{k}": np.float64(v) for k, v in logs.items()})
    out["recon_difference"] = max_difference(runs["single"][0], runs["parallel"][0])
    out["final_difference"] = max_difference(runs["single"][1], runs["parallel"][1])
    np.savez(args.out, **out)
    print(
        f"{keras.backend.backend()} {args.optimizer}: max |weight difference| 1 vs 2 devices: "
        f"{out['recon_difference']:.3g} after {args.recon_steps} reconstruction steps, "
        f"{out['final_difference']:.3g} after {args.gan_steps} more GAN steps (one with R1)"
    )


if __name__ == "__main__":
    main()
