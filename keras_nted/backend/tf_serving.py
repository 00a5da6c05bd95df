"""TensorFlow pieces of the serving export (`keras_nted.export`, TensorFlow backend only)."""

import tensorflow as tf


def ensure_shape(x, shape, name):
    """`x` unchanged, after a run-time check that its shape is `shape` (`None`: any size).

    A SavedModel signature checks the dtype of what it is fed but not the shape, so a request
    with a wrong image size would fail deep inside the network with an unrelated message. This
    check rejects it up front: "Shape of tensor reference_image [1,32,44,3] is not compatible
    with expected shape [?,64,44,3]."
    """
    return tf.ensure_shape(x, shape, name=f"check_{name}_shape")
