import keras
import numpy as np
import pytest
from keras import ops

from keras_nted.losses import FaceLoss
from keras_nted.losses import PerceptualLoss
from keras_nted.losses import face_crop

NUM_CASES = 6


def _crop_reference(image, center, face_size):
    """One sample, straight from the spec (5.4), with numpy: crop, then an align_corners=True
    bilinear resize written as loops."""
    h, w = image.shape[:2]
    if np.sum(center) == -4:
        return np.zeros((face_size, face_size, 3), "float32")
    xs, ys, xe, ye = (np.float32(v) for v in center)
    xc, yc = np.floor((xs + xe) / 2), np.floor((ys + ye) / 2)
    length = min(w, max(32, int((xe - xs) * np.float32(2.5))))
    yc = max(length // 2, min(h - 1 - length // 2, yc))
    xc = max(length // 2, min(w - 1 - length // 2, xc))
    top, left = int(yc) - length // 2, int(xc) - length // 2
    crop = image[top : top + 2 * (length // 2), left : left + 2 * (length // 2), -3:]
    side = crop.shape[0]
    out = np.zeros((face_size, face_size, 3), "float64")
    ratio = (side - 1) / (face_size - 1)
    for i in range(face_size):
        y = i * ratio
        y0 = min(int(y), side - 1)
        y1, wy = min(y0 + 1, side - 1), y - y0
        for j in range(face_size):
            x = j * ratio
            x0 = min(int(x), side - 1)
            x1, wx = min(x0 + 1, side - 1), x - x0
            out[i, j] = (1 - wy) * ((1 - wx) * crop[y0, x0] + wx * crop[y0, x1]) + wy * (
                (1 - wx) * crop[y1, x0] + wx * crop[y1, x1]
            )
    return out


@pytest.mark.parametrize("case", range(NUM_CASES))
def test_matches_released_face_crop(losses_fixture, to_nhwc, case, fast):
    image = to_nhwc(losses_fixture["face_image"])
    centers = losses_fixture[f"face_center_{case}"]
    expected = to_nhwc(losses_fixture[f"face_crop_{case}"])
    crops = ops.convert_to_numpy(fast(face_crop)(image, centers))
    assert crops.shape == (2, 16, 16, 3) and crops.dtype == np.float32
    np.testing.assert_allclose(crops, expected, atol=1e-5, rtol=0)
    for b in range(len(image)):
        np.testing.assert_allclose(crops[b], _crop_reference(image[b], centers[b], 16), atol=1e-5)


def test_jitted_crop_with_per_sample_positions(losses_fixture, to_nhwc, jit):
    # All six cases in one batch: different crop boxes (and one missing face) per sample.
    image = to_nhwc(losses_fixture["face_image"])
    images = np.concatenate([image] * NUM_CASES)
    centers = np.concatenate([losses_fixture[f"face_center_{j}"] for j in range(NUM_CASES)])
    expected = np.concatenate([to_nhwc(losses_fixture[f"face_crop_{j}"]) for j in range(NUM_CASES)])
    crops = ops.convert_to_numpy(jit(face_crop)(images, centers))
    np.testing.assert_allclose(crops, expected, atol=1e-5, rtol=0)


def test_face_size_channels_and_missing_faces(fast):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (3, 96, 64, 5)).astype("float32")  # last 3 channels are cropped
    centers = np.array([[10, 40, 30, 42], [-1, -1, -1, -1], [50, 90, 63, 95]], "float32")
    crops = ops.convert_to_numpy(fast(lambda x, c: face_crop(x, c, face_size=20))(images, centers))
    assert crops.shape == (3, 20, 20, 3)
    for b in range(3):
        np.testing.assert_allclose(crops[b], _crop_reference(images[b], centers[b], 20), atol=1e-5)
    assert not np.any(crops[1])
    assert face_crop(images, centers).shape == (3, 24, 24, 3)  # 96 // 32 * 8


def test_crop_gradients_reach_images(input_gradients):
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (2, 64, 44, 3)).astype("float32")
    centers = np.array([[20, 20, 26, 20], [-1, -1, -1, -1]], "float32")
    (grad,) = input_gradients(lambda x: ops.sum(face_crop(x, centers)), images)
    assert np.abs(grad[0]).sum() > 0
    assert not np.any(grad[1])  # no face: the crop is a constant zero image


def test_validation_errors():
    images = np.zeros((1, 64, 44, 3), "float32")
    with pytest.raises(ValueError, match="face_size"):
        face_crop(images, np.zeros((1, 4), "float32"), face_size=0)
    with pytest.raises(ValueError, match="face_centers"):
        face_crop(images, np.zeros((1, 2), "float32"))
    with pytest.raises(ValueError, match="channels"):
        face_crop(np.zeros((1, 64, 44, 1), "float32"), np.zeros((1, 4), "float32"))


@pytest.fixture(scope="module")
def face_loss():
    return FaceLoss(weights="random", layers=("block1_conv1", "block2_conv1", "block3_conv1"), face_size=16)


def test_face_loss_is_perceptual_loss_of_crops(face_loss):
    rng = np.random.default_rng(2)
    fake = rng.uniform(-1, 1, (2, 64, 44, 3)).astype("float32")
    real = rng.uniform(-1, 1, (2, 64, 44, 3)).astype("float32")
    centers = np.array([[20, 20, 26, 20], [-1, -1, -1, -1]], "float32")
    assert face_loss.num_scales == 1 and face_loss.style_weight == 0.0
    assert face_loss.trainable_weights == []
    value = float(face_loss(fake, real, centers))
    crops_fake = ops.convert_to_numpy(face_crop(fake, centers, 16))
    crops_real = ops.convert_to_numpy(face_crop(real, centers, 16))
    features = [
        [ops.convert_to_numpy(f) for f in face_loss.extract_features(face_loss.normalize(c))]
        for c in (crops_fake, crops_real)
    ]
    expected = sum(np.abs(a - b).mean() for a, b in zip(*features))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert float(face_loss(fake, real, np.full((2, 4), -1.0, "float32"))) == 0.0


def test_face_loss_config_round_trip(face_loss):
    config = face_loss.get_config()
    assert "num_scales" not in config and config["face_size"] == 16
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(face_loss))
    assert isinstance(restored, FaceLoss) and isinstance(restored, PerceptualLoss)
    assert restored.get_config() == config
