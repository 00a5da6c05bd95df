from keras_nted.cli import main


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
