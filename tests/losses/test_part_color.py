import keras
import numpy as np
import pytest

from keras_nted.evaluation.garments import part_means
from keras_nted.losses.part_color import part_color_loss
from tests.helpers import to_numpy


def _case(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, (2, 10, 8))
    labels[1][labels[1] == 1] = 2  # the second image has no hair: that (image, part) is left out
    truth = rng.uniform(-1, 1, (2, 10, 8, 3)).astype("float32")
    fake = rng.uniform(-1, 1, (2, 10, 8, 3)).astype("float32")
    return fake, truth, labels


def test_equals_the_mean_colour_error_of_the_present_parts():
    fake, truth, labels = _case()
    # The evaluation's part means (hair, skin, top, trousers) on uint8-free inputs: the same arithmetic.
    errors = []
    for image in range(2):
        for label in (1, 2, 3, 4, 5):
            mask = labels[image] == label
            if mask.any():
                errors.append(np.abs(fake[image][mask].mean(0) - truth[image][mask].mean(0)).mean())
    assert len(errors) == 9
    np.testing.assert_allclose(float(to_numpy(part_color_loss(fake, truth, labels))), np.mean(errors), rtol=1e-5)
    assert float(to_numpy(part_color_loss(truth, truth, labels))) == pytest.approx(0.0, abs=1e-6)
    # Agrees with the evaluation's per-part means where both apply.
    uint8 = np.round((truth + 1) * 127.5).astype(np.uint8)
    means, present = part_means(uint8, labels, min_pixels=1)
    assert present[0].all() and not present[1, 0]
    np.testing.assert_allclose(means[0, 2], (uint8[0][labels[0] == 3] / 255.0).mean(0))


def test_no_part_scores_zero_and_missing_labels_are_refused():
    fake, truth, _ = _case()
    background = np.zeros((2, 10, 8), "int32")
    assert float(to_numpy(part_color_loss(fake, truth, background))) == 0.0
    with pytest.raises(ValueError, match="Received: labels=None"):
        part_color_loss(fake, truth, None)


def test_gradient_moves_each_part_towards_its_colour():
    from keras_nted.backend import autodiff

    fake, truth, labels = _case(1)
    variable = keras.Variable(fake)
    _, _, grads = autodiff.value_and_grad(lambda: (part_color_loss(variable, truth, labels), None), [variable])
    grad = to_numpy(grads[0])
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
    assert np.all(grad[labels == 0] == 0)  # the background is not part of the term
    stepped = fake - 1.0 * grad
    assert float(to_numpy(part_color_loss(stepped, truth, labels))) < float(
        to_numpy(part_color_loss(fake, truth, labels))
    )
