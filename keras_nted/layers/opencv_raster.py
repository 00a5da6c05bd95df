"""OpenCV's integer drawing rules in `keras.ops`, for the in-graph skeleton (bit-exact to cv2).

`SkeletonRenderer` draws each limb the way `keras_nted.data.render_skeleton` does with OpenCV:
`cv2.ellipse2Poly` (a 361-vertex polygon from a one-degree sine table), `cv2.fillConvexPoly`
(16.16 fixed-point edge walking plus the 8-connected outline of every edge, clipped to the
image) and `cv2.distanceTransform(DIST_L1)`. The algorithms are re-expressed here, vectorised
over the batch, the limbs and the vertices, on integer grids so that every backend (float32
only, as JAX runs by default) reproduces OpenCV's double and int64 arithmetic:

* vertices: `round(c + a cos(t) cos(r) - 4 sin(t) sin(r))` (and the y twin) is computed exactly
  as a multiple of 2^-58 in base-256 limbs, then rounded half to even like `cvRound`; the
  double result could only differ within 1e-13 of a half-integer;
* the fill and the outline are int32 fixed point, exact while coordinates stay within
  +-16000 pixels and half-lengths below 4096.
"""

import numpy as np
from keras import ops

from keras_nted.utils.gather import gather

# OpenCV's sine table: sin(k degrees) to 7 decimals as float32, k = 0..450; every entry is a
# whole multiple of 2^-29 (the smallest non-zero one, sin 1 degree, lies in [2^-6, 2^-5)).
_SINE_SCALE_BITS = 29
_SINE = np.round(np.sin(np.deg2rad(np.arange(451))), 7).astype("float32")
_SINE_UNITS = (_SINE.astype("float64") * 2.0**_SINE_SCALE_BITS).astype("int64")
_LIMB_BITS = 8
_NUM_LIMBS = 4  # 4 x 8 bits hold |units| <= 2^29
_STEPS = 361  # ellipse2Poly(..., 0, 360, 1): one vertex per degree, both ends included
_FIXED_ONE = 1 << 16  # FillConvexPoly's XY_SHIFT
_FAR = 1 << 24  # "no pixel" sentinel for row bounds


def _limbs(units):
    """`(sign, limbs)` of int64 numpy `units`: `|units| = sum limbs[..., k] 256^k`."""
    magnitude = np.abs(units)
    limbs = np.stack([(magnitude >> (_LIMB_BITS * k)) & 255 for k in range(_NUM_LIMBS)], axis=-1)
    return np.sign(units).astype("int32"), limbs.astype("int32")


_STEP_DEGREES = np.arange(_STEPS)
_COS_SIGN, _COS_LIMBS = _limbs(_SINE_UNITS[450 - _STEP_DEGREES])  # (361,), (361, 4)
_SIN_SIGN, _SIN_LIMBS = _limbs(_SINE_UNITS[_STEP_DEGREES])
_ROT_SIN_SIGN, _ROT_SIN_LIMBS = _limbs(_SINE_UNITS[np.arange(360)])  # by rotation angle 0..359
_ROT_COS_SIGN, _ROT_COS_LIMBS = _limbs(_SINE_UNITS[450 - np.arange(360)])


def _product(sign_a, limbs_a, sign_b, limbs_b):
    """Exact products of two limb numbers: `(..., 7)` un-normalised base-256 digits (signed)."""
    digits = []
    for position in range(2 * _NUM_LIMBS - 1):
        terms = [
            limbs_a[..., i] * limbs_b[..., position - i] for i in range(_NUM_LIMBS) if 0 <= position - i < _NUM_LIMBS
        ]
        digits.append(sum(terms[1:], terms[0]))
    return ops.stack(digits, axis=-1) * ops.expand_dims(sign_a * sign_b, -1)


def _round_half_even(center, digits):
    """`cvRound(center + value)`, `value` = the base-256 `digits` times 2^-58, exactly."""
    digits = [digits[..., k] for k in range(2 * _NUM_LIMBS - 1)]
    for k in range(len(digits) - 1):  # carry: digits 0..5 into [0, 256)
        carry = ops.floor_divide(digits[k], 256)
        digits[k] = digits[k] - carry * 256
        digits[k + 1] = digits[k + 1] + carry
    top_bits = 2 * _SINE_SCALE_BITS - _LIMB_BITS * (len(digits) - 1)  # 2^-58 * 256^6 = 2^-10
    whole = ops.floor_divide(digits[-1], 1 << top_bits)
    rest = digits[-1] - whole * (1 << top_bits)  # the fraction's top bits, in [0, 1024)
    lower = sum(digits[1:-1], digits[0])  # digits >= 0: zero iff all are
    half = 1 << (top_bits - 1)
    tie = ops.logical_and(ops.equal(rest, half), ops.equal(lower, 0))
    above = ops.logical_or(ops.greater(rest, half), ops.logical_and(ops.equal(rest, half), ops.greater(lower, 0)))
    odd = ops.equal(ops.mod(center + whole, 2), 1)
    up = ops.logical_or(above, ops.logical_and(tie, odd))
    return center + whole + ops.cast(up, "int32")


def ellipse_vertices(center_x, center_y, half_length, angle, minor):
    """`cv2.ellipse2Poly((cx, cy), (a, minor), angle, 0, 360, 1)` without removing repeats.

    Args:
        center_x, center_y, half_length, angle: int32 tensors of one shape `S` (the angle in
            whole degrees, any sign).
        minor: the Python int semi-minor axis.

    Returns:
        `(x, y)`, int32 tensors of shape `S + (361,)`. (OpenCV drops consecutive repeats; they
        change neither the fill nor the outline.)
    """
    angle = ops.mod(angle, 360)
    expand = [ops.expand_dims(v, -1) for v in (center_x, center_y, half_length)]
    center_x, center_y, half_length = expand
    rot_sin = (gather(_ROT_SIN_SIGN, angle), gather(_ROT_SIN_LIMBS, angle))
    rot_cos = (gather(_ROT_COS_SIGN, angle), gather(_ROT_COS_LIMBS, angle))
    cos_t = (ops.convert_to_tensor(_COS_SIGN), ops.convert_to_tensor(_COS_LIMBS))
    sin_t = (ops.convert_to_tensor(_SIN_SIGN), ops.convert_to_tensor(_SIN_LIMBS))

    def along(rotation):  # (..., 361, 7): cos(t) * rotation, per step t
        sign, limbs = rotation
        return _product(cos_t[0], cos_t[1], ops.expand_dims(sign, -1), ops.expand_dims(limbs, -2))

    def across(rotation):
        sign, limbs = rotation
        return _product(sin_t[0], sin_t[1], ops.expand_dims(sign, -1), ops.expand_dims(limbs, -2))

    scale = ops.expand_dims(half_length, -1)
    x = _round_half_even(center_x, scale * along(rot_cos) - minor * across(rot_sin))
    y = _round_half_even(center_y, scale * along(rot_sin) + minor * across(rot_cos))
    return x, y


def _truncating_divide(numerator, denominator):
    """C's integer division (towards zero) of int32 tensors, `denominator > 0`."""
    quotient = ops.floor_divide(ops.abs(numerator), denominator)
    return ops.where(numerator < 0, -quotient, quotient)


def _scanline_bounds(x, y, rows):
    """FillConvexPoly's filled span `[left, right]` per row, `(..., H)` each; empty as left > right.

    The polygon `(x, y)` (`(..., N)`, closed, y-monotone on both sides as ellipse2Poly's is)
    is walked down from its top vertex along both sides in 16.16 fixed point: each edge starts
    at its upper vertex and steps by its rounded slope; a row is filled between the two sides'
    rounded positions. The bottom row is not (the outline draws it), unless it is clipped away.
    """
    next_x, next_y = ops.roll(x, -1, axis=-1), ops.roll(y, -1, axis=-1)
    rows = ops.reshape(rows, (1,) * len(x.shape) + (-1,))

    def side(top_x, top_y, bottom_x, bottom_y):  # edges walked from (top) to (bottom), bottom_y > top_y
        height = ops.maximum(bottom_y - top_y, 1)
        slope = _truncating_divide((bottom_x - top_x) * (2 * _FIXED_ONE) + height, 2 * height)
        top_y4, bottom_y4 = ops.expand_dims(top_y, -1), ops.expand_dims(bottom_y, -1)
        active = ops.logical_and(top_y4 <= rows, rows < bottom_y4)
        position = ops.expand_dims(top_x * _FIXED_ONE, -1) + (rows - top_y4) * ops.expand_dims(slope, -1)
        # One edge per side is active on a row: the sum picks it.
        return ops.sum(ops.where(active, position, 0), axis=-2), ops.any(active, axis=-2)

    first, has_first = side(x, y, next_x, next_y)  # edges going down in vertex order
    second, has_second = side(next_x, next_y, x, y)  # edges going up, walked backwards
    half = _FIXED_ONE // 2
    left = ops.floor_divide(ops.minimum(first, second) + half, _FIXED_ONE)
    right = ops.floor_divide(ops.maximum(first, second) + half, _FIXED_ONE)
    filled = ops.logical_and(has_first, has_second)
    return ops.where(filled, left, _FAR), ops.where(filled, right, -_FAR)


def _clip_line(x1, y1, x2, y2, height, width):
    """OpenCV's `clipLine` to the image: the clipped end points and whether any part is inside."""
    right, bottom = width - 1, height - 1

    def code(x, y, with_y=True):
        c = ops.cast(x < 0, "int32") + 2 * ops.cast(x > right, "int32")
        if with_y:
            c = c + 4 * ops.cast(y < 0, "int32") + 8 * ops.cast(y > bottom, "int32")
        return c

    # Outcodes are 4-bit and non-negative; the bit tests are arithmetic (torch's ONNX exporter
    # has no integer bitwise OR): `c1 | c2 == 0` is `c1 + c2 == 0`, `c & 12` is `c >= 4`.
    def share_a_bit(c1, c2):
        common = 0
        for bit in (1, 2, 4, 8):
            common = common + ops.floor_divide(c1, bit) % 2 * (ops.floor_divide(c2, bit) % 2)
        return ops.not_equal(common, 0)

    def crosses(c1, c2):  # neither end inside, nor both beyond one edge
        return ops.logical_and(ops.logical_not(share_a_bit(c1, c2)), ops.not_equal(c1 + c2, 0))

    c1, c2 = code(x1, y1), code(x2, y2)
    crossing = crosses(c1, c2)

    def to_row(x, y, c, dx, dy):  # move an end outside vertically onto row 0 or bottom
        move = ops.logical_and(crossing, c >= 4)
        target = ops.where(c < 8, 0, bottom)
        sign = ops.where(dy < 0, -1, 1)
        new_x = x + _truncating_divide((target - y) * dx * sign, ops.maximum(ops.abs(dy), 1))
        new_x = ops.where(move, new_x, x)
        return new_x, ops.where(move, target, y), ops.where(move, code(new_x, y, with_y=False), c)

    x1, y1, c1 = to_row(x1, y1, c1, x2 - x1, y2 - y1)
    x2, y2, c2 = to_row(x2, y2, c2, x2 - x1, y2 - y1)
    crossing = ops.logical_and(crossing, crosses(c1, c2))

    def to_column(x, y, c, dx, dy):
        move = ops.logical_and(crossing, ops.not_equal(c, 0))
        target = ops.where(ops.equal(c, 1), 0, right)
        sign = ops.where(dx < 0, -1, 1)
        new_y = y + _truncating_divide((target - x) * dy * sign, ops.maximum(ops.abs(dx), 1))
        return ops.where(move, target, x), ops.where(move, new_y, y), ops.where(move, 0, c)

    x1, y1, c1 = to_column(x1, y1, c1, x2 - x1, y2 - y1)
    x2, y2, c2 = to_column(x2, y2, c2, x2 - x1, y2 - y1)
    return x1, y1, x2, y2, ops.equal(c1 + c2, 0)


def _ceil_divide(numerator, denominator):
    return -ops.floor_divide(-numerator, denominator)


def _outline_bounds(x, y, rows, height, width):
    """Per row, the leftmost and rightmost pixel of the polygon's clipped 8-connected outline.

    OpenCV's LineIterator runs left to right over the major axis; pixel `k` of a line with
    major extent `D` and minor extent `d` lies `floor((2 d k + D - 1) / (2 D))` along the minor
    axis, so each line's pixels on one row form a run found in closed form.
    """
    x1, y1, x2, y2, visible = _clip_line(ops.roll(x, 1, axis=-1), ops.roll(y, 1, axis=-1), x, y, height, width)
    swap = x2 < x1
    start_x, start_y = ops.where(swap, x2, x1), ops.where(swap, y2, y1)
    end_y = ops.where(swap, y1, y2)
    run, rise = ops.abs(x2 - x1), end_y - start_y
    climb = ops.abs(rise)
    major, minor = ops.maximum(run, climb), ops.minimum(run, climb)
    rows = ops.reshape(rows, (1,) * len(x.shape) + (-1,))

    def per_row(v):
        return ops.expand_dims(v, -1)

    step = (rows - per_row(start_y)) * per_row(ops.where(rise < 0, -1, 1))  # row index along the line
    major4, minor4, flat = per_row(major), per_row(minor), per_row(ops.equal(minor, 0))
    safe_minor = ops.maximum(minor4, 1)
    first = ops.maximum(_ceil_divide(2 * major4 * step - major4 + 1, 2 * safe_minor), 0)
    last = ops.minimum(_ceil_divide(2 * major4 * (step + 1) - major4 + 1, 2 * safe_minor) - 1, major4)
    first, last = ops.where(flat, 0, first), ops.where(flat, major4, last)
    across = ops.floor_divide(2 * minor4 * step + major4 - 1, 2 * ops.maximum(major4, 1))
    x_major = per_row(run >= climb)
    low = ops.where(x_major, first, across) + per_row(start_x)
    high = ops.where(x_major, last, across) + per_row(start_x)
    on_row = ops.logical_and(step >= 0, step <= ops.where(x_major, minor4, major4))
    on_row = ops.logical_and(on_row, per_row(visible))
    return (
        ops.min(ops.where(on_row, low, _FAR), axis=-2),
        ops.max(ops.where(on_row, high, -_FAR), axis=-2),
    )


def polygon_rows(x, y, height, width):
    """The pixels `cv2.fillConvexPoly` sets for the polygon `(x, y)`, as one span per row.

    Args:
        x, y: int32 `(..., N)` vertices of a closed polygon that is y-monotone on both sides
            (as `ellipse_vertices` gives).
        height, width: the image size.

    Returns:
        `(left, right)`, int32 `(..., height)`: row `r` covers columns `left[r]..right[r]`
        (inside the image; none when `left > right`).
    """
    rows = ops.arange(height, dtype="int32")
    left, right = _scanline_bounds(x, y, rows)
    low, high = _outline_bounds(x, y, rows, height, width)
    return ops.maximum(ops.minimum(left, low), 0), ops.minimum(ops.maximum(right, high), width - 1)


def city_block_distance(left, right, width):
    """`cv2.distanceTransform(mask, DIST_L1, 3)` to the pixels of row spans, exactly.

    Args:
        left, right: int32 `(..., H)` spans as `polygon_rows` gives.
        width: the image width.

    Returns:
        int32 `(..., H, W)` L1 distances to the nearest covered pixel (at least `_FAR` when
        there is none).
    """
    columns = ops.arange(width, dtype="int32")
    left, right = ops.expand_dims(left, -1), ops.expand_dims(right, -1)
    empty = left > right
    distance = ops.maximum(ops.maximum(left - columns, columns - right), 0)  # along the row
    distance = ops.where(empty, _FAR, distance)
    height = left.shape[-2]
    shift = 1
    while shift < height:  # min over rows r' of distance[r'] + |r - r'|, by doubling
        far = ops.full_like(distance[..., :shift, :], _FAR)
        from_above = ops.concatenate([far, distance[..., :-shift, :]], axis=-2) + shift
        from_below = ops.concatenate([distance[..., shift:, :], far], axis=-2) + shift
        distance = ops.minimum(distance, ops.minimum(from_above, from_below))
        shift *= 2
    return distance
