"""Seeded random weights in the reference networks' state-dict layouts (numpy only).

The fixture scripts (tests/fixtures/metrics/make_*.py) fill lpips' AlexNet / VGG16 trunks and
torchvision's and pytorch-fid's Inception with these values in the reference venv, and the
tests rebuild the same arrays here, so no weights are committed.
"""

import numpy as np

# torchvision `features.N` index -> (out channels, in channels, kernel size) of each convolution.
CONVOLUTIONS = {
    "alex": {0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3), 8: (256, 384, 3), 10: (256, 256, 3)},
    "vgg": dict(
        zip(
            [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
            [
                (64, 3, 3),
                (64, 64, 3),
                (128, 64, 3),
                (128, 128, 3),
                (256, 128, 3),
                (256, 256, 3),
                (256, 256, 3),
                (512, 256, 3),
                (512, 512, 3),
                (512, 512, 3),
                (512, 512, 3),
                (512, 512, 3),
                (512, 512, 3),
            ],
        )
    ),  # fmt: skip
}


def seeded_backbone(net, seed):
    """`{"features.N.weight": (out, in, k, k), "features.N.bias": (out,)}`, float32, He-scaled normals.

    Filled in torchvision's key order from `np.random.default_rng(seed)`: each weight is
    `standard_normal * sqrt(2 / fan_in)`, each bias `0.1 * standard_normal`.
    """
    rng = np.random.default_rng(seed)
    state = {}
    for index, (out_channels, in_channels, size) in CONVOLUTIONS[net].items():
        weight = rng.standard_normal((out_channels, in_channels, size, size)) * np.sqrt(2.0 / (in_channels * size**2))
        state[f"features.{index}.weight"] = weight.astype("float32")
        state[f"features.{index}.bias"] = (0.1 * rng.standard_normal(out_channels)).astype("float32")
    return state


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
