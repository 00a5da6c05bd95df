"""Which generated file is scored against which ground truth (keras_nted.evaluation.pairing)."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_nted.data.layout import output_name
from keras_nted.data.layout import write_pairs_file
from keras_nted.evaluation.pairing import one_size
from keras_nted.evaluation.pairing import pair_image_files
from keras_nted.evaluation.pairing import real_image_files


def _image(path, size=(8, 6)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.zeros((*size, 3), np.uint8)).save(path)
    return str(path)


def _names(pairs, generated, truth):
    return [(os.path.relpath(a, generated), os.path.relpath(b, truth)) for a, b in pairs]


def test_identical_names_then_the_release_rule(tmp_path):
    gen, gt = tmp_path / "gen", tmp_path / "gt"
    for name in ("a.png", "x_2_b_vis.png", "y_2_b_vis.png", "x_2_b_strip.png"):
        _image(gen / name)
    _image(gt / "a.png")
    _image(gt / "b.jpg")
    pairs = pair_image_files(gen, gt)
    # Strips that `generate --strip` writes beside the results are not results.
    assert _names(pairs, gen, gt) == [("a.png", "a.png"), ("x_2_b_vis.png", "b.jpg"), ("y_2_b_vis.png", "b.jpg")]


def test_released_pairs_file_maps_results_to_the_targets_ground_truth(tmp_path):
    source, target = "img/WOMEN/Dresses/id_00000001/01_1_front.jpg", "img/MEN/Pants/id_00000002/02_2_side.jpg"
    write_pairs_file(tmp_path / "test_pairs.txt", [(target, [source])])
    gen = tmp_path / "gen"
    _image(gen / output_name(source, target))
    # prepare-deepfashion's layout: <root>/256-176/img/...png
    nested = tmp_path / "256-176"
    _image(nested / "img/MEN/Pants/id_00000002/02_2_side.png")
    pairs = pair_image_files(gen, nested, tmp_path / "test_pairs.txt")
    assert _names(pairs, gen, nested) == [(output_name(source, target), "img/MEN/Pants/id_00000002/02_2_side.png")]
    # ... or that folder's img/ itself, or GFLA's flat folder of flattened names.
    assert pair_image_files(gen, nested / "img", tmp_path / "test_pairs.txt")[0][1] == pairs[0][1]
    flat = tmp_path / "flat"
    _image(flat / "fashionMENPantsid0000000202_2side.jpg")
    assert os.path.basename(pair_image_files(gen, flat, tmp_path / "test_pairs.txt")[0][1]).startswith("fashionMEN")


def test_names_that_do_not_pair_are_one_error_with_a_count_and_an_example(tmp_path):
    gen, gt = tmp_path / "gen", tmp_path / "gt"
    for name in ("a.png", "b.png", "c_2_d_vis.png"):
        _image(gen / name)
    _image(gt / "a.png")
    with pytest.raises(
        ValueError, match=r"2 of 3 generated images have no ground truth .*e\.g\. b\.png: looked for b\.png"
    ):
        pair_image_files(gen, gt)
    write_pairs_file(tmp_path / "pairs.txt", [("img/x/y.jpg", ["img/x/z.jpg"])])
    with pytest.raises(ValueError, match=r"3 of 3 .*pairs file .*not a result name of the pairs file"):
        pair_image_files(gen, gt, tmp_path / "pairs.txt")


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(ValueError, match="Expected image files .* in the GENERATED folder"):
        pair_image_files(tmp_path / "empty", tmp_path)
    with pytest.raises(FileNotFoundError, match="GENERATED folder not found"):
        pair_image_files(tmp_path / "nope", tmp_path)
    _image(tmp_path / "gen" / "a.png")
    with pytest.raises(FileNotFoundError, match="GROUND_TRUTH folder not found"):
        pair_image_files(tmp_path / "gen", tmp_path / "nope")


def test_real_set_recursive_or_from_a_pairs_file(tmp_path):
    real = tmp_path / "real"
    files = [_image(real / "img/A/a.png"), _image(real / "img/B/b.png"), _image(real / "img/C/c.png")]
    assert real_image_files(real) == sorted(files)
    write_pairs_file(tmp_path / "train_pairs.txt", [("img/A/a.jpg", ["img/B/b.jpg"])])
    assert real_image_files(real, tmp_path / "train_pairs.txt") == sorted(files[:2])
    write_pairs_file(tmp_path / "more.txt", [("img/A/a.jpg", ["img/D/d.jpg"])])
    with pytest.raises(ValueError, match=r"1 of the 2 images .* are not under .*img/D/d.jpg"):
        real_image_files(real, tmp_path / "more.txt")


def test_one_size_names_two_files_that_differ(tmp_path):
    a, b = _image(tmp_path / "a.png", (8, 6)), _image(tmp_path / "b.png", (6, 8))
    assert one_size([a], "real") == (8, 6)
    with pytest.raises(ValueError, match=r"Expected real images of one size\. .*a\.png is 8x6 and .*b\.png is 6x8"):
        one_size([a, b], "real")
