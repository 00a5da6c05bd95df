"""Square, rotated regions of an image, and the network inputs cut from them.

Both BlazePose networks look at a square region of the photo resampled to their input size:
the detector at the whole image, letterboxed; the landmark network at a region turned so that
the person stands upright. A `Region` is that square in pixel units; a point of the network's
input is given in *region coordinates* `(u, v)`, `(0, 0)` at the region's top-left corner and
`(1, 1)` at its bottom-right, and `Region.to_image` maps such points back to pixels.

Pixel convention (the reference pipeline's, kept for parity): the region's corners map onto
the corners of the input tensor, so tensor pixel `j` samples region coordinate `j / size`.
"""

import dataclasses
import math

import cv2
import numpy as np

_BORDERS = {"zeros": cv2.BORDER_CONSTANT, "edge": cv2.BORDER_REPLICATE}


@dataclasses.dataclass(frozen=True)
class Region:
    """A square of an image, possibly turned.

    Attributes:
        center: `(x, y)` in pixels.
        size: the side in pixels.
        angle: radians, clockwise on the screen (the image's y axis points down). The
            region's "up" is the image's up turned by `angle`.
    """

    center: tuple
    size: float
    angle: float = 0.0

    def _rotation(self):
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.array([[c, -s], [s, c]])

    def to_image(self, points):
        """`(..., 2)` region coordinates `(u, v)` -> image pixels `(x, y)`."""
        points = np.asarray(points, "float64")
        offsets = (points - 0.5) * self.size
        return offsets @ self._rotation().T + np.asarray(self.center, "float64")

    def crop(self, image, output_size, value_range, outside="zeros"):
        """The region resampled to `(output_size, output_size)`, bilinear.

        Args:
            image: `(height, width, 3)` uint8.
            output_size: the network's input side.
            value_range: `(low, high)` that pixel values 0 and 255 map to.
            outside: what fills the parts outside the image: `"zeros"` (black, as the
                detector's letterbox) or `"edge"` (the nearest edge pixel, as the landmark
                network's input).

        Returns:
            `(1, output_size, output_size, 3)` float32.
        """
        rotation = self._rotation() * (self.size / output_size)
        origin = np.asarray(self.center, "float64") - self._rotation() @ np.array([self.size / 2, self.size / 2])
        matrix = np.concatenate([rotation, origin[:, None]], axis=1)  # output pixel -> image pixel
        patch = cv2.warpAffine(
            image, matrix, (output_size, output_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=_BORDERS[outside], borderValue=0,
        )  # fmt: skip
        low, high = value_range
        return (patch.astype("float32") * np.float32((high - low) / 255.0) + np.float32(low))[None]


def letterbox_region(image_size):
    """The square around a whole image of `(height, width)`, its long side (the detector's view)."""
    height, width = image_size
    return Region(center=(width / 2, height / 2), size=float(max(height, width)))
