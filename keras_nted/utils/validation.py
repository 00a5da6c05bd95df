"""Argument checks shared across keras-nted, with keras' error form: "Expected ... Received: name=value"."""

import numbers

import numpy as np


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name, value, minimum=1):
    """`value` as a Python int, or a `ValueError` naming `name` when it is not an integer >= `minimum`.

    Args:
        name: the argument's name, as the caller's user spells it.
        value: the value received (Python or numpy integer; bools are refused).
        minimum: the smallest accepted value (1: "a positive integer", 0: "a non-negative integer").

    Example:
    >>> check_int("num_labels", np.int64(16))
    16
    >>> check_int("num_labels", 0)
    Traceback (most recent call last):
    ...
    ValueError: Expected a positive integer. Received: num_labels=0
    """
    if not _is_integer(value) or value < minimum:
        expected = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
        raise ValueError(f"Expected {expected}. Received: {name}={value!r}")
    return int(value)


def check_number(name, value, minimum=0.0, inclusive=False):
    """`value` as a Python float, or a `ValueError` when it is not a real number above `minimum`.

    `inclusive=True` also accepts `minimum` itself ("a non-negative number" for 0).

    Example:
    >>> check_number("learning_rate", 0.01)
    0.01
    >>> check_number("r1_weight", -1.0, inclusive=True)
    Traceback (most recent call last):
    ...
    ValueError: Expected a non-negative number. Received: r1_weight=-1.0
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and np.isfinite(value)
    if not ok or value < minimum or (value == minimum and not inclusive):
        if minimum == 0:
            expected = "a non-negative number" if inclusive else "a positive number"
        else:
            expected = f"a number {'>=' if inclusive else '>'} {minimum}"
        raise ValueError(f"Expected {expected}. Received: {name}={value!r}")
    return float(value)


def check_feature_map(name, shape, channels=None):
    """Static checks of a feature map's shape: rank 4, non-empty, `channels` where built."""
    shape = tuple(shape)
    if len(shape) != 4 or shape[-1] is None or any(n is not None and n < 1 for n in shape[1:]):
        raise ValueError(
            f"Expected `{name}` of shape (batch, height, width, channels), non-empty, with known channels. "
            f"Received: {name}.shape={shape}"
        )
    if channels is not None and shape[-1] != channels:
        raise ValueError(
            f"Expected `{name}` with {channels} channels (the layer was built for them). Received: {name}.shape={shape}"
        )


def shape_of(x):
    """The static shape of a tensor, a `KerasTensor`, a numpy array or a nested list."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def check_same_batch(names, shapes):
    """Inputs paired sample by sample must agree in their (static) batch size: no broadcasting.

    Only batch sizes known as integers are compared: torch's export traces sizes as tensors.
    """
    batches = [tuple(shape)[0] if len(tuple(shape)) else None for shape in shapes]
    batches = [int(n) if isinstance(n, (int, np.integer)) else None for n in batches]
    if None not in batches and len(set(batches)) > 1:
        raise ValueError(
            f"Expected `{names[0]}` and `{names[1]}` with equal batch sizes. "
            f"Received: {names[0]}.shape={tuple(shapes[0])} and {names[1]}.shape={tuple(shapes[1])}"
        )


def holds_bools(values):
    """Whether `values` (an array or nested lists) holds booleans, which numpy would read as 0 and 1."""
    if isinstance(values, (bool, np.bool_)):
        return True
    if isinstance(values, np.ndarray):
        return values.dtype == np.bool_ or (values.dtype == object and any(holds_bools(v) for v in values.flat))
    if isinstance(values, (list, tuple)):
        return any(holds_bools(v) for v in values)
    return False


def check_keywords(owner, kwargs, valid):
    """A `ValueError` naming the first keyword of `kwargs` not in `valid` and listing `valid`.

    Keras' functional models swallow unknown keywords: a typo in a config or a `from_preset`
    call would build the default silently.
    """
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown argument {unknown[0]!r} of {owner} (a typo?). Expected one of: {', '.join(valid)}. "
            f"Received: {unknown[0]}={kwargs[unknown[0]]!r}"
        )
    return kwargs


def refuse_bools(values, name):
    """A `ValueError` naming `name` when `values` holds booleans (numpy reads them as 0 and 1)."""
    if holds_bools(values):
        raise ValueError(f"Expected `{name}` as numbers, not booleans. Received: a boolean {name}")
