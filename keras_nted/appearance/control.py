"""Appearance control by optimisation (paper Sec. 4, Eq. 13-18), as the release runs it.

The loop is here; the objective's terms are in `objective.py` and the result type in `result.py`.
"""

import dataclasses
import logging

import keras
import numpy as np
from keras import ops

from keras_nted.appearance.blend import as_parts
from keras_nted.appearance.blend import interpolate_textures
from keras_nted.appearance.masks import level_masks
from keras_nted.appearance.masks import load_mask
from keras_nted.appearance.objective import DEFAULT_WEIGHTS
from keras_nted.appearance.objective import ControlObjective
from keras_nted.appearance.objective import initial_coefficients
from keras_nted.appearance.objective import reconstruction_loss
from keras_nted.appearance.parts import as_batch
from keras_nted.appearance.result import AppearanceResult
from keras_nted.backend import autodiff
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_number

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Setup:
    """One call's fixed part: the step's inputs (all but the region), the renders and masks."""

    inputs: dict
    render: object  # textures -> {"image", "distribution_logits"} as numpy
    person_textures: list
    garment_textures: list
    garment_render: dict
    person_render: dict
    garment_mask: np.ndarray
    person_mask: np.ndarray
    initial: list


class AppearanceControl:
    """Moves a region's appearance (e.g. the upper garment) from one reference to another.

    The released optimisation (paper Sec. 4; the released `appearance_control.py`), for one garment image, one person
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
       itself), `color_weight * color_loss(out, S, c)` is added, with `c` the mean color of
       the garment image in that region. `I_g` carries the garment's colors only as well as
       the model re-poses it; `c` is read off the garment itself. With the L1 fallback on the
       shipped mannequin model it is what moves the color inside the region towards the
       garment's (docs/appearance_control.md has the figures).

    The loss `L` is the released VGG19 perceptual loss (5 layers, no style term) when its
    weights are available, or a pixel L1 fallback (`loss="l1"`, the same weights plus the color
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
        color_weight: weight of the color term (used only when a `garment_image_mask` is
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
            array or PNG path; turns on the color term (step 4).
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
        color_weight=None,
        reestimate_every=50,
        snapshots=None,
        verbose=1,
    ):
        steps = check_int("steps", steps, minimum=0)
        reestimate_every = check_int("reestimate_every", reestimate_every, minimum=0)
        learning_rate = check_number("learning_rate", learning_rate)
        if snapshots is None:  # the release's: every 50 iterations, 0 to 200
            snapshots = sorted({0, steps, *range(0, steps + 1, 50)})
        snapshots = tuple(int(s) for s in snapshots)
        bad = [s for s in snapshots if not 0 <= s <= steps]
        if bad:
            raise ValueError(
                f"Expected snapshot iterations in [0, {steps}] (steps={steps}). Received: snapshots={list(snapshots)}"
            )
        loss_name, loss_fn = reconstruction_loss(loss, vgg_weights, perceptual_scales)
        defaults = DEFAULT_WEIGHTS.get(loss_name, DEFAULT_WEIGHTS["perceptual"])
        weights = {
            "maintain_weight": defaults[0] if maintain_weight is None else maintain_weight,
            "edit_weight": defaults[1] if edit_weight is None else edit_weight,
            "regularization_weight": regularization_weight,
            "color_weight": defaults[2] if color_weight is None else color_weight,
        }
        for name, value in weights.items():
            setattr(self, name, check_number(name, float(value), inclusive=True))
        self.parts = as_parts(generator)
        self.steps = steps
        self.learning_rate = learning_rate
        self.loss = loss_name
        self.loss_fn = loss_fn
        self.reestimate_every = reestimate_every
        self.snapshots = snapshots
        self.verbose = verbose
        self.objective = ControlObjective(
            self.parts, loss_fn, self.maintain_weight, self.edit_weight, self.regularization_weight
        )
        # One set of coefficient variables and one compiled gradient step per instance, reused
        # by every call (the inputs are the step's argument, so it compiles once).
        self._coefficients = [
            keras.Variable(np.zeros((1, k, 1), "float32"), dtype="float32", name=f"coefficients_{i}")
            for i, k in enumerate(self.parts.num_labels)
        ]
        self._step = autodiff.compiled_value_and_grad(self._loss, self._coefficients)

    def _loss(self, inputs):
        """The objective of the current coefficients; `inputs` is `ControlObjective`'s dict."""
        return self.objective(self._coefficients, inputs)

    def _masks(self, name, mask, segmenter, render):
        size = self.parts.image_size
        if mask is not None:
            return load_mask(mask, size, name=name)
        if segmenter is None:
            raise ValueError(
                f"Give `{name}` (a mask of the region in the {name.split('_')[0]} render) or a `segmenter`."
            )
        estimate = segmenter(render["image"][0], render["distribution_logits"])
        return load_mask(estimate, size, name=f"segmenter output for {name}")

    def _color_inputs(self, garment, source):
        """`target_color` and `color_weight`: the garment image's mean color in `source` (or 0, 0)."""
        if source is None:
            return {"target_color": ops.zeros((3,), "float32"), "color_weight": ops.zeros((), "float32")}
        image = ops.convert_to_numpy(as_batch("garment", garment, 3, self.parts.image_size))[0]
        color = image[source].mean(axis=0).astype("float32")
        return {
            "target_color": ops.convert_to_tensor(color),
            "color_weight": ops.convert_to_tensor(np.float32(self.color_weight)),
        }

    def _setup(self, garment, person, skeleton, garment_mask, person_mask, segmenter, garment_image_mask):
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
        inputs = {
            "skeleton_features": features,
            "person_textures": person_textures,
            "garment_textures": garment_textures,
            "person_target": ops.convert_to_tensor(person_render["image"] * (1.0 - m_r[None, :, :, None])),
            "garment_target": ops.convert_to_tensor(garment_render["image"] * m_g[None, :, :, None]),
            **self._color_inputs(garment, source),
        }
        return _Setup(
            inputs, render, person_textures, garment_textures, garment_render, person_render, m_g, m_r, initial
        )

    def _region_inputs(self, region, setup):
        """`region` and `region_levels` of the step's inputs for the bool `(H, W)` region `S`."""
        levels = level_masks(region, setup.person_render["distribution_logits"])
        return {
            "region": ops.convert_to_tensor(region[None, :, :, None].astype("float32")),
            "region_levels": [ops.convert_to_tensor(x) for x in levels],
        }

    def __call__(
        self, garment, person, skeleton, garment_mask=None, person_mask=None, segmenter=None, garment_image_mask=None
    ):
        setup = self._setup(garment, person, skeleton, garment_mask, person_mask, segmenter, garment_image_mask)
        coefficients = self._coefficients
        for variable, m in zip(coefficients, setup.initial):
            variable.assign(m[None, :, None])
        optimizer = keras.optimizers.Adam(self.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        optimizer.build(coefficients)
        default_region = self._region_inputs(setup.garment_mask, setup)
        history = dict(loss=[], **{term: [] for term in ControlObjective.TERMS})
        snapshots = {}
        progress = keras.utils.Progbar(
            self.steps + 1, verbose=self.verbose, stateful_metrics=list(history), unit_name="step"
        )
        for it in range(self.steps + 1):
            region, region_inputs = setup.garment_mask, default_region
            if segmenter is not None and self.reestimate_every and it and it % self.reestimate_every == 0:
                textures = interpolate_textures(setup.person_textures, setup.garment_textures, coefficients)
                region = self._reestimate(segmenter, setup.render(textures), setup.garment_mask, it)
                region_inputs = self._region_inputs(region, setup)
            total, (terms, image), grads = self._step({**setup.inputs, **region_inputs})
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
            initial_coefficients=setup.initial,
            history=history,
            snapshots=snapshots,
            garment_render=setup.garment_render["image"][0],
            person_render=setup.person_render["image"][0],
            masks={"garment": setup.garment_mask, "person": setup.person_mask, "final": region},
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
