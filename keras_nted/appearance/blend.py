"""Direct appearance control: interpolate, blend or swap neural textures with given coefficients."""

import numpy as np
from keras import ops

from keras_nted.appearance.parts import GeneratorParts


def as_parts(generator):
    """`generator` itself when it is a `GeneratorParts`, else `GeneratorParts(generator)`."""
    return generator if isinstance(generator, GeneratorParts) else GeneratorParts(generator)


def coefficient_tensor(value, num_labels, name="coefficients"):
    """One NTED index's coefficients as a float32 `(1 or batch, k, 1)` tensor.

    Accepts a scalar (every texture), a `(k,)` vector, or a `(1, k, 1)` / `(batch, k, 1)`
    array or tensor (per sample). `k` must be the index's number of textures.
    """
    if not hasattr(value, "shape") or isinstance(value, (np.ndarray, np.generic)):
        value = np.asarray(value, "float32")
        if value.ndim == 0:
            value = np.full((num_labels,), value, "float32")
        if value.ndim == 1:
            value = value[None, :, None]
    shape = tuple(value.shape)
    if len(shape) != 3 or shape[1] != num_labels or shape[2] != 1:
        raise ValueError(
            f"Expected {name} to be a scalar, a ({num_labels},) vector or a (batch, {num_labels}, 1) array "
            f"(one value per texture). Received: shape={shape}"
        )
    return ops.cast(value, "float32")


def interpolate_textures(person_textures, garment_textures, coefficients):
    """`T_i = T_r,i + (T_g,i - T_r,i) * m_i` for every NTED index (paper Eq. 13).

    Args:
        person_textures: list of `(batch, k_i, C_i)` textures `T_r` (what `m = 0` keeps).
        garment_textures: list of `(batch, k_i, C_i)` textures `T_g` (what `m = 1` takes).
        coefficients: one entry per NTED index: a scalar, a `(k_i,)` vector or a
            `(batch or 1, k_i, 1)` array/tensor `m_i`. Values outside [0, 1] extrapolate
            (the released optimisation leaves `m` unconstrained).

    Returns:
        The list of interpolated textures, in the same order.

    Raises:
        ValueError: if the lists differ in length or a coefficient does not fit its index.

    Example:
    >>> t_r = [np.zeros((1, 4, 8), "float32")]
    >>> t_g = [np.ones((1, 4, 8), "float32")]
    >>> out = interpolate_textures(t_r, t_g, [[0.0, 0.5, 1.0, 0.0]])
    >>> keras.ops.convert_to_numpy(out[0])[0, :, 0]
    array([0. , 0.5, 1. , 0. ], dtype=float32)

    Reference:
        Ren et al., CVPR 2022, Eq. 13.
    """
    person_textures, garment_textures, coefficients = list(person_textures), list(garment_textures), list(coefficients)
    if not len(person_textures) == len(garment_textures) == len(coefficients):
        raise ValueError(
            "Expected one person texture, one garment texture and one coefficient entry per NTED index. "
            f"Received: {len(person_textures)}, {len(garment_textures)} and {len(coefficients)}"
        )
    out = []
    for i, (t_r, t_g, m) in enumerate(zip(person_textures, garment_textures, coefficients)):
        t_r, t_g = ops.convert_to_tensor(t_r), ops.convert_to_tensor(t_g)
        m = coefficient_tensor(m, t_r.shape[1], name=f"coefficients[{i}]")
        out.append(t_r + (t_g - t_r) * ops.cast(m, t_r.dtype))
    return out


def swap_coefficients(num_labels, indices):
    """One-hot coefficients: 1 for the listed texture indices, 0 elsewhere.

    Args:
        num_labels: `k_i` of every NTED index (`GeneratorParts.num_labels`).
        indices: a list with one iterable of texture indices per NTED index, or a dict
            `{nted_index: texture indices}` (unlisted NTED indices keep the person's).

    Returns:
        A list of `(k_i,)` float32 arrays.
    """
    if isinstance(indices, dict):
        unknown = [i for i in indices if not (isinstance(i, (int, np.integer)) and 0 <= i < len(num_labels))]
        if unknown:
            raise ValueError(
                f"Expected NTED indices in [0, {len(num_labels)}). "
                f"Received: indices with keys {sorted(map(str, unknown))}"
            )
        indices = [indices.get(i, ()) for i in range(len(num_labels))]
    indices = list(indices)
    if len(indices) != len(num_labels):
        raise ValueError(
            f"Expected one list of texture indices per NTED index ({len(num_labels)}). Received: {len(indices)} lists"
        )
    coefficients = []
    for i, (chosen, k) in enumerate(zip(indices, num_labels)):
        chosen = np.asarray(list(chosen), "int64").reshape(-1)
        if chosen.size and (chosen.min() < 0 or chosen.max() >= k):
            raise ValueError(f"Expected texture indices in [0, {k}) for NTED index {i}. Received: {chosen.tolist()}")
        m = np.zeros((k,), "float32")
        m[chosen] = 1.0
        coefficients.append(m)
    return coefficients


def blend_textures(generator, person, garment, skeleton, coefficients):
    """Render `skeleton` with the person's textures blended towards the garment's.

    The direct form of appearance control, for a user who knows which textures they want:
    the textures of both references are extracted, interpolated with `coefficients`
    (`interpolate_textures`) and rendered over the skeleton. With all coefficients 0 the
    result is exactly the generator's output for `[person, skeleton]`; with all 1, for
    `[garment, skeleton]`.

    Args:
        generator: an `NTEDGenerator` or its `GeneratorParts`.
        person: `(H, W, 3)` or `(batch, H, W, 3)` image in [-1, 1] (`T_r`).
        garment: image of the same shape (`T_g`).
        skeleton: `(H, W, 20)` or `(batch, H, W, 20)` target pose map.
        coefficients: one entry per NTED index (see `interpolate_textures`).

    Returns:
        A dict of numpy arrays: `image` `(batch, H, W, 3)` (unbounded) and
        `distribution_logits`, a list of `(batch, h_i, w_i, k_i)`.

    Example:
    >>> generator = keras_nted.models.NTEDGenerator.from_preset("nted_tiny")
    >>> x = np.zeros((64, 44, 3), "float32"); s = np.zeros((64, 44, 20), "float32")
    >>> blend_textures(generator, x, x, s, [0.5] * 4)["image"].shape
    (1, 64, 44, 3)

    Reference:
        Ren et al., CVPR 2022, Sec. 4, Eq. 13.
    """
    parts = as_parts(generator)
    features = parts.encode_skeleton(skeleton)
    textures = interpolate_textures(parts.extract_textures(person), parts.extract_textures(garment), coefficients)
    out = parts.render(features, textures)
    return {
        "image": ops.convert_to_numpy(out["image"]),
        "distribution_logits": [ops.convert_to_numpy(x) for x in out["distribution_logits"]],
    }


def swap_textures(generator, person, garment, skeleton, indices):
    """Render `skeleton` with the person's textures, except the listed ones taken from the garment.

    Args:
        generator: an `NTEDGenerator` or its `GeneratorParts`.
        person: `(H, W, 3)` or `(batch, H, W, 3)` image in [-1, 1].
        garment: image of the same shape.
        skeleton: `(H, W, 20)` or `(batch, H, W, 20)` target pose map.
        indices: per NTED index, the texture indices to take from the garment: a list of
            lists, or a dict `{nted_index: [texture indices]}`.

    Returns:
        The dict of `blend_textures`.

    Example:
    >>> generator = keras_nted.models.NTEDGenerator.from_preset("nted_tiny")
    >>> x = np.zeros((64, 44, 3), "float32"); s = np.zeros((64, 44, 20), "float32")
    >>> swap_textures(generator, x, x, s, {0: [2], 1: [2]})["image"].shape
    (1, 64, 44, 3)
    """
    parts = as_parts(generator)
    return blend_textures(parts, person, garment, skeleton, swap_coefficients(parts.num_labels, indices))
