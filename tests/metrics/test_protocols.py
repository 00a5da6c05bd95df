"""The papers' image preparations (keras_nted.metrics.protocols) on constructed images."""

import numpy as np
import pytest

from keras_nted.metrics.protocols import PROTOCOLS
from keras_nted.metrics.protocols import field_batched_count
from keras_nted.metrics.protocols import get_protocol
from keras_nted.metrics.protocols import pad_white_to_square
from keras_nted.metrics.protocols import resize_bicubic_antialias


@pytest.mark.parametrize("count, kept", [(0, 0), (1, 1), (63, 63), (64, 64), (65, 64), (129, 128), (8570, 8512)])
def test_the_field_scores_whole_batches_of_64(count, kept):
    assert field_batched_count(count) == kept


@pytest.mark.parametrize(
    "name, lpips, fid",
    [("gfla", 128, 128), ("dptn", 130, 128), ("pidm", 128, 128), ("cfld", 130, 130)],
)
def test_what_each_protocol_leaves_out_of_130(name, lpips, fid):
    # DPTN's LPIPS runs in batches of 1 (nothing left out), its FID in batches of 64.
    protocol = get_protocol(name)
    assert (protocol.kept(130, "lpips"), protocol.kept(130, "fid")) == (lpips, fid)


def test_ssim_256_sigma_is_pidms_own():
    assert {name: p.ssim_256_sigma for name, p in PROTOCOLS.items()} == {
        "gfla": 1.5,
        "dptn": 1.5,
        "pidm": 1.2,
        "cfld": 1.5,
    }


def test_unknown_protocol_is_one_error():
    with pytest.raises(ValueError, match=r"Expected a protocol in .*Received: protocol='nted'"):
        get_protocol("nted")


def test_dptn_pads_256x176_with_40_white_columns_each_side():
    image = np.random.default_rng(0).integers(0, 255, (256, 176, 3), dtype=np.uint8)
    padded = pad_white_to_square(image)
    assert padded.shape == (256, 256, 3) and padded.dtype == np.uint8
    assert (padded[:, :40] == 255).all() and (padded[:, 216:] == 255).all()
    np.testing.assert_array_equal(padded[:, 40:216], image)
    pixels = get_protocol("dptn").pixel_image(image)
    assert pixels.dtype == np.float32 and pixels.shape == (256, 256, 3)
    assert (pixels[:, :40] == 1.0).all()
    np.testing.assert_array_equal(pixels[:, 40:216], image.astype(np.float32) / 255.0)
    # The other protocols score SSIM / PSNR on the image as read, over 255.
    np.testing.assert_array_equal(get_protocol("gfla").pixel_image(image), image.astype(np.float32) / 255.0)


@pytest.mark.parametrize("shape", [(64, 45, 3), (44, 64, 3)])
def test_dptn_refuses_what_it_cannot_pad(shape):
    with pytest.raises(ValueError, match="pad to a square"):
        pad_white_to_square(np.zeros(shape, np.uint8))


def test_pidm_resizes_lpips_and_fid_images_to_256x176_bilinear():
    # A horizontal ramp: bilinear sampling of a linear function returns the source coordinate
    # (cv2's half-pixel centres, x_src = (x + 0.5) * 256 / 176 - 0.5, held to the edge pixels).
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (256, 256, 3)).copy()
    resized = get_protocol("pidm").network_image(ramp)
    assert resized.shape == (256, 176, 3) and resized.dtype == np.float32
    x = np.clip((np.arange(176) + 0.5) * 256 / 176 - 0.5, 0, 255)
    np.testing.assert_allclose(resized[0, :, 0], x / 255.0, atol=2e-6)
    assert (resized == resized[:1]).all()  # the height is unchanged: rows untouched
    # SSIM stays on the 256x256 files.
    assert get_protocol("pidm").pixel_image(ramp).shape == (256, 256, 3)


@pytest.mark.parametrize("name", ["gfla", "dptn", "pidm"])
def test_differently_sized_pairs_are_an_error_where_the_paper_does_not_resize(name):
    with pytest.raises(ValueError, match="ground truth's size"):
        get_protocol(name).match_pair(np.zeros((64, 44, 3), np.uint8), np.zeros((32, 22, 3), np.uint8))


def test_cfld_resizes_generated_images_to_the_ground_truth_and_truncates():
    cfld = get_protocol("cfld")
    truth = np.zeros((64, 44, 3), np.uint8)
    same = np.full((64, 44, 3), 7, np.uint8)
    assert cfld.match_pair(truth, same) is same  # same size: the file as read
    for value in (0, 255):  # a flat image stays flat; 255 stays 255 (clipped, not wrapped)
        out = cfld.match_pair(truth, np.full((128, 88, 3), value, np.uint8))
        assert out.shape == (64, 44, 3) and out.dtype == np.uint8 and (out == value).all()
    image = np.random.default_rng(1).integers(0, 256, (128, 88, 3), dtype=np.uint8)
    out = cfld.match_pair(truth, image)
    resized = resize_bicubic_antialias(image / 255.0, (64, 44))
    np.testing.assert_array_equal(out, np.clip(resized * 255.0, 0, 255).astype(np.uint8))  # truncation
    assert (np.floor(np.clip(resized * 255.0, 0, 255)) == out).all()


def test_bicubic_antialias_resize_is_torchs():
    torch = pytest.importorskip("torch")
    image = np.random.default_rng(2).random((64, 48, 3)).astype(np.float32)
    for size in [(32, 22), (96, 70)]:
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(image.transpose(2, 0, 1))[None], size, mode="bicubic", antialias=True
        )[0].numpy()
        np.testing.assert_allclose(resize_bicubic_antialias(image, size), expected.transpose(1, 2, 0), atol=5e-6)


def test_cfld_resizes_real_images_to_the_generated_size_with_pil_bicubic():
    from PIL import Image

    image = np.random.default_rng(3).integers(0, 256, (128, 88, 3), dtype=np.uint8)
    out = get_protocol("cfld").network_image(image, size=(64, 44))
    expected = np.asarray(Image.fromarray(image).resize((44, 64), Image.BICUBIC)).astype(np.float32) / 255.0
    np.testing.assert_array_equal(out, expected)
    # Where sizes agree, or under another protocol, the image as read.
    np.testing.assert_array_equal(get_protocol("gfla").network_image(image, size=(64, 44)), image / np.float32(255))
