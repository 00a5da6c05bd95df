"""Attention reconstruction loss: rebuild the target's colors from the NTED attention maps."""

import keras
import numpy as np
from keras import ops


def nearest_indices(in_size, out_size):
    """Source indices of torch's default `F.interpolate(mode="nearest")` along one axis.

    `floor(i * in_size / out_size)` with the scale in float32 (torch's formula), clipped to
    `in_size - 1`; for an integer factor `s` this is `s * i`, the top-left of each block.
    """
    if out_size == in_size:
        return np.arange(out_size, dtype="int32")
    scale = np.float32(in_size) / np.float32(out_size)
    index = np.floor(np.arange(out_size, dtype="float32") * scale).astype("int32")
    return np.minimum(index, in_size - 1)


def resize_nearest(images, size, axes=(1, 2)):
    """Nearest-neighbour resize, as torch's default `F.interpolate` (pixel `(floor(y * H / h),
    floor(x * W / w))`): keras-nted's one nearest resize (images, attention panels, masks).

    Args:
        images: tensor or array with static sizes along `axes`; by default `(batch, H, W, C)`
            images. Any dtype (bool and integer masks too); values are copied, not mixed.
        size: `(h, w)` output size.
        axes: the two axes resized: `(1, 2)` for `(batch, H, W, C)`, `(-2, -1)` for `(H, W)`
            or `(batch, H, W)` masks.

    Returns:
        A tensor of the input's dtype, with `h` and `w` along `axes`.

    Example:
    >>> image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> ops.convert_to_numpy(resize_nearest(image, (2, 2)))[0, :, :, 0].tolist()
    [[0.0, 2.0], [8.0, 10.0]]
    """
    height, width = images.shape[axes[0]], images.shape[axes[1]]
    if height is None or width is None:
        raise ValueError(f"Expected static spatial sizes. Received: images.shape={images.shape}")
    images = ops.take(images, ops.convert_to_tensor(nearest_indices(height, size[0])), axis=axes[0])
    return ops.take(images, ops.convert_to_tensor(nearest_indices(width, size[1])), axis=axes[1])


def estimated_target(extraction_softmax, distribution_logits, reference_image):
    """The "estimated target" of one NTED operation: the reference's colors, re-spread by its attention.

    The reference is nearest-resized to the maps' `h x w`; the extraction softmax (over the
    positions) turns it into a `k x C` color table, `table[b, j] = sum_p softmax[b, p, j] *
    ref[b, p]`, and the distribution softmax (over the `k` textures) spreads the table over the
    target, `est[b, p] = sum_j softmax_j(logits[b, p]) * table[b, j]`. The attention
    reconstruction loss compares it with the (resized) ground truth; the attention pictures
    show it. Computed in float32.

    Args:
        extraction_softmax: `(batch, h, w, k)` extraction attention map.
        distribution_logits: `(batch, h, w, k)` distribution logits (before the softmax over `k`).
        reference_image: `(batch, H, W, C)` reference images.

    Returns:
        `(batch, h, w, C)` float32 tensor.

    Example:
    >>> softmax = np.full((1, 2, 2, 3), 1 / 4, "float32")
    >>> image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> ops.convert_to_numpy(estimated_target(softmax, np.zeros((1, 2, 2, 3)), image))[0, :, :, 0].tolist()
    [[5.0, 5.0], [5.0, 5.0]]

    Reference:
        Ren et al., CVPR 2022, Eq. 8; released `loss/attn_recon.py` and
        `util/visualization/linear_attention.py`.
    """
    _, h, w, k = distribution_logits.shape
    reference = ops.cast(reference_image, "float32")
    channels = reference.shape[-1]
    ref = ops.reshape(resize_nearest(reference, (h, w)), (-1, h * w, channels))
    extraction = ops.reshape(ops.cast(extraction_softmax, "float32"), (-1, h * w, k))
    distribution = ops.softmax(ops.reshape(ops.cast(distribution_logits, "float32"), (-1, h * w, k)), axis=-1)
    table = ops.matmul(ops.transpose(extraction, (0, 2, 1)), ref)  # (batch, k, C)
    estimate = ops.matmul(distribution, table)  # (batch, h*w, C)
    return ops.reshape(estimate, (-1, h, w, channels))


def _normalize_level_weights(level_weights):
    if level_weights is None:
        return None
    try:
        return {int(height): float(weight) for height, weight in dict(level_weights).items()}
    except (TypeError, ValueError) as e:
        raise ValueError(
            "Expected a mapping from level height to weight, e.g. {16: 1.0, 32: 1.0}. "
            f"Received: level_weights={level_weights!r}"
        ) from e


def attention_reconstruction_loss(
    extraction_softmax, distribution_logits, reference_image, target_image, level_weights=None
):
    """Attention reconstruction loss of the released NTED trainer (its `loss/attn_recon.py`).

    For each NTED pair `i` (with attention maps of size `h x w` and `k` semantic labels),
    both images are resized to `h x w` with torch's default nearest mode (the top-left pixel
    of each block for integer factors) and held constant. The extraction softmax turns the
    reference into a color table, `table[b, j] = sum_p softmax[b, p, j] * ref[b, p]`, the
    distribution re-spreads it, `est[b, p] = sum_j softmax_j(logits[b, p]) * table[b, j]`
    (`estimated_target`), and `loss_i = mean|est - target|`. The result is `sum_i w_i loss_i / sum_i w_i`, with
    `w_i = level_weights[h_i]` (the release keys weights by the level height and uses 1
    everywhere, i.e. the plain mean over NTED ops: the default).

    Computed in float32 whatever the input dtypes.

    Args:
        extraction_softmax: list of `(batch, h_i, w_i, k_i)` extraction attention maps,
            softmax over the `h_i * w_i` positions (the generator's `extraction_softmax`).
        distribution_logits: list of `(batch, h_i, w_i, k_i)` distribution logits, before
            the softmax over `k_i` (the generator's `distribution_logits`), paired by index.
        reference_image: `(batch, H, W, 3)` reference (source) images in `[-1, 1]`.
        target_image: `(batch, H, W, 3)` ground-truth target images.
        level_weights: optional mapping from level height `h_i` to its weight; `None` gives
            every op weight 1.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: if the lists are empty or of different lengths, a pair's shapes differ,
            or a level height has no entry in `level_weights`.

    Example:
    >>> softmax = [np.full((1, 4, 4, 2), 1 / 16, "float32")]
    >>> logits = [np.zeros((1, 4, 4, 2), "float32")]
    >>> image = np.zeros((1, 16, 16, 3), "float32")
    >>> float(attention_reconstruction_loss(softmax, logits, image, image))
    0.0

    Reference:
        Ren et al., "Neural Texture Extraction and Distribution for Controllable Person Image
        Synthesis", CVPR 2022, Eq. 8 (the release averages over the NTED ops instead of
        summing); released `loss/attn_recon.py`.
    """
    extraction_softmax = list(extraction_softmax)
    distribution_logits = list(distribution_logits)
    if not extraction_softmax or len(extraction_softmax) != len(distribution_logits):
        raise ValueError(
            "Expected two non-empty lists of the same length. Received: "
            f"len(extraction_softmax)={len(extraction_softmax)}, "
            f"len(distribution_logits)={len(distribution_logits)}"
        )
    weights_by_height = _normalize_level_weights(level_weights)
    reference = ops.stop_gradient(ops.cast(reference_image, "float32"))
    target = ops.stop_gradient(ops.cast(target_image, "float32"))
    total = ops.zeros((), "float32")
    weight_sum = 0.0
    for softmax, logits in zip(extraction_softmax, distribution_logits):
        if tuple(softmax.shape[1:]) != tuple(logits.shape[1:]):
            raise ValueError(
                "Expected each extraction_softmax / distribution_logits pair to share "
                f"(h, w, k). Received: {tuple(softmax.shape)} and {tuple(logits.shape)}"
            )
        h, w = logits.shape[1], logits.shape[2]
        if weights_by_height is None:
            weight = 1.0
        elif h in weights_by_height:
            weight = weights_by_height[h]
        else:
            raise ValueError(f"No weight for level height {h}. Received: level_weights={level_weights!r}")
        estimate = ops.reshape(estimated_target(softmax, logits, reference), (-1, h * w, reference.shape[-1]))
        tgt = ops.reshape(resize_nearest(target, (h, w)), (-1, h * w, target.shape[-1]))
        total = total + weight * ops.mean(ops.abs(estimate - tgt))
        weight_sum += weight
    if weight_sum <= 0:
        raise ValueError(f"Expected positive level weights. Received: level_weights={level_weights!r}")
    return total / weight_sum


@keras.saving.register_keras_serializable(package="keras_nted")
class AttentionReconstructionLoss(keras.layers.Layer):
    """Layer form of `attention_reconstruction_loss`, holding its `level_weights`.

    Stateless; a layer so that it serialises with the model that uses it.

    Args:
        level_weights: optional mapping from level height to weight (keys may be strings
            of integers, as JSON writes them); `None` averages over all NTED ops.

    Call arguments:
        extraction_softmax: list of `(batch, h_i, w_i, k_i)` tensors.
        distribution_logits: list of `(batch, h_i, w_i, k_i)` tensors.
        reference_image: `(batch, H, W, 3)` tensor.
        target_image: `(batch, H, W, 3)` tensor.

    Returns:
        Scalar float32 loss.

    Example:
    >>> loss = AttentionReconstructionLoss()
    >>> image = np.zeros((1, 16, 16, 3), "float32")
    >>> float(loss([np.full((1, 4, 4, 2), 1 / 16, "float32")],
    ...            [np.zeros((1, 4, 4, 2), "float32")], image, image))
    0.0

    Reference:
        Ren et al., CVPR 2022, Eq. 8; released `loss/attn_recon.py`.
    """

    def __init__(self, level_weights=None, **kwargs):
        super().__init__(autocast=False, **kwargs)
        self.level_weights = _normalize_level_weights(level_weights)
        self.built = True

    def call(self, extraction_softmax, distribution_logits, reference_image, target_image):
        return attention_reconstruction_loss(
            extraction_softmax,
            distribution_logits,
            reference_image,
            target_image,
            level_weights=self.level_weights,
        )

    def compute_output_shape(self, *args, **kwargs):
        return ()

    def get_config(self):
        config = super().get_config()
        weights = None if self.level_weights is None else {str(h): w for h, w in self.level_weights.items()}
        config.update({"level_weights": weights})
        return config
