"""The generator's three pieces, callable on their own: the handle appearance control needs."""

import keras
import numpy as np
from keras import ops

# The first renderer layer reads the skeleton encoder's output (the released generator's
# decoder takes the skeleton features at 16 x W/16).
_RENDERER_INPUT_LAYER = "target_image_renderer-convs-0-conv0-conv"


def as_batch(name, x, channels, image_size):
    """`(H, W, C)` or `(B, H, W, C)` array-like -> float32 `(B, H, W, C)`, checked."""
    if isinstance(x, np.ndarray) or not hasattr(x, "shape"):
        x = np.asarray(x, "float32")
    if len(x.shape) == 3:
        x = x[None]
    expected = (*image_size, channels)
    if len(x.shape) != 4 or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"Expected `{name}` of shape {expected} or (batch, {', '.join(map(str, expected))}). "
            f"Received: {name}.shape={tuple(x.shape)}"
        )
    return ops.cast(x, "float32")


class GeneratorParts:
    """An `NTEDGenerator` cut into its skeleton encoder, reference encoder and renderer.

    The generator is one functional model; appearance control needs its pieces separately:
    encode the target skeleton once, extract the neural textures of two reference images,
    and render the skeleton features with any textures (for example a blend of the two).
    The pieces are functional sub-models over the generator's own layers (no weights are
    copied), so `render(encode_skeleton(s), extract_textures(x))` is the generator's output
    for `[x, s]`.

    Textures come in the generator's order (the released `Generator`'s recorder lists):
    coarsest level first and, within a level, extraction operation 1 before 0; index `i` is the
    texture the renderer's `i`-th distribution operation reads, and `distribution_logits[i]`
    belongs to the same pair.

    Args:
        generator: an `NTEDGenerator` (for example loaded with
            `keras_nted.models.generator.load_generator`).

    Attributes:
        skeleton_encoder: `keras.Model`, skeleton `(batch, H, W, 20)` -> features
            `(batch, 16, W * 16 / H, C)`.
        reference_encoder: `keras.Model`, image `(batch, H, W, 3)` in [-1, 1] -> the list of
            neural textures `(batch, k_i, C_i)` (the paper's and the generator's reference
            encoder).
        renderer: `keras.Model`, `[features, *textures]` -> `{"image", "distribution_logits"}`.
        num_labels: `k_i` of every NTED index, in texture order.
        image_size: `(H, W)`.

    Example:
    >>> generator = keras_nted.models.NTEDGenerator.from_preset("nted_tiny")
    >>> parts = GeneratorParts(generator)
    >>> features = parts.encode_skeleton(np.zeros((1, 64, 44, 20)))
    >>> textures = parts.extract_textures(np.zeros((1, 64, 44, 3)))
    >>> tuple(parts.render(features, textures)["image"].shape)
    (1, 64, 44, 3)

    Reference:
        Ren et al., CVPR 2022, Fig. 3 (the three modules) and Sec. 4.
    """

    def __init__(self, generator):
        from keras_nted.models.generator import NTEDGenerator

        if not isinstance(generator, NTEDGenerator):
            raise ValueError(f"Expected an NTEDGenerator. Received: generator of type {type(generator).__name__}")
        outputs = generator.output
        reference, skeleton = generator.inputs
        features = generator.get_layer(_RENDERER_INPUT_LAYER).input
        textures = list(outputs["neural_textures"])
        self.generator = generator
        self.skeleton_encoder = keras.Model(skeleton, features, name="skeleton_encoder")
        self.reference_encoder = keras.Model(reference, textures, name="reference_encoder")
        self.renderer = keras.Model(
            [features] + textures,
            {"image": outputs["image"], "distribution_logits": list(outputs["distribution_logits"])},
            name="target_image_renderer",
        )
        self.num_labels = [int(t.shape[1]) for t in textures]
        self.image_size = tuple(generator.image_size)

    @property
    def num_textures(self):
        """The number of NTED indices (texture tensors): 8 for the 256 config, 10 for 512."""
        return len(self.num_labels)

    def encode_skeleton(self, skeleton):
        """Skeleton features of `(batch, H, W, 20)` (or `(H, W, 20)`) pose maps."""
        semantic_dim = self.generator.semantic_dim
        return self.skeleton_encoder(as_batch("skeleton", skeleton, semantic_dim, self.image_size))

    def extract_textures(self, image):
        """The neural textures of `(batch, H, W, 3)` (or `(H, W, 3)`) images in [-1, 1]."""
        return list(self.reference_encoder(as_batch("image", image, 3, self.image_size)))

    def render(self, skeleton_features, textures):
        """`{"image", "distribution_logits"}` of skeleton features dressed in `textures`."""
        textures = list(textures)
        if len(textures) != self.num_textures:
            raise ValueError(
                f"Expected {self.num_textures} neural textures (one per NTED index). Received: {len(textures)}"
            )
        for i, (texture, k) in enumerate(zip(textures, self.num_labels)):
            if len(texture.shape) != 3 or texture.shape[1] != k:
                raise ValueError(
                    f"Expected textures[{i}] of shape (batch, {k}, channels). Received: shape={tuple(texture.shape)}"
                )
        out = self.renderer([skeleton_features] + textures)
        return {"image": out["image"], "distribution_logits": list(out["distribution_logits"])}
