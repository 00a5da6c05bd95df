"""The released training augmentation: a random up-scaling (PIL bicubic) and a crop back to the image size.

As the released `data/fashion_base_function.py` draws and applies it, image by image (source
and target independently); `keras_nted.data.keypoints.to_pixels` moves the keypoints the same way.
"""

from PIL import Image


def sample_augmentation(rng, image_size, scale_param=0.1):
    """Draws the training augmentation of one image (the released `data/fashion_base_function.py`).

    `s = U[0, 1) * scale_param`, the scaled size is `int(size * (1 + s))` and the crop offsets
    are uniform integers in `[0, scaled - size]`, both ends included.

    Args:
        rng: a `numpy.random.Generator`.
        image_size: `(height, width)` of the image.
        scale_param: the largest relative up-scaling (0 gives no augmentation).

    Returns:
        `(scaled_height, scaled_width, crop_x, crop_y)` for `augment_image` and
        `render_skeleton`.
    """
    height, width = image_size
    s = rng.random() * scale_param
    scaled_width, scaled_height = int(width * (1 + s)), int(height * (1 + s))
    crop_x = int(rng.integers(0, scaled_width - width + 1))
    crop_y = int(rng.integers(0, scaled_height - height + 1))
    return scaled_height, scaled_width, crop_x, crop_y


def augment_image(image, augmentation):
    """Resizes a PIL image to the scaled size (bicubic) and crops it back at the crop offsets.

    Args:
        image: a `PIL.Image.Image` of size `(width, height)`.
        augmentation: `(scaled_height, scaled_width, crop_x, crop_y)`.

    Returns:
        The augmented PIL image, of the input's size.
    """
    width, height = image.size
    scaled_height, scaled_width, crop_x, crop_y = augmentation
    if (scaled_width, scaled_height) != image.size:
        image = image.resize((scaled_width, scaled_height), Image.BICUBIC)
    if (crop_x, crop_y) != (0, 0) or image.size != (width, height):
        image = image.crop((crop_x, crop_y, crop_x + width, crop_y + height))
    return image
