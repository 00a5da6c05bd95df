"""The released optimisation: initialisation rule, loss, snapshots, re-estimation, and the same
numbers on every backend."""

import numpy as np
import pytest

from keras_nted.appearance import AppearanceControl
from keras_nted.appearance import blend_textures
from keras_nted.appearance import initial_coefficients
from keras_nted.losses import PerceptualLoss

# 10 steps of the pixel-L1 optimisation on `pair` (test identity 2's upper garment onto 52):
# measured on TensorFlow; JAX and PyTorch gave the same to 1e-6 (coefficients) and 1e-6
# (relative, losses). Each backend runs this file in its own process and compares with these.
REFERENCE_COEFFICIENTS = [
    [0.09568, -0.09885, 0.09605, -0.09877, 0.03338, 0.09963, -0.09394, -0.05672, -0.05405, 0.01841, 1.10096,
     -0.09954, 0.09235, -0.09915, 0.05616, 0.07087],
    [-0.09988, -0.09407, -0.1006, -0.0986, 0.90129, 0.09465, -0.09711, -0.0416, -0.09982, -0.09961, -0.0995,
     -0.09211, -0.05453, -0.10015, -0.09969, -0.05167],
    [0.08821, 0.0557, 0.09642, 0.96623, 0.09085, 0.10085, -0.00327, 0.05984, 0.10041, 0.08292, 0.09759, 0.00627,
     0.08959, 0.03488, -0.09689, 0.09354],
    [-0.02094, 0.00202, 0.02619, 0.90393, 0.07924, -0.00734, -0.00814, -0.01567, 0.02637, -0.00256, -0.007,
     0.01671, 0.00881, -0.03359, 0.00227, -0.02658],
]  # fmt: skip
REFERENCE_LOSS = [35.7636, 35.4869, 34.9704, 34.4803, 34.1768, 33.8605, 33.4901, 33.1989, 32.9597, 32.6991, 32.4326]
# The released initialisation picks these textures (one per NTED index paints the garment).
REFERENCE_INITIAL = [[10], [4], [3], [3]]


def _masks(pair):
    return {"garment_mask": pair["garment_mask"], "person_mask": pair["person_mask"]}


@pytest.fixture(scope="module")
def ten_steps(shipped_parts, pair):
    control = AppearanceControl(shipped_parts, steps=10, loss="l1", snapshots=(0, 5, 10), verbose=0)
    return control(pair["garment"], pair["person"], pair["skeleton"], **_masks(pair))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_initialisation_is_the_released_rule(shipped_parts, pair, ten_steps):
    garment = blend_textures(shipped_parts, pair["person"], pair["garment"], pair["skeleton"], [1.0] * 4)
    person = blend_textures(shipped_parts, pair["person"], pair["garment"], pair["skeleton"], [0.0] * 4)
    expected = []
    for lg, lr in zip(garment["distribution_logits"], person["distribution_logits"]):
        k = lg.shape[-1]
        s = 64 // lg.shape[1]  # integer factor: nearest resizing takes the top-left pixel
        a_g = _softmax(lg[0])[pair["garment_mask"][::s, ::s]].mean(axis=0)
        a_r = _softmax(lr[0])[pair["person_mask"][::s, ::s]].mean(axis=0)
        expected.append((np.maximum(a_g, a_r) >= 3 / k).astype("float32"))
    got = initial_coefficients(garment["distribution_logits"], pair["garment_mask"],
                               person["distribution_logits"], pair["person_mask"])  # fmt: skip
    for g, e, m0, chosen in zip(got, expected, ten_steps.initial_coefficients, REFERENCE_INITIAL):
        np.testing.assert_array_equal(g, e)
        np.testing.assert_array_equal(m0, e)
        assert np.flatnonzero(e).tolist() == chosen


def test_same_numbers_as_the_reference_on_every_backend(ten_steps):
    np.testing.assert_allclose(ten_steps.history["loss"], REFERENCE_LOSS, rtol=1e-4)
    for got, want in zip(ten_steps.coefficients, REFERENCE_COEFFICIENTS):
        np.testing.assert_allclose(got, want, atol=1e-3)


def test_loss_decreases_and_terms_add_up(ten_steps):
    h = ten_steps.history
    assert len(h["loss"]) == 11
    assert h["loss"][-1] < 0.95 * h["loss"][0]
    assert all(b < a for a, b in zip(h["loss"], h["loss"][1:]))
    total = np.add(np.add(h["maintain"], h["edit"]), h["regularization"])
    np.testing.assert_allclose(total, h["loss"], rtol=1e-5)


def test_snapshots_show_the_coefficients_of_their_iteration(shipped_parts, pair, ten_steps):
    assert sorted(ten_steps.snapshots) == [0, 5, 10]
    args = (shipped_parts, pair["person"], pair["garment"], pair["skeleton"])
    initial = blend_textures(*args, ten_steps.initial_coefficients)["image"][0]
    final = blend_textures(*args, ten_steps.coefficients)["image"][0]
    np.testing.assert_allclose(ten_steps.snapshots[0], initial, atol=1e-5)
    np.testing.assert_allclose(ten_steps.snapshots[10], final, atol=1e-5)
    np.testing.assert_allclose(ten_steps.image, final, atol=1e-5)
    assert np.abs(ten_steps.snapshots[5] - initial).max() > 1e-3
    np.testing.assert_array_equal(ten_steps.masks["final"], pair["garment_mask"])  # no segmenter: S stays M_g


def test_segmenter_gives_missing_masks_and_reestimates(shipped_parts, pair):
    calls = []

    def segmenter(image, distribution_logits):
        calls.append((image.shape, [x.shape for x in distribution_logits]))
        return pair["person_mask"] if len(calls) != 4 else np.zeros((64, 44), bool)  # 4th: unusable

    control = AppearanceControl(shipped_parts, steps=4, loss="l1", reestimate_every=2, verbose=0)
    result = control(pair["garment"], pair["person"], pair["skeleton"], segmenter=segmenter)
    # I_g, I_r, then the renders of iterations 2 and 4 (the last one empty: M_g is kept)
    assert len(calls) == 4 and calls[0][0] == (64, 44, 3) and len(calls[0][1]) == 4
    np.testing.assert_array_equal(result.masks["garment"], pair["person_mask"])
    np.testing.assert_array_equal(result.masks["final"], pair["person_mask"])
    assert sorted(result.snapshots) == [0, 4]
    # with the garment mask given, the segmenter is only asked for the person's and the re-estimates
    calls.clear()
    result = control(pair["garment"], pair["person"], pair["skeleton"], garment_mask=pair["garment_mask"],
                     segmenter=segmenter)  # fmt: skip
    assert len(calls) == 3
    np.testing.assert_array_equal(result.masks["final"], pair["person_mask"])  # re-estimated at iteration 4


def test_perceptual_loss_runs(shipped_parts, pair):
    # A random, truncated VGG19: the plumbing (a layer with its own frozen weights inside the
    # compiled step), not the values.
    loss = PerceptualLoss(layers=("block1_conv1", "block2_conv1"), weights=None, style_weight=0.0)
    control = AppearanceControl(shipped_parts, steps=2, loss=loss, verbose=0)
    assert (control.loss, control.maintain_weight, control.edit_weight) == ("perceptual", 3e6, 3e5)
    result = control(pair["garment"], pair["person"], pair["skeleton"], **_masks(pair))
    assert np.all(np.isfinite(result.history["loss"])) and result.history["loss"][2] != result.history["loss"][0]


def test_clear_errors(shipped_parts, pair):
    control = AppearanceControl(shipped_parts, steps=1, loss="l1", verbose=0)
    inputs = (pair["garment"], pair["person"], pair["skeleton"])
    with pytest.raises(ValueError, match=r"Expected `garment_mask` of size 64x44 \(the image size\)"):
        control(*inputs, garment_mask=np.ones((32, 22), bool), person_mask=pair["person_mask"])
    with pytest.raises(ValueError, match="Expected a non-empty `person_mask`"):
        control(*inputs, garment_mask=pair["garment_mask"], person_mask=np.zeros((64, 44), bool))
    with pytest.raises(ValueError, match="Give `person_mask`"):
        control(*inputs, garment_mask=pair["garment_mask"])
    with pytest.raises(ValueError, match=r"Expected one skeleton \(batch 1"):
        control(pair["garment"], pair["person"], np.stack([pair["skeleton"]] * 2), **_masks(pair))
    with pytest.raises(ValueError, match="Expected loss to be one of"):
        AppearanceControl(shipped_parts, loss="l2")
    with pytest.raises(ValueError, match=r"snapshot iterations in \[0, 10\]"):
        AppearanceControl(shipped_parts, steps=10, snapshots=(0, 50), loss="l1")
    with pytest.raises(ValueError, match="Received: steps=-1"):
        AppearanceControl(shipped_parts, steps=-1, loss="l1")
