"""Seeded random weights for a network given as its state dict's key list (numpy only).

The fixture script (tests/fixtures/metrics/make_inception_fixtures.py) fills torchvision's and
pytorch-fid's Inception with these values in the reference venv, and the tests regenerate the
same arrays from the committed key list, so no weights are committed.
"""

import numpy as np


def seeded_state_dict(keys, shapes, seed):
    """A `{key: float32 array}` filled in key order from `np.random.default_rng(seed)`.

    Convolution and linear weights: He-scaled normals (`sqrt(2 / fan_in)`); linear biases:
    N(0, 0.01); BatchNorm gamma U(0.8, 1.2), beta N(0, 0.05), running mean N(0, 0.1),
    running variance U(0.5, 1.5); `num_batches_tracked`: 0 (int64, drawing nothing).
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for key, shape in zip(keys, shapes):
        shape = tuple(int(s) for s in shape)
        field = key.rsplit(".", 1)[-1]
        is_norm = ".bn." in f".{key}"
        if field == "num_batches_tracked":
            weights[key] = np.zeros(shape, np.int64)
            continue
        if field == "weight" and not is_norm:
            value = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        elif field == "bias" and not is_norm:
            value = rng.normal(0.0, 0.01, shape)
        elif field == "weight":
            value = rng.uniform(0.8, 1.2, shape)
        elif field == "bias":
            value = rng.normal(0.0, 0.05, shape)
        elif field == "running_mean":
            value = rng.normal(0.0, 0.1, shape)
        elif field == "running_var":
            value = rng.uniform(0.5, 1.5, shape)
        else:
            raise ValueError(f"Expected a convolution, linear or BatchNorm key. Received: key={key!r}")
        weights[key] = value.astype(np.float32)
    return weights
