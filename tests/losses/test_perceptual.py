import hashlib
import urllib.error

import keras
import numpy as np
import pytest
from keras import ops
from keras.src.utils import file_utils

from keras_nted.losses import PerceptualLoss
from keras_nted.losses import downsample_half
from keras_nted.losses import gram_matrix
from keras_nted.losses import perceptual
from keras_nted.losses import vgg19_weights_from_torch

RELU_X_1 = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
SMALL_LAYERS = RELU_X_1[:3]
# Few shapes, so that JAX compiles each op once; small, because VGG is slow on CPU torch.
SHAPE = (1, 32, 32, 3)
ODD_SHAPE = (1, 37, 35, 3)
TORCH_MEAN = np.array([0.485, 0.456, 0.406], "float32")
TORCH_STD = np.array([0.229, 0.224, 0.225], "float32")


def _images(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def _torch_normalize(x):
    return ((x + 1) / 2 - TORCH_MEAN) / TORCH_STD


def _numpy_half_resize(x):
    """torch's bilinear 0.5x (align_corners=False, recompute_scale_factor=True), as loops."""

    def axis_weights(size):
        out = size // 2
        rows = []
        for i in range(out):
            src = max((i + 0.5) * size / out - 0.5, 0.0)
            i0 = min(int(np.floor(src)), size - 1)
            i1 = i0 + 1 if i0 < size - 1 else i0
            rows.append((i0, i1, src - i0))
        return rows

    b, h, w, c = x.shape
    out = np.zeros((b, h // 2, w // 2, c), "float64")
    for i, (y0, y1, wy) in enumerate(axis_weights(h)):
        for j, (x0, x1, wx) in enumerate(axis_weights(w)):
            out[:, i, j] = (1 - wy) * ((1 - wx) * x[:, y0, x0] + wx * x[:, y0, x1]) + wy * (
                (1 - wx) * x[:, y1, x0] + wx * x[:, y1, x1]
            )
    return out.astype("float32")


def _copy_vgg_weights(source, target):
    """Copy conv weights by layer name between two VGG19 graphs (full or truncated)."""
    names = {layer.name for layer in target.layers}
    for layer in source.layers:
        if layer.name in names and layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())


def _kernels(loss):
    return {layer.name: layer.get_weights() for layer in loss.feature_extractor.layers if layer.weights}


@pytest.fixture(scope="module")
def base_loss():
    return PerceptualLoss(weights="random")


@pytest.fixture(scope="module")
def random_vgg():
    """A full random VGG19 (no top) to write weight files from."""
    return keras.applications.VGG19(include_top=False, weights=None)


def test_default_layers_are_relu_x_1_of_keras_vgg19(base_loss):
    """Features equal independent Keras VGG19 sub-models at block{i}_conv1 (= relu_i_1), and
    the loss is the sum of their mean absolute differences."""
    assert base_loss.layer_names == RELU_X_1
    assert base_loss.input_normalization == "torch"  # the release's formula for weights="random"
    reference = keras.applications.VGG19(include_top=False, weights=None)
    _copy_vgg_weights(base_loss.feature_extractor, reference)
    x, y = _images(SHAPE, 0), _images(SHAPE, 1)
    expected = 0.0
    for name, fx in zip(RELU_X_1, base_loss.extract_features(base_loss.normalize(x))):
        submodel = keras.Model(reference.input, reference.get_layer(name).output)
        ref_x = ops.convert_to_numpy(submodel(_torch_normalize(x)))
        ref_y = ops.convert_to_numpy(submodel(_torch_normalize(y)))
        np.testing.assert_allclose(ops.convert_to_numpy(fx), ref_x, rtol=1e-4, atol=1e-4)
        expected += np.abs(ref_x - ref_y).mean()
    np.testing.assert_allclose(float(base_loss(x, y)), expected, rtol=1e-4)
    assert float(base_loss(x, x)) == 0.0


def test_layer_names_and_weights(base_loss):
    assert perceptual._keras_layer_name("relu_3_1") == "block3_conv1"
    assert perceptual._keras_layer_name("relu_5_4") == "block5_conv4"
    assert perceptual._keras_layer_name("block2_conv2") == "block2_conv2"
    assert perceptual._keras_layer_name("relu_6_1") is None
    x, y = _images(SHAPE, 2), _images(SHAPE, 3)
    fx = base_loss.extract_features(base_loss.normalize(x))
    fy = base_loss.extract_features(base_loss.normalize(y))
    weights = (1.0, 0.5, 0.25, 2.0, 0.0)
    base_loss.layer_weights = weights
    try:
        value = float(base_loss(x, y))
    finally:
        base_loss.layer_weights = (1.0,) * 5
    expected = sum(w * np.abs(ops.convert_to_numpy(a - b)).mean() for w, a, b in zip(weights, fx, fy))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_input_normalizations(base_loss):
    x = _images((1, 4, 5, 3), 4)
    normalized = ops.convert_to_numpy(base_loss.normalize(x))
    np.testing.assert_allclose(normalized, _torch_normalize(x), rtol=1e-6, atol=1e-6)
    base_loss.input_normalization = "caffe"
    try:
        caffe = ops.convert_to_numpy(base_loss.normalize(x))
    finally:
        base_loss.input_normalization = "torch"
    expected = ((x + 1) * 127.5)[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    np.testing.assert_allclose(caffe, expected, rtol=1e-6, atol=1e-4)
    assert perceptual._default_normalization("imagenet") == "caffe"
    assert perceptual._default_normalization("/w/vgg19_notop.h5") == "caffe"
    assert perceptual._default_normalization("/w/vgg19-dcbb9e9d.pth") == "torch"
    assert perceptual._default_normalization("random") == "torch"


@pytest.mark.parametrize("size", [(8, 6), (9, 7), (7, 10), (2, 3), (17, 16)])
def test_downsample_half_matches_torch_bilinear(size, jit):
    x = _images((2, *size, 3), 5)
    out = ops.convert_to_numpy(jit(downsample_half)(x))
    np.testing.assert_allclose(out, _numpy_half_resize(x), rtol=1e-6, atol=1e-6)
    if size[0] % 2 == 0 and size[1] % 2 == 0:  # even: the mean of each 2x2 block
        blocks = x.reshape(2, size[0] // 2, 2, size[1] // 2, 2, 3).mean(axis=(2, 4))
        np.testing.assert_allclose(out, blocks, rtol=1e-6, atol=1e-6)
    try:
        import torch
    except ImportError:
        return
    ref = torch.nn.functional.interpolate(
        torch.from_numpy(np.transpose(x, (0, 3, 1, 2)).copy()),
        scale_factor=0.5,
        mode="bilinear",
        align_corners=False,
        recompute_scale_factor=True,
    )
    np.testing.assert_allclose(out, np.transpose(ref.numpy(), (0, 2, 3, 1)), rtol=1e-6, atol=1e-6)


def test_gram_matrix():
    f = _images((2, 3, 5, 4), 6)
    flat = f.reshape(2, 15, 4).astype("float64")
    expected = np.einsum("bpc,bpd->bcd", flat, flat) / (4 * 15)
    np.testing.assert_allclose(ops.convert_to_numpy(gram_matrix(f)), expected, rtol=1e-5, atol=1e-7)


def test_num_scales_and_style_weight():
    loss = PerceptualLoss(weights="random", layers=SMALL_LAYERS, num_scales=3, style_weight=250.0)
    x, y = _images(ODD_SHAPE, 7), _images(ODD_SHAPE, 8)  # 37x35 -> 18x17 -> 9x8

    def features(images):
        return [ops.convert_to_numpy(f) for f in loss.extract_features(images)]

    nx, ny = _torch_normalize(x), _torch_normalize(y)
    per_scale, style = [], 0.0
    for scale in range(3):
        if scale:
            nx, ny = _numpy_half_resize(nx), _numpy_half_resize(ny)
        fx, fy = features(nx), features(ny)
        per_scale.append(sum(np.abs(a - b).mean() for a, b in zip(fx, fy)))
        if scale == 0:
            for a, b in zip(fx, fy):
                ga = np.einsum("bhwc,bhwd->bcd", a, a) / a[0].size
                gb = np.einsum("bhwc,bhwd->bcd", b, b) / b[0].size
                style += np.abs(ga - gb).mean()
    np.testing.assert_allclose(float(loss(x, y)), sum(per_scale) + 250.0 * style, rtol=1e-4)
    assert style > 0 and per_scale[1] > 0 and per_scale[2] > 0


def test_gradients_reach_inputs_only(base_loss, input_gradients):
    assert base_loss.trainable_weights == []
    assert len(base_loss.non_trainable_weights) == 26  # 13 convs up to block5_conv1
    assert all(not v.trainable for v in base_loss.weights)
    x, y = _images(SHAPE, 9), _images(SHAPE, 10)
    if keras.backend.backend() == "torch":
        import torch

        assert all(not v.value.requires_grad for v in base_loss.weights)
        xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        base_loss(xt, yt).backward()
        assert all(v.value.grad is None for v in base_loss.weights)
        grad_x, grad_y = xt.grad.numpy(), None if yt.grad is None else yt.grad.numpy()
    else:
        grad_x, grad_y = input_gradients(lambda a, b: base_loss(a, b), x, y)
    assert np.all(np.isfinite(grad_x)) and np.abs(grad_x).sum() > 0
    assert grad_y is None or not np.any(grad_y)  # the target is under stop_gradient


def test_mixed_precision_inputs_give_float32(base_loss):
    x, y = _images(SHAPE, 11), _images(SHAPE, 12)
    x16, y16 = ops.cast(x, "bfloat16"), ops.cast(y, "bfloat16")
    value = base_loss(x16, y16)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    exact = base_loss(ops.cast(x16, "float32"), ops.cast(y16, "float32"))
    np.testing.assert_allclose(float(value), float(exact), rtol=1e-6)


def test_config_round_trip(base_loss):
    config = base_loss.get_config()
    assert config["weights"] == "random" and config["layers"] == list(RELU_X_1)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(base_loss))
    assert isinstance(restored, PerceptualLoss)
    assert restored.get_config() == config
    assert restored.trainable_weights == []


def test_validation_errors(tmp_path):
    with pytest.raises(ValueError, match="layers"):
        PerceptualLoss(layers=("block6_conv1",), weights="random")
    with pytest.raises(ValueError, match="layer_weights"):
        PerceptualLoss(layer_weights=(1.0, 2.0), weights="random")
    with pytest.raises(ValueError, match="num_scales"):
        PerceptualLoss(num_scales=0, weights="random")
    with pytest.raises(ValueError, match="style_weight"):
        PerceptualLoss(style_weight=-1.0, weights="random")
    with pytest.raises(ValueError, match="input_normalization"):
        PerceptualLoss(input_normalization="tf", weights="random")
    with pytest.raises(FileNotFoundError, match="weights="):
        PerceptualLoss(weights=str(tmp_path / "missing.h5"))
    other = tmp_path / "vgg.npz"
    other.write_bytes(b"")
    with pytest.raises(ValueError, match="weights="):
        PerceptualLoss(weights=str(other))
    with pytest.raises(ValueError, match="features.0.weight"):
        vgg19_weights_from_torch({"classifier.0.weight": np.zeros((2, 2))})


def _forbid_network(monkeypatch):
    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(file_utils, "urlretrieve", no_network)


def test_offline_imagenet_error_says_where_to_put_which_file(tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    _forbid_network(monkeypatch)
    with pytest.raises(FileNotFoundError) as info:
        PerceptualLoss(weights="imagenet")
    message = str(info.value)
    assert str(keras_home / "models" / perceptual.KERAS_VGG19_NOTOP_FILE) in message
    assert "weights='/path/to/" in message and perceptual.TORCHVISION_VGG19_FILE in message
    assert perceptual.KERAS_VGG19_NOTOP_MD5 in message

    def failing_get_file(*args, **kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.utils, "get_file", failing_get_file)
    with pytest.raises(FileNotFoundError, match=perceptual.KERAS_VGG19_NOTOP_FILE):
        PerceptualLoss(weights="imagenet")


def _write_legacy_h5(model, path):
    """The layout of Keras' downloadable application weights (legacy HDF5)."""
    import h5py

    legacy = pytest.importorskip("keras.src.legacy.saving.legacy_h5_format")
    with h5py.File(path, "w") as f:
        legacy.save_weights_to_hdf5_group(f, model)


def test_imagenet_weights_from_the_keras_cache(tmp_path, monkeypatch, random_vgg):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    path = models_dir / perceptual.KERAS_VGG19_NOTOP_FILE
    _write_legacy_h5(random_vgg, path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(perceptual, "KERAS_VGG19_NOTOP_MD5", hashlib.md5(path.read_bytes()).hexdigest())
    _forbid_network(monkeypatch)
    loss = PerceptualLoss(weights="imagenet", layers=SMALL_LAYERS)
    assert loss.input_normalization == "caffe"
    for name, values in _kernels(loss).items():
        for got, want in zip(values, random_vgg.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)


def test_keras_weights_file(tmp_path, random_vgg):
    path = tmp_path / "vgg19.weights.h5"
    random_vgg.save_weights(path)
    loss = PerceptualLoss(weights=str(path), layers=SMALL_LAYERS)
    assert loss.input_normalization == "caffe" and loss.get_config()["weights"] == str(path)
    for name, values in _kernels(loss).items():
        for got, want in zip(values, random_vgg.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory):
    """A random state dict with torchvision's VGG19 keys, written with torch.save."""
    torch = pytest.importorskip("torch", reason="writing a .pth file needs torch")
    rng = np.random.default_rng(0)
    channels = (3, 64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)
    state = {}
    for (_, index), cin, cout in zip(perceptual.VGG19_CONV_LAYERS, channels[:-1], channels[1:]):
        std = np.sqrt(2.0 / (cin * 9))
        state[f"features.{index}.weight"] = (rng.standard_normal((cout, cin, 3, 3)) * std).astype("float32")
        state[f"features.{index}.bias"] = (rng.standard_normal(cout) * 0.05).astype("float32")
    state["classifier.0.weight"] = rng.standard_normal((4, 3)).astype("float32")  # ignored
    path = tmp_path_factory.mktemp("torchvision") / perceptual.TORCHVISION_VGG19_FILE
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, str(path))
    return path, state


def _torch_features(torch, state, images_nchw, relu_indices):
    """torchvision's VGG19 `features` run from a state dict, output after the given ReLUs."""
    f = torch.nn.functional
    x, out = images_nchw, {}
    conv_indices = {index for _, index in perceptual.VGG19_CONV_LAYERS}
    for i in range(max(relu_indices) + 1):
        if i in conv_indices:
            weight = torch.from_numpy(state[f"features.{i}.weight"])
            x = f.conv2d(x, weight, torch.from_numpy(state[f"features.{i}.bias"]), padding=1)
        elif i in (4, 9, 18, 27):
            x = f.max_pool2d(x, 2, 2)
        else:
            x = f.relu(x)
        if i in relu_indices:
            out[i] = x
    return [out[i] for i in relu_indices]


def test_torchvision_pth_is_converted(torchvision_file):
    torch = pytest.importorskip("torch")
    path, state = torchvision_file
    loss = PerceptualLoss(weights=str(path))
    assert loss.input_normalization == "torch"
    for name, index in perceptual.VGG19_CONV_LAYERS[:13]:
        kernel, bias = loss.feature_extractor.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, np.transpose(state[f"features.{index}.weight"], (2, 3, 1, 0)))
        np.testing.assert_array_equal(bias, state[f"features.{index}.bias"])
    x = _images(ODD_SHAPE, 13)
    got = loss.extract_features(loss.normalize(x))
    nchw = torch.from_numpy(np.transpose(_torch_normalize(x), (0, 3, 1, 2)).copy())
    with torch.no_grad():
        expected = _torch_features(torch, state, nchw, (1, 6, 11, 20, 29))
    for g, e in zip(got, expected):
        e = np.transpose(e.numpy(), (0, 2, 3, 1))
        np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_pth_loss_matches_released_formula_in_torch(torchvision_file):
    """Three scales (odd sizes), style term and layer weights against the released loss
    written with torch ops (F.interpolate for the scales)."""
    torch = pytest.importorskip("torch")
    path, state = torchvision_file
    layers = ("relu_1_1", "relu_2_1", "relu_3_1", "relu_4_1")
    weights = (1.0, 0.5, 2.0, 1.0)
    loss = PerceptualLoss(layers=layers, layer_weights=weights, num_scales=3, style_weight=50.0, weights=str(path))
    x, y = _images(ODD_SHAPE, 14), _images(ODD_SHAPE, 15)  # -> 18x17 -> 9x8

    def gram(f):
        b, c, h, w = f.shape
        f = f.reshape(b, c, h * w)
        return f.bmm(f.transpose(1, 2)) / (c * h * w)

    with torch.no_grad():
        tx, ty = (torch.from_numpy(np.transpose(_torch_normalize(a), (0, 3, 1, 2)).copy()) for a in (x, y))
        expected, style = 0.0, 0.0
        for scale in range(3):
            fx = _torch_features(torch, state, tx, (1, 6, 11, 20))
            fy = _torch_features(torch, state, ty, (1, 6, 11, 20))
            for w, a, b in zip(weights, fx, fy):
                expected += w * float((a - b).abs().mean())
                if scale == 0:
                    style += float((gram(a) - gram(b)).abs().mean())
            if scale < 2:
                resize = dict(scale_factor=0.5, mode="bilinear", align_corners=False)
                tx = torch.nn.functional.interpolate(tx, recompute_scale_factor=True, **resize)
                ty = torch.nn.functional.interpolate(ty, recompute_scale_factor=True, **resize)
    np.testing.assert_allclose(float(loss(x, y)), expected + 50.0 * style, rtol=1e-4)


def test_vgg_weights_have_one_vocabulary_and_none_is_no_value(tmp_path):
    from keras_nted.losses.perceptual import check_vgg_weights
    from keras_nted.models import NTEDGAN

    assert [check_vgg_weights(w) for w in ("imagenet", "random", "none")] == ["imagenet", "random", "none"]
    with pytest.raises(ValueError, match=r"Expected vgg_weights as one of 'imagenet', 'random', 'none' or a VGG19"):
        NTEDGAN.from_preset("nted_tiny", vgg_weights=None)
    with pytest.raises(ValueError, match=r"Expected weights as one of .*Received: weights=None"):
        PerceptualLoss(weights=None)
    with pytest.raises(FileNotFoundError, match="Received: weights='none'"):  # a loss network is never "none"
        PerceptualLoss(weights="none")
    with pytest.raises(FileNotFoundError, match="No such file"):
        check_vgg_weights(str(tmp_path / "vgg19.h5"))
