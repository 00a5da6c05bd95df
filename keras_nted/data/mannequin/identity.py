"""A mannequin's appearance, independent of its pose: build, skin, hair, garments, shoes, background."""

import colorsys
import dataclasses

import numpy as np

from keras_nted.utils.validation import check_int

PATTERNS = ("solid", "stripes", "checks", "dots", "gradient")
SLEEVES = ("sleeveless", "short", "elbow", "long")
LOWER_KINDS = ("trousers", "shorts", "skirt")
HAIR_STYLES = ("short", "buzz", "bob", "long", "bun")


@dataclasses.dataclass(frozen=True)
class Garment:
    """One garment's look.

    Attributes:
        kind: for an upper garment one of `SLEEVES`, for a lower one one of `LOWER_KINDS`.
        colors: `(base, pattern)` RGB triplets (ints in [0, 255]).
        pattern: one of `PATTERNS`.
        period: the pattern's period in units of body height.
        across: stripes run across the part's axis (rings around a sleeve, horizontal bands on an
            upright torso) when True, along it when False.
        length: (skirts and shorts) from 0.5 (short) to 1 (long).
        tucked: (upper garments) the hem goes under the lower garment's waistband.
    """

    kind: str
    colors: tuple
    pattern: str
    period: float
    across: bool
    length: float
    tucked: bool = False


@dataclasses.dataclass(frozen=True)
class Identity:
    """A mannequin's appearance, independent of its pose (see `make_identity`).

    Attributes:
        seed: the seed it was made from.
        skin: RGB skin tone.
        hair_style: one of `HAIR_STYLES`.
        hair_color: RGB.
        upper: the upper `Garment` (`kind` is the sleeve length).
        lower: the lower `Garment` (`kind` is trousers, shorts or skirt).
        shoe_color: RGB.
        background: RGB background colour.
        build: limb and torso thickness factor (about 0.85 to 1.15).
        neckline: depth of the neckline in units of body height.
    """

    seed: int
    skin: tuple
    hair_style: str
    hair_color: tuple
    upper: Garment
    lower: Garment
    shoe_color: tuple
    background: tuple
    build: float
    neckline: float


_SKIN_TONES = np.array(
    [[255, 228, 206], [241, 198, 170], [226, 176, 142], [198, 138, 102], [160, 106, 74],
     [120, 78, 54], [88, 58, 42]],
    dtype=np.float64,
)  # fmt: skip
_HAIR_COLORS = (
    (26, 22, 20), (58, 38, 26), (98, 64, 38), (146, 104, 62), (210, 176, 112), (150, 62, 34),
    (168, 166, 160), (236, 214, 170),
)  # fmt: skip
_NEUTRALS = (
    (245, 245, 242), (30, 30, 34), (128, 128, 130), (28, 38, 74), (200, 180, 150), (90, 60, 40),
    (180, 30, 40),
)  # fmt: skip


def _rgb(h, s, v):
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _garment_colors(rng):
    if rng.random() < 0.3:
        base = _NEUTRALS[rng.integers(len(_NEUTRALS))]
        h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in base))
    else:
        h, s, v = rng.random(), rng.uniform(0.25, 0.85), rng.uniform(0.3, 0.95)
        base = _rgb(h, s, v)
    choice = rng.random()
    if choice < 0.35:  # white or near-black accents
        accent = (240, 240, 236) if v < 0.6 else (24, 24, 28)
    elif choice < 0.7:  # another hue
        accent = _rgb(h + rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.9), rng.uniform(0.35, 0.95))
    else:  # a lighter or darker shade of the base
        accent = _rgb(h, s * 0.7, v * 0.45) if v > 0.5 else _rgb(h, s * 0.8, min(1.0, v + 0.45))
    return base, accent


def _make_garment(rng, kinds, kind_probs, pattern_probs, tucked=False):
    kind = kinds[rng.choice(len(kinds), p=kind_probs)]
    colors = _garment_colors(rng)
    pattern = PATTERNS[rng.choice(len(PATTERNS), p=pattern_probs)]
    return Garment(
        kind=kind,
        colors=colors,
        pattern=pattern,
        period=float(rng.uniform(0.035, 0.08)),
        across=bool(rng.random() < 0.7),
        length=float(rng.uniform(0.5, 1.0)),
        tucked=tucked,
    )


def make_identity(seed):
    """Draws a mannequin's appearance from a seed.

    Args:
        seed: a non-negative integer; equal seeds give equal identities.

    Returns:
        An `Identity`.

    Raises:
        ValueError: if `seed` is not a non-negative integer.

    Example:

    >>> identity = make_identity(7)
    >>> identity.upper.kind in SLEEVES
    True
    """
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    tone = rng.uniform(0, len(_SKIN_TONES) - 1)
    low = int(tone)
    high = min(low + 1, len(_SKIN_TONES) - 1)
    skin = _SKIN_TONES[low] + (tone - low) * (_SKIN_TONES[high] - _SKIN_TONES[low])
    skin = tuple(int(c) for c in np.clip(skin + rng.normal(0, 4, 3), 0, 255))
    hair_style = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=[0.3, 0.1, 0.2, 0.3, 0.1])]
    hair_color = _HAIR_COLORS[rng.integers(len(_HAIR_COLORS))]
    upper = _make_garment(
        rng, SLEEVES, [0.15, 0.4, 0.15, 0.3], [0.35, 0.25, 0.15, 0.1, 0.15], tucked=bool(rng.random() < 0.3)
    )
    lower = _make_garment(rng, LOWER_KINDS, [0.55, 0.2, 0.25], [0.6, 0.15, 0.15, 0.05, 0.05])
    if rng.random() < 0.6:
        shoe_color = ((20, 20, 22), (245, 245, 245), (92, 58, 34), (60, 60, 64))[rng.integers(4)]
    else:
        shoe_color = _rgb(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9))
    if rng.random() < 0.7:
        grey = rng.uniform(205, 250)
        background = tuple(int(np.clip(grey + rng.normal(0, 4), 0, 255)) for _ in range(3))
    else:
        background = _rgb(rng.random(), rng.uniform(0.08, 0.3), rng.uniform(0.75, 0.95))
    return Identity(
        seed=seed,
        skin=skin,
        hair_style=hair_style,
        hair_color=hair_color,
        upper=upper,
        lower=lower,
        shoe_color=shoe_color,
        background=background,
        build=float(rng.uniform(0.85, 1.15)),
        neckline=float(rng.uniform(0.01, 0.05)),
    )
