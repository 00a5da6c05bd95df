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


def _checked(tensors, condition, message, data):
    check = tf.debugging.Assert(condition, [message, *data], summarize=8)
    with tf.control_dependencies([check]):
        return [tf.identity(t) for t in tensors]


def check_batch(tensors, names):
    """`tensors` unchanged, after a run-time check that they share one non-zero batch size.

    A signature would otherwise run an empty batch into TensorFlow-internal errors, and
    broadcast 2 images over 1 keypoint set without a word.
    """
    sizes = [tf.shape(t)[0] for t in tensors]
    tensors = _checked(
        tensors, sizes[0] > 0, f"Expected a non-empty batch. Received: {names[0]} with batch size", sizes[:1]
    )
    for name, size in zip(names[1:], sizes[1:]):
        message = (
            f"Expected {names[0]} and {name} with equal batch sizes (one entry each per request item, no "
            f"broadcasting). Received batch sizes ({names[0]}, {name}):"
        )
        tensors = _checked(tensors, tf.equal(sizes[0], size), message, [sizes[0], size])
    return tensors


def check_keypoints(keypoints, max_coordinate):
    """`keypoints` unchanged, after the rule every keypoint reader applies (see
    `keras_nted.data.keypoints.validate_keypoints`): finite, `|x|, |y| <= max_coordinate`."""
    values = tf.cast(keypoints, "float32")
    (keypoints,) = _checked(
        [keypoints],
        tf.reduce_all(tf.math.is_finite(values)),
        "Expected finite keypoints (use -1 for a missing point). Received NaN or infinite values",
        [],
    )
    (keypoints,) = _checked(
        [keypoints],
        tf.reduce_all(tf.abs(values) <= max_coordinate),
        f"Expected keypoint coordinates within +-{max_coordinate:g} pixels. Received a largest |coordinate| of",
        [tf.reduce_max(tf.abs(values))],
    )
    return keypoints


def string_spec(name):
    """A signature input of encoded images: `(batch,)` strings."""
    return tf.TensorSpec((None,), tf.string, name=name)


def decode_images(encoded, name):
    """`(batch,)` JPEG / PNG / BMP / GIF bytes -> `(batch, H, W, 3)` uint8 (one size per request)."""

    def decode(data):
        return tf.io.decode_image(data, channels=3, expand_animations=False)

    spec = tf.TensorSpec((None, None, 3), tf.uint8)
    return tf.map_fn(decode, encoded, fn_output_signature=spec, name=f"decode_{name}")


def check_found(tensors, found, description):
    """`tensors` unchanged, after a run-time check that `found` `(batch,)` holds everywhere.

    A served request without a person fails with "No person found in <description> (request
    items, 1 where found): [...]" (TF Serving answers it as an error with that message).
    """
    message = f"No person found in {description} (request items, 1 where found):"
    return _checked(tensors, tf.reduce_all(found), message, [tf.cast(found, tf.int32)])
