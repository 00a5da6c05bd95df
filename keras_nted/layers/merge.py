"""Small merge layer used by the NTED generator and discriminator."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_nted")
class ScaledAdd(keras.layers.Layer):
    """`scale * (x_1 + ... + x_n)`: the `(a + b) / sqrt(2)` residual merges of the release.

    Args:
        scale: factor applied to the sum.

    Call arguments:
        inputs: a list of tensors of one shape.

    Returns:
        A tensor of that shape.

    Example:
    >>> ScaledAdd(0.5)([np.ones((1, 2)), np.ones((1, 2))])
    array([[1., 1.]])
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        total = inputs[0]
        for x in inputs[1:]:
            total = ops.add(total, x)
        return total * self.scale if self.scale != 1.0 else total

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale)
        return config
