"""Appearance control on held-out mannequins, scored against a rendered ground truth.

The mannequin renderer can dress one identity in another's garment (an `Identity` is a frozen
dataclass: `dataclasses.replace(person, upper=garment.upper)`), so moving identity A's upper
garment onto identity B in B's pose has an exact answer. `appearance_pair` builds such a case
with everything the optimisation and the scores need; `appearance_scores` compares a result
with it region by region.
"""

import dataclasses

import numpy as np

REGION_LABELS = {"upper": "upper_garment", "lower": "lower_garment"}


def appearance_pair(garment_identity, person_identity, region="upper", image_size=(64, 44), seed=0,
                    garment_pose=0, person_pose=1):  # fmt: skip
    """A held-out garment-transfer case: A's `region` garment onto B, in B's pose.

    Identities and poses are the mannequin test split's (`MannequinDataset(split="test")`),
    never seen in training. As in the release's list, the target pose is the person's own.

    Args:
        garment_identity: test-split index of identity A (the garment).
        person_identity: test-split index of identity B (the person).
        region: `"upper"` or `"lower"`.
        image_size: `(H, W)`.
        seed: the data seed.
        garment_pose: A's pose index (the garment image).
        person_pose: B's pose index (the person image and target pose).

    Returns:
        A dict of numpy arrays (images `(H, W, 3)` float32 in [-1, 1], masks bool `(H, W)`):
        `garment` (A in its pose), `person` (B in the target pose), `skeleton` `(H, W, 20)`,
        `keypoints` `(18, 2)` (target pose, pixels), `ground_truth` (B wearing A's garment,
        target pose), `garment_in_pose` (A in the target pose), and the exact region masks
        `person_mask` (B), `garment_mask` (A in the target pose), `garment_image_mask` (A's
        garment in the garment image itself) and `ground_truth_mask`; `person_labels` /
        `ground_truth_labels` `(H, W)` part labels; `garment_keypoints` `(18, 2)` and
        `garment_skeleton` `(H, W, 20)`, A's own pose.
    """
    from keras_nted.data.mannequin import LABEL_NAMES
    from keras_nted.data.mannequin import MannequinDataset
    from keras_nted.data.mannequin import render
    from keras_nted.data.skeleton import render_skeleton
    from keras_nted.utils.images import from_uint8

    if region not in REGION_LABELS:
        raise ValueError(f"Expected region 'upper' or 'lower'. Received: region={region!r}")
    label = LABEL_NAMES.index(REGION_LABELS[region])
    field = region
    data = MannequinDataset(image_size=image_size, split="test", seed=seed)
    garment_id, person_id = data.identity(garment_identity), data.identity(person_identity)
    target = data.pose(person_identity, person_pose)
    source_pose = data.pose(garment_identity, garment_pose)
    garment, garment_image_labels = render(garment_id, source_pose)
    person, person_labels = render(person_id, target)
    garment_in_pose, garment_labels = render(garment_id, target)
    truth, truth_labels = render(dataclasses.replace(person_id, **{field: getattr(garment_id, field)}), target)
    unit = from_uint8
    return {
        "garment": unit(garment),
        "person": unit(person),
        "skeleton": render_skeleton(target.keypoints, image_size, frame="pixels").astype("float32"),
        "keypoints": np.asarray(target.keypoints, "float64"),
        "ground_truth": unit(truth),
        "garment_in_pose": unit(garment_in_pose),
        "person_mask": person_labels == label,
        "garment_mask": garment_labels == label,
        "garment_image_mask": garment_image_labels == label,
        "garment_keypoints": np.asarray(source_pose.keypoints, "float64"),
        "garment_skeleton": render_skeleton(source_pose.keypoints, image_size, frame="pixels").astype("float32"),
        "ground_truth_mask": truth_labels == label,
        "person_labels": person_labels,
        "ground_truth_labels": truth_labels,
    }


def _l1(a, b, region):
    return float(np.abs(a - b)[region].mean() / 2.0) if region.any() else float("nan")  # on [0, 1]


def _color_distance(a, b, region):
    if not region.any():
        return float("nan")
    return float(np.linalg.norm((a[region].mean(axis=0) - b[region].mean(axis=0)) / 2.0))


def appearance_scores(image, pair, garment_render=None, person_render=None):
    """Inside / outside distances of a result to the garment's and the person's appearance.

    Regions (from the exact part labels): `inside` = garment region of both B's image and the
    ground truth (where the color must change to A's garment); `outside` = garment region of
    neither (where B must stay B, background included); `body` = `outside` without the
    background (hair, skin, the other garment, shoes). Pixels in only one of the two garment
    masks (a sleeve the new garment adds or drops) are in none.

    Distances are on [0, 1] images (the result clipped to [-1, 1] first): `l1` is the mean
    absolute difference, `color` the Euclidean distance between mean RGB colors.

    - inside: `*_to_garment` compares with the ground truth (B wearing A's garment),
      `*_to_person` with B's image; `margin = to_person - to_garment` (> 0: closer to A's
      garment).
    - outside and body: `*_to_person` compares with B's image, `*_to_garment` with A rendered
      in the same pose (A's whole appearance); `margin = to_garment - to_person` (> 0: closer
      to B).

    With the model's own renders `garment_render` (`I_g`, A's textures in the target pose) and
    `person_render` (`I_r`), the same margins are also computed against them (keys prefixed
    `model_`): how far the result went from what the model paints for B towards what it paints
    for A, whatever the model's rendering quality.

    Args:
        image: `(H, W, 3)` result in [-1, 1].
        pair: an `appearance_pair` dict.
        garment_render: optional `(H, W, 3)` `I_g`.
        person_render: optional `(H, W, 3)` `I_r`.

    Returns:
        A flat dict of floats: `{region}_{l1|color}_to_{garment|person}`,
        `{region}_margin` (L1) and `{region}_color_margin` for `region` in `inside`,
        `outside`, `body`; with the renders also `model_{region}_margin` and
        `model_{region}_color_margin`.
    """
    image = np.clip(np.asarray(image, "float32"), -1.0, 1.0)
    inside = pair["person_mask"] & pair["ground_truth_mask"]
    outside = ~(pair["person_mask"] | pair["ground_truth_mask"])
    body = outside & (pair["person_labels"] > 0) & (pair["ground_truth_labels"] > 0)
    references = [("", pair["ground_truth"], pair["garment_in_pose"], pair["person"])]
    if garment_render is not None and person_render is not None:
        clip = lambda x: np.clip(np.asarray(x, "float32"), -1.0, 1.0)  # noqa: E731
        references.append(("model_", clip(garment_render), clip(garment_render), clip(person_render)))
    scores = {}
    for prefix, garment_inside, garment_outside, person in references:
        for name, region in (("inside", inside), ("outside", outside), ("body", body)):
            garment = garment_inside if name == "inside" else garment_outside
            # > 0: nearer what the region should look like (A's garment inside, B outside)
            sign = 1.0 if name == "inside" else -1.0
            for metric, fn in (("l1", _l1), ("color", _color_distance)):
                to_garment, to_person = fn(image, garment, region), fn(image, person, region)
                if not prefix:
                    scores[f"{name}_{metric}_to_garment"] = to_garment
                    scores[f"{name}_{metric}_to_person"] = to_person
                key = f"{prefix}{name}_margin" if metric == "l1" else f"{prefix}{name}_color_margin"
                scores[key] = sign * (to_person - to_garment)
    return scores
