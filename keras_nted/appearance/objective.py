"""The terms of the appearance-control objective (paper Eq. 14-18) and the loss `L` they use.

`AppearanceControl` (in `control.py`) minimises `ControlObjective`: the weighted sum of the
maintain term `L_r1`, the edit term `L_r2`, the regularization `L_regu` and keras-nted's color
term, over the interpolation coefficients `m` only.
"""

import numpy as np
from keras import ops

from keras_nted.appearance.blend import interpolate_textures
from keras_nted.appearance.masks import level_masks
from keras_nted.appearance.masks import mask_select
from keras_nted.appearance.masks import masked_mean_probabilities

LOSSES = ("perceptual", "l1")
# (maintain, edit, color) weights per loss. Maintain and edit are the release's: its total is
# 300000 * (10 * L_r1 + L_r2) + L_regu. The color term is not in the release (0 with the
# perceptual loss, as released; used only with a `garment_image_mask`): with the pixel L1
# fallback, the edit term matches the region to `I_g`, whose colors are only as good as the
# model's pose transfer, and the maintain term pulls the textures back to the person's; the
# mean color of the garment image's own region does not depend on the model. Its weight was
# chosen on held-out pairs disjoint from the benchmark's (docs/appearance_control.md).
DEFAULT_WEIGHTS = {"perceptual": (3.0e6, 3.0e5, 0.0), "l1": (3.0e6, 3.0e5, 300.0)}


def initial_coefficients(garment_logits, garment_mask, person_logits, person_mask):
    """The release's initial coefficients: `m_i = [max(a_i(I_g, M_g), a_i(I_r, M_r)) >= 3 / k_i]`.

    `a_i` is `mask_select` (the mean distribution probability of each texture inside the
    mask) of the garment render `I_g` and of the person render `I_r`, both in the target pose.

    Args:
        garment_logits: the garment render's distribution logits, list of `(1, h_i, w_i, k_i)`.
        garment_mask: bool `(H, W)` region of the garment render, `M_g`.
        person_logits: the person render's distribution logits.
        person_mask: bool `(H, W)` region of the person render, `M_r`.

    Returns:
        A list of `(k_i,)` float32 numpy arrays of 0 and 1.

    Reference:
        Ren et al., CVPR 2022, Eq. 15; the released `appearance_control.py` (its initialisation).
    """
    garment = mask_select(garment_logits, garment_mask)
    person = mask_select(person_logits, person_mask)
    coefficients = []
    for a_g, a_r in zip(garment, person):
        a = np.maximum(ops.convert_to_numpy(a_g)[0], ops.convert_to_numpy(a_r)[0])
        coefficients.append((a >= 3.0 / a.shape[0]).astype("float32"))
    return coefficients


def regularization_loss(distribution_logits, coefficients, mask):
    """`L_regu` (paper Eq. 16) as released: hinge terms averaged over the textures, summed over layers.

    `rel_i = [mask_select(logits, S)_i >= 3/k_i]` and `unrel_i = [mask_select(logits, 1 - S)_i
    >= 3/k_i]` (both detached), and `L_regu = sum_i mean_k(rel_i * relu(1 - m_i) + unrel_i *
    relu(m_i))`: textures painting the region are pushed to 1, those painting the rest to 0.

    Args:
        distribution_logits: the current render's list of `(1, h_i, w_i, k_i)` logits.
        coefficients: list of `(1, k_i, 1)` coefficient tensors or variables.
        mask: bool `(H, W)` region `S` of the current render.

    Returns:
        Scalar float32 tensor.

    Reference:
        Ren et al., CVPR 2022, Eq. 15-16; the released `appearance_control.py` (its loss).
    """
    levels = [ops.convert_to_tensor(m) for m in level_masks(mask, distribution_logits)]
    return regularization_at_levels(distribution_logits, coefficients, levels)


def regularization_at_levels(distribution_logits, coefficients, levels):
    """`regularization_loss` with the mask given at every NTED index's size `(1, h_i, w_i)` (tensors)."""
    total = ops.zeros((), "float32")
    for logits, m, inside in zip(distribution_logits, coefficients, levels):
        k = logits.shape[-1]
        sigma = 3.0 / k
        a_in = masked_mean_probabilities(logits, inside)
        # Nearest resizing samples pixels, so the complement's resize is the resize's complement.
        a_out = masked_mean_probabilities(logits, 1.0 - inside)
        rel = ops.stop_gradient(ops.cast(a_in >= sigma, "float32"))
        unrel = ops.stop_gradient(ops.cast(a_out >= sigma, "float32"))
        m = ops.reshape(ops.cast(m, "float32"), (-1, k))
        total = total + ops.mean(rel * ops.relu(1.0 - m) + unrel * ops.relu(m))
    return total


def color_loss(image, region, target_color):
    """Mean absolute difference between the mean color of `image` in `region` and a color.

    The term keras-nted adds to the released optimisation when the garment's region in the
    garment image itself is known: `target_color` is that region's mean color, which, unlike
    the garment render `I_g`, does not depend on how well the model re-poses the garment.

    Args:
        image: `(1, H, W, 3)` render.
        region: `(1, H, W, 1)` float32 mask `S` (non-empty).
        target_color: `(3,)` mean color, in the image's range.

    Returns:
        Scalar float32 tensor, `mean_c |mean_S(image)_c - target_c|`.

    Example:
    >>> image = np.zeros((1, 4, 4, 3), "float32"); image[:, :2] = 1.0
    >>> region = np.zeros((1, 4, 4, 1), "float32"); region[:, :2] = 1.0
    >>> float(color_loss(image, region, np.array([1.0, 0.0, 0.5], "float32")))
    0.5
    """
    image = ops.cast(image, "float32")
    region = ops.cast(region, "float32")
    mean = ops.sum(image * region, axis=(0, 1, 2)) / ops.sum(region)
    return ops.mean(ops.abs(mean - ops.cast(target_color, "float32")))


def pixel_l1(inputs, targets):
    """The pixel L1 fallback of the reconstruction loss `L`: `mean |inputs - targets|` in float32."""
    return ops.mean(ops.abs(ops.cast(inputs, "float32") - ops.cast(targets, "float32")))


def reconstruction_loss(loss, vgg_weights="imagenet", perceptual_scales=1):
    """`(name, callable)` of the loss `L` that `AppearanceControl` is given.

    Args:
        loss: `"perceptual"`, `"l1"`, a `keras_nted.losses.PerceptualLoss`, or a callable
            `(inputs, targets) -> scalar` (named by its `__name__`).
        vgg_weights: the VGG19 `weights` for `loss="perceptual"`.
        perceptual_scales: the perceptual loss's image scales for `loss="perceptual"`.

    Raises:
        ValueError: for a name that is not in `LOSSES`.
    """
    from keras_nted.losses.perceptual import PerceptualLoss

    if isinstance(loss, PerceptualLoss):
        return "perceptual", loss
    if callable(loss):
        return getattr(loss, "__name__", type(loss).__name__), loss
    if loss == "l1":
        return "l1", pixel_l1
    if loss == "perceptual":
        return "perceptual", PerceptualLoss(weights=vgg_weights, num_scales=perceptual_scales, style_weight=0.0)
    raise ValueError(f"Expected loss to be one of {LOSSES} or a callable. Received: loss={loss!r}")


class ControlObjective:
    """The total loss of appearance control (Eq. 14) for given coefficients, from named inputs.

    `inputs` is a dict (the compiled step's one argument, a structure every backend's compiled
    function accepts, so its entries are found by name, not by position):

    - `skeleton_features`: the target skeleton's features;
    - `person_textures`, `garment_textures`: lists of textures, one per NTED index;
    - `person_target`, `garment_target`: the masked targets `I_r * (1 - M_r)` and `I_g * M_g`;
    - `target_color` `(3,)` and `color_weight` (a scalar tensor, 0 without a garment image
      mask): the color term's;
    - `region`: `S` `(1, H, W, 1)`, and `region_levels`: `S` at every NTED index's size
      `(1, h_i, w_i)`.

    Args:
        parts: the `GeneratorParts` that render.
        loss_fn: the reconstruction loss `L`, `(inputs, targets) -> scalar`.
        maintain_weight, edit_weight, regularization_weight: the terms' weights.

    Call arguments:
        coefficients: list of `(1, k_i, 1)` coefficients.
        inputs: the dict above.

    Returns:
        `(total, (terms, image))`: the scalar total, the weighted terms `(maintain, edit,
        regularization, color)` and the render.

    Reference:
        Ren et al., CVPR 2022, Eq. 13-18; the released `appearance_control.py`.
    """

    TERMS = ("maintain", "edit", "regularization", "color")

    def __init__(self, parts, loss_fn, maintain_weight, edit_weight, regularization_weight):
        self.parts = parts
        self.loss_fn = loss_fn
        self.maintain_weight = maintain_weight
        self.edit_weight = edit_weight
        self.regularization_weight = regularization_weight

    def __call__(self, coefficients, inputs):
        textures = interpolate_textures(inputs["person_textures"], inputs["garment_textures"], coefficients)
        out = self.parts.render(inputs["skeleton_features"], textures)
        image = out["image"]
        inside = inputs["region"]
        area = ops.sum(inside)
        outside_area = float(np.prod(self.parts.image_size)) - area
        maintain = self.loss_fn(image * (1.0 - inside), inputs["person_target"]) / outside_area
        edit = self.loss_fn(image * inside, inputs["garment_target"]) / area
        regularization = regularization_at_levels(out["distribution_logits"], coefficients, inputs["region_levels"])
        terms = (
            self.maintain_weight * maintain,
            self.edit_weight * edit,
            self.regularization_weight * regularization,
            inputs["color_weight"] * color_loss(image, inside, inputs["target_color"]),
        )
        return terms[0] + terms[1] + terms[2] + terms[3], (terms, image)
