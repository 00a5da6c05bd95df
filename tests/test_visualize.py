import numpy as np
import pytest

from keras_nted.utils.images import to_uint8
from keras_nted.visualize import attention_panels
from keras_nted.visualize import label_columns
from keras_nted.visualize import stack_rows


def test_uniform_attention_gives_the_mean_colour():
    rng = np.random.default_rng(0)
    reference = rng.uniform(-1, 1, (2, 16, 12, 3)).astype("float32")
    softmax = np.full((2, 4, 3, 5), 1 / 12, "float32")  # uniform over the 4 x 3 positions
    logits = rng.normal(size=(2, 4, 3, 5)).astype("float32")
    (panel,) = attention_panels([softmax], [logits], reference)
    assert panel.shape == (2, 16, 12, 3)
    # Nearest-resized reference: pixels (4 i, 4 j); every texture holds their mean colour.
    expected = reference[:, ::4, ::4].mean(axis=(1, 2))
    np.testing.assert_allclose(panel, np.broadcast_to(expected[:, None, None], panel.shape), atol=1e-6)


def test_one_hot_attention_moves_colours():
    reference = np.zeros((1, 2, 2, 3), "float32")
    reference[0, 0, 0] = [1, 0, 0]  # red top-left
    reference[0, 1, 1] = [0, 0, 1]  # blue bottom-right
    softmax = np.zeros((1, 2, 2, 2), "float32")
    softmax[0, 0, 0, 0] = 1  # texture 0 = top-left colour
    softmax[0, 1, 1, 1] = 1  # texture 1 = bottom-right colour
    logits = np.full((1, 2, 2, 2), -50.0, "float32")
    logits[0, :, 0, 1] = 50  # left column gets texture 1 (blue), right column texture 0 (red)
    logits[0, :, 1, 0] = 50
    (panel,) = attention_panels([softmax], [logits], reference)
    np.testing.assert_allclose(panel[0, :, 0], [[0, 0, 1]] * 2, atol=1e-6)
    np.testing.assert_allclose(panel[0, :, 1], [[1, 0, 0]] * 2, atol=1e-6)


def test_to_uint8_clamps_and_stack_rows_pads():
    assert to_uint8(np.array([-2.0, -1.0, 1.0, 3.0])).tolist() == [0, 0, 255, 255]
    grid = stack_rows([np.zeros((1, 4, 6, 3), np.uint8)[0], np.zeros((1, 4, 3, 3), np.uint8)[0]])
    assert grid.shape == (10, 6, 3)
    assert (grid[4:6] == 255).all() and (grid[6:, 3:] == 255).all()


def test_skeleton_picture_round_trips_exactly_through_to_uint8():
    from keras_nted.utils.images import to_uint8
    from keras_nted.visualize import skeleton_picture

    levels = np.arange(256, dtype="float32")
    skeleton = np.zeros((1, 16, 16, 20), "float32")
    skeleton[..., :3] = np.resize(levels / 255.0, (16, 16, 3))
    picture = to_uint8(skeleton_picture(skeleton))
    np.testing.assert_array_equal(picture, np.rint(skeleton[..., :3] * 255.0).astype(np.uint8))


def test_label_columns_adds_a_header_and_keeps_the_picture():

    picture = np.random.default_rng(0).integers(0, 256, (64, 3 * 44, 3), dtype=np.uint8)
    labelled = label_columns(picture, ["reference", "", "generated"])
    band = labelled.shape[0] - 64
    assert labelled.dtype == np.uint8 and labelled.shape[1:] == picture.shape[1:] and 0 < band < 32
    np.testing.assert_array_equal(labelled[band:], picture)
    header = labelled[:band]
    assert (header[:, :44] < 128).any() and (header[:, 88:] < 128).any(), "a label per named column"
    assert (header[:, 44:88] == 255).all(), "an empty label leaves its column white"
    # Wider columns get a larger font, so a taller band; the picture is never scaled.
    assert label_columns(np.zeros((8, 600, 3), np.uint8), ["reference", "generated"]).shape[0] - 8 > band


@pytest.mark.parametrize(
    "picture, labels, message",
    [
        (np.zeros((8, 10, 3), np.uint8), ["a", "b", "c"], "3 labels"),
        (np.zeros((8, 10, 3), "float32"), ["a"], "uint8 picture"),
        (np.zeros((8, 10), np.uint8), ["a"], "uint8 picture"),
    ],
)
def test_label_columns_bad_input(picture, labels, message):

    with pytest.raises(ValueError, match=message):
        label_columns(picture, labels)


def test_docstring_examples():
    import doctest

    import keras_nted.visualize

    result = doctest.testmod(keras_nted.visualize, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
