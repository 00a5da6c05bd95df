import json

import keras
import numpy as np
import pytest

from keras_nted.cli import main
from keras_nted.models import NTEDGenerator
from tests.helpers import fixture_meta
from tests.helpers import fixture_weights
from tests.helpers import nhwc
from tests.helpers import to_numpy


def test_convert_to_keras_and_weights_reproduces_the_fixture(tiny_fixture, tmp_path, capsys):
    checkpoint = tmp_path / "released.npz"
    np.savez(checkpoint, **fixture_weights(tiny_fixture))
    config = tmp_path / "tiny.json"
    meta = fixture_meta(tiny_fixture)
    config.write_text(json.dumps({"gen": {"param": meta["gen_param"]}, "dis": {"param": meta["dis_param"]}}))
    code = main(
        [
            "convert",
            str(checkpoint),
            "--config",
            str(config),
            "-o",
            str(tmp_path / "g.keras"),
            "--discriminator-output",
            str(tmp_path / "d.weights.h5"),
        ]
    )
    assert code == 0
    assert "generator (81,601 parameters)" in capsys.readouterr().out
    generator = keras.saving.load_model(tmp_path / "g.keras")
    out = generator([nhwc(tiny_fixture["source_image"]), nhwc(tiny_fixture["skeleton"])])
    np.testing.assert_allclose(to_numpy(out["image"]), nhwc(tiny_fixture["fake_image"]), atol=1e-4)

    assert main(["convert", str(checkpoint), "--preset", "nted_tiny", "-o", str(tmp_path / "g.weights.h5")]) == 0
    fresh = NTEDGenerator.from_preset("nted_tiny")
    fresh.load_weights(tmp_path / "g.weights.h5")
    for a, b in zip(fresh.weights, generator.weights):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name], "temporary files left behind"


def test_convert_errors_are_one_line(tiny_fixture, tmp_path, capsys):
    assert (
        main(["convert", str(tmp_path / "missing.pt"), "--preset", "nted_tiny", "-o", str(tmp_path / "g.keras")]) == 2
    )
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "Checkpoint file not found" in err
    checkpoint = tmp_path / "released.npz"
    np.savez(checkpoint, **fixture_weights(tiny_fixture))
    assert main(["convert", str(checkpoint), "--preset", "nted_tiny", "-o", str(tmp_path / "g.h5")]) == 2
    assert "Expected an output ending in .weights.h5 or .keras" in capsys.readouterr().err
    assert main(["convert", str(checkpoint), "--preset", "nted_fashion_256", "-o", str(tmp_path / "g.keras")]) == 2
    assert "does not match nted_fashion_256" in capsys.readouterr().err
    assert not (tmp_path / "g.keras").exists()


def test_image_size(tiny_fixture, tmp_path, capsys):
    checkpoint = tmp_path / "released.npz"
    np.savez(checkpoint, **fixture_weights(tiny_fixture))
    base = ["convert", str(checkpoint), "--preset", "nted_tiny"]
    assert main([*base, "--image-size", "64x44", "-o", str(tmp_path / "new.keras")]) == 0
    assert tuple(keras.saving.load_model(tmp_path / "new.keras").image_size) == (64, 44)

    assert main([*base, "--image-size", "32x44", "-o", str(tmp_path / "bad.keras")]) == 2
    assert "Expected --image-size with HEIGHT the config's size, 64. Received: --image-size 32x44" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as info:  # the spelling before 0.1.0
        main([*base, "--image-width", "44", "-o", str(tmp_path / "bad.keras")])
    assert info.value.code == 2 and "unrecognized arguments: --image-width 44" in capsys.readouterr().err
    assert not (tmp_path / "bad.keras").exists()
