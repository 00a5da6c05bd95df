"""`utils.gather`: `ops.take` along an axis as a 2-D row lookup (exportable by torch's ONNX exporter)."""

import numpy as np
import pytest
from keras import ops

from keras_nted.utils.gather import gather

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "shape, axis, indices",
    [
        ((7,), 0, [3, 0, 6, 6]),  # a 1-D table
        ((7, 3), 0, [[1, 2], [6, 0]]),  # indices of any shape along axis 0
        ((2, 33, 2), 1, [0, 5, 32, 5]),  # the COCO-18 reordering
        ((2, 7, 5, 4), 2, [4, 0, 0, 1, 3, 2]),  # a resize's taps along the width
        ((2, 7, 5, 4), -3, [6, 1]),
    ],
)
def test_gather_equals_numpy_take(shape, axis, indices):
    x = RNG.normal(size=shape).astype("float32")
    got = ops.convert_to_numpy(gather(x, np.array(indices, "int32"), axis=axis))
    np.testing.assert_array_equal(got, np.take(x, indices, axis=axis))


def test_gather_keeps_integer_tables():
    table = np.arange(12, dtype="int32").reshape(6, 2)
    got = ops.convert_to_numpy(gather(table, np.array([[5], [0]], "int32")))
    assert got.dtype == np.int32 and got.tolist() == [[[10, 11]], [[0, 1]]]


def test_gather_along_another_axis_needs_1d_indices():
    with pytest.raises(ValueError, match=r"Expected 1-D `indices` to take along axis 1. Received: shape \(2, 1\)"):
        gather(np.zeros((3, 4), "float32"), np.zeros((2, 1), "int32"), axis=1)
