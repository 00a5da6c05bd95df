"""Reading image files: the one place keras-nted opens and decodes an image.

Every reader (reference images, masks, DeepFashion images in files or the LMDB, the
originals `prepare-deepfashion` resizes) goes through `open_image` and `decode_image`, so
every bad file gives the same one-line `ValueError` naming it:

* not an image PIL reads, or larger than `MAX_IMAGE_PIXELS` (PIL's own limit, a
  "decompression bomb": a tiny file that decodes to gigabytes) -> error when opened;
* truncated or corrupt pixel data -> error when decoded (`decode_image` decodes fully, so a
  caller that decodes every input before writing anything never writes half its outputs);
* 16-bit greyscale (`I;16`, `I`, as 16-bit PNGs open) is scaled to 8 bits (`round(v / 257)`),
  not clipped (PIL's `convert("RGB")` clips it, which turns most of an image white);
  floating-point images (`F`) have no agreed range and are an error.
"""

import os
import warnings

import numpy as np
from PIL import Image

# PIL's default decompression-bomb limit (it only warns between 1x and 2x of it): an error here.
MAX_IMAGE_PIXELS = 89_478_485
# Integer greyscale modes holding more than 8 bits, scaled to 8 bits by `decode_image`.
_WIDE_GREYSCALE = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def open_image(source, name="image"):
    """Opens an image (header only) with one-line errors.

    Args:
        source: a file path, or a binary file object (e.g. `io.BytesIO` of PNG bytes).
        name: how errors name the image, e.g. `"--person image x.png"`.

    Returns:
        An open `PIL.Image.Image`, pixels not yet decoded (use it as a context manager).

    Raises:
        FileNotFoundError: for a path that does not exist.
        ValueError: naming `name`, for a file that is not an image PIL reads, or one of more
            than `MAX_IMAGE_PIXELS` pixels.
    """
    if isinstance(source, (str, os.PathLike)) and not os.path.isfile(source):
        raise FileNotFoundError(f"Image file not found: {os.fspath(source)} ({name})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValueError(f"Could not read {name}: too many pixels, a decompression bomb? ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:  # PIL.UnidentifiedImageError is an OSError
        raise ValueError(f"Could not read {name}: {e}") from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS or width < 1 or height < 1:
        image.close()
        raise ValueError(
            f"Expected {name} of 1 to {MAX_IMAGE_PIXELS:,} pixels. Received: {width}x{height} (WxH) pixels."
        )
    return image


def decode_image(image, name="image", mode="RGB"):
    """Decodes all of an opened image and converts it to `mode` (16-bit greyscale scaled to 8 bits).

    Args:
        image: a `PIL.Image.Image`, e.g. from `open_image`.
        name: how errors name the image.
        mode: the PIL mode to return: `"RGB"` or `"L"`.

    Returns:
        A decoded `PIL.Image.Image` in `mode`.

    Raises:
        ValueError: naming `name`, for truncated or corrupt pixel data or a floating-point image.
    """
    try:
        image.load()
        if image.mode in _WIDE_GREYSCALE:
            values = np.asarray(image, dtype="float64")
            if values.size and (values.min() < 0 or values.max() > 65535):
                raise ValueError(f"greyscale values outside 0..65535 (mode {image.mode})")
            image = Image.fromarray(np.rint(values / 257.0).astype("uint8"), mode="L")
        elif image.mode == "F":
            raise ValueError("floating-point pixels (mode F) have no agreed range; save it as an 8- or 16-bit image")
        return image.convert(mode)  # a copy even in the same mode: the caller may close `image`
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:  # truncated data: OSError
        raise ValueError(f"Could not decode {name}: {e}") from None


def read_image(source, name="image", mode="RGB"):
    """`open_image` + `decode_image`: a fully decoded image in `mode`, the file closed.

    Example:
    >>> import io; buffer = io.BytesIO()
    >>> Image.fromarray(np.full((2, 3), 65535, "uint16")).save(buffer, format="PNG")
    >>> np.asarray(read_image(buffer, mode="L")).tolist()
    [[255, 255, 255], [255, 255, 255]]
    """
    with open_image(source, name) as image:
        return decode_image(image, name, mode)
