import pytest


@pytest.fixture(scope="session")
def shipped_generator():
    """The shipped 64x44 mannequin model (saved_models/nted_mannequin_64.keras)."""
    from keras_nted.models import DEFAULT_PRESET
    from keras_nted.models.generator import load_generator
    from keras_nted.models.preset_io import builtin_weights_path

    return load_generator(builtin_weights_path(DEFAULT_PRESET))


@pytest.fixture(scope="session")
def shipped_parts(shipped_generator):
    from keras_nted.appearance import GeneratorParts

    return GeneratorParts(shipped_generator)


@pytest.fixture(scope="session")
def pair():
    """Held-out case: test identity 2's upper garment onto identity 52, in 52's pose."""
    from keras_nted.evaluation.appearance import appearance_pair

    return appearance_pair(2, 52)
