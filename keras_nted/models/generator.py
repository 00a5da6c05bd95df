"""The NTED generator (reference encoder, skeleton encoder, target image renderer)."""

import math
import pathlib

import keras
import numpy as np

from keras_nted.files import atomic_path
from keras_nted.layers.equalized import EqualizedConv2D
from keras_nted.layers.equalized import EqualizedConv2DTranspose
from keras_nted.layers.equalized import FusedLeakyReLU
from keras_nted.layers.merge import ScaledAdd
from keras_nted.layers.nted import NTEDDistribution
from keras_nted.layers.nted import NTEDExtraction
from keras_nted.layers.resample import Blur
from keras_nted.layers.resample import Upsample
from keras_nted.models.base import KERAS_MODEL_ARGS
from keras_nted.models.base import PresetNetwork
from keras_nted.models.base import default_width
from keras_nted.models.base import log2_size
from keras_nted.models.presets import MAX_CHANNELS
from keras_nted.models.presets import MAX_MATCH_KERNEL
from keras_nted.models.presets import MAX_NUM_LABELS
from keras_nted.models.presets import MAX_SEMANTIC_DIM
from keras_nted.models.presets import MAX_SIZE
from keras_nted.models.presets import bounded_int
from keras_nted.models.presets import bounded_int_keys
from keras_nted.utils.validation import check_keywords
from keras_nted.utils.validation import check_same_batch

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
OUTPUT_KEYS = ("image", "neural_textures", "extraction_softmax", "distribution_logits")


def _has_nted(num_labels, match_kernels, resolution):
    return bool(num_labels.get(resolution)) and bool(match_kernels.get(resolution))


def check_image_size(size, height, width, num_levels, name="image"):
    factor = 2**num_levels
    if height != size:
        raise ValueError(f"Expected {name} height {size} (the configuration's `size`). Received: height={height}")
    if width is None or width <= 0 or width % factor:
        raise ValueError(
            f"Expected an {name} width divisible by {factor} (2**{num_levels} down-sampling steps). "
            f"Received: width={width}"
        )


def _encoder(x, prefix, size, channels, num_labels=None, match_kernels=None, dtype=None):
    """Released `Encoder`: returns the last activation and the recorded (textures, softmax)."""
    textures, softmaxes = [], []
    log_size = log2_size(size)
    x = EqualizedConv2D(channels[size], 1, use_bias=False, dtype=dtype, name=f"{prefix}-first-conv")(x)
    x = FusedLeakyReLU(dtype=dtype, name=f"{prefix}-first-activate")(x)
    for index, i in enumerate(range(log_size - 1, 3, -1)):
        res = 2**i
        name = f"{prefix}-convs-{index}"
        x = Blur(pad=(2, 2), dtype=dtype, name=f"{name}-blur")(x)
        x = EqualizedConv2D(
            channels[res], 3, strides=2, padding="valid", use_bias=False, dtype=dtype, name=f"{name}-conv"
        )(x)
        x = FusedLeakyReLU(dtype=dtype, name=f"{name}-activate")(x)
        if num_labels is not None and _has_nted(num_labels, match_kernels, res):
            for op in (0, 1):
                texture, softmax = NTEDExtraction(
                    num_labels[res], match_kernels[res], dtype=dtype, name=f"{name}-extraction_operations-{op}"
                )(x)
                # The release prepends: coarsest level first, op 1 before op 0.
                textures.insert(0, texture)
                softmaxes.insert(0, softmax)
    return x, textures, softmaxes


def _renderer_layer(x, name, filters, upsample, texture, num_labels, match_kernel, dtype):
    if upsample:
        x = EqualizedConv2DTranspose(filters, 3, strides=2, dtype=dtype, name=f"{name}-conv")(x)
        x = Blur(pad=(1, 1), gain=4.0, dtype=dtype, name=f"{name}-blur")(x)
    else:
        x = EqualizedConv2D(filters, 3, padding="same", use_bias=False, dtype=dtype, name=f"{name}-conv")(x)
    logits = None
    if texture is not None:
        distributed, logits = NTEDDistribution(
            num_labels, match_kernel, dtype=dtype, name=f"{name}-distribution_operation"
        )(x, texture)
        x = ScaledAdd(_INV_SQRT2, dtype=dtype, name=f"{name}-residual")([x, distributed])
    x = FusedLeakyReLU(dtype=dtype, name=f"{name}-activate")(x)
    return x, logits


def _target_image_renderer(x, textures, size, channels, num_labels, match_kernels, dtype):
    """The paper's target image renderer (released `Decoder`): distributes the textures over the skeleton features."""
    prefix = "target_image_renderer"
    skip = None
    logits_list = []
    counter = 0
    for level, i in enumerate(range(4, log2_size(size) + 1)):
        res = 2**i
        name = f"{prefix}-convs-{level}"
        upsample = i != 4
        nted = _has_nted(num_labels, match_kernels, res)
        k, m = (num_labels[res], match_kernels[res]) if nted else (None, None)
        tex0 = textures[counter] if nted else None
        tex1 = textures[counter + 1] if nted else None
        x, logits0 = _renderer_layer(x, f"{name}-conv0", channels[res], upsample, tex0, k, m, dtype)
        x, logits1 = _renderer_layer(x, f"{name}-conv1", channels[res], False, tex1, k, m, dtype)
        if nted:
            counter += 2
            logits_list += [logits0, logits1]
        rgb = EqualizedConv2D(3, 3, padding="same", use_bias=True, dtype=dtype, name=f"{name}-to_rgb-conv")(x)
        if skip is not None:
            skip = Upsample(2, dtype=dtype, name=f"{name}-to_rgb-upsample")(skip)
            rgb = ScaledAdd(1.0, dtype=dtype, name=f"{name}-to_rgb-skip")([rgb, skip])
        skip = rgb
    if counter != len(textures):
        raise ValueError(
            f"The target image renderer consumed {counter} neural textures but the encoder extracted {len(textures)}: "
            "num_labels / match_kernels must enable NTED at the same resolutions."
        )
    return skip, logits_list


@keras.saving.register_keras_serializable(package="keras_nted")
class NTEDGenerator(PresetNetwork, keras.Model):
    """The NTED generator, architecture-identical to the released PyTorch `Generator`.

    A reference encoder extracts neural textures at every NTED level (two extraction
    operations per level), a skeleton encoder turns the 20-channel pose map into a
    `16 x (width / 16)` feature map, and the target image renderer distributes the textures
    over it level by level (paper Fig. 3; the released `Generator`). Layer names are the released module
    paths with `-` for `.` (`reference_encoder-convs-0-extraction_operations-1`; the torch
    backend forbids dots in names), so released checkpoints map one to one
    (`keras_nted.convert`).

    Args:
        size: image height and the released `size` (a power of two); sets the number of
            levels.
        channels: `{resolution: channels}`.
        num_labels: `{resolution: k or False}` (number of neural textures per level).
        match_kernels: `{resolution: m or False}` (kernel size of the NTED filters).
        semantic_dim: skeleton channels (20: 3 colour + 17 limb distance maps).
        image_width: input width (default `size * 11 / 16`, the DeepFashion aspect); must be
            divisible by `2 ** (log2(size) - 4)`.

    Call arguments:
        inputs: `[reference_image, skeleton]`: `(batch, size, width, 3)` in [-1, 1] and
            `(batch, size, width, semantic_dim)` in [0, 1].

    Returns:
        A dict: `image` `(batch, size, width, 3)` (unbounded, no tanh, as released) and the
        lists `neural_textures` `(batch, k, c)`, `extraction_softmax` `(batch, h, w, k)` and
        `distribution_logits` `(batch, h, w, k)`, coarsest level first, index `i` of every list
        belonging to the same NTED pair (as the released recorder lists: extraction op 1 before op 0).

    Raises:
        ValueError: for a configuration that does not fit together, or inputs whose shape
            does not match the configuration.

    Example:
    >>> generator = NTEDGenerator.from_preset("nted_tiny")
    >>> out = generator([np.zeros((1, 64, 44, 3)), np.zeros((1, 64, 44, 20))])
    >>> out["image"].shape
    (1, 64, 44, 3)

    Reference:
        Ren et al., CVPR 2022, Sec. 3.2 and Fig. 3.
    """

    preset_section = "generator"
    config_args = ("size", "channels", "num_labels", "match_kernels", "semantic_dim", "image_width")

    def __init__(self, size, channels, num_labels, match_kernels, semantic_dim=20, image_width=None, **kwargs):
        check_keywords(type(self).__name__, kwargs, (*self.config_args, *KERAS_MODEL_ARGS))
        # Bounded before anything is allocated (a .keras file's config is input too).
        channels = bounded_int_keys(channels, "channels", 1, MAX_CHANNELS)
        num_labels = bounded_int_keys(num_labels, "num_labels", 1, MAX_NUM_LABELS, allow_false=True)
        match_kernels = bounded_int_keys(match_kernels, "match_kernels", 1, MAX_MATCH_KERNEL, allow_false=True)
        semantic_dim = bounded_int(semantic_dim, "semantic_dim", 1, MAX_SEMANTIC_DIM)
        bounded_int(size, "size", 32, MAX_SIZE)
        if image_width is not None:
            bounded_int(image_width, "image_width", 1, 4 * size)
        log_size = log2_size(size)
        num_levels = log_size - 4
        missing = [2**i for i in range(4, log_size + 1) if 2**i not in channels]
        if missing:
            raise ValueError(f"Expected `channels` to define resolutions {missing}. Received: channels={channels}")
        width = default_width(size) if image_width is None else image_width
        check_image_size(size, size, width, num_levels)
        dtype = kwargs.pop("dtype", None)

        reference = keras.Input((size, width, 3), name="reference_image")
        skeleton = keras.Input((size, width, semantic_dim), name="skeleton")
        _, textures, softmaxes = _encoder(
            reference, "reference_encoder", size, channels, num_labels, match_kernels, dtype
        )
        skeleton_features, _, _ = _encoder(skeleton, "skeleton_encoder", size, channels, dtype=dtype)
        image, logits = _target_image_renderer(
            skeleton_features, textures, size, channels, num_labels, match_kernels, dtype
        )
        outputs = {
            "image": image,
            "neural_textures": textures,
            "extraction_softmax": softmaxes,
            "distribution_logits": logits,
        }
        super().__init__(inputs=[reference, skeleton], outputs=outputs, dtype=dtype, **kwargs)
        if dtype is not None:  # a functional model does not keep it: get_config / clone would lose it
            self.dtype_policy = dtype
        self.size = size
        self.channels = channels
        self.num_labels = num_labels
        self.match_kernels = match_kernels
        self.semantic_dim = semantic_dim
        self.image_width = width
        self.num_levels = num_levels

    @property
    def image_size(self):
        """`(height, width)` of the images this model takes."""
        return (self.size, self.image_width)

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "Expected inputs `[reference_image, skeleton]`. "
                f"Received: {type(inputs).__name__} of length {len(inputs) if hasattr(inputs, '__len__') else '?'}"
            )
        for name, x, channels in (("reference_image", inputs[0], 3), ("skeleton", inputs[1], self.semantic_dim)):
            shape = tuple(x.shape)
            if len(shape) != 4 or shape[-1] != channels:
                raise ValueError(
                    f"Expected `{name}` of shape (batch, {self.size}, {self.image_width}, {channels}). "
                    f"Received: {name}.shape={shape}"
                )
            check_image_size(self.size, shape[1], shape[2], self.num_levels, name)
            if shape[2] != self.image_width:
                raise ValueError(
                    f"This generator was built for width {self.image_width}; build one with "
                    f"`image_width={shape[2]}` (weights are width-independent). Received: {name}.shape={shape}"
                )
        check_same_batch(("reference_image", "skeleton"), (tuple(inputs[0].shape), tuple(inputs[1].shape)))

    def __call__(self, inputs, *args, **kwargs):
        # Before Keras' own input-spec check, so the message names what NTED expects.
        self._check_inputs(inputs)
        return super().__call__(inputs, *args, **kwargs)


def load_generator(path):
    """Load an `NTEDGenerator` saved as `.keras` (`safe_mode=True`), with one-line errors.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if it is not a readable `.keras` file holding an `NTEDGenerator`.
    """
    import os
    import warnings

    path = str(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file not found: {path}")
    if not path.endswith(".keras"):
        raise ValueError(f"Expected a .keras model file. Received: {path}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = keras.saving.load_model(path, safe_mode=True)
        except Exception as e:  # zip, JSON or h5 errors of a corrupt file all mean the same to a user
            # Keras' own message can run to pages (every weight array that did not fit, after a
            # warning per layer): one line of it says enough, and the warnings are dropped.
            message = " ".join(str(e).split())
            if message.startswith("A total of") and "could not be loaded" in message:
                message = message.split(". Example", 1)[0] + ": its weights do not fit its configuration"
            message = message if len(message) <= 300 else message[:300] + " ..."
            raise ValueError(f"Could not load {path} (corrupt, not a Keras model, or another architecture): "
                             f"{type(e).__name__}: {message}") from None  # fmt: skip
    for warning in caught:  # a successful load: pass them on
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not isinstance(model, NTEDGenerator):
        raise ValueError(f"Expected {path} to hold an NTEDGenerator. Received: {type(model).__name__}")
    for weight in model.weights:  # NaN weights would make black images and meaningless scores
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(weight))):
            raise ValueError(f"Expected finite weights in {path}. Received NaN or infinite values in {weight.path}")
    return model


def save_generator(generator, path):
    """Save a generator as `.keras` atomically (never half-written)."""
    path = pathlib.Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Expected a model path ending in .keras. Received: {path}")
    size = (
        path.stat().st_size if path.is_file() else 4 * generator.count_params() + 2**20
    )  # the last one's, or an estimate
    with atomic_path(path, size=size) as tmp:
        generator.save(tmp)
    return path
