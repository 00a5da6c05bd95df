"""NTEDExtraction, NTEDDistribution and NTED against numpy (the released `ExtractionOperation` and
`DistributionOperation`), in models, mixed precision."""

import keras
import numpy as np
import pytest

from keras_nted.backend import autodiff
from keras_nted.layers import NTED
from keras_nted.layers import EqualizedConv2D
from keras_nted.layers import NTEDDistribution
from keras_nted.layers import NTEDExtraction
from keras_nted.layers.nted import feature_norm
from keras_nted.layers.nted import pool_through_conv
from tests.layers.harness import run_layer_test

EPS = 2.220446049250313e-16  # Python's float epsilon, added to the norm (the released `feature_norm`).

# One set of shapes for most tests: on JAX every new shape of a randomly initialised weight
# compiles a random-number kernel (about a second of CPU each).
REFERENCE_SHAPE = (2, 6, 5, 8)
TARGET_SHAPE = (2, 4, 3, 6)
NUM_LABELS = 4


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _randomize_bias(conv, seed):
    conv.bias.assign(np.random.default_rng(seed).normal(size=conv.bias.shape).astype("float32"))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _conv_same(x, conv):
    """An EqualizedConv2D (odd kernel, stride 1, same padding) in numpy: kernel * 1/sqrt(fan_in)."""
    kernel = _numpy(conv.kernel).astype("float64") / np.sqrt(np.prod(conv.kernel.shape[:3]))
    m = kernel.shape[0]
    _, h, w, _ = x.shape
    padded = np.pad(x.astype("float64"), [(0, 0), (m // 2, m // 2), (m // 2, m // 2), (0, 0)])
    out = sum(padded[:, a : a + h, b : b + w, :] @ kernel[a, b] for a in range(m) for b in range(m))
    return out + _numpy(conv.bias) if conv.use_bias else out


def extraction_reference(layer, features):
    """Spec §1.4: normalised key -> logits -> softmax over positions; textures = softmax^T f(F)."""
    centred = features - features.mean(axis=-1, keepdims=True)
    key = centred / (np.sqrt((centred**2).sum(axis=-1, keepdims=True)) + EPS)
    logits = _conv_same(key, layer.semantic_extraction_filter)
    batch, h, w, k = logits.shape
    attention = _softmax(logits.reshape(batch, h * w, k), axis=1)
    values = _conv_same(features, layer.value_conv).reshape(batch, h * w, -1)
    textures = np.einsum("bpk,bpc->bkc", attention, values)
    return textures, attention.reshape(batch, h, w, k)


def distribution_reference(layer, target, textures):
    """Spec §1.5: logits -> softmax over labels; out = softmax @ textures."""
    logits = _conv_same(target, layer.semantic_distribution_filter)
    batch, h, w, k = logits.shape
    weights = _softmax(logits.reshape(batch, h * w, k), axis=-1)
    out = np.einsum("bpk,bkc->bpc", weights, textures).reshape(batch, h, w, -1)
    return out, logits


def _features(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _built_nted(reference, target, **kwargs):
    layer = NTED(NUM_LABELS, 3, **kwargs)
    layer(reference, target)
    _randomize_bias(layer.extraction.value_conv, 10)
    _randomize_bias(layer.distribution.semantic_distribution_filter, 11)
    return layer


def test_feature_norm_adds_epsilon_to_the_norm():
    x = np.zeros((1, 1, 3, 4), "float32")
    x[0, 0, 0] = [1.0, 2.0, 3.0, 6.0]
    x[0, 0, 1] = [1e-9, -1e-9, 1e-9, -1e-9]  # norm 2e-9: eps on the squared norm would shrink it ~7x
    x[0, 0, 2] = 5.0  # constant: zero after centring, must stay finite
    out = _numpy(feature_norm(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, 0], (x[0, 0, 0] - 3.0) / np.sqrt(14.0), rtol=1e-6)
    np.testing.assert_allclose(out[0, 0, 1], [0.5, -0.5, 0.5, -0.5], rtol=1e-5)
    np.testing.assert_array_equal(out[0, 0, 2], 0.0)


def test_extraction_equals_numpy():
    features = _features(REFERENCE_SHAPE, 0)
    layer = NTEDExtraction(NUM_LABELS, 3, filters=6)
    layer(features)
    _randomize_bias(layer.value_conv, 1)
    textures, attention = layer(features)
    expected_textures, expected_attention = extraction_reference(layer, features.astype("float64"))
    assert textures.shape == (2, NUM_LABELS, 6) and attention.shape == (2, 6, 5, NUM_LABELS)
    np.testing.assert_allclose(_numpy(attention), expected_attention, atol=1e-6, rtol=1e-4)
    np.testing.assert_allclose(_numpy(textures), expected_textures, atol=1e-5, rtol=1e-4)
    # The extraction softmax runs over positions: each label's attention sums to 1 over h * w.
    np.testing.assert_allclose(_numpy(attention).sum(axis=(1, 2)), 1.0, rtol=1e-5)
    # Without `filters` the textures keep the input's channels.
    assert NTEDExtraction(NUM_LABELS, 3).compute_output_shape(REFERENCE_SHAPE)[0] == (2, NUM_LABELS, 8)


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_pool_through_conv_is_pooling_the_convolution(kernel_size):
    """The extraction's reassociated Eq. 3 equals pooling the convolution's output, values and gradients.

    Weights that are not a softmax (negative, not summing to 1) so the bias term is exercised too.
    """
    rng = np.random.default_rng(kernel_size)
    features = rng.normal(size=(2, 7, 5, 6)).astype("float32")
    weights = rng.normal(size=(2, 7, 5, 3)).astype("float32")
    conv = EqualizedConv2D(4, kernel_size, padding="same")
    conv.build(features.shape)
    _randomize_bias(conv, 3)
    expected = np.einsum("bhwk,bhwc->bkc", weights.astype("float64"), _conv_same(features, conv))
    with autodiff.no_grad():
        pooled = _numpy(pool_through_conv(weights, features, conv))
    np.testing.assert_allclose(pooled, expected, atol=1e-5, rtol=1e-5)

    probe = keras.ops.convert_to_tensor(rng.normal(size=expected.shape).astype("float32"))
    variables = [keras.Variable(weights), keras.Variable(features), conv.kernel, conv.bias]

    def gradients(form):
        def loss():
            a, f = variables[0].value, variables[1].value
            return keras.ops.sum(form(a, f) * probe), None

        return [_numpy(g) for g in autodiff.value_and_grad(loss, variables)[2]]

    pooled = gradients(lambda a, f: pool_through_conv(a, f, conv))
    strided = EqualizedConv2D(4, kernel_size, strides=2, padding="valid")
    with pytest.raises(ValueError, match="same-padded, stride-1 convolution with an odd kernel"):
        pool_through_conv(weights, features, strided)
    direct = gradients(lambda a, f: keras.ops.einsum("bhwk,bhwc->bkc", a, conv(f)))
    for ours, reference in zip(pooled, direct):
        np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("match_kernel_size", [1, 3])
def test_distribution_equals_numpy(match_kernel_size):
    target, textures = _features(TARGET_SHAPE, 0), _features((2, NUM_LABELS, 9), 1)
    layer = NTEDDistribution(NUM_LABELS, match_kernel_size)
    layer(target, textures)
    _randomize_bias(layer.semantic_distribution_filter, 2)
    out, logits = layer(target, textures)
    expected_out, expected_logits = distribution_reference(layer, target, textures)
    assert out.shape == (2, 4, 3, 9) and logits.shape == (2, 4, 3, NUM_LABELS)
    np.testing.assert_allclose(_numpy(logits), expected_logits, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(_numpy(out), expected_out, atol=1e-5, rtol=1e-5)
    # The softmax runs over labels: identical textures come out unchanged at every position.
    same = np.ascontiguousarray(np.broadcast_to(textures[:, :1], textures.shape))
    expected = np.broadcast_to(same[:, :1, None], (2, 4, 3, 9))
    np.testing.assert_allclose(_numpy(layer(target, same)[0]), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "reference_shape,target_shape",
    [(REFERENCE_SHAPE, TARGET_SHAPE), ((1, 4, 3, 6), (1, 8, 6, 8))],
    ids=["fewer_target_channels_smaller", "more_target_channels_larger"],
)
def test_nted_equals_numpy(reference_shape, target_shape):
    reference, target = _features(reference_shape, 0), _features(target_shape, 1)
    layer = _built_nted(reference, target)
    out = _numpy(layer(reference, target))
    textures, _ = extraction_reference(layer.extraction, reference.astype("float64"))
    expected, _ = distribution_reference(layer.distribution, target, textures)
    assert out.shape == target_shape == layer.compute_output_shape(reference_shape, target_shape)
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-4)


def test_extract_and_distribute_equal_call_and_textures_swap():
    reference, target = _features(REFERENCE_SHAPE, 0), _features(TARGET_SHAPE, 1)
    layer = _built_nted(reference, target)
    out = _numpy(layer(reference, target))
    textures, _ = layer.extract(reference)
    split, logits = layer.distribute(target, textures)
    np.testing.assert_allclose(_numpy(split), out, atol=1e-6)

    # Textures are per sample: giving each target the other sample's textures is the same as
    # swapping the references.
    swapped = _numpy(layer.distribute(target, keras.ops.flip(textures, axis=0))[0])
    np.testing.assert_allclose(swapped, _numpy(layer(reference[::-1], target)), atol=1e-5)
    assert np.abs(swapped - out).max() > 1e-3

    # Replacing texture j moves every position by p_j * (new_j - old_j), p the label softmax.
    textures = _numpy(textures)
    replaced = textures.copy()
    replaced[:, 2] = _features(replaced[:, 2].shape, 2)
    moved = _numpy(layer.distribute(target, replaced)[0]) - out
    p = _softmax(_numpy(logits), axis=-1)
    expected = p[..., 2:3] * (replaced[:, None, None, 2] - textures[:, None, None, 2])
    np.testing.assert_allclose(moved, expected, atol=1e-5)

    # Distribution is linear in the textures, so interpolating textures interpolates outputs.
    mixed = _numpy(layer.distribute(target, 0.3 * textures + 0.7 * replaced)[0])
    np.testing.assert_allclose(mixed, 0.3 * out + 0.7 * (out + moved), atol=1e-5)


def test_return_attention_shapes_and_dtypes():
    reference, target = _features(REFERENCE_SHAPE, 0), _features(TARGET_SHAPE, 1)
    layer = NTED(NUM_LABELS, 3, return_attention=True)
    out, attention, logits = layer(reference, target)
    assert out.shape == (2, 4, 3, 6) and attention.shape == (2, 6, 5, 4) and logits.shape == (2, 4, 3, 4)
    assert [keras.backend.standardize_dtype(t.dtype) for t in (out, attention, logits)] == ["float32"] * 3
    symbolic = NTED(4, 3, return_attention=True)(keras.Input((6, 5, 8)), keras.Input((4, 3, 6)))
    assert [tuple(t.shape) for t in symbolic] == [(None, 4, 3, 6), (None, 6, 5, 4), (None, 4, 3, 4)]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_attention_in_float32(policy):
    reference, target = _features(REFERENCE_SHAPE, 0), _features(TARGET_SHAPE, 1)
    layer = NTED(NUM_LABELS, 3, return_attention=True, dtype=policy)
    out, attention, logits = layer(reference, target)
    compute = layer.compute_dtype
    assert compute in ("float16", "bfloat16")
    dtypes = [keras.backend.standardize_dtype(t.dtype) for t in (out, attention, logits)]
    assert dtypes == [compute, "float32", "float32"]
    assert all(w.dtype == "float32" for w in layer.weights)
    np.testing.assert_allclose(_numpy(attention).sum(axis=(1, 2)), 1.0, rtol=1e-5)
    textures, extraction_attention = NTEDExtraction(NUM_LABELS, 3, filters=6, dtype=policy)(reference)
    assert keras.backend.standardize_dtype(textures.dtype) == compute
    assert keras.backend.standardize_dtype(extraction_attention.dtype) == "float32"
    # Float32 reference for the same weights: only the compute dtype's rounding apart.
    full = NTED(NUM_LABELS, 3)
    full(reference, target)
    full.set_weights(layer.get_weights())
    np.testing.assert_allclose(_numpy(out).astype("float32"), _numpy(full(reference, target)), atol=0.1, rtol=0.05)


def test_layer_harness_extraction():
    run_layer_test(
        NTEDExtraction,
        {"num_labels": NUM_LABELS, "match_kernel_size": 3, "filters": 6},
        input_shape=REFERENCE_SHAPE,
        expected_output_shape=((2, NUM_LABELS, 6), (2, 6, 5, NUM_LABELS)),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
    )


def test_layer_harness_distribution():
    run_layer_test(
        NTEDDistribution,
        {"num_labels": NUM_LABELS, "match_kernel_size": 3},
        input_shape={"target_features_shape": TARGET_SHAPE, "textures_shape": (2, NUM_LABELS, 6)},
        expected_output_shape=(TARGET_SHAPE, (2, 4, 3, NUM_LABELS)),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
    )


@pytest.mark.parametrize("return_attention", [False, True])
def test_layer_harness_nted(return_attention):
    attention_shapes = ((2, 6, 5, NUM_LABELS), (2, 4, 3, NUM_LABELS))
    run_layer_test(
        NTED,
        {"num_labels": NUM_LABELS, "match_kernel_size": 3, "return_attention": return_attention},
        input_shape={"reference_features_shape": REFERENCE_SHAPE, "target_features_shape": TARGET_SHAPE},
        expected_output_shape=(TARGET_SHAPE, *attention_shapes) if return_attention else TARGET_SHAPE,
        expected_num_trainable_weights=5,
        expected_num_non_trainable_weights=0,
    )


def _user_model():
    """A small user model: two encoders, NTED between their features, a 1x1 head."""
    reference = keras.Input((8, 6, 3), name="reference")
    target = keras.Input((8, 6, 3), name="target")
    r = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(reference)
    t = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(target)
    t = NTED(num_labels=NUM_LABELS, match_kernel_size=3, name="nted")(r, t)
    out = keras.layers.Conv2D(3, 1)(keras.layers.UpSampling2D(2)(t))
    return keras.Model([reference, target], out)


def _user_data(n=8):
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(n, 8, 6, 3)).astype("float32"), rng.uniform(size=(n, 8, 6, 3)).astype("float32")]
    return x, rng.normal(size=(n, 8, 6, 3)).astype("float32")


def test_nted_trains_in_a_user_model_with_fit():
    model = _user_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x, y = _user_data()
    nted = model.get_layer("nted")
    before = [np.array(w) for w in nted.trainable_weights]
    assert len(before) == 5  # value_conv kernel+bias, extraction filter, distribution filter kernel+bias
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert int(model.optimizer.iterations) == 4
    for weight, old in zip(nted.trainable_weights, before):
        assert not np.allclose(np.array(weight), old), f"{weight.path} did not change"


def test_keras_round_trip_of_a_model_with_nted(tmp_path):
    model = _user_model()
    x, _ = _user_data(2)
    expected = model.predict_on_batch(x)
    path = tmp_path / "user_model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.get_layer("nted"), NTED)
    np.testing.assert_allclose(_numpy(restored.predict_on_batch(x)), _numpy(expected), atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda: NTEDExtraction(0, 3),
        lambda: NTEDExtraction(4, 2),
        lambda: NTEDExtraction(4, 3, filters=0),
        lambda: NTEDDistribution(4.0, 3),
        lambda: NTEDDistribution(4, 0),
        lambda: NTED(0),
        lambda: NTED(4, match_kernel_size=4),
    ],
    ids=["ext_labels", "ext_even_kernel", "ext_filters", "dist_labels", "dist_kernel", "nted_labels", "nted_kernel"],
)
def test_invalid_arguments_raise(make):
    with pytest.raises(ValueError):
        make()


def test_bad_input_shapes_raise():
    with pytest.raises(ValueError, match="reference_features"):
        NTED(4)(np.zeros((2, 6, 8), "float32"), np.zeros((2, 3, 3, 8), "float32"))
    with pytest.raises(ValueError, match="textures"):
        NTEDDistribution(4, 3)(np.zeros((2, 3, 3, 8), "float32"), np.zeros((2, 5, 8), "float32"))
    with pytest.raises(ValueError, match="inputs"):
        NTEDExtraction(4, 3)(np.zeros((2, 3, 8), "float32"))


def test_a_list_of_two_is_the_same_call_and_integer_features_are_cast():
    rng = np.random.default_rng(3)
    reference, target = rng.normal(size=REFERENCE_SHAPE), rng.normal(size=TARGET_SHAPE)
    layer = NTED(NUM_LABELS)
    expected = _numpy(layer(reference.astype("float32"), target.astype("float32")))
    np.testing.assert_array_equal(_numpy(layer([reference.astype("float32"), target.astype("float32")])), expected)
    # In a functional model too, as Keras' multi-input layers are used.
    inputs = [keras.Input(REFERENCE_SHAPE[1:]), keras.Input(TARGET_SHAPE[1:])]
    model = keras.Model(inputs, layer(inputs))
    np.testing.assert_allclose(
        _numpy(model([reference.astype("float32"), target.astype("float32")])), expected, atol=1e-6
    )
    textures, _ = layer.extract(reference.astype("float32"))
    out, _ = layer.distribution([target.astype("float32"), textures])
    np.testing.assert_allclose(_numpy(out), expected, atol=1e-6)
    # int32 features: float results, as of the same values in float32 (they were int32 zeros).
    ints = layer(np.rint(reference * 3).astype("int32"), np.rint(target * 3).astype("int32"))
    assert keras.backend.standardize_dtype(ints.dtype) == "float32"
    floats = layer(np.rint(reference * 3).astype("float32"), np.rint(target * 3).astype("float32"))
    np.testing.assert_allclose(_numpy(ints), _numpy(floats), atol=1e-5)
    assert np.abs(_numpy(ints)).max() > 0


def test_extract_before_build_raises_a_clear_error():
    with pytest.raises(ValueError, match="build"):
        NTED(NUM_LABELS, 3).extract(_features(REFERENCE_SHAPE, 0))
