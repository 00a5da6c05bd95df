"""`gather`: `ops.take` along one axis, written so that torch's ONNX exporter can trace it."""

from keras import ops


def gather(x, indices, axis=0):
    """`ops.take(x, indices, axis=axis)`, as a row lookup in a 2-D table.

    Keras' torch `take` ends in `index_select(...).squeeze(axis)` for any table that is not
    2-D with `axis=0`; torch's ONNX exporter writes that `squeeze` as an `If` on the traced
    size, which ONNX Runtime refuses ("Dimension of input 1 must be 1 instead of 18"). A 2-D
    table read along axis 0 is an embedding lookup on torch (`Gather` in ONNX) and a plain
    gather on TensorFlow and JAX, so `x` is moved and flattened into one first.

    Args:
        x: a tensor of rank >= 1.
        indices: integer indices into `x`'s `axis`: any shape for `axis=0`, 1-D otherwise.
        axis: the axis to take along.

    Returns:
        `x` with `axis` replaced by `indices`' shape (as `ops.take`).

    Example:
    >>> import numpy as np
    >>> np.asarray(gather(np.arange(6).reshape(2, 3), [2, 0], axis=1)).tolist()
    [[2, 0], [5, 3]]
    """
    x = ops.convert_to_tensor(x)
    indices = ops.convert_to_tensor(indices, "int32")
    axis = axis % len(x.shape)
    if axis and len(indices.shape) != 1:
        raise ValueError(f"Expected 1-D `indices` to take along axis {axis}. Received: shape {tuple(indices.shape)}")
    moved = ops.moveaxis(x, axis, 0) if axis else x
    shape = ops.shape(moved)
    table = ops.reshape(moved, (shape[0], -1)) if len(shape) != 2 else moved
    taken = ops.take(table, indices, axis=0)
    taken = ops.reshape(taken, (*ops.shape(indices), *shape[1:])) if len(shape) != 2 else taken
    return ops.moveaxis(taken, 0, axis) if axis else taken
