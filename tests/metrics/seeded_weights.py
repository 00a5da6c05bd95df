"""Seeded random backbone weights in torchvision's state-dict layout (numpy only: the fixture script uses it too).

The fixtures' LPIPS distances were computed by lpips with these weights in its AlexNet / VGG16
trunk; the tests rebuild the same dict here, so no backbone weights are committed.
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


def seeded_state_dict(net, seed):
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
