"""framed_resize vs the numpy framing's cut + PIL's bilinear resize: equal pixels (every backend)."""

import numpy as np
import pytest
from keras import ops
from PIL import Image

from keras_nted.utils.framed_resize import framed_resize


def _cut(image, box, fill):
    left, top, right, bottom = box
    height, width = image.shape[:2]
    out = np.empty((bottom - top, right - left, 3), np.uint8)
    out[...] = fill
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if x1 > x0 and y1 > y0:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
    return out


# Windows inside, across the edges of and around the photo, shrunk and enlarged, both pass orders.
BOXES = [(10, 5, 98, 133), (-30, -20, 120, 200), (-400, -300, 500, 600), (60, 100, 80, 130), (5, 0, 49, 64),
         (0, -50, 30, 400), (-5, 10, 200, 60)]  # fmt: skip


@pytest.mark.parametrize("output_size", [(64, 44), (25, 90)])
def test_framed_resize_equals_the_cut_and_pils_resize(output_size):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (2, 150, 110, 3), dtype=np.uint8)
    fill = rng.integers(0, 256, (len(BOXES), 3))
    for i, box in enumerate(BOXES):
        expected = np.asarray(
            Image.fromarray(_cut(image[i % 2], box, fill[i])).resize(output_size[::-1], Image.BILINEAR)
        )
        got = framed_resize(image[i % 2 : i % 2 + 1], np.array([box], "float32"), fill[i : i + 1], output_size)
        np.testing.assert_array_equal(ops.convert_to_numpy(got)[0], expected, err_msg=f"box {box}")


def test_framed_resize_is_batched():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (3, 40, 30, 3), dtype=np.uint8)
    boxes = np.array([[0, 0, 30, 40], [-10, 5, 20, 50], [3, -8, 60, 90]], "float32")
    fill = rng.integers(0, 256, (3, 3)).astype("float32")
    batch = ops.convert_to_numpy(framed_resize(image, boxes, fill, (16, 11)))
    for i in range(3):
        one = framed_resize(image[i : i + 1], boxes[i : i + 1], fill[i : i + 1], (16, 11))
        np.testing.assert_array_equal(batch[i], ops.convert_to_numpy(one)[0])
