"""One worker of a TensorFlow multi-worker run (or a 1-process reference), run by the tests.

    python tests/distribute/multi_worker_run.py OUT_DIR --initial W.h5 --num-processes 2 --process-id 0 --port P
    python tests/distribute/multi_worker_run.py OUT_DIR --initial W.h5

Every process has one CPU device and reads only its share of each global batch of
`GLOBAL_BATCH` mannequin pairs (`ProcessShard`), from the weights in `--initial`: `STEPS`
reconstruction steps (SGD), then `--gan-steps` GAN steps (lazy R1 at the second). The chief
alone writes `OUT_DIR/recon.npz` and `OUT_DIR/final.npz` (the weights after each part); every
process writes `OUT_DIR/batches_<process>.npz`, the source images it trained on.
"""

import pathlib

import numpy as np

from keras_nted import distribute
from tests.distribute.multi_process_run import GLOBAL_BATCH
from tests.distribute.multi_process_run import STEPS
from tests.distribute.multi_process_run import Recording
from tests.distribute.multi_process_run import join
from tests.distribute.multi_process_run import parser
from tests.distribute.multi_process_run import tiny_gan


def main():
    cli = parser()
    cli.add_argument("--gan-steps", type=int, default=2)
    args = cli.parse_args()
    join(args)

    import keras

    from keras_nted.data.mannequin import MannequinDataset

    out = pathlib.Path(args.out)
    local = MannequinDataset(image_size=(64, 44), batch_size=distribute.local_batch_size(GLOBAL_BATCH), seed=0)
    data = Recording(local)
    with distribute.data_parallel():
        gan = tiny_gan(args.initial)
        gan.compile(
            keras.optimizers.SGD(0.001), keras.optimizers.SGD(0.001), weight_l1=10.0, gan_start_step=STEPS - 1,
            r1_interval=2,
        )  # fmt: skip
        gan.fit(data, epochs=1, steps_per_epoch=STEPS, shuffle=False, verbose=0)
        recon = [distribute.to_host(w) for w in gan.weights]
        history = gan.fit(data, epochs=1, steps_per_epoch=args.gan_steps, shuffle=False, verbose=0)
    final = [distribute.to_host(w) for w in gan.weights]
    np.savez(out / f"batches_{distribute.process_index()}.npz", **{f"batch_{i}": data.seen[i] for i in range(STEPS)})
    if distribute.is_chief():
        np.savez(out / "recon.npz", *recon)
        logs = {k: np.float64(v[-1]) for k, v in history.history.items()}
        np.savez(
            out / "final.npz", *final, d_iterations=distribute.to_host(gan.discriminator_optimizer.iterations), **logs
        )
    print(f"process {distribute.process_index()} of {distribute.process_count()}: done")


if __name__ == "__main__":
    main()
