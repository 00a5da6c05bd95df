"""Inception v3 (both kinds) against torchvision 0.28.0 and pytorch-fid 0.3.0 with seeded weights."""

import numpy as np
import pytest
from keras import layers

from keras_nted.metrics import BilinearResize
from keras_nted.metrics import inception_from_state_dict
from keras_nted.metrics import inception_kind
from keras_nted.metrics import inception_v3
from keras_nted.metrics import load_inception_weights
from tests.helpers import to_numpy
from tests.metrics.conftest import fixture_state_dict


@pytest.fixture(scope="module")
def state_dicts(inception_fixture):
    return {kind: fixture_state_dict(inception_fixture, kind) for kind in ("field", "standard")}


@pytest.fixture(scope="module")
def models(state_dicts):
    return {kind: inception_from_state_dict(state_dict) for kind, state_dict in state_dicts.items()}


def relative_error(actual, expected):
    return np.abs(actual - expected).max() / np.abs(expected).max()


@pytest.mark.parametrize("kind", ["field", "standard"])
def test_features_match_the_torch_networks(models, inception_fixture, kind):
    # Two 64x44 images (upsampled to 299) and one 320x220 image (downsampled in its height).
    small = inception_fixture["images_small"][:2] / 255.0
    large = inception_fixture["images_large"] / 255.0
    assert models[kind].name == f"inception_v3_{kind}"
    got_small = to_numpy(models[kind].predict_on_batch(small))
    got_large = to_numpy(models[kind].predict_on_batch(large))
    assert got_small.shape == (2, 2048)
    assert relative_error(got_small, inception_fixture[f"{kind}_features_small"][:2]) < 1e-4
    assert relative_error(got_large, inception_fixture[f"{kind}_features_large"]) < 1e-4


@pytest.mark.parametrize("size", ["small", "large"])
def test_resize_matches_torch_interpolate(inception_fixture, size):
    images = inception_fixture[f"images_{size}"]
    step = int(inception_fixture["resize_step"])
    resized = to_numpy(BilinearResize(299, 299)(images.astype("float32") / 255.0))
    assert resized.shape == (len(images), 299, 299, 3)
    # Both compute source rows in float32; one ulp of a row position near 60 is 3.8e-6, so a
    # fused or unfused multiply-add moves a blend by up to that much (of a [0, 1] difference).
    np.testing.assert_allclose(resized[:, ::step, ::step], inception_fixture[f"resize_{size}"], atol=1e-5)


def test_resize_keeps_an_image_of_its_own_size_and_serializes():
    images = np.random.default_rng(0).random((1, 5, 4, 2)).astype("float32")
    layer = BilinearResize(5, 4)
    np.testing.assert_allclose(to_numpy(layer(images)), images, atol=1e-7)
    assert BilinearResize.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="Expected a positive integer. Received: height=0"):
        BilinearResize(0, 4)


def test_same_average_pooling_leaves_padding_out_of_the_mean():
    # pytorch-fid's count_include_pad=False pools are Keras' "same" average pools: checked here.
    x = np.random.default_rng(1).random((1, 4, 5, 2)).astype("float32")
    got = to_numpy(layers.AveragePooling2D(3, strides=1, padding="same")(x))
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ones = np.pad(np.ones_like(x), ((0, 0), (1, 1), (1, 1), (0, 0)))
    sums = sum(padded[:, i : i + 4, j : j + 5] for i in range(3) for j in range(3))
    counts = sum(ones[:, i : i + 4, j : j + 5] for i in range(3) for j in range(3))
    np.testing.assert_allclose(got, sums / counts, rtol=1e-6)


def test_the_kind_is_read_from_the_classifier(state_dicts):
    assert inception_kind(state_dicts["field"]) == "field"
    assert inception_kind(state_dicts["standard"]) == "standard"
    with pytest.raises(
        ValueError, match=r"fc.weight of shape \(1000, 2048\) or \(1008, 2048\). Received: no fc.weight"
    ):
        inception_kind({"features.0.weight": np.zeros((64, 3, 11, 11))})
    with pytest.raises(ValueError, match=r"Received: fc.weight of shape \(10, 2048\)"):
        inception_kind({"fc.weight": np.zeros((10, 2048))})
    with pytest.raises(ValueError, match="Expected kind to be one of"):
        inception_v3("imagenet")


def test_wrong_state_dicts_are_refused_and_leave_the_model_alone(models, state_dicts):
    model = models["field"]
    before = to_numpy(model.get_layer("Conv2d_1a_3x3__conv").kernel)
    field = state_dicts["field"]
    alexnet = {"features.0.weight": np.zeros((64, 3, 11, 11)), "classifier.6.weight": np.zeros((1000, 4096))}
    with pytest.raises(ValueError, match="Expected an Inception v3 state dict .*are missing, e.g. 'Conv2d_1a_3x3.conv"):
        load_inception_weights(model, alexnet)
    with pytest.raises(ValueError, match="Received extra keys: 'decoder.weight'"):
        load_inception_weights(model, {**field, "decoder.weight": np.zeros(3)})
    with pytest.raises(ValueError, match=r"Expected Mixed_7c.branch_pool.bn.running_var of shape \(192,\)"):
        load_inception_weights(model, {**field, "Mixed_7c.branch_pool.bn.running_var": np.ones(191)})
    with pytest.raises(ValueError, match="Expected the weights of the field Inception .*1008 rows"):
        load_inception_weights(model, state_dicts["standard"])
    np.testing.assert_array_equal(to_numpy(model.get_layer("Conv2d_1a_3x3__conv").kernel), before)


def test_weights_load_from_a_pth_file(tmp_path, state_dicts, models):
    pytest.importorskip("keras_nted.metrics.pickle_files", reason="the .pth reader is not in this tree yet")
    torch = pytest.importorskip("torch", reason="writing a .pth needs torch")
    path = tmp_path / "pt_inception-seeded.pth"
    torch.save({k: torch.from_numpy(v) for k, v in state_dicts["standard"].items()}, path)
    model = inception_v3("standard", weights=str(path))
    for got, expected in zip(model.weights, models["standard"].weights):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(expected))
