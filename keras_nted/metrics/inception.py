"""Inception v3 up to its 2048-d average pool, the feature extractor of FID, in both forms.

- `kind="field"`: torchvision's `inception_v3` with its ImageNet weights, fed as GFLA, DPTN,
  PIDM and CFLD feed it (the FID of the pose-transfer papers): bilinear resize to 299x299,
  then `x * (std / 0.5) + (mean - 0.5) / 0.5` per channel with ImageNet's mean and std.
  Weights: torchvision's `inception_v3_google-0cc3c7bd.pth`
  (https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth, `Inception_V3_Weights.IMAGENET1K_V1`).
- `kind="standard"`: pytorch-fid's FID Inception (the TensorFlow FID network ported to torch):
  the same layers, but its Mixed_5b-5d, 6b-6e and 7b average pools leave the padding out of
  the mean, Mixed_7c's pool branch is a max pool, the head has 1008 classes, and the input
  transform is `2x - 1`. Weights: pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`
  (https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth).

Neither file can be had from a package registry; the user brings one (the hex in each name is
the start of its SHA-256). The Keras layers are named after the torch modules
(`Mixed_5b__branch1x1__conv` for `Mixed_5b.branch1x1.conv`: torch, as a Keras backend, refuses
dots in names), so a state dict maps onto them key by key.
"""

import os

import keras
import numpy as np
from keras import layers

from keras_nted.layers.fast import FastAveragePooling2D
from keras_nted.layers.fast import FastConv2D
from keras_nted.layers.fast import FastMaxPooling2D
from keras_nted.metrics.resize import BilinearResize

KINDS = ("field", "standard")
INPUT_SIZE = 299
FEATURES = 2048
# Rows of `fc.weight`: how a state dict says which network it is.
CLASSES = {"field": 1000, "standard": 1008}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])
# Keys of the full classifiers that the feature extractor has no use for.
UNUSED_PREFIXES = ("AuxLogits.", "fc.")
# torchvision's BasicConv2d: `BatchNorm2d(eps=0.001)` after each convolution; its state dict's fields.
BATCH_NORM_EPSILON = 1e-3
BATCH_NORM_FIELDS = ("weight", "bias", "running_mean", "running_var")
EXPECTED_FILES = "torchvision's inception_v3_google-0cc3c7bd.pth or pytorch-fid's pt_inception-2015-12-05-6726825d.pth"


SEPARATOR = "__"


def _keras_name(torch_name):
    return torch_name.replace(".", SEPARATOR)


def _torch_name(keras_name):
    return keras_name.replace(SEPARATOR, ".")


def _conv(x, filters, kernel_size, name, strides=1, padding="valid"):
    """torchvision's BasicConv2d (convolution without bias, BatchNorm with eps 0.001, ReLU), folded.

    The model is frozen, so BatchNorm is an affine map per channel with the stored statistics:
    `load_inception_weights` folds it into the convolution's kernel and bias, and the layer
    computes the convolution, bias and ReLU in one backend call (`FastConv2D`). Torch pads
    `(k - 1) / 2` on each side where it pads at all, which is "same" for odd kernels at
    stride 1; every strided convolution in Inception v3 is unpadded.
    """
    return FastConv2D(
        filters, kernel_size, strides=strides, padding=padding, activation="relu", name=_keras_name(f"{name}.conv")
    )(x)


def _pool_branch(x, pool, name):
    """The 3x3 stride-1 pool in front of a block's `branch_pool` convolution.

    `"average"`: torch's default `count_include_pad=True` (zeros count in the mean: pad, then
    pool); `"average_without_padding"`: `count_include_pad=False`, which is Keras' "same"
    average pooling on every backend (tests/metrics/test_inception.py checks it); `"max"`:
    the padded cells never win because the inputs are ReLU outputs (>= 0).
    """
    if pool == "average":
        x = layers.ZeroPadding2D(1, name=_keras_name(f"{name}.pad"))(x)
        return FastAveragePooling2D(3, strides=1, name=_keras_name(f"{name}.pool"))(x)
    if pool == "average_without_padding":
        return FastAveragePooling2D(3, strides=1, padding="same", name=_keras_name(f"{name}.pool"))(x)
    return FastMaxPooling2D(3, strides=1, padding="same", name=_keras_name(f"{name}.pool"))(x)


def _block_a(x, pool_features, name, pool):
    branch1x1 = _conv(x, 64, 1, f"{name}.branch1x1")
    branch5x5 = _conv(x, 48, 1, f"{name}.branch5x5_1")
    branch5x5 = _conv(branch5x5, 64, 5, f"{name}.branch5x5_2", padding="same")
    branch3x3dbl = _conv(x, 64, 1, f"{name}.branch3x3dbl_1")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_2", padding="same")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_3", padding="same")
    branch_pool = _conv(_pool_branch(x, pool, name), pool_features, 1, f"{name}.branch_pool")
    return layers.Concatenate(name=_keras_name(name))([branch1x1, branch5x5, branch3x3dbl, branch_pool])


def _block_b(x, name):
    branch3x3 = _conv(x, 384, 3, f"{name}.branch3x3", strides=2)
    branch3x3dbl = _conv(x, 64, 1, f"{name}.branch3x3dbl_1")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_2", padding="same")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_3", strides=2)
    branch_pool = FastMaxPooling2D(3, strides=2, name=_keras_name(f"{name}.pool"))(x)
    return layers.Concatenate(name=_keras_name(name))([branch3x3, branch3x3dbl, branch_pool])


def _block_c(x, channels_7x7, name, pool):
    c7 = channels_7x7
    branch1x1 = _conv(x, 192, 1, f"{name}.branch1x1")
    branch7x7 = _conv(x, c7, 1, f"{name}.branch7x7_1")
    branch7x7 = _conv(branch7x7, c7, (1, 7), f"{name}.branch7x7_2", padding="same")
    branch7x7 = _conv(branch7x7, 192, (7, 1), f"{name}.branch7x7_3", padding="same")
    branch7x7dbl = _conv(x, c7, 1, f"{name}.branch7x7dbl_1")
    for i, (kernel, filters) in enumerate((((7, 1), c7), ((1, 7), c7), ((7, 1), c7), ((1, 7), 192)), start=2):
        branch7x7dbl = _conv(branch7x7dbl, filters, kernel, f"{name}.branch7x7dbl_{i}", padding="same")
    branch_pool = _conv(_pool_branch(x, pool, name), 192, 1, f"{name}.branch_pool")
    return layers.Concatenate(name=_keras_name(name))([branch1x1, branch7x7, branch7x7dbl, branch_pool])


def _block_d(x, name):
    branch3x3 = _conv(x, 192, 1, f"{name}.branch3x3_1")
    branch3x3 = _conv(branch3x3, 320, 3, f"{name}.branch3x3_2", strides=2)
    branch7x7x3 = _conv(x, 192, 1, f"{name}.branch7x7x3_1")
    branch7x7x3 = _conv(branch7x7x3, 192, (1, 7), f"{name}.branch7x7x3_2", padding="same")
    branch7x7x3 = _conv(branch7x7x3, 192, (7, 1), f"{name}.branch7x7x3_3", padding="same")
    branch7x7x3 = _conv(branch7x7x3, 192, 3, f"{name}.branch7x7x3_4", strides=2)
    branch_pool = FastMaxPooling2D(3, strides=2, name=_keras_name(f"{name}.pool"))(x)
    return layers.Concatenate(name=_keras_name(name))([branch3x3, branch7x7x3, branch_pool])


def _split_3x3(x, name, first, second):
    """A (1, 3) and a (3, 1) convolution side by side on the same input (Inception E)."""
    wide = _conv(x, 384, (1, 3), f"{name}.{first}", padding="same")
    tall = _conv(x, 384, (3, 1), f"{name}.{second}", padding="same")
    return layers.Concatenate(name=_keras_name(f"{name}.{first[:-1]}"))([wide, tall])


def _block_e(x, name, pool):
    branch1x1 = _conv(x, 320, 1, f"{name}.branch1x1")
    branch3x3 = _conv(x, 384, 1, f"{name}.branch3x3_1")
    branch3x3 = _split_3x3(branch3x3, name, "branch3x3_2a", "branch3x3_2b")
    branch3x3dbl = _conv(x, 448, 1, f"{name}.branch3x3dbl_1")
    branch3x3dbl = _conv(branch3x3dbl, 384, 3, f"{name}.branch3x3dbl_2", padding="same")
    branch3x3dbl = _split_3x3(branch3x3dbl, name, "branch3x3dbl_3a", "branch3x3dbl_3b")
    branch_pool = _conv(_pool_branch(x, pool, name), 192, 1, f"{name}.branch_pool")
    return layers.Concatenate(name=_keras_name(name))([branch1x1, branch3x3, branch3x3dbl, branch_pool])


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"Expected kind to be one of {KINDS}. Received: kind={kind!r}")


def _input_transform(kind):
    """[0, 1] images to the range the network was trained on (a per-channel affine map)."""
    if kind == "field":
        scale, offset = IMAGENET_STD / 0.5, (IMAGENET_MEAN - 0.5) / 0.5
        return layers.Rescaling(scale.tolist(), offset.tolist(), name="imagenet_to_unit_range")
    return layers.Rescaling(2.0, -1.0, name="unit_to_signed_range")


def inception_v3(kind="field", weights=None):
    """Inception v3 from [0, 1] images of any size to its 2048-d average-pool features.

    The model resizes its input to 299x299 as torch's bilinear `F.interpolate` does
    (`BilinearResize`), maps it to the network's input range, and runs the convolutional
    part of Inception v3 (torchvision's for `kind="field"`, pytorch-fid's FID Inception for
    `kind="standard"`; see the module docstring) and the global average pool. Its layers are
    frozen (`trainable=False`): an inference network, with each BatchNorm folded into the
    convolution before it when the weights are loaded.

    Args:
        kind: `"field"` (the pose-transfer papers' FID: torchvision's ImageNet Inception) or
            `"standard"` (pytorch-fid's FID Inception: the FID of other fields).
        weights: `None` (random initialisation), a state dict (`{torch key: array}`) of the
            matching torch network, or the path of its `.pth` file.

    Returns:
        A functional `keras.Model` from `(batch, height, width, 3)` images in [0, 1] to
        `(batch, 2048)` features.

    Raises:
        ValueError: for an unknown `kind`, or weights of another network (see
            `load_inception_weights`).

    Example:
    >>> model = inception_v3("standard")  # doctest: +SKIP
    >>> model(np.zeros((2, 256, 176, 3))).shape  # doctest: +SKIP
    (2, 2048)

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016;
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
        Equilibrium", NeurIPS 2017 (FID).
    """
    _check_kind(kind)
    field = kind == "field"
    images = keras.Input((None, None, 3), name="images")
    x = BilinearResize(INPUT_SIZE, INPUT_SIZE, name="resize")(images)
    x = _input_transform(kind)(x)
    x = _conv(x, 32, 3, "Conv2d_1a_3x3", strides=2)
    x = _conv(x, 32, 3, "Conv2d_2a_3x3")
    x = _conv(x, 64, 3, "Conv2d_2b_3x3", padding="same")
    x = FastMaxPooling2D(3, strides=2, name="maxpool1")(x)
    x = _conv(x, 80, 1, "Conv2d_3b_1x1")
    x = _conv(x, 192, 3, "Conv2d_4a_3x3")
    x = FastMaxPooling2D(3, strides=2, name="maxpool2")(x)
    pool = "average" if field else "average_without_padding"
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        x = _block_a(x, pool_features, name, pool)
    x = _block_b(x, "Mixed_6a")
    for name, channels_7x7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = _block_c(x, channels_7x7, name, pool)
    x = _block_d(x, "Mixed_7a")
    x = _block_e(x, "Mixed_7b", pool)
    x = _block_e(x, "Mixed_7c", "average" if field else "max")
    features = layers.GlobalAveragePooling2D(name="avgpool")(x)
    model = keras.Model(images, features, name=f"inception_v3_{kind}")
    model.trainable = False
    if weights is not None:
        load_inception_weights(model, _read_weights(weights))
    return model


def _read_weights(weights):
    if isinstance(weights, (str, os.PathLike)):
        from keras_nted.metrics.pickle_files import read_state_dict

        return read_state_dict(weights)
    return weights


def _convolutions(model):
    """`{torch prefix of the BasicConv2d: its FastConv2D}`, in the model's order (the state dict's)."""
    suffix = ".conv"
    return {_torch_name(layer.name)[: -len(suffix)]: layer for layer in model.layers if isinstance(layer, FastConv2D)}


def _torch_shapes(model):
    """`{torch key: torch shape}` of every weight the model's BasicConv2d layers are made from."""
    shapes = {}
    for prefix, layer in _convolutions(model).items():
        height, width, channels, filters = layer.kernel.shape
        shapes[f"{prefix}.conv.weight"] = (filters, channels, height, width)
        for field in BATCH_NORM_FIELDS:
            shapes[f"{prefix}.bn.{field}"] = (filters,)
    return shapes


def _folded(state_dict, prefix):
    """The kernel (Keras layout) and bias of a BasicConv2d's convolution with its BatchNorm folded in.

    `bn(conv(x, w)) = conv(x, w * s) + beta - mean * s` with `s = gamma / sqrt(var + eps)` per
    output channel (computed in float64, rounded once to float32).
    """
    gamma, beta, mean, variance = (np.asarray(state_dict[f"{prefix}.bn.{f}"], "float64") for f in BATCH_NORM_FIELDS)
    scale = gamma / np.sqrt(variance + BATCH_NORM_EPSILON)
    kernel = np.transpose(np.asarray(state_dict[f"{prefix}.conv.weight"], "float64"), (2, 3, 1, 0)) * scale
    return kernel.astype("float32"), (beta - mean * scale).astype("float32")


def _preview(keys, count=3):
    keys = list(keys)
    shown = ", ".join(repr(k) for k in keys[:count])
    return f"{shown}, ... ({len(keys)} keys)" if len(keys) > count else shown or "no keys"


def _kind_of(model):
    return next((kind for kind in KINDS if model.name == f"inception_v3_{kind}"), None)


def _check_classes(model, state_dict):
    """A state dict with a classifier must be of the network the model is (1000 or 1008 classes)."""
    kind = _kind_of(model)
    if kind is None or "fc.weight" not in state_dict:
        return
    rows = np.shape(state_dict["fc.weight"])[0]
    if rows != CLASSES[kind]:
        raise ValueError(
            f"Expected the weights of the {kind} Inception (fc.weight with {CLASSES[kind]} rows). "
            f"Received: fc.weight with {rows} rows; build the model with inception_from_state_dict."
        )


def load_inception_weights(model, state_dict):
    """Copies a torch Inception v3 state dict into a model made by `inception_v3`.

    Each BasicConv2d's BatchNorm (`weight`, `bias`, `running_mean`, `running_var`) is folded
    into its convolution (see `_conv`): the layer's kernel is torch's `(out, in, height, width)`
    kernel in Keras' `(height, width, in, out)` layout times `weight / sqrt(running_var + 0.001)`
    per output channel, its bias `bias - running_mean * weight / sqrt(running_var + 0.001)`.
    The classifiers (`fc.*`, `AuxLogits.*`) and `num_batches_tracked` are not needed and ignored.

    Args:
        model: a model made by `inception_v3` (either kind).
        state_dict: `{torch key: array}` (numpy arrays, or anything `np.asarray` takes).

    Returns:
        `model`, with the weights loaded.

    Raises:
        ValueError: (one line) when keys are missing or left over, a shape differs, or the
            classifier says the weights are of the other kind of Inception.
    """
    shapes = _torch_shapes(model)
    missing = [key for key in shapes if key not in state_dict]
    if missing:
        raise ValueError(
            f"Expected an Inception v3 state dict ({EXPECTED_FILES}); {len(missing)} of its {len(shapes)} "
            f"weights are missing, e.g. {missing[0]!r}. Received: {_preview(state_dict)}"
        )
    unused = [k for k in state_dict if k not in shapes and not k.startswith(UNUSED_PREFIXES)]
    unused = [k for k in unused if not k.endswith(".num_batches_tracked")]
    if unused:
        raise ValueError(f"Expected only Inception v3 keys ({EXPECTED_FILES}). Received extra keys: {_preview(unused)}")
    _check_classes(model, state_dict)
    for key, torch_shape in shapes.items():
        if np.shape(state_dict[key]) != torch_shape:
            raise ValueError(f"Expected {key} of shape {torch_shape}. Received: shape {np.shape(state_dict[key])}")
    # Nothing is assigned before every array has been checked: a refused file leaves the model as it was.
    for prefix, layer in _convolutions(model).items():
        kernel, bias = _folded(state_dict, prefix)
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
    return model


def inception_kind(state_dict):
    """`"field"` or `"standard"`: which Inception a state dict is, from its classifier's rows.

    Raises:
        ValueError: (one line) for a state dict without an `fc.weight` of 1000 (torchvision)
            or 1008 (pytorch-fid's FID Inception) rows.
    """
    rows = np.shape(state_dict["fc.weight"])[0] if "fc.weight" in state_dict else None
    for kind, classes in CLASSES.items():
        if rows == classes and np.shape(state_dict["fc.weight"])[1:] == (FEATURES,):
            return kind
    received = "no fc.weight" if rows is None else f"fc.weight of shape {np.shape(state_dict['fc.weight'])}"
    raise ValueError(
        f"Expected an Inception v3 state dict ({EXPECTED_FILES}) with fc.weight of shape (1000, 2048) or "
        f"(1008, 2048). Received: {received} among {_preview(state_dict)}"
    )


def inception_from_state_dict(state_dict):
    """The Inception of the kind a state dict is (see `inception_kind`), with its weights."""
    return inception_v3(inception_kind(state_dict), weights=state_dict)
