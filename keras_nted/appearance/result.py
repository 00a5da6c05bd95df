"""What an appearance-control run returns: `AppearanceResult`."""

import dataclasses

import numpy as np


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
            `L_regu`) and `color` (the weighted color term, 0 without a
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
        """`{"coefficients_i": ..., "initial_coefficients_i": ..., "history_<key>": ...}` for `np.savez`."""
        arrays = {}
        for i, (m, m0) in enumerate(zip(self.coefficients, self.initial_coefficients)):
            arrays[f"coefficients_{i}"] = m
            arrays[f"initial_coefficients_{i}"] = m0
        for key, values in self.history.items():
            arrays[f"history_{key}"] = np.asarray(values, "float32")
        return arrays
