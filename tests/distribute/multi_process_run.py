"""One process of a multi-process run (or a 1-process reference), run by the tests.

JAX (keras.distribution.initialize), TensorFlow (MultiWorkerMirroredStrategy) or torch
(torch.distributed), as KERAS_BACKEND says:

    python tests/distribute/multi_process_run.py OUT_DIR --initial W.h5 --num-processes 2 --process-id 0 --port P
    python tests/distribute/multi_process_run.py OUT_DIR --initial W.h5
    python -m torch.distributed.run --nproc-per-node 2 tests/distribute/multi_process_run.py OUT_DIR --initial W.h5

Every process has one CPU device and reads only its share of each global batch of
`GLOBAL_BATCH` mannequin pairs (`keras_nted.distribute.ProcessShard`); the weights start
from `--initial` (a `.weights.h5` file): `STEPS` reconstruction steps (SGD), then
`--gan-steps` GAN steps (lazy R1 on the second). Every process writes
`OUT_DIR/batches_<process>.npz`, the source images of the global batches it trained on, and
with `--gan-steps` `OUT_DIR/gan_<process>.npz`, its weights at the end (to check they are the
same everywhere). The chief alone writes `OUT_DIR/recon.npz` (the weights after the
reconstruction steps), `OUT_DIR/final.npz` and `OUT_DIR/final.weights.h5` (Keras'
`save_weights`, which must work although the weights span the other process's device) at
the end, and `OUT_DIR/logs.npz` (the discriminator's optimizer steps and the last logs).
Under `torchrun` the processes join by its variables (`distribute.initialize()`).
"""

import argparse
import pathlib

import numpy as np

from keras_nted import distribute

GLOBAL_BATCH = 4
STEPS = 3


class Recording(distribute.ProcessShard):
    """A `ProcessShard` that remembers which source images it handed out."""

    seen = {}

    def __getitem__(self, index):
        batch = super().__getitem__(index)
        self.seen[index] = batch["source_image"]
        return batch


def tiny_gan(initial=None):
    """The tiny plain-L1 NTEDGAN, from the weights file `initial` if given."""
    from keras_nted.models import NTEDGAN
    from keras_nted.models import NTEDDiscriminator
    from keras_nted.models import NTEDGenerator

    gan = NTEDGAN(
        NTEDGenerator.from_preset("nted_tiny", name="generator"),
        NTEDDiscriminator.from_preset("nted_tiny", name="discriminator"),
        perceptual_loss=None,
    )
    if initial is not None:
        gan.load_weights(initial)
    return gan


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--initial", required=True)
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gan-steps", type=int, default=0)
    args = parser.parse_args()
    if args.num_processes > 1:
        distribute.initialize(f"127.0.0.1:{args.port}", num_processes=args.num_processes, process_id=args.process_id)
    elif distribute.launched_by_torchrun():
        distribute.initialize()

    import keras

    from keras_nted.data.mannequin import MannequinDataset

    out = pathlib.Path(args.out)
    local = MannequinDataset(image_size=(64, 44), batch_size=distribute.local_batch_size(GLOBAL_BATCH), seed=0)
    data = Recording(local)
    with distribute.data_parallel():
        gan = tiny_gan(args.initial)
        # GAN steps from step STEPS on; lazy R1 every 2 steps (on the second GAN step).
        gan.compile(
            keras.optimizers.SGD(0.001), keras.optimizers.SGD(0.001), weight_l1=10.0, gan_start_step=STEPS - 1,
            r1_interval=2,
        )  # fmt: skip
        history = gan.fit(data, epochs=1, steps_per_epoch=STEPS, shuffle=False, verbose=0)
        recon = [distribute.to_host(w) for w in gan.weights]
        if args.gan_steps:
            history = gan.fit(data, epochs=1, steps_per_epoch=args.gan_steps, shuffle=False, verbose=0)
        final = [distribute.to_host(w) for w in gan.weights]
    index = distribute.process_index()
    np.savez(out / f"batches_{index}.npz", **{f"batch_{i}": data.seen[i] for i in range(STEPS)})
    if args.gan_steps:
        np.savez(out / f"gan_{index}.npz", *final)
    if distribute.is_chief():
        np.savez(out / "recon.npz", *recon)
        np.savez(out / "final.npz", *final)
        gan.save_weights(out / "final.weights.h5")
        logs = {k: np.float64(v[-1]) for k, v in history.history.items()}
        np.savez(out / "logs.npz", d_iterations=distribute.to_host(gan.discriminator_optimizer.iterations), **logs)
    print(f"process {index} of {distribute.process_count()}: done")


if __name__ == "__main__":
    main()
