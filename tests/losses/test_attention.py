import keras
import numpy as np
import pytest
from keras import ops

from keras_nted.losses import AttentionReconstructionLoss
from keras_nted.losses import attention_reconstruction_loss
from keras_nted.losses.attention import resize_nearest


def _released_lists(tiny):
    """The tiny fixture's recorder lists in this project's channels-last layout."""
    softmax, logits = [], []
    i = 0
    while f"semantic_distribution_{i}" in tiny:
        q = tiny[f"semantic_distribution_{i}"]  # (N, k, h, w)
        s = tiny[f"extraction_softmax_{i}"]  # (N, k, h*w)
        n, k, h, w = q.shape
        softmax.append(np.ascontiguousarray(np.transpose(s, (0, 2, 1)).reshape(n, h, w, k)))
        logits.append(np.ascontiguousarray(np.transpose(q, (0, 2, 3, 1))))
        i += 1
    return softmax, logits


def _numpy_loss(softmax, logits, reference, target, level_weights=None):
    total, weight_sum = 0.0, 0.0
    for s, q in zip(softmax, logits):
        _, h, w, k = q.shape
        H, W = reference.shape[1:3]
        rows = np.floor(np.arange(h) * (H / h)).astype(int)
        cols = np.floor(np.arange(w) * (W / w)).astype(int)
        ref = reference[:, rows][:, :, cols].reshape(len(q), h * w, -1).astype("float64")
        tgt = target[:, rows][:, :, cols].reshape(len(q), h * w, -1)
        table = np.einsum("bpk,bpc->bkc", s.reshape(len(q), h * w, k), ref)
        e = np.exp(q.reshape(len(q), h * w, k) - q.max(-1).reshape(len(q), h * w, 1))
        est = np.einsum("bpk,bkc->bpc", e / e.sum(-1, keepdims=True), table)
        weight = 1.0 if level_weights is None else level_weights[h]
        total += weight * np.abs(est - tgt).mean()
        weight_sum += weight
    return total / weight_sum


def test_matches_released_loss(tiny_fixture, losses_fixture, to_nhwc):
    softmax, logits = _released_lists(tiny_fixture)
    assert len(softmax) == 4
    value = attention_reconstruction_loss(
        softmax,
        logits,
        to_nhwc(losses_fixture["attn_input_image"]),
        to_nhwc(losses_fixture["attn_gt_image"]),
    )
    assert ops.convert_to_numpy(value).dtype == np.float32
    np.testing.assert_allclose(float(value), float(losses_fixture["attn_rec_loss"]), atol=1e-5, rtol=0)


def test_layer_and_jit_match_released_loss(tiny_fixture, losses_fixture, to_nhwc, jit):
    softmax, logits = _released_lists(tiny_fixture)
    reference = to_nhwc(losses_fixture["attn_input_image"])
    target = to_nhwc(losses_fixture["attn_gt_image"])
    layer = AttentionReconstructionLoss(level_weights={16: 1.0, 32: 1.0})
    value = jit(lambda s, q, r, t: layer(s, q, r, t))(softmax, logits, reference, target)
    np.testing.assert_allclose(float(value), float(losses_fixture["attn_rec_loss"]), atol=1e-5, rtol=0)


def test_level_weights_and_non_integer_factor():
    rng = np.random.default_rng(1)
    softmax, logits = [], []
    for h, w, k in ((4, 3, 2), (8, 6, 5), (5, 7, 3)):  # (5, 7) is not an integer factor of 16x12
        s = rng.random((2, h * w, k)).astype("float32")
        softmax.append((s / s.sum(1, keepdims=True)).reshape(2, h, w, k))
        logits.append(rng.normal(size=(2, h, w, k)).astype("float32"))
    reference = rng.uniform(-1, 1, (2, 16, 12, 3)).astype("float32")
    target = rng.uniform(-1, 1, (2, 16, 12, 3)).astype("float32")
    weights = {4: 1.0, 8: 0.5, 5: 0.25}
    for level_weights in (None, weights):
        expected = _numpy_loss(softmax, logits, reference, target, level_weights)
        value = attention_reconstruction_loss(softmax, logits, reference, target, level_weights)
        np.testing.assert_allclose(float(value), expected, rtol=1e-5)
    layer = AttentionReconstructionLoss.from_config(AttentionReconstructionLoss(weights).get_config())
    np.testing.assert_allclose(
        float(layer(softmax, logits, reference, target)),
        _numpy_loss(softmax, logits, reference, target, weights),
        rtol=1e-5,
    )


def test_resize_nearest_takes_top_left_pixel():
    images = np.arange(2 * 8 * 6 * 1, dtype="float32").reshape(2, 8, 6, 1)
    out = ops.convert_to_numpy(resize_nearest(images, (4, 3)))
    np.testing.assert_array_equal(out, images[:, ::2, ::2])
    out = ops.convert_to_numpy(resize_nearest(images, (8, 6)))
    np.testing.assert_array_equal(out, images)


def test_gradients_reach_attention_maps_not_images(input_gradients):
    rng = np.random.default_rng(2)
    s = rng.random((1, 4, 4, 3)).astype("float32")
    s = s / s.sum(axis=(1, 2), keepdims=True)
    q = rng.normal(size=(1, 4, 4, 3)).astype("float32")
    reference = rng.uniform(-1, 1, (1, 8, 8, 3)).astype("float32")
    target = rng.uniform(-1, 1, (1, 8, 8, 3)).astype("float32")
    grads = input_gradients(
        lambda s_, q_, r_, t_: attention_reconstruction_loss([s_], [q_], r_, t_), s, q, reference, target
    )
    assert np.abs(grads[0]).sum() > 0 and np.abs(grads[1]).sum() > 0
    for g in grads[2:]:
        assert g is None or not np.any(g)


def test_mixed_precision_inputs_give_float32():
    s = np.full((1, 4, 4, 2), 1 / 16, "float32")
    q = np.zeros((1, 4, 4, 2), "float32")
    image = np.zeros((1, 16, 16, 3), "float32")
    value = attention_reconstruction_loss(
        [ops.cast(s, "bfloat16")], [ops.cast(q, "bfloat16")], ops.cast(image, "bfloat16"), image
    )
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert float(value) == 0.0


def test_validation_errors():
    s = [np.full((1, 4, 4, 2), 1 / 16, "float32")]
    q = [np.zeros((1, 4, 4, 2), "float32")]
    image = np.zeros((1, 16, 16, 3), "float32")
    with pytest.raises(ValueError, match="len"):
        attention_reconstruction_loss(s, q + q, image, image)
    with pytest.raises(ValueError, match="level_weights"):
        attention_reconstruction_loss(s, q, image, image, level_weights={8: 1.0})
    with pytest.raises(ValueError, match="share"):
        attention_reconstruction_loss(s, [np.zeros((1, 4, 4, 3), "float32")], image, image)
