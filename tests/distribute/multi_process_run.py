"""One process of a multi-process JAX or torch run (or a 1-process reference), run by the tests.

    python tests/distribute/multi_process_run.py OUT_DIR --num-processes 2 --process-id 0 --port 23456
    python tests/distribute/multi_process_run.py OUT_DIR --num-processes 1
    python -m torch.distributed.run --nproc-per-node 2 tests/distribute/multi_process_run.py OUT_DIR

Every process has one CPU device and reads only its share of each global batch of
`GLOBAL_BATCH` mannequin pairs (`keras_nted.distribute.ProcessShard`); the weights start
from `--initial` (a `.weights.h5` file). After `STEPS` reconstruction steps, the chief alone
writes `OUT_DIR/final.weights.h5` (Keras' `save_weights`, which must work although the
weights span the other process's device) and `OUT_DIR/final.npz`; every process writes
`OUT_DIR/batches_<process>.npz`, the source images of the global batches it trained on. With
`--gan-steps N` training goes on for `N` GAN steps (lazy R1 on the second) and every process
writes `OUT_DIR/gan_<process>.npz`, its weights then (to check they are the same everywhere).
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
    from keras_nted.models import NTEDGAN
    from keras_nted.models import NTEDDiscriminator
    from keras_nted.models import NTEDGenerator

    out = pathlib.Path(args.out)
    local = MannequinDataset(image_size=(64, 44), batch_size=distribute.local_batch_size(GLOBAL_BATCH), seed=0)
    data = Recording(local)
    with distribute.data_parallel():
        gan = NTEDGAN(
            NTEDGenerator.from_preset("nted_tiny", name="generator"),
            NTEDDiscriminator.from_preset("nted_tiny", name="discriminator"),
            perceptual_loss=None,
        )
        gan.load_weights(args.initial)
        # GAN steps from step STEPS on; lazy R1 every 2 steps (on the second GAN step).
        gan.compile(
            keras.optimizers.SGD(0.001), keras.optimizers.SGD(0.001), weight_l1=10.0, gan_start_step=STEPS - 1,
            r1_interval=2,
        )  # fmt: skip
        gan.fit(data, epochs=1, steps_per_epoch=STEPS, shuffle=False, verbose=0)
    np.savez(out / f"batches_{distribute.process_index()}.npz", **{f"batch_{i}": data.seen[i] for i in range(STEPS)})
    if distribute.is_chief():
        gan.save_weights(out / "final.weights.h5")
        np.savez(out / "final.npz", *[distribute.to_host(w) for w in gan.weights])
    if args.gan_steps:
        gan.fit(data, epochs=1, steps_per_epoch=args.gan_steps, shuffle=False, verbose=0)
        np.savez(out / f"gan_{distribute.process_index()}.npz", *[distribute.to_host(w) for w in gan.weights])
    print(f"process {distribute.process_index()} of {distribute.process_count()}: done")


if __name__ == "__main__":
    main()
