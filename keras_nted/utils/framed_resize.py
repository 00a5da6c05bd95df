"""A window of an image, padded with a colour, resized as PIL's bilinear filter resizes: in `keras.ops`.

The numpy pipeline frames a photo around its person (`keras_nted.pose.framing.frame_person`: a
window cut out, filled with a colour outside the photo) and the model's loader then resizes
the window to the model's size with `PIL.Image.resize(..., BILINEAR)`. `framed_resize` does
both in one graph, batched (one window per image), and gives the same pixels as PIL 13:

* PIL's filter is a triangle as wide as the scale factor (an antialiasing filter when
  shrinking), applied in two separable passes with an 8-bit image between them; the vertical
  pass runs first when the height shrinks by more than twice as many pixels as the width,
  else the horizontal one (`ImagingResampleInner`);
* its weights are fixed point, `round(w * 2**22)`, and each pass rounds
  `(sum + 2**21) >> 22` and clips to 0-255.

Here the weights are exact rationals in int32 (the triangle's value at a tap is
`max(0, D - |(2t + 1) out - (2j + 1) n|) / D` for input length `n`, output length `out`,
`D = 2 max(n, out)`), rounded by long division, where PIL computes them in float64; the two
differ only where a weight lies within 1e-9 of a rounding tie. The sums are exact (float32
products of bytes, joined in int32). Taps that fall outside the photo take the fill colour.

Bound: the window may be at most `WINDOW_BOUND` times the photo's height + width on a side
(a person's framing window is under twice that), and under 128 times the output's size.
"""

from keras import ops

PRECISION_BITS = 22
WINDOW_BOUND = 4


def _round_ratio(q, total):
    """`round(q * 2**22 / total)` (halves up) in int32, by long division, for `0 <= q <= total < 2**27`."""
    result = ops.zeros_like(q)
    rest = q
    for bits in (4, 4, 4, 4, 4, 2):
        rest = rest * (1 << bits)
        result = result * (1 << bits) + ops.floor_divide(rest, total)
        rest = ops.mod(rest, total)
    return result + ops.cast(2 * rest >= total, "int32")


def _axis_weights(start, extent, size, out, bound):
    """One axis' fixed-point weights, in the photo's pixels and for the taps outside it.

    Args:
        start, extent: `(batch,)` int32: the window's first pixel (in the photo) and its length.
        size: the photo's length on this axis.
        out: the output length.
        bound: an upper bound of `extent`.

    Returns:
        `(matrix (batch, out, size), outside (batch, out), total (batch, out))` int32: the
        weight of each photo pixel, the summed weight of the taps outside the photo, and of all.
    """
    n = ops.reshape(extent, (-1, 1, 1))
    j = ops.reshape(ops.arange(out, dtype="int32"), (1, -1, 1))
    span = 2 * ops.maximum(n, out)
    center = (2 * j + 1) * n

    def weight(t):
        return ops.where((t >= 0) & (t < n), ops.maximum(0, span - ops.abs((2 * t + 1) * out - center)), 0)

    first = ops.floor_divide(center - span - out, 2 * out)
    taps = first + ops.reshape(ops.arange(2 * ((bound + out) // out) + 3, dtype="int32"), (1, 1, -1))
    window = weight(taps)
    total = ops.maximum(ops.sum(window, axis=-1, keepdims=True), 1)
    window = _round_ratio(window, total)
    x = taps + ops.reshape(start, (-1, 1, 1))
    outside = ops.sum(ops.where((x >= 0) & (x < size), 0, window), axis=-1)
    pixels = ops.reshape(ops.arange(size, dtype="int32"), (1, 1, -1)) - ops.reshape(start, (-1, 1, 1))
    return _round_ratio(weight(pixels), total), outside, ops.sum(window, axis=-1)


def _product(subscripts, weights, levels):
    """`einsum(subscripts, weights, levels)` exactly, for int32 weights `< 2**24` and levels 0-255.

    Backends multiply integers in float32 (TensorFlow's einsum does), where sums past `2**24`
    round: the weights go in as three bytes, each product's sums stay below `2**24` (for up to
    258 taps: a window under 128 times the output's size), and the parts are joined in int32.
    """
    levels = ops.cast(levels, "float32")
    total = 0
    for shift in (16, 8, 0):
        part = ops.cast(ops.mod(ops.floor_divide(weights, 1 << shift), 256), "float32")
        total = total + ops.cast(ops.einsum(subscripts, part, levels), "int32") * (1 << shift)
    return total


def _levels(sums):
    """A pass's int32 sums -> 0-255 levels, as PIL rounds and clips them."""
    return ops.clip(ops.floor_divide(sums + (1 << (PRECISION_BITS - 1)), 1 << PRECISION_BITS), 0, 255)


def framed_resize(image, box, fill, output_size):
    """Windows of images, filled with a colour outside them, resized to `output_size` as PIL resizes.

    The same pixels as cutting `box` out of each image (`framing.frame_person`'s cut, `fill`
    outside the image) and `PIL.Image.resize(output_size[::-1], Image.BILINEAR)`.

    Args:
        image: `(batch, height, width, 3)` uint8 (or whole levels 0-255).
        box: `(batch, 4)` the window `(left, top, right, bottom)`, whole pixels (may reach
            outside the image), at least one pixel each way.
        fill: `(batch, 3)` the colour outside the image, whole levels.
        output_size: `(height, width)`.

    Returns:
        `(batch, height, width, 3)` uint8.
    """
    out_h, out_w = (int(s) for s in output_size)
    shape = ops.shape(image)
    height, width = shape[1], shape[2]
    pixels = ops.cast(image, "int32")
    box = ops.cast(ops.round(ops.convert_to_tensor(box, "float32")), "int32")
    fill = ops.cast(ops.round(ops.convert_to_tensor(fill, "float32")), "int32")
    bound = WINDOW_BOUND * (height + width)
    n_w, n_h = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    kx, out_x, all_x = _axis_weights(box[:, 0], n_w, width, out_w, bound)
    ky, out_y, all_y = _axis_weights(box[:, 1], n_h, height, out_h, bound)
    # Horizontal pass first: photo rows, then the rows outside the photo (all fill).
    rows = _levels(_product("bjx,byxc->byjc", kx, pixels) + out_x[:, None, :, None] * fill[:, None, None, :])
    fill_rows = _levels(all_x[..., None] * fill[:, None, :])
    across = _product("biy,byjc->bijc", ky, rows) + out_y[..., None, None] * fill_rows[:, None]
    # Vertical pass first: photo columns, then the columns outside the photo.
    cols = _levels(_product("biy,byxc->bixc", ky, pixels) + out_y[..., None, None] * fill[:, None, None, :])
    fill_cols = _levels(all_y[..., None] * fill[:, None, :])
    down = _product("bjx,bixc->bijc", kx, cols) + out_x[:, None, :, None] * fill_cols[:, :, None]
    vertical_first = (n_h > out_h) & (n_h - out_h > 2 * (n_w - out_w))
    return ops.cast(_levels(ops.where(vertical_first[:, None, None, None], down, across)), "uint8")
