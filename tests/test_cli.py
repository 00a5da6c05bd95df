import os
import subprocess
import sys

import keras
import pytest

from keras_nted._backend_flag import apply_backend_flag

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_backend_flag_is_read_only_for_the_keras_nted_command(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")  # restored afterwards: the flag may set it
    assert apply_backend_flag(["/usr/bin/keras-nted", "--backend", "jax", "demo"]) == "jax"
    assert os.environ["KERAS_BACKEND"] == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    assert apply_backend_flag(["-m", "--backend=torch", "--version"]) == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    assert apply_backend_flag(["my_script.py", "--backend", "jax"]) is None
    assert apply_backend_flag(["keras-nted", "--backend", "theano"]) is None
    assert "KERAS_BACKEND" not in os.environ


def test_backend_flag_selects_the_backend_before_keras_loads():
    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[keras.backend.backend()]
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-m", "keras_nted", "--backend", other, "--version"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"backend {other}" in result.stdout


def test_unknown_command_and_no_command():
    from keras_nted.cli import main

    assert main([]) == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


# One spelling per concept: (old command line, new command line, the old spellings it names).
RENAMED = [
    (["evaluate", "m.keras", "--pairs", "3"], ["evaluate", "--model", "m.keras", "--num-pairs", "3"],
     ["the positional MODEL", "--pairs"]),
    (["export", "m.keras", "out"], ["export", "--model", "m.keras", "-o", "out"],
     ["the positional MODEL", "the positional EXPORT_DIR"]),
    (["export", "m.keras", "-o", "out"], ["export", "--model", "m.keras", "--output", "out"], ["the positional MODEL"]),
    (["make-mannequin", "out", "--size", "64x44"], ["make-mannequin", "--output", "out", "--image-size", "64x44"],
     ["the positional OUT", "--size"]),
    (["prepare-deepfashion", "root", "--sizes", "64x44,32x22"],
     ["prepare-deepfashion", "root", "--image-size", "64x44,32x22"], ["--sizes"]),
]  # fmt: skip
NEW = {
    "the positional MODEL": "--model",
    "the positional EXPORT_DIR": "-o/--output",
    "the positional OUT": "-o/--output",
    "--pairs": "--num-pairs",
    "--size": "--image-size",
    "--sizes": "--image-size",
}


def _parsed(argv):
    from keras_nted.cli import parse_args

    values = vars(parse_args(argv))
    values.pop("_run")
    return values


@pytest.mark.parametrize("old, new, spellings", RENAMED, ids=[" ".join(old) for old, _, _ in RENAMED])
def test_old_spellings_still_parse_and_print_a_deprecation_note(old, new, spellings, capsys):
    assert _parsed(new) == _parsed(old)
    notes = capsys.readouterr().err.strip().splitlines()
    assert sorted(notes) == sorted(
        f"keras-nted: {spelling} is deprecated and will be removed in the next release: use {NEW[spelling]} "
        "(one spelling per concept across commands)."
        for spelling in spellings
    )
    _parsed(new)
    assert capsys.readouterr().err == ""  # the new spelling: no note


def test_convert_image_width_is_the_old_spelling_of_image_size(capsys):
    old = _parsed(["convert", "c.pt", "-o", "g.keras", "--image-width", "44"])
    assert old["image_width"] == 44 and old["image_size"] is None
    assert "--image-width is deprecated and will be removed in the next release: use --image-size HxW" in (
        capsys.readouterr().err
    )
    new = _parsed(["convert", "c.pt", "-o", "g.keras", "--image-size", "64x44"])
    assert new["image_size"] == "64x44" and "image_width" not in new
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "m.keras", "--model", "n.keras", "-o", "out"], "give --model only (the positional MODEL"),
        (["export", "-o", "out"], "the following arguments are required: --model"),
        (["export", "--model", "m.keras"], "the following arguments are required: -o/--output"),
        (["evaluate"], "the following arguments are required: --model"),
        (["make-mannequin", "--image-size", "64x44"], "the following arguments are required: -o/--output"),
    ],
)
def test_renamed_arguments_are_usage_errors_when_missing_or_given_twice(argv, message, capsys):
    from keras_nted.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert f"keras-nted {argv[0]}: error: {message}" in capsys.readouterr().err
