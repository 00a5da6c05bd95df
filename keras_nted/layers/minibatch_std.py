"""Minibatch standard deviation (StyleGAN2 discriminator)."""

import keras
from keras import ops

from keras_nted.utils.validation import check_int


@keras.saving.register_keras_serializable(package="keras_nted")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the minibatch standard deviation as one extra channel.

    The batch is split into `G = min(batch, group_size)` groups laid out as
    `(G, batch // G)`; the standard deviation over the group axis (biased variance + 1e-8)
    is averaged over height, width and channels, and sample `n` receives the value of
    column `n % (batch // G)`, as in the released discriminator. The batch must be
    divisible by `G`.

    Under data parallelism the groups are drawn from the batch that one program of the
    step sees, so they follow the engine (`docs/training.md`, "Distributed training"):
    JAX's `keras.distribution.DataParallel` runs one program over the global batch, so the
    groups and the logits are those of one device on the same global batch, whatever the
    device count; TensorFlow's `MirroredStrategy` runs one program per replica, and torch
    one step per process, so each replica groups its own slice, like the release's per-GPU
    groups under `DistributedDataParallel` (grouping across
    replicas would need an all-gather inside the discriminator). So a JAX run gives the
    same result on any device count, and a TensorFlow or torch run the release's grouping.

    Args:
        group_size: maximum group size.

    Call arguments:
        inputs: `(batch, height, width, channels)` tensor.

    Returns:
        `(batch, height, width, channels + 1)` tensor.

    Example:
    >>> MinibatchStdDev()(np.random.rand(4, 4, 2, 8).astype("float32")).shape
    (4, 4, 2, 9)
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = check_int("group_size", group_size)

    def call(self, inputs):
        batch = inputs.shape[0]
        if batch is None:
            batch = ops.shape(inputs)[0]
            group = ops.minimum(batch, self.group_size)
        else:
            group = min(batch, self.group_size)
            if batch % group:
                raise ValueError(
                    f"MinibatchStdDev needs a batch divisible by min(batch, {self.group_size}). Received: batch={batch}"
                )
        h, w, c = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        x = ops.cast(inputs, "float32")
        grouped = ops.reshape(x, (group, -1, h, w, c))
        variance = ops.var(grouped, axis=0)
        std = ops.sqrt(variance + 1e-8)
        std = ops.mean(std, axis=(1, 2, 3))
        std = ops.tile(std, (group,))
        std = ops.broadcast_to(ops.reshape(std, (-1, 1, 1, 1)), ops.shape(x[..., :1]))
        return ops.concatenate([inputs, ops.cast(std, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, h, w, None if c is None else c + 1)

    def get_config(self):
        config = super().get_config()
        config.update(group_size=self.group_size)
        return config
