"""Region masks: loading and checking, the release's mask_select, and segmenters without a network."""

import numpy as np
import pytest
from keras import ops
from PIL import Image

from keras_nted.appearance import DistributionSegmenter
from keras_nted.appearance import load_mask
from keras_nted.appearance import mannequin_region_mask
from keras_nted.appearance import mask_select
from keras_nted.appearance import region_seed_mask

SIZE = (64, 44)


def _box():
    mask = np.zeros(SIZE, bool)
    mask[20:40, 10:30] = True
    return mask


@pytest.mark.parametrize(
    "convert",
    [
        lambda m: m,
        lambda m: m.astype("uint8") * 255,
        lambda m: m.astype("float32")[None, :, :, None],
        lambda m: m.astype("float64")[:, :, None],
        lambda m: ops.convert_to_tensor(m.astype("float32")),
    ],
    ids=["bool", "uint8", "batched float", "channel float", "tensor"],
)
def test_load_mask_accepts_arrays(convert):
    np.testing.assert_array_equal(load_mask(convert(_box()), SIZE), _box())


def test_load_mask_reads_png_with_antialiased_edges(tmp_path):
    image = _box().astype("uint8") * 255
    image[19, 10:30] = 128  # an anti-aliased edge row: 20 grey pixels of 2816
    Image.fromarray(image).convert("RGB").save(tmp_path / "mask.png")
    mask = load_mask(tmp_path / "mask.png", SIZE)
    assert mask.dtype == bool and mask.sum() == 400 + 20


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.zeros((32, 22), bool), r"Expected `mask` of size 64x44 \(the image size\). Received: mask of size 32x22"),
        (np.zeros(SIZE, bool), "Expected a non-empty `mask`"),
        (np.ones(SIZE, bool), "leave part of the image outside the region"),
        (np.full(SIZE, 0.5, "float32"), "Expected a binary `mask`"),
        (np.full(SIZE, 2.0, "float32"), r"values in \[0, 1\]"),
        (np.zeros((2, 64, 44), bool), r"Expected `mask` of shape \(H, W\)"),
    ],
    ids=["wrong size", "empty", "full", "grey", "out of range", "batch of 2"],
)
def test_bad_masks_are_clear_errors(mask, message):
    with pytest.raises(ValueError, match=message):
        load_mask(mask, SIZE)


def test_bad_mask_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="Mask file not found"):
        load_mask(tmp_path / "missing.png", SIZE)
    Image.fromarray(np.zeros((64, 40), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match=r"`garment_mask` of size 64x44 .*small.png.*size 64x40"):
        load_mask(tmp_path / "small.png", SIZE, name="garment_mask")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="Could not read the mask image"):
        load_mask(tmp_path / "broken.png", SIZE)


def _numpy_mask_select(logits, mask):
    """The release's mask_select, written out: softmax over k, torch-nearest resize, masked mean."""
    out = []
    for x in logits:
        _, h, w, k = x.shape
        p = np.exp(x - x.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        rows = [int(np.floor(i * np.float32(mask.shape[0] / h))) for i in range(h)]
        cols = [int(np.floor(j * np.float32(mask.shape[1] / w))) for j in range(w)]
        small = np.array([[mask[r, c] for c in cols] for r in rows])
        out.append(np.stack([p[b][small].mean(axis=0) for b in range(x.shape[0])]))
    return out


def test_mask_select_matches_the_release_formula():
    rng = np.random.default_rng(1)
    logits = [rng.normal(size=(2, 16, 11, 6)).astype("float32") * 3, rng.normal(size=(2, 32, 22, 10)).astype("float32")]
    mask = _box()
    got = [ops.convert_to_numpy(a) for a in mask_select(logits, mask)]
    for g, want in zip(got, _numpy_mask_select(logits, mask)):
        assert g.shape == want.shape
        np.testing.assert_allclose(g, want, atol=1e-6)
    # one mask per sample
    masks = np.stack([mask, ~mask])
    got = ops.convert_to_numpy(mask_select(logits[:1], masks)[0])
    np.testing.assert_allclose(got[1], _numpy_mask_select([logits[0][1:]], ~mask)[0][0], atol=1e-6)


def test_region_seed_mask_from_keypoints():
    keypoints = np.full((18, 2), -1.0)
    keypoints[[2, 5, 8, 11]] = [[12, 16], [32, 16], [14, 36], [30, 36]]  # shoulders, hips
    keypoints[[9, 12]] = [[14, 48], [30, 48]]  # knees
    upper = region_seed_mask(keypoints, SIZE, "upper")
    assert upper[25, 22] and not upper[10, 22] and not upper[45, 22]
    lower = region_seed_mask(keypoints, SIZE, "lower")
    assert lower[42, 22] and not lower[25, 22]
    keypoints[11] = -1
    with pytest.raises(ValueError, match="missing: left_hip"):
        region_seed_mask(keypoints, SIZE, "upper")
    with pytest.raises(ValueError, match="Expected region to be one of"):
        region_seed_mask(keypoints, SIZE, "hat")


def test_distribution_segmenter_follows_the_seeds_textures():
    # Texture 1 paints a band of rows 16-47 at both levels, texture 0 the rest: a seed inside
    # the band selects texture 1, and the estimate is the whole band.
    logits = []
    for h, w, k in ((16, 11, 4), (32, 22, 8)):
        x = np.zeros((1, h, w, k), "float32")
        x[0, :, :, 0] = 5.0
        x[0, h // 4 : 3 * h // 4, :, 1] = 10.0
        logits.append(x)
    seed = np.zeros(SIZE, bool)
    seed[28:36, 15:30] = True
    segmenter = DistributionSegmenter(seed)
    mask = segmenter(None, logits)
    assert mask[16:48].mean() > 0.95 and mask[:14].sum() == 0 and mask[50:].sum() == 0
    with pytest.raises(ValueError, match="non-empty"):
        DistributionSegmenter(np.zeros(SIZE, bool))


def test_mannequin_labels_give_exact_masks(pair):
    np.testing.assert_array_equal(mannequin_region_mask(pair["person_labels"], "upper"), pair["person_mask"])
    assert mannequin_region_mask(pair["person_labels"], "skin").any()
    with pytest.raises(ValueError, match="Expected region 'upper', 'lower' or one of"):
        mannequin_region_mask(pair["person_labels"], "hat")
