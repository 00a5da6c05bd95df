import json

import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import build_parser
from keras_nted.cli import main
from keras_nted.commands.make_mannequin import parse_size
from keras_nted.data import read_pairs_file
from keras_nted.data.mannequin import MannequinDataset


def test_writes_the_released_layout(tmp_path):
    out = tmp_path / "mannequin"
    args = [
        "make-mannequin",
        "-o",
        str(out),
        "--identities",
        "3",
        "--poses",
        "2",
        "--image-size",
        "64x44",
        "--seed",
        "1",
    ]
    assert main([*args, "--quiet"]) == 0
    info = json.loads((out / "mannequin.json").read_text())
    assert info["image_size"] == [64, 44] and info["seed"] == 1 and info["poses_per_identity"] == 2
    assert info["splits"] == {"train": {"identities": 2, "pairs": 4}, "test": {"identities": 1, "pairs": 2}}
    assert len(list((out / "img").rglob("*.png"))) == 6
    assert len(list((out / "labels").rglob("*.png"))) == 6
    assert len(list((out / "pose").rglob("*.txt"))) == 6
    assert (out / "README.txt").is_file()

    lines = read_pairs_file(out / "test_pairs.txt")
    assert len(lines) == 2 and all(len(sources) == 1 for _, _, sources in lines)
    stream = MannequinDataset((64, 44), split="test", seed=1, num_identities=1, poses_per_identity=2)
    identity_index, source, target = stream.pair(0)
    assert lines[0][1:] == (stream.image_path(identity_index, target), (stream.image_path(identity_index, source),))
    image, labels, _ = stream.sample(identity_index, target)
    np.testing.assert_array_equal(np.asarray(Image.open(out / lines[0][1])), image)


def test_is_listed_in_the_cli():
    assert "make-mannequin" in build_parser().format_help()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--image-size", "64x45"], "Expected --image-size HEIGHTxWIDTH with HEIGHT a positive multiple of 16"),
        (["--image-size", "big"], "Expected --image-size as HEIGHTxWIDTH"),
        (["--identities", "0"], "Expected --identities to be an integer >= 1"),
        (["--poses", "1"], "Expected --poses to be an integer >= 2"),
        (["--seed", "-2"], "Expected --seed to be a non-negative integer"),
        (["--test-fraction", "1"], "Expected --test-fraction in [0, 1)"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, flags, message):
    assert main(["make-mannequin", "-o", str(tmp_path / "out"), "--quiet", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


def test_parse_size():
    assert parse_size("256x176") == (256, 176)
    with pytest.raises(ValueError, match="Received: --image-size 256x175"):
        parse_size("256x175")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["OUT", "--image-size", "64x44"], "the following arguments are required: -o/--output"),
        (["-o", "OUT", "--size", "64x44"], "unrecognized arguments: --size 64x44"),
    ],
    ids=["positional-out", "size"],
)
def test_spellings_before_0_1_0_are_usage_errors(argv, message, tmp_path, capsys):
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as info:
        main(["make-mannequin", *argv, "--quiet"])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
