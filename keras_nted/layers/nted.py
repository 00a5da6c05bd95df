"""Neural Texture Extraction and Distribution (NTED), paper Sec. 3.1, Eq. 1-7."""

import keras
from keras import ops

from keras_nted.layers.equalized import EqualizedConv2D
from keras_nted.utils.validation import check_feature_map
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_same_batch
from keras_nted.utils.validation import shape_of

# The released feature normalisation adds Python's float epsilon to the L2 norm.
FEATURE_NORM_EPSILON = 2.220446049250313e-16


def _check_match_kernel(value):
    value = check_int("match_kernel_size", value)
    if value % 2 == 0:
        raise ValueError(
            f"Expected an odd match_kernel_size (same-padded convolution). Received: match_kernel_size={value}"
        )
    return value


def unpack_pair(first, second, names):
    """`(first, second)` of `layer(first, second)`, or of `layer([first, second])` as Keras multi-input layers."""
    if second is None and isinstance(first, (list, tuple)):
        if len(first) != 2:
            raise ValueError(f"Expected a list `[{names[0]}, {names[1]}]` of two tensors. Received: {len(first)} items")
        first, second = first
    if second is None:
        raise ValueError(f"Expected `{names[1]}` (call the layer on `{names[0]}, {names[1]}` or on a list of both).")
    return first, second


def as_float(x, dtype):
    """`x`, cast to `dtype` when it is not floating-point (integer features would be truncated)."""
    return x if keras.backend.is_float_dtype(keras.backend.standardize_dtype(x.dtype)) else ops.cast(x, dtype)


def built_channels(conv):
    """The input channels an `EqualizedConv2D` was built for (`None` before it is built)."""
    return conv.kernel.shape[2] if conv.built else None


def feature_norm(x):
    """Centre each pixel's feature vector over channels and divide by its L2 norm (+ eps).

    Computed in float32 (the released `feature_norm` of `base_function.py`).
    """
    x = ops.cast(x, "float32")
    x = x - ops.mean(x, axis=-1, keepdims=True)
    norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))
    return x / (norm + FEATURE_NORM_EPSILON)


def _shifted_weights(attention, kernel_size):
    """`(batch, h * w, m * m * k)`: the weights, shifted once per kernel tap, tap-major.

    Tap `(dy, dx)` of a same-padded `m x m` convolution reads input pixel `p + (dy, dx) - m // 2`
    for output pixel `p`, so pooling its output with weights `a` equals pooling the input with
    `a` shifted by `m // 2 - (dy, dx)` (zeros where it leaves the map).
    """
    h, w, k = attention.shape[1], attention.shape[2], attention.shape[3]
    if kernel_size == 1:
        return ops.reshape(attention, (-1, h * w, k))
    off = kernel_size // 2
    padded = ops.pad(attention, ((0, 0), (off, off), (off, off), (0, 0)))
    shifted = [
        padded[:, 2 * off - dy : 2 * off - dy + h, 2 * off - dx : 2 * off - dx + w, :]
        for dy in range(kernel_size)
        for dx in range(kernel_size)
    ]
    return ops.reshape(ops.concatenate(shifted, axis=-1), (-1, h * w, kernel_size * kernel_size * k))


def pool_through_conv(attention, inputs, conv):
    """`sum_p attention[p, k] * conv(inputs)[p]` for a same-padded, stride-1 `EqualizedConv2D`.

    Eq. 3's textures without the convolution's full output: the weights are pooled with the
    input once per kernel tap, and the kernel is applied to the `k` pooled vectors
    (`m^2 k h w c + m^2 k c c'` multiply-adds instead of `m^2 h w c c' + k h w c'`; at the
    released 256x176 model's 128x88 level, 1.7 instead of 6.7 billion). The bias enters
    weighted by each label's total weight (1 up to rounding, the softmax's sum).

    Args:
        attention: `(batch, h, w, k)` weights, float32.
        inputs: `(batch, h, w, c)`, the convolution's input.
        conv: a built `EqualizedConv2D` with `padding="same"`, `strides=1` and an odd kernel.

    Returns:
        `(batch, k, c')` in the inputs' dtype.
    """
    if conv.padding != "same" or conv.strides != 1 or conv.kernel_size % 2 == 0:
        raise ValueError(
            "pool_through_conv needs a same-padded, stride-1 convolution with an odd kernel. Received: "
            f"padding={conv.padding!r}, strides={conv.strides}, kernel_size={conv.kernel_size}"
        )
    m, k = conv.kernel_size, attention.shape[-1]
    channels, filters = inputs.shape[-1], conv.filters
    weights = ops.cast(_shifted_weights(attention, m), inputs.dtype)
    pooled = ops.matmul(
        ops.transpose(weights, (0, 2, 1)), ops.reshape(inputs, (-1, inputs.shape[1] * inputs.shape[2], channels))
    )
    if m > 1:  # (batch, m*m*k, c) tap-major -> (batch, k, m*m*c), the kernel's row order
        pooled = ops.reshape(
            ops.transpose(ops.reshape(pooled, (-1, m * m, k, channels)), (0, 2, 1, 3)), (-1, k, m * m * channels)
        )
    kernel = ops.cast(conv.kernel * conv.scale, inputs.dtype)
    textures = ops.matmul(pooled, ops.reshape(kernel, (m * m * channels, filters)))
    if conv.use_bias:
        totals = ops.cast(ops.sum(attention, axis=(1, 2)), inputs.dtype)
        textures = textures + totals[:, :, None] * ops.cast(conv.bias, inputs.dtype)
    return textures


@keras.saving.register_keras_serializable(package="keras_nted")
class NTEDExtraction(keras.layers.Layer):
    """The extraction step of NTED: `num_labels` neural textures from a reference feature map.

    Eq. 1-3 with the released details (`ExtractionOperation` in the released
    `base_function.py`): the key is the feature-normalised input;
    `C_e = W_e * key` (an `m x m` equalized convolution without bias); its softmax runs over
    the `h * w` positions (Eq. 2); the textures are `softmax(C_e)^T f(F_r)` (Eq. 3 with the
    normalised matrix), where `f` is an `m x m` equalized convolution with bias. The sum is
    computed reassociated (`pool_through_conv`): the same textures, a fraction of the work.

    Args:
        num_labels: number of neural textures `k` (semantic extraction filters).
        match_kernel_size: odd kernel size `m` of the extraction filters and of `f`.
        filters: channels of the textures (output channels of `f`); defaults to the input's.

    Call arguments:
        inputs: reference features `(batch, height, width, channels)`.

    Returns:
        A tuple `(textures, attention)`: `textures` `(batch, num_labels, filters)` and
        `attention` `(batch, height, width, num_labels)` (float32), the extraction softmax,
        which sums to 1 over the spatial axes for every label.

    Example:
    >>> textures, attention = NTEDExtraction(4, 3)(np.random.rand(2, 8, 6, 16).astype("float32"))
    >>> textures.shape, attention.shape
    ((2, 4, 16), (2, 8, 6, 4))

    Reference:
        Ren et al., "Neural Texture Extraction and Distribution for Controllable Person Image
        Synthesis", CVPR 2022, Eq. 1-3.
    """

    def __init__(self, num_labels, match_kernel_size, filters=None, **kwargs):
        super().__init__(**kwargs)
        num_labels = check_int("num_labels", num_labels)
        match_kernel_size = _check_match_kernel(match_kernel_size)
        if filters is not None:
            filters = check_int("filters", filters)
        self.num_labels = num_labels
        self.match_kernel_size = match_kernel_size
        self.filters = filters
        self.semantic_extraction_filter = EqualizedConv2D(
            num_labels,
            match_kernel_size,
            padding="same",
            use_bias=False,
            dtype=self.dtype_policy,
            name="semantic_extraction_filter",
        )
        self.value_conv = None

    def build(self, input_shape):
        check_feature_map("inputs", input_shape)
        channels = input_shape[-1]
        self.value_conv = EqualizedConv2D(
            self.filters or channels,
            self.match_kernel_size,
            padding="same",
            use_bias=True,
            dtype=self.dtype_policy,
            name="value_conv",
        )
        self.value_conv.build(input_shape)
        key_shape = tuple(input_shape[:-1]) + (channels,)
        self.semantic_extraction_filter.build(key_shape)

    def __call__(self, inputs, **kwargs):
        # Static shapes only (the layer may be traced): values are never looked at here.
        check_feature_map("inputs", shape_of(inputs), built_channels(self.semantic_extraction_filter))
        return super().__call__(inputs, **kwargs)

    def call(self, inputs):
        inputs = as_float(inputs, self.compute_dtype)
        key = ops.cast(feature_norm(inputs), self.compute_dtype)
        logits = ops.cast(self.semantic_extraction_filter(key), "float32")
        h, w = inputs.shape[1], inputs.shape[2]
        flat = ops.reshape(logits, (-1, h * w, self.num_labels))
        attention = ops.reshape(ops.softmax(flat, axis=1), (-1, h, w, self.num_labels))
        textures = pool_through_conv(attention, inputs, self.value_conv)
        return textures, attention

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, self.num_labels, self.filters or c), (b, h, w, self.num_labels)

    def compute_output_spec(self, inputs):
        textures_shape, attention_shape = self.compute_output_shape(inputs.shape)
        return (
            keras.KerasTensor(textures_shape, dtype=self.compute_dtype),
            keras.KerasTensor(attention_shape, dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(num_labels=self.num_labels, match_kernel_size=self.match_kernel_size, filters=self.filters)
        return config


@keras.saving.register_keras_serializable(package="keras_nted")
class NTEDDistribution(keras.layers.Layer):
    """The distribution step of NTED: spread neural textures over a target feature map.

    Eq. 4-6: `C_d = W_d * F_t` (an `m x m` equalized convolution with bias), a softmax
    over the `num_labels` axis (Eq. 5), and `F_o = softmax(C_d)^T F_e` (Eq. 6).

    Args:
        num_labels: number of neural textures `k`.
        match_kernel_size: odd kernel size `m` of the distribution filters.

    Call arguments:
        target_features: `(batch, height, width, channels)` (or a list `[target_features,
            textures]`).
        textures: `(batch, num_labels, texture_channels)`, the same batch size.

    Returns:
        A tuple `(outputs, logits)`: `outputs` `(batch, height, width, texture_channels)` and
        `logits` `(batch, height, width, num_labels)` (float32), the distribution logits
        before the softmax.

    Example:
    >>> layer = NTEDDistribution(4, 3)
    >>> out, logits = layer(np.zeros((2, 8, 6, 16), "float32"), np.zeros((2, 4, 16), "float32"))
    >>> out.shape, logits.shape
    ((2, 8, 6, 16), (2, 8, 6, 4))

    Reference:
        Ren et al., CVPR 2022, Eq. 4-6.
    """

    def __init__(self, num_labels, match_kernel_size, **kwargs):
        super().__init__(**kwargs)
        num_labels = check_int("num_labels", num_labels)
        match_kernel_size = _check_match_kernel(match_kernel_size)
        self.num_labels = num_labels
        self.match_kernel_size = match_kernel_size
        self.semantic_distribution_filter = EqualizedConv2D(
            num_labels,
            match_kernel_size,
            padding="same",
            use_bias=True,
            dtype=self.dtype_policy,
            name="semantic_distribution_filter",
        )

    def build(self, target_features_shape, textures_shape):
        check_feature_map("target_features", target_features_shape)
        self.semantic_distribution_filter.build(target_features_shape)

    def __call__(self, target_features, textures=None, **kwargs):
        target_features, textures = unpack_pair(target_features, textures, ("target_features", "textures"))
        target_shape, textures_shape = shape_of(target_features), shape_of(textures)
        check_feature_map("target_features", target_shape, built_channels(self.semantic_distribution_filter))
        if len(textures_shape) != 3 or textures_shape[1] != self.num_labels or textures_shape[2] is None:
            raise ValueError(
                f"Expected `textures` of shape (batch, {self.num_labels}, channels): num_labels={self.num_labels} "
                f"textures. Received: textures.shape={tuple(textures_shape)}"
            )
        check_same_batch(("target_features", "textures"), (target_shape, textures_shape))
        return super().__call__(target_features, textures, **kwargs)

    def call(self, target_features, textures):
        target_features = as_float(target_features, self.compute_dtype)
        textures = as_float(textures, self.compute_dtype)
        logits = ops.cast(self.semantic_distribution_filter(target_features), "float32")
        h, w = target_features.shape[1], target_features.shape[2]
        weights = ops.softmax(ops.reshape(logits, (-1, h * w, self.num_labels)), axis=-1)
        out = ops.matmul(ops.cast(weights, textures.dtype), textures)
        out = ops.reshape(out, (-1, h, w, textures.shape[-1]))
        return out, logits

    def compute_output_shape(self, target_features_shape, textures_shape):
        b, h, w, _ = target_features_shape
        return (b, h, w, textures_shape[-1]), (b, h, w, self.num_labels)

    def compute_output_spec(self, target_features, textures):
        out_shape, logits_shape = self.compute_output_shape(target_features.shape, textures.shape)
        return (
            keras.KerasTensor(out_shape, dtype=self.compute_dtype),
            keras.KerasTensor(logits_shape, dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(num_labels=self.num_labels, match_kernel_size=self.match_kernel_size)
        return config


@keras.saving.register_keras_serializable(package="keras_nted")
class NTED(keras.layers.Layer):
    """Neural Texture Extraction and Distribution: a linear-complexity attention layer.

    Extracts `num_labels` neural textures from the reference features (Eq. 1-3) and
    distributes them over the target features (Eq. 4-6), returning `F_o` of Eq. 7. Cost and
    memory grow linearly with `height * width` (no `hw x hw` attention matrix). The two
    inputs may differ in channels and size: the textures are projected to the target's
    channel count by `f`.

    Use `extract` and `distribute` separately to swap or interpolate textures (appearance
    control, paper Sec. 4).

    Args:
        num_labels: number of neural textures `k`.
        match_kernel_size: odd kernel size of the extraction / distribution filters.
        return_attention: if True, `call` also returns the extraction softmax and the
            distribution logits.

    Call arguments:
        reference_features: `(batch, h_r, w_r, c_r)`, or a list `[reference_features,
            target_features]` (as Keras' multi-input layers are called).
        target_features: `(batch, h_t, w_t, c_t)`, the same batch size.
        Integer inputs are cast to the layer's compute dtype.

    Returns:
        `(batch, h_t, w_t, c_t)` distributed features; with `return_attention=True` a
        tuple `(outputs, extraction_attention (batch, h_r, w_r, k),
        distribution_logits (batch, h_t, w_t, k))`.

    Example:
    >>> reference = keras.Input((32, 22, 64))
    >>> target = keras.Input((32, 22, 48))
    >>> out = NTED(num_labels=16, match_kernel_size=3)([reference, target])
    >>> out.shape
    (None, 32, 22, 48)

    Raises:
        ValueError: for inputs that are not non-empty `(batch, height, width, channels)` maps,
            whose batch sizes differ, or whose channels differ from those the layer was built for.

    Reference:
        Ren et al., CVPR 2022, Eq. 1-7.
    """

    def __init__(self, num_labels, match_kernel_size=3, return_attention=False, **kwargs):
        super().__init__(**kwargs)
        self.num_labels = num_labels
        self.match_kernel_size = match_kernel_size
        self.return_attention = return_attention
        self.distribution = NTEDDistribution(
            num_labels, match_kernel_size, dtype=self.dtype_policy, name="distribution"
        )
        self.extraction = None

    def build(self, reference_features_shape, target_features_shape):
        check_feature_map("reference_features", reference_features_shape)
        check_feature_map("target_features", target_features_shape)
        channels = target_features_shape[-1]
        self.extraction = NTEDExtraction(
            self.num_labels, self.match_kernel_size, filters=channels, dtype=self.dtype_policy, name="extraction"
        )
        self.extraction.build(reference_features_shape)
        self.distribution.build(target_features_shape, (reference_features_shape[0], self.num_labels, channels))

    def __call__(self, reference_features, target_features=None, **kwargs):
        reference_features, target_features = unpack_pair(
            reference_features, target_features, ("reference_features", "target_features")
        )
        shapes = shape_of(reference_features), shape_of(target_features)
        built = self.extraction is not None and self.extraction.built
        check_feature_map(
            "reference_features", shapes[0], built_channels(self.extraction.value_conv) if built else None
        )
        check_feature_map("target_features", shapes[1], built_channels(self.distribution.semantic_distribution_filter))
        check_same_batch(("reference_features", "target_features"), shapes)
        return super().__call__(reference_features, target_features, **kwargs)

    def _check_built(self, method):
        if self.extraction is None:
            raise ValueError(
                f"NTED.{method}() needs a built layer: call it once on (reference_features, "
                "target_features) or call build(reference_features_shape, target_features_shape) first."
            )

    def extract(self, reference_features):
        """Neural textures `(batch, k, c_t)` and extraction attention of the reference."""
        self._check_built("extract")
        return self.extraction(reference_features)

    def distribute(self, target_features, textures):
        """Distributed features and distribution logits for given textures."""
        self._check_built("distribute")
        return self.distribution(target_features, textures)

    def call(self, reference_features, target_features):
        textures, attention = self.extraction(reference_features)
        out, logits = self.distribution(target_features, textures)
        if self.return_attention:
            return out, attention, logits
        return out

    def compute_output_shape(self, reference_features_shape, target_features_shape):
        b, h, w, c = target_features_shape
        out = (b, h, w, c)
        if not self.return_attention:
            return out
        rb, rh, rw, _ = reference_features_shape
        return out, (rb, rh, rw, self.num_labels), (b, h, w, self.num_labels)

    def compute_output_spec(self, reference_features, target_features):
        shapes = self.compute_output_shape(reference_features.shape, target_features.shape)
        if not self.return_attention:
            return keras.KerasTensor(shapes, dtype=self.compute_dtype)
        return (
            keras.KerasTensor(shapes[0], dtype=self.compute_dtype),
            keras.KerasTensor(shapes[1], dtype="float32"),
            keras.KerasTensor(shapes[2], dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            num_labels=self.num_labels,
            match_kernel_size=self.match_kernel_size,
            return_attention=self.return_attention,
        )
        return config
