"""Attention reconstruction loss: rebuild the target's colours from the NTED attention maps."""

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


def resize_nearest(images, size):
    """Nearest-neighbour resize of `(batch, H, W, C)` images to `size = (h, w)`, as torch's
    default `F.interpolate` (pixel `(floor(y * H / h), floor(x * W / w))`).

    Args:
        images: `(batch, height, width, channels)` tensor with static height and width.
        size: `(h, w)` output size.

    Returns:
        `(batch, h, w, channels)` tensor.
    """
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(f"Expected static spatial sizes. Received: images.shape={images.shape}")
    images = ops.take(images, ops.convert_to_tensor(nearest_indices(height, size[0])), axis=1)
    return ops.take(images, ops.convert_to_tensor(nearest_indices(width, size[1])), axis=2)


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
    """Attention reconstruction loss of the released NTED trainer (spec 5.3).

    For each NTED pair `i` (with attention maps of size `h x w` and `k` semantic labels),
    both images are resized to `h x w` with torch's default nearest mode (the top-left pixel
    of each block for integer factors) and held constant. The extraction softmax turns the
    reference into a colour table, `table[b, j] = sum_p softmax[b, p, j] * ref[b, p]`, the
    distribution re-spreads it, `est[b, p] = sum_j softmax_j(logits[b, p]) * table[b, j]`,
    and `loss_i = mean|est - target|`. The result is `sum_i w_i loss_i / sum_i w_i`, with
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
        _, h, w, k = logits.shape
        if weights_by_height is None:
            weight = 1.0
        elif h in weights_by_height:
            weight = weights_by_height[h]
        else:
            raise ValueError(
                f"No weight for level height {h}. Received: level_weights={level_weights!r}"
            )
        ref = ops.reshape(resize_nearest(reference, (h, w)), (-1, h * w, reference.shape[-1]))
        tgt = ops.reshape(resize_nearest(target, (h, w)), (-1, h * w, target.shape[-1]))
        extraction = ops.reshape(ops.cast(softmax, "float32"), (-1, h * w, k))
        distribution = ops.softmax(ops.reshape(ops.cast(logits, "float32"), (-1, h * w, k)), axis=-1)
        table = ops.matmul(ops.transpose(extraction, (0, 2, 1)), ref)  # (batch, k, 3)
        estimate = ops.matmul(distribution, table)  # (batch, h*w, 3)
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
