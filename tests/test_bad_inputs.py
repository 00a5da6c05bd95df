"""Hostile inputs across every command, the Python API and both serving signatures (issue 12).

One table per surface. Every CLI row runs `keras_nted.cli.main` in-process and expects either
exit code 2 with exactly one line on stderr (no traceback) and nothing written, or exit code 0
and the right result. Python API rows expect one `ValueError` / `FileNotFoundError` naming the
input. Serving rows send bad requests to one exported SavedModel from a TensorFlow-only
process. Start-up rows (backend variables, missing backends, TensorFlow's banners) need fresh
processes: they run side by side.
"""

import io
import json
import os
import pathlib
import struct
import subprocess
import sys
import zlib

import keras
import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import main
from keras_nted.data.keypoints import MAX_COORDINATE
from tests.helpers import fixture_meta
from tests.helpers import fixture_weights

REPO = pathlib.Path(__file__).resolve().parents[1]
MODEL = REPO / "saved_models" / "nted_mannequin_64.keras"
BLOCKER = REPO / "tests" / "blocked_imports"


def _png_header_only(path, width, height):
    """A PNG that declares `width x height` pixels (a decompression bomb's header) and no more."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)))


def _pose(x=22.0, y=30.0):
    keypoints = np.full((18, 2), -1.0)
    keypoints[:14] = [[x + (i % 3) * 4, y + i * 2] for i in range(14)]
    return keypoints


def _openpose(*people):
    entries = []
    for keypoints, confidence in people:
        values = np.concatenate([keypoints, np.full((18, 1), confidence)], axis=1)
        values[keypoints[:, 0] == -1] = 0.0
        entries.append({"pose_keypoints_2d": values.ravel().tolist()})
    return {"version": 1.3, "people": entries}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, fixtures_dir):
    """Every hostile (and a few fair) input file, written once."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 44, 3), dtype=np.uint8)).save(d / "good.png")
    Image.fromarray(rng.integers(0, 255, (64, 44, 3), dtype=np.uint8)).save(d / "good2.png")
    # 16-bit greyscale at mid grey: PIL's convert("RGB") would clip it to white.
    Image.fromarray(np.full((64, 44), 32896, np.uint16)).save(d / "grey16.png")
    data = (d / "good.png").read_bytes()
    (d / "truncated.png").write_bytes(data[: len(data) // 2])
    _png_header_only(d / "bomb.png", 30000, 30000)
    _png_header_only(d / "zero.png", 0, 10)
    (d / "text.png").write_text("not an image")
    (d / "empty.png").write_bytes(b"")
    Image.fromarray(np.full((64, 44), 0.5, np.float32)).save(d / "float.tiff")
    mask = np.zeros((64, 44), np.uint8)
    mask[20:40, 10:30] = 255
    Image.fromarray(mask).save(d / "mask.png")

    good = _pose()
    np.save(d / "good.npy", good)
    for name, (index, value) in {"nan": ((3, 0), np.nan), "inf": ((5, 1), np.inf), "ninf": ((2, 0), -np.inf),
                                 "big": ((0, 0), 3e9), "beyond": ((1, 1), MAX_COORDINATE * 1.5)}.items():  # fmt: skip
        bad = good.copy()
        bad[index] = value
        np.save(d / f"{name}.npy", bad)
    np.save(d / "shape17.npy", good[:17])
    np.save(d / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    np.savetxt(d / "good.txt", good + [40, 0])
    (d / "empty.txt").write_text("")
    (d / "words.txt").write_text("a b\n" * 18)
    np.savetxt(d / "nan.txt", np.where(np.arange(36).reshape(18, 2) == 7, np.nan, good))
    (d / "pose.xyz").write_text("1 2")
    (d / "bom_keypoints.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(_openpose((good, 0.9))).encode())
    far = _pose(x=5.0, y=5.0)
    (d / "two_keypoints.json").write_text(json.dumps(_openpose((far, 0.2), (good, 0.9))))
    (d / "none_keypoints.json").write_text(json.dumps({"people": []}))
    (d / "body25_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 75}]}))
    (d / "nan_keypoints.json").write_text('{"people": [{"pose_keypoints_2d": [' + ", ".join(["NaN"] * 54) + "]}]}")
    (d / "list_keypoints.json").write_text("[1, 2, 3]")
    (d / "big_keypoints.json").write_text(json.dumps(_openpose((_pose(x=4e9), 0.9))))
    (d / "latin1_keypoints.json").write_bytes(b'{"people": "\xe9"}')

    fixture = dict(np.load(fixtures_dir / "official_tiny_s0.npz"))
    meta = fixture_meta(fixture)
    (d / "tiny.json").write_text(json.dumps({"gen": {"param": meta["gen_param"]}, "dis": {"param": meta["dis_param"]}}))
    weights = fixture_weights(fixture, "gen")
    np.savez(d / "released.npz", **weights)
    with open(d / "released.npz", "rb") as f:
        (d / "truncated.npz").write_bytes(f.read()[:5000])
    key = sorted(k for k in weights if k.endswith(".weight"))[0]
    np.savez(d / "nan_weights.npz", **{**weights, key: np.full_like(weights[key], np.nan)})
    np.savez(d / "inf_weights.npz", **{**weights, key: np.full_like(weights[key], np.inf)})
    np.savez(d / "object.npz", a=np.array([{"a": 1}], dtype=object))
    (d / "text.npz").write_text("not a zip")
    (d / "checkpoint.ckpt.txt").write_text("x")
    from keras_nted.backend.torch_io import save_torch_state_dict

    import torch  # the test makes PyTorch files, as the release writes them

    torch.save({k: torch.from_numpy(v).to(torch.bfloat16) for k, v in weights.items()}, d / "bf16.pt")
    torch.save({"net_G_ema": {k: torch.from_numpy(v).half() for k, v in weights.items()}}, d / "fp16.pt")
    torch.save([torch.zeros(2)], d / "list.pt")
    torch.save(torch.zeros(2), d / "tensor.pt")
    save_torch_state_dict({key: np.full_like(weights[key], np.nan)}, d / "nan.pt")
    (d / "garbage.pt").write_bytes(b"PK\x03\x04 not really")

    # Models: one whose config asks for 60,000 channels, one whose weights belong to another one.
    import zipfile

    def patched(name, update):
        with zipfile.ZipFile(MODEL) as z, zipfile.ZipFile(d / name, "w") as out:
            for item in z.namelist():
                content = z.read(item)
                if item == "config.json":
                    config = json.loads(content)
                    update(config["config"])
                    content = json.dumps(config).encode()
                out.writestr(item, content)

    patched("huge.keras", lambda c: c["channels"].update({"16": 60000}))
    patched("other.keras", lambda c: c["channels"].update({"16": 40}))
    patched("string.keras", lambda c: c.update(size="64"))
    (d / "text.keras").write_text("not a zip")
    (d / "model.h5").write_text("x")
    (d / "a_file").write_text("I am a file")
    (d / "root").mkdir()
    (d / "folder.keras").mkdir()
    return d


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# (id, argv with {d} = the inputs folder and {o} = a fresh output path, expected stderr regex)
CLI_ERRORS = [
    # generate: images
    ("generate-missing-image", ["generate", "--reference", "{d}/nope.png", "--pose", "{d}/good.npy", "-o", "{o}"], "not found"),
    ("generate-text-image", ["generate", "--reference", "{d}/text.png", "--pose", "{d}/good.npy", "-o", "{o}"], "Could not read image .*text.png"),
    ("generate-empty-image", ["generate", "--reference", "{d}/empty.png", "--pose", "{d}/good.npy", "-o", "{o}"], "Could not read image .*empty.png"),
    ("generate-bomb", ["generate", "--reference", "{d}/bomb.png", "--pose", "{d}/good.npy", "-o", "{o}"], "bomb.png.*(pixels|bomb)"),
    ("generate-zero-size-image", ["generate", "--reference", "{d}/zero.png", "--pose", "{d}/good.npy", "-o", "{o}"], "zero.png"),
    ("generate-float-image", ["generate", "--reference", "{d}/float.tiff", "--pose", "{d}/good.npy", "-o", "{o}"], "float.tiff.*floating-point"),
    ("generate-truncated-later", ["generate", "--reference", "{d}/good.png", "{d}/good2.png", "{d}/truncated.png",
                                  "--pose", "{d}/good.npy", "-o", "{o}"], "Could not decode image .*truncated.png"),
    # generate: keypoints (.npy)
    ("generate-nan-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/nan.npy", "-o", "{o}"], "nan.npy.*finite"),
    ("generate-inf-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/inf.npy", "-o", "{o}"], "inf.npy.*finite"),
    ("generate-ninf-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/ninf.npy", "-o", "{o}"], "ninf.npy.*finite"),
    ("generate-3e9-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/big.npy", "-o", "{o}"], "big.npy.*within"),
    ("generate-beyond-bound-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/beyond.npy", "-o", "{o}"], "beyond.npy.*within"),
    ("generate-17-keypoints", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/shape17.npy", "-o", "{o}"], r"shape17.npy.*\(17, 2\)"),
    ("generate-pickled-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/object.npy", "-o", "{o}"], "object.npy"),
    ("generate-corrupt-npy", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/corrupt.npy", "-o", "{o}"], "corrupt.npy"),
    ("generate-unknown-pose-type", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/pose.xyz", "-o", "{o}"], "pose.xyz"),
    # generate: keypoints (.txt, .json)
    ("generate-empty-txt", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/empty.txt", "-o", "{o}"], "empty.txt.*empty"),
    ("generate-words-txt", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/words.txt", "-o", "{o}"], "words.txt"),
    ("generate-nan-txt", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/nan.txt", "-o", "{o}"], "nan.txt.*finite"),
    ("generate-no-people-json", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/none_keypoints.json", "-o", "{o}"], "0 people"),
    ("generate-body25-json", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/body25_keypoints.json", "-o", "{o}"], "BODY_25"),
    ("generate-nan-json", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/nan_keypoints.json", "-o", "{o}"], "NaN"),
    ("generate-list-json", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/list_keypoints.json", "-o", "{o}"], "not an OpenPose"),
    ("generate-4e9-json", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/big_keypoints.json", "-o", "{o}"], "big_keypoints.json.*within"),
    ("generate-latin1-json", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/latin1_keypoints.json", "-o", "{o}"], "not an OpenPose"),
    ("generate-person-out-of-range", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/two_keypoints.json",
                                      "--person", "2", "-o", "{o}"], "2 people; cannot read person index 2"),
    ("generate-negative-person", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "--person", "-1", "-o", "{o}"], "--person"),
    # generate: outputs and models (the output checks come before the model loads)
    ("generate-output-is-a-file", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{d}/a_file"], "-o to be a folder"),
    ("generate-output-under-a-file", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{d}/a_file/x"], "is a file"),
    ("generate-60000-channels", ["generate", "--model", "{d}/huge.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"],
     r"huge.keras.*channels.*\[1, 2048\].*60000"),
    ("generate-other-architecture", ["generate", "--model", "{d}/other.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy",
                                     "-o", "{o}"], "other.keras.*could not be loaded"),
    ("generate-string-size", ["generate", "--model", "{d}/string.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy",
                              "-o", "{o}"], "string.keras.*size"),
    ("generate-text-model", ["generate", "--model", "{d}/text.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"], "text.keras"),
    ("generate-h5-model", ["generate", "--model", "{d}/model.h5", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"], r"\.keras model file"),
    ("generate-pairs-without-root", ["generate", "--pairs", "{d}/good.txt", "-o", "{o}"], "--pairs needs --root"),
    ("generate-batch-size-0", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "--batch-size", "0", "-o", "{o}"], "--batch-size"),
    # control
    ("control-bomb-garment", ["control", "--garment", "{d}/bomb.png", "--person", "{d}/good.png", "--pose", "{d}/good.npy",
                              "--region", "upper", "-o", "{o}"], "--garment image .*bomb.png"),
    ("control-truncated-person", ["control", "--garment", "{d}/good.png", "--person", "{d}/truncated.png", "--pose", "{d}/good.npy",
                                  "--region", "upper", "-o", "{o}"], "--person image .*truncated.png"),
    ("control-3e9-pose", ["control", "--garment", "{d}/good.png", "--person", "{d}/good.png", "--pose", "{d}/big.npy",
                          "--region", "upper", "-o", "{o}"], "big.npy.*within"),
    ("control-bad-mask", ["control", "--garment", "{d}/good.png", "--person", "{d}/good.png", "--pose", "{d}/good.npy",
                          "--region", "{d}/truncated.png", "-o", "{o}"], "truncated.png"),
    ("control-output-is-a-file", ["control", "--garment", "{d}/good.png", "--person", "{d}/good.png", "--pose", "{d}/good.npy",
                                  "--region", "upper", "-o", "{d}/a_file"], "-o to be a folder"),
    ("control-bad-pose-person", ["control", "--garment", "{d}/good.png", "--person", "{d}/good.png", "--pose", "{d}/two_keypoints.json",
                                 "--pose-person", "5", "--region", "upper", "-o", "{o}"], "cannot read person index 5"),
    # convert
    ("convert-list-pt", ["convert", "{d}/list.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "list.pt.*state dict.*list"),
    ("convert-tensor-pt", ["convert", "{d}/tensor.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "tensor.pt.*state dict.*ndarray"),
    ("convert-nan-pt", ["convert", "{d}/nan.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "nan.pt.*finite"),
    ("convert-garbage-pt", ["convert", "{d}/garbage.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "garbage.pt"),
    ("convert-truncated-npz", ["convert", "{d}/truncated.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "truncated.npz"),
    ("convert-nan-weights", ["convert", "{d}/nan_weights.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "nan_weights.npz.*finite.*weight"),
    ("convert-inf-weights", ["convert", "{d}/inf_weights.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "inf_weights.npz.*finite"),
    ("convert-pickled-npz", ["convert", "{d}/object.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "object.npz"),
    ("convert-text-npz", ["convert", "{d}/text.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "text.npz"),
    ("convert-unknown-suffix", ["convert", "{d}/checkpoint.ckpt.txt", "-o", "{o}.keras"], r"\.pt, \.pth or \.npz"),
    ("convert-bad-output-suffix", ["convert", "{d}/released.npz", "-o", "{o}.h5"], r"\.weights\.h5 or \.keras"),
    ("convert-output-is-a-folder", ["convert", "{d}/released.npz", "--config", "{d}/tiny.json", "-o", "{d}/folder.keras"], "-o to be a file"),
    ("convert-missing-config", ["convert", "{d}/released.npz", "--config", "{d}/nope.json", "-o", "{o}.keras"], "Config file not found"),
    ("convert-wrong-preset", ["convert", "{d}/released.npz", "--preset", "nted_fashion_256", "-o", "{o}.keras"], "does not match"),
    # make-mannequin, prepare-deepfashion, demo, evaluate, export, train
    ("make-mannequin-bad-size", ["make-mannequin", "{o}", "--size", "64x45"], "--size"),
    ("make-mannequin-out-is-a-file", ["make-mannequin", "{d}/a_file", "--identities", "2"], "OUT to be a folder"),
    ("make-mannequin-test-fraction", ["make-mannequin", "{o}", "--test-fraction", "1.5"], "--test-fraction"),
    ("prepare-deepfashion-no-pairs", ["prepare-deepfashion", "{d}/root", "--sizes", "64x44"], "No pairs file"),
    ("prepare-deepfashion-bad-sizes", ["prepare-deepfashion", "{d}/root", "--sizes", "64by44"], "sizes"),
    ("demo-output-is-a-file", ["demo", "-o", "{d}/a_file"], "-o to be a folder"),
    ("demo-60000-channels", ["demo", "--model", "{d}/huge.keras", "-o", "{o}"], "huge.keras.*60000"),
    ("evaluate-pairs-0", ["evaluate", "{d}/huge.keras", "--pairs", "0"], "--pairs.*Received: 0"),
    ("evaluate-pairs-too-many", ["evaluate", "{d}/huge.keras", "--pairs", "5000"], "--pairs.*Received: 5000"),
    ("evaluate-json-is-a-folder", ["evaluate", "{d}/huge.keras", "--json", "{d}/root"], "--json to be a file"),
    ("evaluate-other-architecture", ["evaluate", "{d}/other.keras", "--pairs", "1"], "other.keras.*could not be loaded"),
    ("export-negative-version", ["export", "{d}/huge.keras", "{o}", "--version", "-1"], "--version"),
    ("export-missing-model", ["export", "{d}/nope.keras", "{o}"], "Model file not found"),
    ("export-dir-is-a-file", ["export", str(MODEL), "{d}/a_file"], "a_file"),
    ("export-60000-channels", ["export", "{d}/huge.keras", "{o}"], "huge.keras.*60000"),
    ("train-missing-config", ["train", "--config", "{d}/nope.yaml", "-o", "{o}"], "Config file not found"),
]

# Inputs that have a reasonable meaning: they must work (checked by `check(out_dir, inputs)`).
CLI_RESULTS = {
    "generate-16-bit-greyscale": ["generate", "--reference", "{d}/grey16.png", "--pose", "{d}/good.npy", "-o", "{o}", "--strip"],
    "generate-bom-json": ["generate", "--reference", "{d}/good.png", "--pose", "{d}/bom_keypoints.json", "-o", "{o}"],
    "generate-two-people-json": ["generate", "--reference", "{d}/good.png", "{d}/good.png", "--pose", "{d}/two_keypoints.json",
                                 "{d}/bom_keypoints.json", "-o", "{o}", "--strip"],
    "convert-bfloat16-pt": ["convert", "{d}/bf16.pt", "--config", "{d}/tiny.json", "-o", "{o}/g.keras"],
    "convert-float16-pt": ["convert", "{d}/fp16.pt", "--config", "{d}/tiny.json", "-o", "{o}/g.weights.h5"],
}

# The backend sample: rows that run on every backend; the rest run on TensorFlow (the default).
SAMPLE = {
    "generate-bomb", "generate-truncated-later", "generate-3e9-npy", "generate-nan-json", "generate-60000-channels",
    "generate-other-architecture", "control-truncated-person", "convert-list-pt", "convert-truncated-npz",
    "convert-nan-weights", "evaluate-pairs-0", "export-60000-channels", "make-mannequin-bad-size",
    "generate-16-bit-greyscale", "generate-bom-json", "convert-bfloat16-pt",
}


def _sampled(case_id):
    if keras.backend.backend() != "tensorflow" and case_id not in SAMPLE:
        pytest.skip("runs on the TensorFlow backend; a sample of the table runs on every backend")


def _format(argv, d, o):
    return [a.format(d=d, o=o) for a in argv]


@pytest.mark.parametrize("case_id, argv, expected", CLI_ERRORS, ids=[c[0] for c in CLI_ERRORS])
def test_cli_rejects_bad_input_in_one_line_and_writes_nothing(case_id, argv, expected, inputs, tmp_path, capsys):
    _sampled(case_id)
    before = sorted(p.name for p in inputs.iterdir())
    out = tmp_path / "out"
    code, stdout, stderr = _run(_format(argv, inputs, out), capsys)
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(f"keras-nted {argv[0]}: error: "), stderr
    if expected:
        import re

        assert re.search(expected, lines[0]), lines[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out")], "written on failure"
    assert sorted(p.name for p in inputs.iterdir()) == before, "written on failure"


def _check_result(case_id, out, inputs):
    if case_id == "generate-16-bit-greyscale":
        strip = np.asarray(Image.open(out / "grey16_2_good_strip.png"))
        reference = strip[:, :44]
        assert np.abs(reference.astype(int) - 128).max() <= 1, "16-bit grey must read as mid grey, not white"
    elif case_id == "generate-bom-json":
        assert (out / "good_2_bom_vis.png").is_file()
    elif case_id == "generate-two-people-json":
        # The default person is the most confident one (the second, `good`): the same skeleton
        # as the one-person file holding `good`.
        two = np.asarray(Image.open(out / "good_2_two_strip.png"))[:, 44:88]
        one = np.asarray(Image.open(out / "good_2_bom_strip.png"))[:, 44:88]
        np.testing.assert_array_equal(two, one)
    elif case_id.startswith("convert-"):
        from keras_nted.models import NTEDGenerator

        generator = NTEDGenerator.from_config(
            {**json.loads((inputs / "tiny.json").read_text())["gen"]["param"], "image_width": 44}
        )
        path = next(out.iterdir())
        if path.name.endswith(".keras"):
            generator = keras.saving.load_model(path)
        else:
            generator.load_weights(path)
        weights = fixture_weights(_FIXTURE, "gen")
        from keras_nted.convert.official import released_entries

        for key, (variable, convert) in released_entries(generator).items():
            if isinstance(variable, np.ndarray):
                continue
            expected = convert(weights[key])
            tolerance = 1e-2 if "bfloat16" in case_id else 1e-3
            np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, rtol=tolerance, atol=tolerance)


_FIXTURE = {}


@pytest.mark.parametrize("case_id", sorted(CLI_RESULTS))
def test_cli_does_the_right_thing_with_fair_input(case_id, inputs, tmp_path, capsys, fixtures_dir):
    _sampled(case_id)
    _FIXTURE.update(np.load(fixtures_dir / "official_tiny_s0.npz"))
    out = tmp_path / "out"
    code, stdout, stderr = _run(_format(CLI_RESULTS[case_id], inputs, out), capsys)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    _check_result(case_id, out, inputs)
