"""Appearance control by optimisation (paper Sec. 4, Eq. 13-18), as the release runs it (spec §8.2)."""

import dataclasses
import logging

import keras
import numpy as np
from keras import ops

from keras_nted.appearance.blend import as_parts
from keras_nted.appearance.blend import interpolate_textures
from keras_nted.appearance.masks import level_masks
from keras_nted.appearance.masks import load_mask
from keras_nted.appearance.masks import mask_select
from keras_nted.appearance.masks import masked_mean_probabilities
from keras_nted.appearance.parts import _as_batch
from keras_nted.backend import autodiff

LOSSES = ("perceptual", "l1")
# (maintain, edit, colour) weights per loss. Maintain and edit are the release's: its total is
# 300000 * (10 * L_r1 + L_r2) + L_regu. The colour term is not in the release (0 with the
# perceptual loss, as released; used only with a `garment_image_mask`): with the pixel L1
# fallback, the edit term matches the region to `I_g`, whose colours are only as good as the
# model's pose transfer, and the maintain term pulls the textures back to the person's; the
# mean colour of the garment image's own region does not depend on the model. Its weight was
# chosen on held-out pairs disjoint from the benchmark's (docs/appearance_control.md).
DEFAULT_WEIGHTS = {"perceptual": (3.0e6, 3.0e5, 0.0), "l1": (3.0e6, 3.0e5, 300.0)}

logger = logging.getLogger(__name__)


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
        Ren et al., CVPR 2022, Eq. 15; spec §8.2 step 3.
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
        Ren et al., CVPR 2022, Eq. 15-16; spec §8.2 step 5c.
    """
    levels = [ops.convert_to_tensor(m) for m in level_masks(mask, distribution_logits)]
    return _regularization(distribution_logits, coefficients, levels)


def _regularization(distribution_logits, coefficients, levels):
    """`regularization_loss` with the mask given at every NTED index's size (tensors)."""
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


def colour_loss(image, region, target_colour):
    """Mean absolute difference between the mean colour of `image` in `region` and a colour.

    The term keras-nted adds to the released optimisation when the garment's region in the
    garment image itself is known: `target_colour` is that region's mean colour, which, unlike
    the garment render `I_g`, does not depend on how well the model re-poses the garment.

    Args:
        image: `(1, H, W, 3)` render.
        region: `(1, H, W, 1)` float32 mask `S` (non-empty).
        target_colour: `(3,)` mean colour, in the image's range.

    Returns:
        Scalar float32 tensor, `mean_c |mean_S(image)_c - target_c|`.

    Example:
    >>> image = np.zeros((1, 4, 4, 3), "float32"); image[:, :2] = 1.0
    >>> region = np.zeros((1, 4, 4, 1), "float32"); region[:, :2] = 1.0
    >>> float(colour_loss(image, region, np.array([1.0, 0.0, 0.5], "float32")))
    0.5
    """
    image = ops.cast(image, "float32")
    region = ops.cast(region, "float32")
    mean = ops.sum(image * region, axis=(0, 1, 2)) / ops.sum(region)
    return ops.mean(ops.abs(mean - ops.cast(target_colour, "float32")))


def _l1(inputs, targets):
    return ops.mean(ops.abs(ops.cast(inputs, "float32") - ops.cast(targets, "float32")))


@dataclasses.dataclass
class AppearanceResult:
    """What `AppearanceControl` returns (numpy arrays; images `(H, W, 3)`, unbounded like the
    generator's: clip to [-1, 1] for display).

    Attributes:
        image: the final render, with the coefficients after all steps.
        coefficients: the optimised `m_i`, a list of `(k_i,)` arrays, one per NTED index.
        initial_coefficients: the released initialisation, same layout.
        history: per iteration `0..steps`, the lists `loss` (total), `maintain`
            (weighted `L_r1`), `edit` (weighted `L_r2`), `regularization` (weighted
            `L_regu`) and `colour` (the weighted colour term, 0 without a
            `garment_image_mask`), computed on the render before that iteration's update.
        snapshots: `{iteration: render}` for the requested iterations (the render before that
            iteration's update: iteration `n` shows the coefficients after `n` updates).
        garment_render: `I_g`, the garment reference's textures in the target pose.
        person_render: `I_r`, the person reference's textures in the target pose.
        masks: bool `(H, W)` masks: `garment` (`M_g`), `person` (`M_r`) and `final` (`S` at
            the last iteration).
    """

    image: np.ndarray
    coefficients: list
    initial_coefficients: list
    history: dict
    snapshots: dict
    garment_render: np.ndarray
    person_render: np.ndarray
    masks: dict

    def coefficient_arrays(self):
        """`{"coefficients_i": ..., "initial_coefficients_i": ..., "loss": ...}` for `np.savez`."""
        arrays = {}
        for i, (m, m0) in enumerate(zip(self.coefficients, self.initial_coefficients)):
            arrays[f"coefficients_{i}"] = m
            arrays[f"initial_coefficients_{i}"] = m0
        for key, values in self.history.items():
            arrays[f"history_{key}"] = np.asarray(values, "float32")
        return arrays


class AppearanceControl:
    """Moves a region's appearance (e.g. the upper garment) from one reference to another.

    The released optimisation (paper Sec. 4, spec §8.2), for one garment image, one person
    image and one target pose:

    1. Encode the target skeleton once; extract the neural textures `T_g` of the garment
       image and `T_r` of the person image; render both in the target pose (`I_g`, `I_r`)
       and get their region masks `M_g`, `M_r` (from the caller or from `segmenter`).
    2. Initialise one coefficient per texture and NTED index,
       `m_i = [max(a_i(I_g, M_g), a_i(I_r, M_r)) >= 3 / k_i]` (`initial_coefficients`); `m` is
       unconstrained (no sigmoid, no clamp).
    3. For `it = 0 .. steps`: render with `T_i = T_r,i + (T_g,i - T_r,i) * m_i` at every NTED
       index (Eq. 13); the region `S` is `M_g`, except at multiples of `reestimate_every`
       where `S = segmenter(render)`; minimise
       `maintain_weight * L(out * (1 - S), I_r * (1 - M_r)) / sum(1 - S)
       + edit_weight * L(out * S, I_g * M_g) / sum(S) + regularization_weight * L_regu`
       (Eq. 14, 16-18) with Adam over `m` only (the generator is frozen). The release's
       weights are 3e6 and 3e5 (`300000 * (10 * L_r1 + L_r2)`), Adam(0.01, 0.9, 0.999, 1e-8)
       and 200 steps.
    4. Not in the release: given `garment_image_mask` (the region in the garment image
       itself), `colour_weight * colour_loss(out, S, c)` is added, with `c` the mean colour of
       the garment image in that region. `I_g` carries the garment's colours only as well as
       the model re-poses it; `c` is read off the garment itself. With the L1 fallback on the
       shipped mannequin model it is what moves the colour inside the region towards the
       garment's (docs/appearance_control.md has the figures).

    The loss `L` is the released VGG19 perceptual loss (5 layers, no style term) when its
    weights are available, or a pixel L1 fallback (`loss="l1"`, the same weights plus the colour
    term of step 4 when the garment image's region is given, see docs/appearance_control.md),
    or any callable.

    Args:
        generator: an `NTEDGenerator` (or its `GeneratorParts`).
        steps: optimisation steps (the release: 200).
        learning_rate: Adam's learning rate (the release: 0.01).
        loss: `"perceptual"`, `"l1"`, a `keras_nted.losses.PerceptualLoss`, or a callable
            `(inputs, targets) -> scalar` (which gets the perceptual loss's default weights).
        vgg_weights: the `weights` of `keras_nted.losses.PerceptualLoss` for
            `loss="perceptual"` (`"imagenet"`, a file, or `None` for random features).
        perceptual_scales: image scales of the perceptual loss (the release: its config's,
            3 for the 512 model).
        maintain_weight: weight of `L_r1`; `None` for the default of `loss`.
        edit_weight: weight of `L_r2`; `None` for the default of `loss`.
        regularization_weight: weight of `L_regu` (the release: 1).
        colour_weight: weight of the colour term (used only when a `garment_image_mask` is
            given); `None` for the default of `loss` (`DEFAULT_WEIGHTS`: 0 for the
            perceptual loss, as released).
        reestimate_every: re-segment the current render every this many steps (the release:
            50) when a `segmenter` is given; 0 never.
        snapshots: iterations in `[0, steps]` whose renders are kept; default every 50 and
            the last (the release's 0, 50, 100, 150, 200).
        verbose: 1 shows a progress bar, 0 nothing.

    Call arguments:
        garment: `(H, W, 3)` or `(1, H, W, 3)` image in [-1, 1] whose region is taken.
        person: image of the same shape whose appearance is kept elsewhere.
        skeleton: `(H, W, 20)` or `(1, H, W, 20)` target pose map (in the release, the
            person's own).
        garment_mask: the region in the garment render `I_g` (target pose): an array or a PNG
            path (`load_mask`); default `segmenter(I_g)`.
        person_mask: the region in the person render `I_r`; default `segmenter(I_r)`.
        garment_image_mask: optional region of the garment image itself (its own pose), an
            array or PNG path; turns on the colour term (step 4).
        segmenter: a callable `(image (H, W, 3), distribution_logits) -> (H, W) mask` applied
            to renders, like the release's fashion segmenter: for the masks not given, and to
            re-estimate `S`. Without one, `S` stays `M_g`. `DistributionSegmenter` needs no
            network.

    Returns:
        An `AppearanceResult`.

    Raises:
        ValueError: for bad settings, inputs of the wrong shape, or a bad, empty or full
            mask (naming it).
        FileNotFoundError: for `loss="perceptual"` without the VGG19 weights (the message
            says where to put them), or a missing mask file.

    Example:
    >>> generator = keras_nted.models.NTEDGenerator.from_preset("nted_tiny")
    >>> x = np.random.uniform(-1, 1, (64, 44, 3)).astype("float32")
    >>> s = np.random.uniform(0, 1, (64, 44, 20)).astype("float32")
    >>> mask = np.zeros((64, 44), bool); mask[16:40, 10:34] = True
    >>> control = AppearanceControl(generator, steps=3, loss="l1", verbose=0)
    >>> result = control(x, -x, s, garment_mask=mask, person_mask=mask)
    >>> len(result.coefficients), len(result.history["loss"])
    (4, 4)

    Reference:
        Ren et al., "Neural Texture Extraction and Distribution for Controllable Person Image
        Synthesis", CVPR 2022, Sec. 4, Eq. 13-18; the released `appearance_control.py`.
    """

    def __init__(
        self,
        generator,
        steps=200,
        learning_rate=0.01,
        loss="perceptual",
        vgg_weights="imagenet",
        perceptual_scales=1,
        maintain_weight=None,
        edit_weight=None,
        regularization_weight=1.0,
        colour_weight=None,
        reestimate_every=50,
        snapshots=None,
        verbose=1,
    ):
        for name, value in (("steps", steps), ("reestimate_every", reestimate_every)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Expected a non-negative integer. Received: {name}={value!r}")
        if not learning_rate > 0:
            raise ValueError(f"Expected a positive number. Received: learning_rate={learning_rate!r}")
        if snapshots is None:  # the release's: every 50 iterations, 0 to 200
            snapshots = sorted({0, int(steps), *range(0, int(steps) + 1, 50)})
        snapshots = tuple(int(s) for s in snapshots)
        bad = [s for s in snapshots if not 0 <= s <= steps]
        if bad:
            raise ValueError(
                f"Expected snapshot iterations in [0, {steps}] (steps={steps}). Received: snapshots={list(snapshots)}"
            )
        from keras_nted.losses.perceptual import PerceptualLoss

        if isinstance(loss, PerceptualLoss):
            loss_name, loss_fn = "perceptual", loss
        elif callable(loss):
            loss_name, loss_fn = getattr(loss, "__name__", type(loss).__name__), loss
        elif loss == "l1":
            loss_name, loss_fn = "l1", _l1
        elif loss == "perceptual":
            loss_name = "perceptual"
            loss_fn = PerceptualLoss(weights=vgg_weights, num_scales=perceptual_scales, style_weight=0.0)
        else:
            raise ValueError(f"Expected loss to be one of {LOSSES} or a callable. Received: loss={loss!r}")
        defaults = DEFAULT_WEIGHTS.get(loss_name, DEFAULT_WEIGHTS["perceptual"])
        self.maintain_weight = float(defaults[0] if maintain_weight is None else maintain_weight)
        self.edit_weight = float(defaults[1] if edit_weight is None else edit_weight)
        self.regularization_weight = float(regularization_weight)
        self.colour_weight = float(defaults[2] if colour_weight is None else colour_weight)
        for name in ("maintain_weight", "edit_weight", "regularization_weight", "colour_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"Expected a non-negative number. Received: {name}={getattr(self, name)!r}")
        self.parts = as_parts(generator)
        self.steps = int(steps)
        self.learning_rate = float(learning_rate)
        self.loss = loss_name
        self.loss_fn = loss_fn
        self.reestimate_every = int(reestimate_every)
        self.snapshots = snapshots
        self.verbose = verbose
        # One set of coefficient variables and one compiled gradient step per instance, reused
        # by every call (the inputs are arguments of the step, so it compiles once).
        self._coefficients = [
            keras.Variable(np.zeros((1, k, 1), "float32"), dtype="float32", name=f"coefficients_{i}")
            for i, k in enumerate(self.parts.num_labels)
        ]
        self._step = autodiff.compiled_value_and_grad(self._loss, self._coefficients)

    def _loss(self, features, *tensors):
        """The total loss of the current coefficients (Eq. 14) and its weighted terms and render.

        `tensors`: person textures, garment textures (one per NTED index each), the masked
        targets `I_r * (1 - M_r)` and `I_g * M_g`, the garment image's mean colour `(3,)` and
        the colour term's weight (a scalar tensor, 0 without a garment image mask), the region
        `S` `(1, H, W, 1)` and `S` at every NTED index's size `(1, h_i, w_i)`.
        """
        n = self.parts.num_textures
        person_textures, garment_textures = tensors[:n], tensors[n : 2 * n]
        person_target, garment_target, target_colour, colour_weight, inside = tensors[2 * n : 2 * n + 5]
        levels = tensors[2 * n + 5 :]
        textures = interpolate_textures(person_textures, garment_textures, self._coefficients)
        out = self.parts.render(features, textures)
        image = out["image"]
        area = ops.sum(inside)
        maintain = self.loss_fn(image * (1.0 - inside), person_target) / (float(np.prod(self.parts.image_size)) - area)
        edit = self.loss_fn(image * inside, garment_target) / area
        regularization = _regularization(out["distribution_logits"], self._coefficients, levels)
        terms = (
            self.maintain_weight * maintain,
            self.edit_weight * edit,
            self.regularization_weight * regularization,
            colour_weight * colour_loss(image, inside, target_colour),
        )
        return terms[0] + terms[1] + terms[2] + terms[3], (terms, image)

    def _masks(self, name, mask, segmenter, render):
        size = self.parts.image_size
        if mask is not None:
            return load_mask(mask, size, name=name)
        if segmenter is None:
            raise ValueError(f"Give `{name}` (a mask of the region in the {name.split('_')[0]} render) or a `segmenter`.")
        estimate = segmenter(render["image"][0], render["distribution_logits"])
        return load_mask(estimate, size, name=f"segmenter output for {name}")

    def __call__(
        self, garment, person, skeleton, garment_mask=None, person_mask=None, segmenter=None, garment_image_mask=None
    ):
        parts = self.parts
        source = None
        if garment_image_mask is not None:  # checked before any work
            source = load_mask(garment_image_mask, parts.image_size, name="garment_image_mask")
        features = parts.encode_skeleton(skeleton)
        if features.shape[0] != 1:
            raise ValueError(
                f"Expected one skeleton (batch 1, as released). Received: skeleton.shape={tuple(skeleton.shape)}"
            )
        garment_textures = [ops.stop_gradient(t) for t in parts.extract_textures(garment)]
        person_textures = [ops.stop_gradient(t) for t in parts.extract_textures(person)]
        if garment_textures[0].shape[0] != 1 or person_textures[0].shape[0] != 1:
            raise ValueError("Expected one garment image and one person image (batch 1, as released).")

        def render(textures):
            out = parts.render(features, textures)
            return {
                "image": ops.convert_to_numpy(out["image"]),
                "distribution_logits": [ops.convert_to_numpy(x) for x in out["distribution_logits"]],
            }

        garment_render = render(garment_textures)
        person_render = render(person_textures)
        m_g = self._masks("garment_mask", garment_mask, segmenter, garment_render)
        m_r = self._masks("person_mask", person_mask, segmenter, person_render)
        initial = initial_coefficients(
            garment_render["distribution_logits"], m_g, person_render["distribution_logits"], m_r
        )
        coefficients = self._coefficients
        for variable, m in zip(coefficients, initial):
            variable.assign(m[None, :, None])
        optimizer = keras.optimizers.Adam(self.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        optimizer.build(coefficients)
        inputs = [
            features,
            *person_textures,
            *garment_textures,
            ops.convert_to_tensor(person_render["image"] * (1.0 - m_r[None, :, :, None])),
            ops.convert_to_tensor(garment_render["image"] * m_g[None, :, :, None]),
        ]
        if source is None:
            inputs += [ops.zeros((3,), "float32"), ops.zeros((), "float32")]
        else:
            image = ops.convert_to_numpy(_as_batch("garment", garment, 3, parts.image_size))[0]
            colour = image[source].mean(axis=0).astype("float32")
            inputs += [ops.convert_to_tensor(colour), ops.convert_to_tensor(np.float32(self.colour_weight))]

        def region_tensors(region):
            levels = level_masks(region, person_render["distribution_logits"])
            return [ops.convert_to_tensor(x) for x in [region[None, :, :, None].astype("float32"), *levels]]

        default_region = region_tensors(m_g)
        history = {"loss": [], "maintain": [], "edit": [], "regularization": [], "colour": []}
        snapshots = {}
        progress = keras.utils.Progbar(
            self.steps + 1, verbose=self.verbose, stateful_metrics=list(history), unit_name="step"
        )
        for it in range(self.steps + 1):
            region, region_inputs = m_g, default_region
            if segmenter is not None and self.reestimate_every and it and it % self.reestimate_every == 0:
                current = render(interpolate_textures(person_textures, garment_textures, coefficients))
                region = self._reestimate(segmenter, current, m_g, it)
                region_inputs = region_tensors(region)
            total, (terms, image), grads = self._step(*inputs, *region_inputs)
            values = [float(ops.convert_to_numpy(t)) for t in (total, *terms)]
            for key, value in zip(history, values):
                history[key].append(value)
            if it in self.snapshots:
                snapshots[it] = ops.convert_to_numpy(image)[0]
            if it < self.steps:
                with autodiff.no_grad():
                    optimizer.apply(grads, coefficients)
            progress.update(it + 1, values=list(zip(history, values)), finalize=it == self.steps)
        return AppearanceResult(
            image=ops.convert_to_numpy(image)[0],
            coefficients=[ops.convert_to_numpy(m)[0, :, 0].copy() for m in coefficients],
            initial_coefficients=initial,
            history=history,
            snapshots=snapshots,
            garment_render=garment_render["image"][0],
            person_render=person_render["image"][0],
            masks={"garment": m_g, "person": m_r, "final": region},
        )

    run = __call__

    def _reestimate(self, segmenter, current, fallback, iteration):
        estimate = segmenter(current["image"][0], current["distribution_logits"])
        try:
            return load_mask(estimate, self.parts.image_size, "segmenter output")
        except ValueError as e:
            # The release would divide by an empty mask's zero area; keep the garment render's mask.
            logger.warning("Iteration %d: keeping the garment render's mask (%s)", iteration, e)
            return fallback
