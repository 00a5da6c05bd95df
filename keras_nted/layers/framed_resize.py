"""FramedResize: a window of each image, filled with a colour outside it, resized as PIL resizes."""

import keras

from keras_nted.utils.framed_resize import framed_resize


@keras.saving.register_keras_serializable(package="keras_nted")
class FramedResize(keras.layers.Layer):
    """`keras_nted.utils.framed_resize` as a layer: `[images, boxes, fill colours]` -> uint8 windows.

    The in-graph counterpart of cutting a framing window out of a photo
    (`keras_nted.pose.framing.frame_person`) and resizing it with PIL's bilinear filter, as
    the model's loader does: the same pixels.

    Args:
        height, width: the output size.

    Call arguments:
        inputs: `[images (batch, H, W, 3) uint8, boxes (batch, 4) (left, top, right, bottom),
            fill (batch, 3)]`, any `H, W`.

    Returns:
        `(batch, height, width, 3)` uint8.

    Example:

    >>> import numpy as np
    >>> layer = FramedResize(64, 44)
    >>> tuple(layer([np.zeros((1, 100, 80, 3), "uint8"), np.array([[-10.0, 0, 60, 100]]), np.zeros((1, 3))]).shape)
    (1, 64, 44, 3)
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Expected `{name}` to be a positive integer. Received: {name}={value!r}")
        self.height, self.width = height, width

    def call(self, inputs):
        image, box, fill = inputs
        return framed_resize(image, box, fill, (self.height, self.width))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs[0].shape[0], self.height, self.width, 3), "uint8")

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width)
        return config
