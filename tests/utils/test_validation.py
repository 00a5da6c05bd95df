"""`keras_nted.utils.validation`: the shared argument checks and their keras-form messages."""

import numpy as np
import pytest

from keras_nted.utils import validation


@pytest.mark.parametrize(
    "value, minimum, expected",
    [(3, 1, 3), (np.int64(0), 0, 0), (np.uint8(7), 5, 7)],
)
def test_check_int_accepts_integers_and_returns_python_ints(value, minimum, expected):
    out = validation.check_int("steps", value, minimum=minimum)
    assert out == expected and type(out) is int


@pytest.mark.parametrize(
    "value, minimum, message",
    [
        (0, 1, "Expected a positive integer. Received: steps=0"),
        (-1, 0, "Expected a non-negative integer. Received: steps=-1"),
        (4, 5, "Expected an integer >= 5. Received: steps=4"),
        (True, 0, "Received: steps=True"),
        (np.bool_(True), 0, "Received: steps=np.True_"),
        (2.0, 1, "Received: steps=2.0"),
        ("2", 1, "Received: steps='2'"),
    ],
)
def test_check_int_refuses_with_the_name(value, minimum, message):
    with pytest.raises(ValueError) as info:
        validation.check_int("steps", value, minimum=minimum)
    assert message in str(info.value)


def test_check_number():
    assert validation.check_number("lr", np.float32(0.5)) == 0.5
    assert validation.check_number("w", 0, inclusive=True) == 0.0
    assert validation.check_number("w", 2, minimum=1) == 2.0
    for value, kwargs, message in [
        (0.0, {}, "Expected a positive number. Received: lr=0.0"),
        (-0.1, {"inclusive": True}, "Expected a non-negative number. Received: lr=-0.1"),
        (1.0, {"minimum": 1.0}, "Expected a number > 1.0. Received: lr=1.0"),
        (0.5, {"minimum": 1.0, "inclusive": True}, "Expected a number >= 1.0. Received: lr=0.5"),
        (float("nan"), {}, "Received: lr=nan"),
        (float("inf"), {}, "Received: lr=inf"),
        (True, {}, "Received: lr=True"),
        ("1", {}, "Received: lr='1'"),
    ]:
        with pytest.raises(ValueError) as info:
            validation.check_number("lr", value, **kwargs)
        assert message in str(info.value)


def test_check_feature_map():
    validation.check_feature_map("x", (None, 8, 8, 3), channels=3)
    for shape, message in [
        ((8, 8, 3), "Received: x.shape=(8, 8, 3)"),
        ((1, 0, 8, 3), "non-empty"),
        ((1, 8, 8, None), "known channels"),
    ]:
        with pytest.raises(ValueError) as info:
            validation.check_feature_map("x", shape)
        assert message in str(info.value)
    with pytest.raises(ValueError, match="with 4 channels"):
        validation.check_feature_map("x", (1, 8, 8, 3), channels=4)


def test_shape_of_and_check_same_batch():
    assert validation.shape_of(np.zeros((2, 3))) == (2, 3)
    assert validation.shape_of([[1, 2, 3]]) == (1, 3)
    validation.check_same_batch(["a", "b"], [(2, 4), (2, 5)])
    validation.check_same_batch(["a", "b"], [(None, 4), (3, 5)])  # unknown batch: not compared
    validation.check_same_batch(["a", "b"], [(np.int64(2), 4), (2, 5)])
    with pytest.raises(ValueError, match=r"equal batch sizes. Received: a.shape=\(2, 4\) and b.shape=\(3, 5\)"):
        validation.check_same_batch(["a", "b"], [(2, 4), (3, 5)])


def test_bools_are_found_anywhere_and_refused():
    assert validation.holds_bools(True) and validation.holds_bools([1, [2, False]])
    assert validation.holds_bools(np.array([True])) and validation.holds_bools(np.array([1, True], dtype=object))
    assert not validation.holds_bools([1, 2.5, np.array([1, 2])]) and not validation.holds_bools(np.zeros(3))
    validation.refuse_bools([[0.5, 1]], "keypoints")
    with pytest.raises(ValueError, match="Expected `keypoints` as numbers, not booleans"):
        validation.refuse_bools([[0.5, True]], "keypoints")


def test_check_keywords_names_the_first_unknown_one():
    assert validation.check_keywords("NTEDGenerator", {"size": 64}, ("size", "channels")) == {"size": 64}
    with pytest.raises(ValueError) as info:
        validation.check_keywords("NTEDGenerator", {"sise": 64, "zz": 1, "size": 1}, ("size", "channels"))
    assert str(info.value) == (
        "Unknown argument 'sise' of NTEDGenerator (a typo?). Expected one of: size, channels. Received: sise=64"
    )
