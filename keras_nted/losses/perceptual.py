"""VGG19 perceptual (reconstruction) loss with the released multi-scale and Gram style terms."""

import os

import keras
import numpy as np
from keras import ops

from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_number

# Keras' ImageNet VGG19 (no top), as `keras.applications.VGG19(weights="imagenet")` fetches it.
KERAS_VGG19_NOTOP_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_VGG19_NOTOP_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + KERAS_VGG19_NOTOP_FILE
KERAS_VGG19_NOTOP_MD5 = "253f8cb515780f3b799900260a226db6"
# The file the released code uses (`torchvision.models.vgg19(pretrained=True)`).
TORCHVISION_VGG19_FILE = "vgg19-dcbb9e9d.pth"

DEFAULT_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")

# The 16 convolutions of VGG19, in order: Keras layer name -> index in torchvision's `features`.
VGG19_CONV_LAYERS = (
    ("block1_conv1", 0), ("block1_conv2", 2),
    ("block2_conv1", 5), ("block2_conv2", 7),
    ("block3_conv1", 10), ("block3_conv2", 12), ("block3_conv3", 14), ("block3_conv4", 16),
    ("block4_conv1", 19), ("block4_conv2", 21), ("block4_conv3", 23), ("block4_conv4", 25),
    ("block5_conv1", 28), ("block5_conv2", 30), ("block5_conv3", 32), ("block5_conv4", 34),
)  # fmt: skip
_CONV_NAMES = tuple(name for name, _ in VGG19_CONV_LAYERS)

_TORCH_MEAN = np.array([0.485, 0.456, 0.406], "float32")
_TORCH_STD = np.array([0.229, 0.224, 0.225], "float32")
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], "float32")
_NORMALIZATIONS = ("torch", "caffe")


def _keras_layer_name(name):
    """`"relu_3_1"` (the released name) or `"block3_conv1"` -> `"block3_conv1"`; None if unknown."""
    if isinstance(name, str) and name.startswith("relu_"):
        parts = name.split("_")
        if len(parts) == 3:
            name = f"block{parts[1]}_conv{parts[2]}"
    return name if name in _CONV_NAMES else None


def _keras_weights_cache_dir():
    """The folder `keras.utils.get_file` caches application weights in (`$KERAS_HOME`)."""
    base = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")  # Keras' own fallback for a read-only home.
    return base


def _fetch_keras_imagenet_weights():
    """Path of Keras' cached ImageNet VGG19 weights, downloading them if possible."""
    cache_dir = _keras_weights_cache_dir()
    try:
        return keras.utils.get_file(
            KERAS_VGG19_NOTOP_FILE,
            KERAS_VGG19_NOTOP_URL,
            cache_subdir="models",
            file_hash=KERAS_VGG19_NOTOP_MD5,
            cache_dir=cache_dir,
        )
    except Exception as e:
        cached = os.path.join(cache_dir, "models", KERAS_VGG19_NOTOP_FILE)
        raise FileNotFoundError(
            "The ImageNet VGG19 weights for the perceptual loss are not available and could "
            f"not be downloaded ({type(e).__name__}: {e}). Either put Keras' file "
            f"`{KERAS_VGG19_NOTOP_FILE}` (md5 {KERAS_VGG19_NOTOP_MD5}, from "
            f"{KERAS_VGG19_NOTOP_URL}) at {cached} (the Keras cache, `$KERAS_HOME/models/`), "
            "or pass a local file explicitly: `weights='/path/to/"
            f"{KERAS_VGG19_NOTOP_FILE}'` (any Keras VGG19 `.h5`) or `weights='/path/to/"
            f"{TORCHVISION_VGG19_FILE}'` (the torchvision file the released NTED used; "
            "needs torch). `weights='random'` gives random features (tests only)."
        ) from e


def vgg19_weights_from_torch(state_dict):
    """Convert a torchvision VGG19 state dict to Keras kernels and biases.

    Args:
        state_dict: mapping from torchvision keys (`features.{i}.weight` / `.bias`, e.g. as
            returned by `keras_nted.backend.torch_io.load_torch_state_dict`) to numpy arrays.
            Keys of the classifier are ignored.

    Returns:
        Dict from the Keras VGG19 layer name (`"block1_conv1"` ...) to `[kernel, bias]`, the
        kernel converted from torch's `(out, in, kh, kw)` to Keras' `(kh, kw, in, out)`.

    Raises:
        ValueError: if a convolution is missing or has the wrong rank.
    """
    converted = {}
    for name, index in VGG19_CONV_LAYERS:
        keys = (f"features.{index}.weight", f"features.{index}.bias")
        missing = [k for k in keys if k not in state_dict]
        if missing:
            raise ValueError(
                f"Expected a torchvision VGG19 state dict ({TORCHVISION_VGG19_FILE}). "
                f"Missing {missing}; received keys: {sorted(state_dict)[:8]}..."
            )
        weight = np.asarray(state_dict[keys[0]], "float32")
        bias = np.asarray(state_dict[keys[1]], "float32")
        if weight.ndim != 4 or bias.ndim != 1:
            raise ValueError(
                f"Expected a 4-D weight and 1-D bias for {keys[0]}. Received: "
                f"weight.shape={weight.shape}, bias.shape={bias.shape}"
            )
        converted[name] = [np.transpose(weight, (2, 3, 1, 0)), bias]
    return converted


# What `vgg_weights` / `weights` may name besides a local file: Keras' ImageNet VGG19, random
# weights (tests, benchmarks), and (for a trainer's `vgg_weights` only) no loss network at all.
VGG_WEIGHTS = ("imagenet", "random", "none")


def check_vgg_weights(value, name="vgg_weights", allow_none=True):
    """`value` if it names VGG19 weights: `"imagenet"`, `"random"`, `"none"` (with `allow_none`) or a file.

    One vocabulary for the trainer (`vgg_weights`) and the loss networks (`weights`, without
    `"none"`). Python `None` is not a value: it would mean "no network" to one reader and
    "random weights" to another.

    Raises:
        ValueError: for any other value.
        FileNotFoundError: for a path that is no file.
    """
    words = VGG_WEIGHTS if allow_none else VGG_WEIGHTS[:2]
    if value in words:
        return value
    expected = f"Expected {name} as one of {', '.join(repr(w) for w in words)} or a VGG19 weights file."
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{expected} Received: {name}={value!r}")
    if not os.path.isfile(value):
        raise FileNotFoundError(f"{expected} No such file. Received: {name}={os.fspath(value)!r}")
    return value


def _build_vgg19(weights, input_shape):
    """`keras.applications.VGG19(include_top=False)` with weights from `weights`."""
    if weights == "random":
        return keras.applications.VGG19(include_top=False, weights=None, input_shape=input_shape)
    if weights == "imagenet":
        path = _fetch_keras_imagenet_weights()
        return keras.applications.VGG19(include_top=False, weights=path, input_shape=input_shape)
    path = os.fspath(weights)
    if path.endswith((".pth", ".pt")):
        from keras_nted.backend.torch_io import load_torch_state_dict

        converted = vgg19_weights_from_torch(load_torch_state_dict(path))
        vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=input_shape)
        for name, values in converted.items():
            vgg.get_layer(name).set_weights(values)
        return vgg
    if path.endswith((".h5", ".hdf5", ".keras")):
        return keras.applications.VGG19(include_top=False, weights=path, input_shape=input_shape)
    raise ValueError(
        "Expected weights='imagenet', 'random', a Keras '.h5' / '.keras' file or a torchvision "
        f"'.pth' file. Received: weights={weights!r}"
    )


def _default_normalization(weights):
    if weights == "random":
        return "torch"
    if weights == "imagenet":
        return "caffe"
    return "torch" if os.fspath(weights).endswith((".pth", ".pt")) else "caffe"


def _half_resize_indices(size):
    """Source rows and weights of torch's 0.5x bilinear resize (align_corners=False,
    recompute_scale_factor=True) along one axis of length `size`."""
    out = size // 2
    scale = np.float32(size) / np.float32(out)  # the recomputed scale, in float32 as torch
    src = (np.arange(out, dtype="float32") + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(np.floor(src).astype("int32"), size - 1)
    i1 = np.where(i0 < size - 1, i0 + 1, i0)
    w1 = (src - i0.astype("float32")).astype("float32")
    return i0, i1, w1


def _half_resize_axis(x, axis):
    size = x.shape[axis]
    if size % 2 == 0:
        # Even sizes: every output is the mean of the two source samples 2i and 2i+1.
        shape = list(x.shape)
        shape[0] = -1
        shape[axis : axis + 1] = [size // 2, 2]
        return ops.mean(ops.reshape(x, shape), axis=axis + 1)
    i0, i1, w1 = _half_resize_indices(size)
    w_shape = [1] * len(x.shape)
    w_shape[axis] = -1
    w1 = ops.convert_to_tensor(w1.reshape(w_shape), x.dtype)
    a = ops.take(x, ops.convert_to_tensor(i0), axis=axis)
    b = ops.take(x, ops.convert_to_tensor(i1), axis=axis)
    return a * (1.0 - w1) + b * w1


def downsample_half(images):
    """Bilinear 0.5x resize of `(batch, height, width, channels)` images, as torch does it.

    Equals `torch.nn.functional.interpolate(x, scale_factor=0.5, mode="bilinear",
    align_corners=False, recompute_scale_factor=True)` (no antialiasing): the output side is
    `floor(side / 2)`, and output pixel `i` samples `(i + 0.5) * side / out - 0.5` (clamped at
    0). For even sides this is the mean of each 2x2 block; odd sides use two gathers per axis.

    Args:
        images: `(batch, height, width, channels)` tensor with static height and width >= 2.

    Returns:
        `(batch, height // 2, width // 2, channels)` tensor.

    Raises:
        ValueError: if the height or width is unknown or below 2.
    """
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None or height < 2 or width < 2:
        raise ValueError(
            "Downsampling between perceptual-loss scales needs static spatial sizes >= 2. "
            f"Received: images.shape={tuple(images.shape)}"
        )
    return _half_resize_axis(_half_resize_axis(images, 1), 2)


def gram_matrix(features):
    """Gram matrix `F^T F / (channels * height * width)` of `(batch, h, w, channels)` features.

    Returns:
        `(batch, channels, channels)` float32 tensor.
    """
    features = ops.cast(features, "float32")
    _, h, w, c = features.shape
    flat = ops.reshape(features, (-1, h * w, c))
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat) / float(c * h * w)


@keras.saving.register_keras_serializable(package="keras_nted")
class PerceptualLoss(keras.layers.Layer):
    """VGG19 perceptual loss between generated and ground-truth images, as released.

    A layer (not a `keras.losses.Loss`) because it owns the frozen VGG19 variables: as a
    sublayer of a model they are tracked, saved and carried through a jitted JAX step as
    non-trainable state instead of being baked into the compiled function as constants.
    The loss runs in float32 whatever the dtype policy: inputs are cast to float32 and the
    features are cast back to float32 (the VGG itself computes in the global dtype policy
    at construction, e.g. bfloat16 under `mixed_bfloat16`).

    Per scale, the loss is `sum_l layer_weights[l] * mean|f_l(x) - f_l(y)|` over the chosen
    VGG19 ReLU outputs (Keras' `block{i}_conv{j}` layers include the ReLU, so `block1_conv1`
    is the release's `relu_1_1`), with the target features under `stop_gradient`. Between
    scales both images are resized by 0.5 (torch's bilinear, `align_corners=False`, no
    antialias: see `downsample_half`). At scale 0 only, `style_weight` times the sum over the
    layers of the L1 distance between Gram matrices `F^T F / (C h w)` is added.

    Images in `[-1, 1]` are normalised for the weights in use:
    - `"torch"`: `((x + 1) / 2 - mean) / std` with mean `(0.485, 0.456, 0.406)` and std
      `(0.229, 0.224, 0.225)`, RGB: what the release does, right for the torchvision
      `vgg19-dcbb9e9d.pth` weights.
    - `"caffe"`: RGB -> BGR, `[0, 255]` minus the mean `(103.939, 116.779, 123.68)`, right
      for Keras' ImageNet VGG19 (`vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`, the
      original Caffe VGG weights).
    The two weight files are different networks trained on different input scales, so their
    features, and the loss magnitudes, differ: only the torchvision file reproduces the
    release's loss values (and its loss weights were tuned for it).

    Args:
        layers: VGG19 layers whose outputs are compared: Keras names (`"block3_conv1"`) or
            the release's (`"relu_3_1"`). Defaults to relu1_1, relu2_1, ..., relu5_1.
        layer_weights: one weight per layer. Defaults to 1 for every layer.
        num_scales: number of image scales (1 for the 256 config, 3 for 512).
        style_weight: weight of the Gram style loss (the release's `style_to_perceptual`:
            500 for 256, 1000 for 512); 0 disables it.
        weights: `"imagenet"` (Keras' file, downloaded to / read from
            `$KERAS_HOME/models/`, default `~/.keras/models/`), `"random"` (random, for tests),
            or a path: a Keras VGG19 `.h5` / `.keras` file or torchvision's
            `vgg19-dcbb9e9d.pth` (converted on load; reading it needs torch).
        input_normalization: `"torch"`, `"caffe"` or `None` for the default of the weight
            source: `"caffe"` for `"imagenet"` and Keras files, `"torch"` for `.pth` files
            and `"random"` weights.
        input_shape: optional static `(height, width, 3)` for the VGG19 input; `None`
            accepts any size (VGG needs at least 16x16 for relu5_1).

    Call arguments:
        inputs: generated images `(batch, height, width, 3)` in `[-1, 1]`; gradients flow.
        targets: ground-truth images of the same shape; never differentiated.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: for an unknown layer name, mismatched `layer_weights`, a non-positive
            `num_scales`, a negative `style_weight` or an unknown normalisation / file type.
        FileNotFoundError: when `weights="imagenet"` cannot be found in the Keras cache nor
            downloaded (the message says which file to put where), or a weights path does not
            exist.

    Example:
    >>> loss = PerceptualLoss(weights="random")
    >>> x = np.random.uniform(-1, 1, (2, 64, 48, 3)).astype("float32")
    >>> float(loss(x, x))
    0.0

    Reference:
        Ren et al., "Neural Texture Extraction and Distribution for Controllable Person Image
        Synthesis", CVPR 2022, Eq. 9 (reconstruction loss); the released
        `loss/perceptual.py` adds the Gram style term and the scales. Johnson et al.,
        "Perceptual Losses for Real-Time Style Transfer", ECCV 2016 (Gram matrix).
    """

    def __init__(
        self,
        layers=DEFAULT_LAYERS,
        layer_weights=None,
        num_scales=1,
        style_weight=0.0,
        weights="imagenet",
        input_normalization=None,
        input_shape=None,
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        # Casting a bfloat16 copy back to float32 would lose precision: cast explicitly instead.
        super().__init__(autocast=False, **kwargs)
        if isinstance(layers, str):
            layers = (layers,)
        layers = tuple(layers)
        if not layers:
            raise ValueError(f"Expected at least one VGG19 layer. Received: layers={layers!r}")
        unknown = [name for name in layers if _keras_layer_name(name) is None]
        if unknown:
            raise ValueError(
                f"Unknown VGG19 layer(s) {unknown}: expected names like 'block3_conv1' or "
                f"'relu_3_1'. Received: layers={layers!r}"
            )
        if layer_weights is None:
            layer_weights = (1.0,) * len(layers)
        layer_weights = tuple(float(w) for w in layer_weights)
        if len(layer_weights) != len(layers):
            raise ValueError(
                f"Expected one weight per layer. Received: layer_weights={layer_weights!r} for layers={layers!r}"
            )
        num_scales = check_int("num_scales", num_scales)
        style_weight = check_number("style_weight", style_weight, inclusive=True)
        weights = check_vgg_weights(weights, "weights", allow_none=False)
        if input_normalization is None:
            input_normalization = _default_normalization(weights)
        if input_normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"Expected one of {_NORMALIZATIONS} or None. Received: input_normalization={input_normalization!r}"
            )
        self.layer_names = layers
        self.layer_weights = layer_weights
        self.num_scales = num_scales
        self.style_weight = float(style_weight)
        self.weights_source = weights if weights in VGG_WEIGHTS else os.fspath(weights)
        self.input_normalization = input_normalization
        self.vgg_input_shape = None if input_shape is None else tuple(input_shape)

        vgg = _build_vgg19(weights, self.vgg_input_shape)
        # Only the graph up to the deepest requested layer is kept (and tracked).
        self.feature_extractor = keras.Model(
            vgg.input,
            [vgg.get_layer(_keras_layer_name(name)).output for name in layers],
            name="vgg19_features",
        )
        self.feature_extractor.trainable = False
        self.trainable = False
        self.built = True

    def normalize(self, images):
        """Map float32 images in `[-1, 1]` to the VGG input range (`input_normalization`)."""
        images = ops.cast(images, "float32")
        if self.input_normalization == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN)
            std = ops.convert_to_tensor(_TORCH_STD)
            return ((images + 1.0) * 0.5 - mean) / std
        bgr = ops.flip(images, axis=-1)
        return (bgr + 1.0) * 127.5 - ops.convert_to_tensor(_CAFFE_MEAN_BGR)

    def extract_features(self, normalized_images):
        """VGG19 features (float32, one per layer) of already-normalised images."""
        features = self.feature_extractor(normalized_images, training=False)
        return [ops.cast(f, "float32") for f in features]

    def call(self, inputs, targets):
        x = self.normalize(inputs)
        y = self.normalize(ops.stop_gradient(targets))
        loss = ops.zeros((), "float32")
        for scale in range(self.num_scales):
            if scale > 0:
                x, y = downsample_half(x), downsample_half(y)
            fx = self.extract_features(x)
            fy = [ops.stop_gradient(f) for f in self.extract_features(y)]
            for weight, a, b in zip(self.layer_weights, fx, fy):
                loss = loss + weight * ops.mean(ops.abs(a - b))
            if scale == 0 and self.style_weight > 0:
                style = ops.zeros((), "float32")
                for a, b in zip(fx, fy):
                    style = style + ops.mean(ops.abs(gram_matrix(a) - gram_matrix(b)))
                loss = loss + self.style_weight * style
        return loss

    def compute_output_shape(self, inputs_shape, targets_shape):
        return ()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "layers": list(self.layer_names),
                "layer_weights": list(self.layer_weights),
                "num_scales": self.num_scales,
                "style_weight": self.style_weight,
                "weights": self.weights_source,
                "input_normalization": self.input_normalization,
                "input_shape": None if self.vgg_input_shape is None else list(self.vgg_input_shape),
            }
        )
        return config
