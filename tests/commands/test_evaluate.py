from keras_nted.cli import main
from tests.commands.conftest import low_rank_frechet_distance


def test_evaluate_prints_the_table(tiny_generator_path, tmp_path, capsys):
    scores = tmp_path / "scores.json"
    assert main(["evaluate", "--model", str(tiny_generator_path), "--num-pairs", "3", "--json", str(scores)]) == 0
    out = capsys.readouterr().out
    assert "Held-out mannequin pairs (test split): 3" in out
    assert "| copy the reference |" in out and "| model |" in out
    assert "SSIM gap to 1.0 closed" in out
    assert "3/3" in out.split("Held-out")[0]  # the progress bar (keras.utils.Progbar), before the table
    import json

    result = json.loads(scores.read_text())
    assert 0 < result["copy_reference"]["ssim"] < 1 and result["pairs"] == 3
    # The per-garment colour scores, for the model and the copy-the-reference baseline.
    assert "| method | hair | skin | top | trousers | separation |" in out
    for method in ("model", "copy_reference"):
        garments = result["garments"][method]
        assert all(0 <= garments[part] <= 1 for part in ("skin", "top", "trousers")), garments
        assert garments["pairs"]["top"] == 3 and garments["separation"] >= 0


def test_evaluate_errors(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "missing.keras")]) != 0
    assert "Model file not found" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip file")
    assert main(["evaluate", "--model", str(corrupt)]) != 0
    err = capsys.readouterr().err
    assert "corrupt" in err and len(err.strip().splitlines()) == 1


def test_evaluate_quiet_has_no_progress_bar(tiny_generator_path, capsys):
    assert main(["evaluate", "--model", str(tiny_generator_path), "--num-pairs", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Held-out mannequin pairs (test split): 2") and "2/2" not in out


def test_evaluate_with_lpips_and_fid(tiny_generator_path, metric_weights, tmp_path, monkeypatch, capsys, fast_frechet):
    """Random-weight files as users' come (see tests/commands/conftest.py), the fewest pairs FID takes."""
    import json
    import math

    monkeypatch.setenv("KERAS_HOME", str(metric_weights["keras_home"]))
    scores = tmp_path / "scores.json"
    weights = ["--lpips-weights", str(metric_weights["alexnet"]), "--fid-weights", str(metric_weights["field"])]
    argv = ["evaluate", "--model", str(tiny_generator_path), "--num-pairs", "2", "--num-real", "2", *weights]
    assert main([*argv, "--quiet", "--json", str(scores)]) == 0
    out = capsys.readouterr().out
    assert (
        "| method | ssim_256 | psnr | lpips |" in out and "FID of the model's images (field, 2 training images)" in out
    )
    field = json.loads(scores.read_text())["field"]
    assert field["protocol"] == "cfld" and field["fid_kind"] == "field" and field["fid_real"] == 2
    for method in ("model", "copy_reference"):
        assert sorted(field[method]) == ["lpips", "psnr", "ssim_256"]
        assert 0 < field[method]["lpips"] < 1, field
    assert field["copy_reference"]["lpips"] < field["model"]["lpips"]  # an untrained model is worse than a copy
    assert math.isfinite(field["fid"]) and field["fid"] > 0
    assert len(fast_frechet) == 1 and field["fid"] == low_rank_frechet_distance(*fast_frechet[0])
