import pytest


@pytest.fixture(scope="session")
def tiny_generator_path(tmp_path_factory):
    """A freshly initialised nted_tiny generator saved as .keras (64x44)."""
    from keras_nted.models.generator import NTEDGenerator

    path = tmp_path_factory.mktemp("tiny_model") / "tiny.keras"
    NTEDGenerator.from_preset("nted_tiny", name="generator").save(path)
    return path
