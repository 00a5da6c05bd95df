"""Appearance control on held-out mannequins: A's upper garment onto B, scored against the truth.

For each pair (garment = test identity `start + i` in its pose 0, person = test identity
`start + offset + i` in its pose 1, which is also the target pose), runs the full released
optimisation (`AppearanceControl`, 200 steps) with the shipped model and scores the result
against the rendered ground truth (B wearing A's garment; `keras_nted.evaluation.appearance`):
inside the garment region closer to A's garment, outside closer to B.

Two mask set-ups:
- `exact`: the part labels give `M_r` (B's garment), `M_g` (A's garment rendered in B's
  pose) and the garment image's own region (the color term's), standing in for the release's
  segmenter; `S` stays `M_g` (no re-estimation).
- `seed`: no masks at all: the torso polygon of the target keypoints seeds a
  `DistributionSegmenter` (the model's own distribution maps), which gives `M_g`, `M_r` and the
  re-estimated `S` every 50 steps; the torso polygon of A's own keypoints, on A re-rendered in
  its own pose, gives the garment image's region (`garment_image_region`).
`--no-color` leaves the garment image's region out: the release's loss alone.

Also scored: the person re-rendered (`I_r`, no edit), the garment person re-posed (`I_g`, a
full swap) and iteration 0 (the released initial coefficients, before optimising).

Usage: python benchmarks/appearance_control.py [--pairs 10] [--steps 200] [--loss l1]
       [--setups exact,seed] [--color-weight W | --no-color] [--show 11,15,16,19]
       [--out docs/images/appearance_control.png]
The pairs tuned on (the L1 fallback's weights) were start 0, offset 50, pairs 0-5: the
defaults here (start 10, offset 50) are disjoint from them.
"""

import argparse
import os
import time

import numpy as np

SETUPS = ("exact", "seed")
# column -> score key (keras_nted.evaluation.appearance.appearance_scores); margins > 0 are wanted
COLUMNS = {
    "in": "inside_margin",
    "in_col": "inside_color_margin",
    "out": "outside_margin",
    "body": "body_margin",
    "m_in": "model_inside_margin",
    "m_out": "model_outside_margin",
    "m_body": "model_body_margin",
}
LEGEND = """columns (L1 on [0, 1]; margin > 0 = the wanted direction):
  in      inside the garment region: L1 to B's image - L1 to the ground truth (B wearing A's garment)
  in_col  the same with mean colors (Euclidean distance of mean RGB)
  out     outside (background included): L1 to A rendered in the pose - L1 to B's image
  body    outside, on the body only (hair, skin, the other garment, shoes)
  m_*     the same against the model's own renders: I_g (A's textures) and I_r (B's textures)"""


def _run_pair(control, pair, setup, color):
    from keras_nted.appearance import DistributionSegmenter
    from keras_nted.appearance import garment_image_region
    from keras_nted.appearance import region_seed_mask

    if setup == "exact":
        source = pair["garment_image_mask"] if color else None
        return control(pair["garment"], pair["person"], pair["skeleton"], garment_mask=pair["garment_mask"],
                       person_mask=pair["person_mask"], garment_image_mask=source)  # fmt: skip
    source = None
    if color:
        source = garment_image_region(control.parts, pair["garment"], pair["garment_skeleton"],
                                      pair["garment_keypoints"], "upper")  # fmt: skip
    seed = region_seed_mask(pair["keypoints"], pair["person"].shape[:2], "upper")
    return control(pair["garment"], pair["person"], pair["skeleton"], segmenter=DistributionSegmenter(seed),
                   garment_image_mask=source)  # fmt: skip


PICTURE_COLUMNS = ("garment (A)", "person (B)", "B's pose", "iteration 0", "optimised", "truth")


def _picture(rows):
    """The rows x4 (64-pixel mannequins, `display_factor`) under a header naming the columns."""
    from keras_nted.visualize import display_factor
    from keras_nted.visualize import enlarge
    from keras_nted.visualize import label_columns
    from keras_nted.visualize import stack_rows

    return label_columns(enlarge(stack_rows(rows), display_factor(rows[0].shape[0])), PICTURE_COLUMNS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join("saved_models", "nted_mannequin_64.keras"))
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--start", type=int, default=10, help="first garment identity (test split)")
    parser.add_argument("--offset", type=int, default=50, help="person identity = garment identity + offset")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--loss", default="l1", help="l1 or perceptual (needs the VGG19 weights)")
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--maintain-weight", type=float, help="weight of L_r1 (default: AppearanceControl's)")
    parser.add_argument("--color-weight", type=float, help="weight of the color term (default: AppearanceControl's)")
    parser.add_argument("--no-color", action="store_true",
                        help="no garment image mask, so no color term: the release's loss only")  # fmt: skip
    parser.add_argument(
        "--show", default="", help="garment identities of the pairs in the picture (default: the first 4)"
    )
    parser.add_argument("--out", default=os.path.join("docs", "images", "appearance_control.png"))
    args = parser.parse_args()

    import keras

    from keras_nted.appearance import AppearanceControl
    from keras_nted.appearance import GeneratorParts
    from keras_nted.appearance import control_strip
    from keras_nted.evaluation.appearance import appearance_pair
    from keras_nted.evaluation.appearance import appearance_scores
    from keras_nted.files import write_png
    from keras_nted.models.generator import load_generator
    from keras_nted.utils.images import to_uint8

    setups = args.setups.split(",")
    parts = GeneratorParts(load_generator(args.model))
    control = AppearanceControl(
        parts, steps=args.steps, loss=args.loss, maintain_weight=args.maintain_weight,
        color_weight=args.color_weight, verbose=0,
    )  # fmt: skip
    color = not args.no_color
    print(f"backend {keras.backend.backend()} | model {args.model} | loss {args.loss} "
          f"(maintain {control.maintain_weight:g}, edit {control.edit_weight:g}, "
          f"color {control.color_weight if color else 0:g}) | {args.steps} steps")  # fmt: skip
    scores = {name: [] for name in ("person render", "full swap", *[f"{s} init" for s in setups], *setups)}
    decrease, rows = {s: [] for s in setups}, {}
    shown = [int(v) for v in args.show.split(",") if v] or list(range(args.start, args.start + 4))
    print(LEGEND)
    print(f"{'pair':>7} {'setup':>12} " + " ".join(f"{c:>7}" for c in COLUMNS) + f" {'loss':>15} {'s':>5}")
    for i in range(args.pairs):
        garment_id, person_id = args.start + i, args.start + args.offset + i
        pair = appearance_pair(garment_id, person_id, image_size=parts.image_size)
        label = f"{garment_id}->{person_id}"
        for setup in setups:
            start = time.time()
            result = _run_pair(control, pair, setup, color)
            seconds = time.time() - start
            renders = {"garment_render": result.garment_render, "person_render": result.person_render}
            if setup == setups[0]:
                scores["person render"].append(appearance_scores(result.person_render, pair, **renders))
                scores["full swap"].append(appearance_scores(result.garment_render, pair, **renders))
            scores[f"{setup} init"].append(appearance_scores(result.snapshots[0], pair, **renders))
            scores[setup].append(appearance_scores(result.image, pair, **renders))
            loss = result.history["loss"]
            decrease[setup].append(1.0 - loss[-1] / loss[0])
            print(f"{label:>7} {setup:>12} " + " ".join(f"{scores[setup][-1][k]:>7.3f}" for k in COLUMNS.values())
                  + f" {loss[0]:>6.2f}->{loss[-1]:<7.2f} {seconds:>5.1f}", flush=True)  # fmt: skip
            if setup == setups[0] and garment_id in shown:
                strip = control_strip(pair["garment"], pair["person"], pair["skeleton"], result.snapshots[0])
                rest = [to_uint8(result.image), to_uint8(pair["ground_truth"])]
                rows[garment_id] = np.concatenate([strip, *rest], axis=1)
    print(f"\nmeans over {args.pairs} pairs (and the number of pairs with margin > 0):")
    print(f"{'':>20} " + " ".join(f"{c:>12}" for c in COLUMNS))
    for name, values in scores.items():
        cells = []
        for key in COLUMNS.values():
            column = [v[key] for v in values]
            cells.append(f"{np.mean(column):>7.3f} ({sum(c > 0 for c in column):>2})")
        print(f"{name:>20} " + " ".join(cells))
    for setup in setups:
        print(f"loss decrease ({setup}): mean {np.mean(decrease[setup]):.1%}, min {np.min(decrease[setup]):.1%}")
    if rows and args.out:
        write_png(args.out, _picture([rows[i] for i in shown if i in rows]))
        print(
            f"wrote {args.out} (garment | person | skeleton | iteration 0 | result after {args.steps} | ground truth)"
        )


if __name__ == "__main__":
    main()
