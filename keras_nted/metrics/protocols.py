"""The pose-transfer papers' evaluation protocols: which pixels each metric sees.

The field computes the same metrics (`ssim`, `ssim_256`, `psnr`, LPIPS, FID) on differently
prepared images, and the differences move the numbers more than most method changes. A
`Protocol` holds one paper's preparation, read from its public evaluation code (GFLA
`script/metrics.py`, DPTN `metrics/metrics.py`, PIDM `utils/metrics.py`, CFLD
`models/metrics.py` + `pose_transfer_test.py` + `datasets/deepfashion.py`):

| | `gfla` | `dptn` | `pidm` | `cfld` (default) |
|---|---|---|---|---|
| images its code ran on | 256x256 (stretched) | 256x176 | 256x256 | 256x176 (bicubic) |
| SSIM / PSNR on | the files | white-padded (1) | the files | GT's size (2) |
| `ssim_256` sigma | 1.5 | 1.5 | 1.2 | 1.5 |
| LPIPS on | the files | the files | resized (3) | as SSIM |
| FID on | the files | the files | resized (3) | as SSIM (4) |
| left out (5) | LPIPS, FID | FID | LPIPS, FID | nothing |

(1) padded with 255 to a square: 40 px left and right at 256x176 (DPTN's `pad_256`).
(2) a generated image of another size is resized to the ground truth's (bicubic with
antialias) and truncated to uint8, as `pose_transfer_test.py` does.
(3) `cv2.resize(image.astype(float32), (176, 256))`: bilinear, no antialias, not re-quantised.
(4) real images of another size are resized to the generated images' (PIL bicubic, uint8), as
CFLD loads its high-res training set.
(5) the last `N % 64` images of each set (pairs for LPIPS): the scripts score whole batches of 64
(`n_batches = N // 64`; a set smaller than 64 is one batch). DPTN's LPIPS runs in batches of 1.

Common to all: files are read as 8-bit RGB and divided by 255 (GFLA, DPTN and PIDM read with
imageio, CFLD with PIL: the same pixels for PNG and JPEG); `ssim` is the win-51 SSIM with
`data_range=1`, `ssim_256` the Gaussian SSIM on the 0-255 scale with the generated image's range
as `data_range`, `psnr` uses `data_range=1`; FID's real set is the training set. The drop comes
from the scripts' batching (`n_batches = N // 64`; a set smaller than 64 is one batch, nothing
dropped); which images go is the scripts' file order, here the sorted order.
"""

import dataclasses

import cv2
import numpy as np
from PIL import Image

# The batch size whose remainder GFLA / DPTN / PIDM leave out (`n_batches = N // 64`).
FIELD_BATCH_SIZE = 64
# PIDM's `cv2.resize(..., (176, 256))` before LPIPS and FID, as (height, width).
PIDM_RESIZE = (256, 176)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """One paper's image preparation for the metrics (see the module's table).

    Attributes:
        name: `"gfla"`, `"dptn"`, `"pidm"` or `"cfld"`.
        image_size: `(height, width)` of the images the paper's code was run on (documentation
            and the summary: other sizes are scored the same way).
        ssim_256_sigma: the Gaussian window's sigma of `ssim_256`.
        pad_to_square: SSIM / PSNR on images padded with white to a square (DPTN).
        resize: `(height, width)` LPIPS and FID images are resized to with `cv2.resize` (PIDM).
        match_ground_truth: generated images of another size are resized to the ground truth's
            (CFLD); otherwise sizes must agree.
        drop_lpips: LPIPS leaves out the last `N % 64` pairs.
        drop_fid: FID leaves out the last `N % 64` images of each set.
    """

    name: str
    image_size: tuple
    ssim_256_sigma: float = 1.5
    pad_to_square: bool = False
    resize: tuple = None
    match_ground_truth: bool = False
    drop_lpips: bool = False
    drop_fid: bool = False

    def kept(self, count, metric):
        """How many of `count` images (or pairs) `metric` (`"lpips"` or `"fid"`) scores."""
        drop = {"lpips": self.drop_lpips, "fid": self.drop_fid}[metric]
        return field_batched_count(count) if drop else count

    def match_pair(self, ground_truth, generated):
        """The generated image at the ground truth's size (CFLD), or the pair's size checked.

        Args:
            ground_truth, generated: uint8 `(height, width, 3)` images as read.

        Returns:
            The generated image, uint8, at the ground truth's size.

        Raises:
            ValueError: for differently sized images where the protocol does not resize.
        """
        if generated.shape == ground_truth.shape:
            return generated
        if not self.match_ground_truth:
            raise ValueError(
                f"Expected a generated image of its ground truth's size under protocol {self.name!r}. "
                f"Received: {generated.shape[0]}x{generated.shape[1]} and {ground_truth.shape[0]}x"
                f"{ground_truth.shape[1]} (the cfld protocol resizes generated images)"
            )
        resized = resize_bicubic_antialias(generated.astype("float32") / 255.0, ground_truth.shape[:2])
        # CFLD: `(x * 255).clamp(0, 255).to(torch.uint8)`: truncated, not rounded.
        return np.clip(resized * 255.0, 0.0, 255.0).astype("uint8")

    def pixel_image(self, image):
        """A uint8 image as SSIM and PSNR see it: float32 in [0, 1] (padded for DPTN)."""
        if self.pad_to_square:
            image = pad_white_to_square(image)
        return image.astype("float32") / 255.0

    def network_image(self, image, size=None):
        """A uint8 image as LPIPS and FID see it: float32 in [0, 1].

        Args:
            image: uint8 `(height, width, 3)`.
            size: for FID's real images under `cfld`: the generated images' `(height, width)`,
                which a real image of another size is resized to (PIL bicubic, uint8, as CFLD
                loads its high-res training set).
        """
        if self.resize is not None:
            height, width = self.resize
            return cv2.resize(image.astype("float32"), (width, height), interpolation=cv2.INTER_LINEAR) / 255.0
        if size is not None and self.match_ground_truth and tuple(image.shape[:2]) != tuple(size):
            image = np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BICUBIC))
        return image.astype("float32") / 255.0


PROTOCOLS = {
    "gfla": Protocol("gfla", (256, 256), drop_lpips=True, drop_fid=True),
    "dptn": Protocol("dptn", (256, 176), pad_to_square=True, drop_fid=True),
    "pidm": Protocol("pidm", (256, 256), ssim_256_sigma=1.2, resize=PIDM_RESIZE, drop_lpips=True, drop_fid=True),
    "cfld": Protocol("cfld", (256, 176), match_ground_truth=True),
}


def get_protocol(name):
    """The `Protocol` named `name` (one of `PROTOCOLS`).

    Example:

    >>> get_protocol("pidm").ssim_256_sigma
    1.2
    """
    if isinstance(name, Protocol):
        return name
    if name not in PROTOCOLS:
        raise ValueError(f"Expected a protocol in {sorted(PROTOCOLS)}. Received: protocol={name!r}")
    return PROTOCOLS[name]


def field_batched_count(count, batch_size=FIELD_BATCH_SIZE):
    """How many of `count` images the field's scripts score: whole batches of 64 only.

    The scripts lower the batch size to `count` when it is larger, so a set of fewer than 64
    images is scored whole.

    Example:

    >>> field_batched_count(8570), field_batched_count(130), field_batched_count(20)
    (8512, 128, 20)
    """
    if count < batch_size:
        return count
    return (count // batch_size) * batch_size


def pad_white_to_square(image):
    """DPTN's `pad_256`: a `(height, width, 3)` image centred on white, `height` pixels wide.

    At 256x176 that is 40 columns of 255 on each side, as DPTN's
    `result[:, 40:216, :] = img` on a 256x256 white canvas.

    Example:

    >>> pad_white_to_square(np.zeros((4, 2, 3), "uint8"))[0, :, 0].tolist()
    [255, 0, 0, 255]
    """
    height, width = image.shape[:2]
    if width > height or (height - width) % 2:
        raise ValueError(
            "Expected an image narrower than tall by an even number of pixels to pad to a square (the dptn "
            f"protocol: 256x176). Received: {height}x{width}"
        )
    side = (height - width) // 2
    return np.pad(image, ((0, 0), (side, side), (0, 0)), constant_values=255)


def resize_bicubic_antialias(image, size):
    """Bicubic resize with antialiasing of a float `(height, width, channels)` image to `size`.

    As torch's `F.interpolate(mode="bicubic", antialias=True)` (which follows PIL's separable
    filter: a = -0.5, the support widened by the scale when shrinking, weights renormalised at
    the borders): computed by PIL in float mode, one channel at a time (within 5e-6 of torch on
    [0, 1] images).

    Args:
        image: float `(height, width, channels)`.
        size: `(height, width)` of the result.

    Returns:
        float32 `(size[0], size[1], channels)`.
    """
    height, width = size
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[..., c], dtype="float32")).resize((width, height), Image.BICUBIC)
        )
        for c in range(image.shape[-1])
    ]
    return np.stack(channels, axis=-1).astype("float32")
