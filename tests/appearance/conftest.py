import pytest


@pytest.fixture(scope="session")
def shipped_generator():
    """The shipped 64x44 mannequin model (saved_models/nted_mannequin_64.keras)."""
    from keras_nted.commands.demo import shipped_model_path
    from keras_nted.models.generator import load_generator

    return load_generator(shipped_model_path())


@pytest.fixture(scope="session")
def shipped_parts(shipped_generator):
    from keras_nted.appearance import GeneratorParts

    return GeneratorParts(shipped_generator)


@pytest.fixture(scope="session")
def pair():
    """Held-out case: test identity 2's upper garment onto identity 52, in 52's pose."""
    from keras_nted.evaluation.appearance import appearance_pair

    return appearance_pair(2, 52)
