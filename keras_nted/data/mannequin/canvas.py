"""The mannequin's paint: anti-aliased tapered capsules with garment patterns, on an RGB canvas with part labels."""

import math

import numpy as np


class Paint:
    """Colour of a part: a base colour, optionally patterned (part-local coordinates)."""

    __slots__ = ("base", "accent", "pattern", "period", "across", "span")

    def __init__(self, base, accent=None, pattern="solid", period=1.0, across=True, span=1.0):
        self.base = np.asarray(base, np.float32)
        self.accent = self.base if accent is None else np.asarray(accent, np.float32)
        self.pattern, self.period, self.across = pattern, period, across
        self.span = span  # a gradient's length along the garment, body units

    @classmethod
    def of(cls, garment, span):
        return cls(garment.colors[0], garment.colors[1], garment.pattern, garment.period, garment.across, span)


def _stripes(coord, period, pixel):
    """Anti-aliased 0/1 bands of width period / 2 along `coord`; `pixel` = one pixel in coord units."""
    tri = np.abs(np.mod(coord * (1.0 / period), 1.0) - 0.5)
    return np.clip(0.5 + (0.25 - tri) * (2 * period / pixel), 0.0, 1.0)


def _pattern_mask(paint, u, v, pixel):
    """How much of the accent colour each pixel shows, in [0, 1]; `u`, `v` in body units."""
    period = paint.period
    if paint.pattern == "gradient":
        return np.clip(u * (1.0 / paint.span), 0.0, 1.0) + 0.0 * v
    if paint.pattern == "stripes":
        mask = _stripes(u if paint.across else v, period, pixel)
    elif paint.pattern == "checks":
        mask = np.abs(_stripes(u, period, pixel) - _stripes(v, period, pixel))
    else:  # dots on a staggered lattice
        row = np.floor(v * (1.0 / period))
        du = np.mod(u * (1.0 / period) + 0.5 * row, 1.0) - 0.5
        dv = v * (1.0 / period) - row - 0.5
        dist = np.sqrt(du * du + dv * dv) * period
        mask = np.clip(0.5 + (0.28 * period - dist) / pixel, 0.0, 1.0)
    # Patterns finer than a few pixels fade to their mean colour instead of aliasing.
    fade = min(1.0, max(0.0, (period / pixel - 2.5) / 2.5))
    return mask if fade == 1.0 else 0.5 + (mask - 0.5) * fade


class Canvas:
    """An RGB float canvas and a label map that anti-aliased capsules are painted onto."""

    def __init__(self, height, width, background, unit):
        self.height, self.width, self.unit = height, width, unit  # unit: pixels per body height
        shade = np.linspace(1.0, 0.9, height, dtype=np.float32)[:, None, None]
        self.image = np.broadcast_to(np.asarray(background, np.float32) * shade, (height, width, 3)).copy()
        self.labels = np.zeros((height, width), np.uint8)

    def capsule(
        self, a, b, r0, r1, paint, label, round_a=True, round_b=True, clip=None, shade=0.3, opacity=1.0, u0=0.0
    ):
        """Paints the tapered capsule from `a` (radius r0) to `b` (r1); points in pixels, radii in body units.

        `clip` is `(normal, offset)`: keep pixels p with `p . normal >= offset` (pixels).
        Flat ends (`round_a` / `round_b` False) cut the capsule square at its end points.
        The pattern's coordinates are `(u0 + distance along the axis, distance across it)`, in
        body units: `u0` continues a pattern from the previous part of a chain (upper arm, forearm).
        """
        r0, r1 = r0 * self.unit, r1 * self.unit
        reach = max(r0, r1) + 1.5
        x0 = max(int(math.floor(min(a[0], b[0]) - reach)), 0)
        x1 = min(int(math.ceil(max(a[0], b[0]) + reach)) + 1, self.width)
        y0 = max(int(math.floor(min(a[1], b[1]) - reach)), 0)
        y1 = min(int(math.ceil(max(a[1], b[1]) + reach)) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        px = np.arange(x0 - a[0], x1 - a[0], dtype=np.float32)[None, :]
        py = np.arange(y0 - a[1], y1 - a[1], dtype=np.float32)[:, None]
        dx, dy = float(b[0] - a[0]), float(b[1] - a[1])
        length = math.hypot(dx, dy)
        if length < 1e-3:
            dx, dy, length = 0.0, 1e-3, 1e-3
        ex, ey = dx / length, dy / length
        along = px * ex + py * ey  # pixels from a along the axis
        across = py * ex - px * ey
        t = np.clip(along * (1.0 / length), 0.0, 1.0)
        radius = r0 + (r1 - r0) * t
        qa = along - t * length
        dist = np.sqrt(qa * qa + across * across) - radius
        if not round_a:
            dist = np.maximum(dist, -along)
        if not round_b:
            dist = np.maximum(dist, along - length)
        if clip is not None:
            (nx, ny), offset = clip
            dist = np.maximum(dist, offset - (px + a[0]) * nx - (py + a[1]) * ny)
        alpha = np.clip(0.5 - dist, 0.0, 1.0)
        if opacity != 1.0:
            alpha *= opacity
        elif label is not None:
            self.labels[y0:y1, x0:x1][alpha >= 0.5] = label
        if paint.pattern == "solid":
            color = paint.base
        else:
            inv = 1.0 / self.unit
            mask = _pattern_mask(paint, along * inv + u0, across * inv, inv)
            color = paint.base + mask[..., None] * (paint.accent - paint.base)
        if shade:
            rel = across / np.maximum(radius, 0.5)
            color = color * (1.0 - shade * np.minimum(rel * rel, 1.0))[..., None]
        region = self.image[y0:y1, x0:x1]
        region += alpha[..., None] * (color - region)
