"""Hostile inputs across every command, the Python API and both serving signatures (issue 12).

One table per surface. Every CLI row runs `keras_nted.cli.main` in-process and expects either
exit code 2 with exactly one line on stderr (no traceback) and nothing written, or exit code 0
and the right result. Python API rows expect one `ValueError` / `FileNotFoundError` naming the
input. Serving rows send bad requests to one exported SavedModel from a TensorFlow-only
process. Start-up rows (backend variables, missing backends, TensorFlow's banners) need fresh
processes: they run side by side.
"""

import contextlib
import json
import os
import pathlib
import re
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
    (d / "empty.npy").write_bytes(b"")
    np.savez(d / "archive.npz", keypoints=good)
    (d / "archive.npz").rename(d / "archive.npy")
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
    huge = json.loads(json.dumps(meta["gen_param"]))
    huge["channels"] = {key: 60000 for key in huge["channels"]}
    (d / "huge.json").write_text(json.dumps({"gen": {"param": huge}}))
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
    import torch  # the test makes PyTorch files, as the release writes them

    from keras_nted.backend.torch_io import save_torch_state_dict

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
    # NaN weights in an otherwise valid .keras file (as a diverged training run saves them).
    import h5py

    with zipfile.ZipFile(MODEL) as z:
        z.extract("model.weights.h5", d / "h5")
    with h5py.File(d / "h5" / "model.weights.h5", "r+") as f:
        datasets = []
        f.visititems(
            lambda name, item: datasets.append(item) if isinstance(item, h5py.Dataset) and item.size > 1 else None
        )
        datasets[0][...] = np.nan
    with zipfile.ZipFile(MODEL) as z, zipfile.ZipFile(d / "nan.keras", "w") as out:
        for item in z.namelist():
            data = (d / "h5" / item).read_bytes() if item == "model.weights.h5" else z.read(item)
            out.writestr(item, data)
    import shutil

    shutil.rmtree(d / "h5")
    (d / "model.h5").write_text("x")
    (d / "a_file").write_text("I am a file")
    (d / "root").mkdir()
    (d / "folder.keras").mkdir()
    # A DeepFashion root whose second image is truncated: prepare-deepfashion must write nothing.
    (d / "dfroot" / "img").mkdir(parents=True)
    (d / "dfroot" / "test_pairs.txt").write_text("img/a.png,img/b.png\n")
    (d / "dfroot" / "img" / "a.png").write_bytes((d / "good.png").read_bytes())
    (d / "dfroot" / "img" / "b.png").write_bytes((d / "truncated.png").read_bytes())
    return d


@pytest.fixture(scope="module")
def cli_inputs(inputs):
    """The command line's hostile inputs of issue 23, beside the others."""
    import argparse

    import torch

    from keras_nted.data.mannequin import write_mannequin_dataset

    d = inputs
    weights = dict(np.load(d / "released.npz"))
    torch.save({0: torch.zeros(2), **{k: torch.from_numpy(v) for k, v in weights.items()}}, d / "intkey.pt")
    torch.save({"net_G_ema": {"a": torch.zeros(2)}, "opt": argparse.Namespace(lr=1.0)}, d / "namespace.pt")
    key = sorted(k for k in weights if weights[k].ndim == 4)[0]
    np.savez(d / "rank.npz", **{**weights, key: weights[key].reshape(weights[key].shape[0], -1)})
    write_mannequin_dataset(d / "mannequin", num_identities=2, poses_per_identity=2, image_size=(64, 44), verbose=0)
    (d / "no_config_run" / "backup").mkdir(parents=True)
    (d / "no_config_run" / "backup" / "step_000000002.weights.h5").write_bytes(b"")
    (d / "user_folder").mkdir()
    (d / "user_folder" / "config.json").write_text('{"my": "own settings"}')
    return d


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# The smallest training run (few steps, tiny preset, no VGG).
TINY_RUN = ["--preset", "nted_tiny", "--vgg-weights", "none", "--batch-size", "1", "--steps-per-epoch", "2", "--quiet"]

# (id, argv with {d} = the inputs folder and {o} = a fresh output path, expected stderr regex).
# Rows with `--model huge.keras` (a config of 60,000 channels) also prove the order: their input
# or output error comes before the model loads, or the message would be about channels.
CLI_ERRORS = [
    # generate: images
    (
        "generate-missing-image",
        ["generate", "--reference", "{d}/nope.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "not found",
    ),
    (
        "generate-text-image",
        ["generate", "--reference", "{d}/text.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "Could not read image .*text.png",
    ),
    (
        "generate-empty-image",
        ["generate", "--reference", "{d}/empty.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "Could not read image .*empty.png",
    ),
    (
        "generate-bomb",
        ["generate", "--reference", "{d}/bomb.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "bomb.png.*(pixels|bomb)",
    ),
    (
        "generate-zero-size-image",
        ["generate", "--reference", "{d}/zero.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "zero.png",
    ),
    (
        "generate-float-image",
        ["generate", "--reference", "{d}/float.tiff", "--pose", "{d}/good.npy", "-o", "{o}"],
        "float.tiff.*floating-point",
    ),
    (
        "generate-truncated-later",
        [
            "generate",
            "--model",
            "{d}/huge.keras",
            "--reference",
            "{d}/good.png",
            "{d}/good2.png",
            "{d}/truncated.png",
            "--pose",
            "{d}/good.npy",
            "-o",
            "{o}",
        ],
        "Could not decode image .*truncated.png",
    ),
    # generate: keypoints (.npy)
    (
        "generate-nan-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/nan.npy", "-o", "{o}"],
        "nan.npy.*finite",
    ),
    (
        "generate-inf-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/inf.npy", "-o", "{o}"],
        "inf.npy.*finite",
    ),
    (
        "generate-ninf-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/ninf.npy", "-o", "{o}"],
        "ninf.npy.*finite",
    ),
    (
        "generate-3e9-npy",
        ["generate", "--model", "{d}/huge.keras", "--reference", "{d}/good.png", "--pose", "{d}/big.npy", "-o", "{o}"],
        "big.npy.*within",
    ),
    (
        "generate-beyond-bound-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/beyond.npy", "-o", "{o}"],
        "beyond.npy.*within",
    ),
    (
        "generate-17-keypoints",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/shape17.npy", "-o", "{o}"],
        r"shape17.npy.*\(17, 2\)",
    ),
    (
        "generate-pickled-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/object.npy", "-o", "{o}"],
        "object.npy",
    ),
    (
        "generate-corrupt-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/corrupt.npy", "-o", "{o}"],
        "corrupt.npy",
    ),
    (
        "generate-empty-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/empty.npy", "-o", "{o}"],
        "empty.npy.*not a numpy",
    ),
    (
        "generate-npz-as-npy",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/archive.npy", "-o", "{o}"],
        "archive.npy.*NpzFile",
    ),
    (
        "generate-unknown-pose-type",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/pose.xyz", "-o", "{o}"],
        "pose.xyz",
    ),
    # generate: keypoints (.txt, .json)
    (
        "generate-empty-txt",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/empty.txt", "-o", "{o}"],
        "empty.txt.*empty",
    ),
    (
        "generate-words-txt",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/words.txt", "-o", "{o}"],
        "words.txt",
    ),
    (
        "generate-nan-txt",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/nan.txt", "-o", "{o}"],
        "nan.txt.*finite",
    ),
    (
        "generate-no-people-json",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/none_keypoints.json", "-o", "{o}"],
        "0 people",
    ),
    (
        "generate-body25-json",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/body25_keypoints.json", "-o", "{o}"],
        "BODY_25",
    ),
    (
        "generate-nan-json",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/nan_keypoints.json", "-o", "{o}"],
        "NaN",
    ),
    (
        "generate-list-json",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/list_keypoints.json", "-o", "{o}"],
        "not an OpenPose",
    ),
    (
        "generate-4e9-json",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/big_keypoints.json", "-o", "{o}"],
        "big_keypoints.json.*within",
    ),
    (
        "generate-latin1-json",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/latin1_keypoints.json", "-o", "{o}"],
        "not an OpenPose",
    ),
    (
        "generate-person-out-of-range",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/two_keypoints.json", "--person", "2", "-o", "{o}"],
        "2 people; cannot read person index 2",
    ),
    (
        "generate-negative-person",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "--person", "-1", "-o", "{o}"],
        "--person",
    ),
    # generate: outputs and models (the output checks come before the model loads)
    (
        "generate-output-is-a-file",
        [
            "generate",
            "--model",
            "{d}/huge.keras",
            "--reference",
            "{d}/good.png",
            "--pose",
            "{d}/good.npy",
            "-o",
            "{d}/a_file",
        ],
        "-o to be a folder",
    ),
    (
        "generate-output-under-a-file",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{d}/a_file/x"],
        "is a file",
    ),
    (
        "generate-60000-channels",
        ["generate", "--model", "{d}/huge.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        r"huge.keras.*channels.*\[1, 2048\].*60000",
    ),
    (
        "generate-other-architecture",
        [
            "generate",
            "--model",
            "{d}/other.keras",
            "--reference",
            "{d}/good.png",
            "--pose",
            "{d}/good.npy",
            "-o",
            "{o}",
        ],
        "other.keras.*could not be loaded",
    ),
    (
        "generate-string-size",
        [
            "generate",
            "--model",
            "{d}/string.keras",
            "--reference",
            "{d}/good.png",
            "--pose",
            "{d}/good.npy",
            "-o",
            "{o}",
        ],
        "string.keras.*size",
    ),
    (
        "generate-nan-weights",
        ["generate", "--model", "{d}/nan.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "finite weights in .*nan.keras. Received NaN",
    ),
    (
        "evaluate-nan-weights",
        ["evaluate", "--model", "{d}/nan.keras", "--num-pairs", "1"],
        "finite weights in .*nan.keras. Received NaN",
    ),
    (
        "generate-text-model",
        ["generate", "--model", "{d}/text.keras", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        "text.keras",
    ),
    (
        "generate-h5-model",
        ["generate", "--model", "{d}/model.h5", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"],
        r"\.keras model file",
    ),
    ("generate-pairs-without-root", ["generate", "--pairs", "{d}/good.txt", "-o", "{o}"], "--pairs needs --root"),
    (
        "generate-batch-size-0",
        ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "--batch-size", "0", "-o", "{o}"],
        "--batch-size",
    ),
    # control
    (
        "control-bomb-garment",
        [
            "control",
            "--garment",
            "{d}/bomb.png",
            "--person",
            "{d}/good.png",
            "--pose",
            "{d}/good.npy",
            "--region",
            "upper",
            "-o",
            "{o}",
        ],
        "--garment image .*bomb.png",
    ),
    (
        "control-truncated-person",
        [
            "control",
            "--model",
            "{d}/huge.keras",
            "--garment",
            "{d}/good.png",
            "--person",
            "{d}/truncated.png",
            "--pose",
            "{d}/good.npy",
            "--region",
            "upper",
            "-o",
            "{o}",
        ],
        "--person image .*truncated.png",
    ),
    (
        "control-3e9-pose",
        [
            "control",
            "--garment",
            "{d}/good.png",
            "--person",
            "{d}/good.png",
            "--pose",
            "{d}/big.npy",
            "--region",
            "upper",
            "-o",
            "{o}",
        ],
        "big.npy.*within",
    ),
    (
        "control-bad-mask",
        [
            "control",
            "--garment",
            "{d}/good.png",
            "--person",
            "{d}/good.png",
            "--pose",
            "{d}/good.npy",
            "--region",
            "{d}/truncated.png",
            "-o",
            "{o}",
        ],
        "truncated.png",
    ),
    (
        "control-output-is-a-file",
        [
            "control",
            "--model",
            "{d}/huge.keras",
            "--garment",
            "{d}/good.png",
            "--person",
            "{d}/good.png",
            "--pose",
            "{d}/good.npy",
            "--region",
            "upper",
            "-o",
            "{d}/a_file",
        ],
        "-o to be a folder",
    ),
    (
        "control-bad-pose-person",
        [
            "control",
            "--garment",
            "{d}/good.png",
            "--person",
            "{d}/good.png",
            "--pose",
            "{d}/two_keypoints.json",
            "--pose-person",
            "5",
            "--region",
            "upper",
            "-o",
            "{o}",
        ],
        "cannot read person index 5",
    ),
    # convert
    (
        "convert-list-pt",
        ["convert", "{d}/list.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        "list.pt.*state dict.*list",
    ),
    (
        "convert-tensor-pt",
        ["convert", "{d}/tensor.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        "tensor.pt.*state dict.*ndarray",
    ),
    ("convert-nan-pt", ["convert", "{d}/nan.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "nan.pt.*finite"),
    ("convert-garbage-pt", ["convert", "{d}/garbage.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "garbage.pt"),
    (
        "convert-truncated-npz",
        ["convert", "{d}/truncated.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        "truncated.npz",
    ),
    (
        "convert-nan-weights",
        ["convert", "{d}/nan_weights.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        "nan_weights.npz.*finite.*weight",
    ),
    (
        "convert-inf-weights",
        ["convert", "{d}/inf_weights.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        "inf_weights.npz.*finite",
    ),
    (
        "convert-pickled-npz",
        ["convert", "{d}/object.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        "object.npz",
    ),
    ("convert-text-npz", ["convert", "{d}/text.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "text.npz"),
    (
        "convert-60000-channel-config",
        ["convert", "{d}/released.npz", "--config", "{d}/huge.json", "-o", "{o}.keras"],
        r"channels.*\[1, 2048\].*60000",
    ),
    (
        "convert-negative-width",
        ["convert", "{d}/released.npz", "--config", "{d}/tiny.json", "--image-size", "64x-4", "-o", "{o}.keras"],
        "Expected a positive --image-size",
    ),
    ("convert-unknown-suffix", ["convert", "{d}/checkpoint.ckpt.txt", "-o", "{o}.keras"], r"\.pt, \.pth or \.npz"),
    ("convert-bad-output-suffix", ["convert", "{d}/released.npz", "-o", "{o}.h5"], r"\.weights\.h5 or \.keras"),
    (
        "convert-output-is-a-folder",
        ["convert", "{d}/released.npz", "--config", "{d}/tiny.json", "-o", "{d}/folder.keras"],
        "-o to be a file",
    ),
    (
        "convert-missing-config",
        ["convert", "{d}/released.npz", "--config", "{d}/nope.json", "-o", "{o}.keras"],
        "Config file not found",
    ),
    (
        "convert-wrong-preset",
        ["convert", "{d}/released.npz", "--preset", "nted_fashion_256", "-o", "{o}.keras"],
        "does not match",
    ),
    # make-mannequin, prepare-deepfashion, demo, evaluate, export, train
    ("make-mannequin-bad-size", ["make-mannequin", "-o", "{o}", "--image-size", "64x45"], "--image-size"),
    ("make-mannequin-out-is-a-file", ["make-mannequin", "-o", "{d}/a_file", "--identities", "2"], "-o to be a folder"),
    ("make-mannequin-test-fraction", ["make-mannequin", "-o", "{o}", "--test-fraction", "1.5"], "--test-fraction"),
    ("prepare-deepfashion-no-pairs", ["prepare-deepfashion", "{d}/root", "--image-size", "64x44"], "No pairs file"),
    (
        "prepare-deepfashion-truncated-image",
        ["prepare-deepfashion", "{d}/dfroot", "--image-size", "64x44", "--workers", "1"],
        "Could not decode image .*b.png",
    ),
    ("prepare-deepfashion-bad-sizes", ["prepare-deepfashion", "{d}/root", "--image-size", "64by44"], "sizes"),
    ("demo-output-is-a-file", ["demo", "--model", "{d}/huge.keras", "-o", "{d}/a_file"], "-o to be a folder"),
    ("demo-60000-channels", ["demo", "--model", "{d}/huge.keras", "-o", "{o}"], "huge.keras.*60000"),
    ("evaluate-pairs-0", ["evaluate", "--model", "{d}/huge.keras", "--num-pairs", "0"], "--num-pairs.*Received: 0"),
    (
        "evaluate-pairs-too-many",
        ["evaluate", "--model", "{d}/huge.keras", "--num-pairs", "5000"],
        "--num-pairs.*Received: 5000",
    ),
    (
        "evaluate-json-is-a-folder",
        ["evaluate", "--model", "{d}/huge.keras", "--json", "{d}/root"],
        "--json to be a file",
    ),
    (
        "evaluate-other-architecture",
        ["evaluate", "--model", "{d}/other.keras", "--num-pairs", "1"],
        "other.keras.*could not be loaded",
    ),
    ("export-negative-version", ["export", "--model", "{d}/huge.keras", "-o", "{o}", "--version", "-1"], "--version"),
    ("export-missing-model", ["export", "--model", "{d}/nope.keras", "-o", "{o}"], "Model file not found"),
    ("export-dir-is-a-file", ["export", "--model", str(MODEL), "-o", "{d}/a_file"], "a_file"),
    ("export-60000-channels", ["export", "--model", "{d}/huge.keras", "-o", "{o}"], "huge.keras.*60000"),
    ("train-missing-config", ["train", "--config", "{d}/nope.yaml", "-o", "{o}"], "Config file not found"),
    # Issue 23: the command line's bad inputs (files made by `cli_inputs`).
    (
        "convert-integer-key",
        ["convert", "{d}/intkey.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        r"key 0 \(int\)",
    ),
    ("convert-wrong-rank", ["convert", "{d}/rank.npz", "--config", "{d}/tiny.json", "-o", "{o}.keras"], "mis-shaped"),
    (
        "convert-pickled-object-pt",
        ["convert", "{d}/namespace.pt", "--config", "{d}/tiny.json", "-o", "{o}.keras"],
        r"^(?!.*weights_only).*objects other than tensors \(argparse.Namespace\)",
    ),
    (
        "convert-discriminator-of-generator-only",
        [
            "convert",
            "{d}/released.npz",
            "--config",
            "{d}/tiny.json",
            "-o",
            "{o}.keras",
            "--discriminator-output",
            "{o}_d.keras",
        ],
        "does not match",
    ),  # fmt: skip
    ("train-batch-of-a-million", ["train", *TINY_RUN, "--batch-size", "1000000", "-o", "{o}"], "fits in memory"),
    (
        "prepare-deepfashion-huge-size",
        ["prepare-deepfashion", "{d}/dfroot", "--image-size", "100000x68750"],
        "--image-size that fits in memory",
    ),
    (
        "make-mannequin-into-another-set",
        ["make-mannequin", "-o", "{d}/mannequin", "--identities", "3", "--poses", "2", "--image-size", "64x44"],
        "another mannequin set.*--overwrite",
    ),
    ("make-mannequin-into-a-full-folder", ["make-mannequin", "-o", "{d}/dfroot"], "holds other files"),
    ("train-config-deleted", ["train", *TINY_RUN, "--seed", "5", "-o", "{d}/no_config_run"], "no config.json"),
    ("train-users-config", ["train", *TINY_RUN, "-o", "{d}/user_folder"], "not a keras-nted run record"),
    (
        "train-model-path-folder",
        ["train", *TINY_RUN, "--model-path", "{d}/folder.keras", "-o", "{o}"],
        "--model-path to be a file",
    ),  # fmt: skip
]

# Inputs that have a reasonable meaning: they must work (checked by `check(out_dir, inputs)`).
CLI_RESULTS = {
    "generate-16-bit-greyscale": [
        "generate",
        "--reference",
        "{d}/grey16.png",
        "--pose",
        "{d}/good.npy",
        "-o",
        "{o}",
        "--strip",
    ],
    "generate-bom-json": ["generate", "--reference", "{d}/good.png", "--pose", "{d}/bom_keypoints.json", "-o", "{o}"],
    "generate-two-people-json": [
        "generate",
        "--reference",
        "{d}/good.png",
        "{d}/good.png",
        "--pose",
        "{d}/two_keypoints.json",
        "{d}/bom_keypoints.json",
        "-o",
        "{o}",
        "--strip",
    ],
    "convert-bfloat16-pt": ["convert", "{d}/bf16.pt", "--config", "{d}/tiny.json", "-o", "{o}/g.keras"],
    "convert-float16-pt": ["convert", "{d}/fp16.pt", "--config", "{d}/tiny.json", "-o", "{o}/g.weights.h5"],
}

# The backend sample: rows that run on every backend; the rest run on TensorFlow (the default).
SAMPLE = {
    "generate-bomb",
    "generate-truncated-later",
    "generate-3e9-npy",
    "generate-nan-json",
    "generate-60000-channels",
    "generate-other-architecture",
    "control-truncated-person",
    "convert-list-pt",
    "convert-truncated-npz",
    "convert-nan-weights",
    "evaluate-pairs-0",
    "generate-nan-weights",
    "export-60000-channels",
    "make-mannequin-bad-size",
    "generate-16-bit-greyscale",
    "generate-bom-json",
    "convert-bfloat16-pt",
    "render-3e9",
    "convert-integer-key",
    "convert-wrong-rank",
    "convert-pickled-object-pt",
    "convert-discriminator-of-generator-only",
    "train-batch-of-a-million",
    "prepare-deepfashion-huge-size",
    "make-mannequin-into-another-set",
    "train-config-deleted",
    "train-users-config",
    "train-model-path-folder",
    "full-disk-train",
    "full-disk-generate",
}


def _sampled(cases):
    """All `cases` on TensorFlow, the `SAMPLE` on the other backends (deselected, not skipped)."""
    if keras.backend.backend() == "tensorflow":
        return cases
    return [case for case in cases if (case if isinstance(case, str) else case[0]) in SAMPLE]


def _format(argv, d, o):
    return [a.format(d=d, o=o) for a in argv]


@pytest.mark.parametrize("case_id, argv, expected", _sampled(CLI_ERRORS), ids=[c[0] for c in _sampled(CLI_ERRORS)])
def test_cli_rejects_bad_input_in_one_line_and_writes_nothing(
    case_id, argv, expected, inputs, cli_inputs, tmp_path, capsys
):
    before = sorted(str(p) for p in inputs.rglob("*"))
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
    assert sorted(str(p) for p in inputs.rglob("*")) == before, "written on failure"


def _check_result(case_id, out, inputs):
    if case_id == "generate-16-bit-greyscale":
        strip = np.asarray(Image.open(out / "grey16_2_good_strip.png"))
        reference = strip[-256:, :176][::4, ::4]  # below the header naming the columns, back to 1x
        assert np.abs(reference.astype(int) - 128).max() <= 1, "16-bit grey must read as mid grey, not white"
    elif case_id == "generate-bom-json":
        assert (out / "good_2_bom_vis.png").is_file()
    elif case_id == "generate-two-people-json":
        # The default person is the most confident one (the second, `good`): the same skeleton
        # as the one-person file holding `good`.
        two = np.asarray(Image.open(out / "good_2_two_strip.png"))[-256:, 176:352]
        one = np.asarray(Image.open(out / "good_2_bom_strip.png"))[-256:, 176:352]
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


@pytest.mark.parametrize("case_id", _sampled(sorted(CLI_RESULTS)))
def test_cli_does_the_right_thing_with_fair_input(case_id, inputs, tmp_path, capsys, fixtures_dir):
    _FIXTURE.update(np.load(fixtures_dir / "official_tiny_s0.npz"))
    out = tmp_path / "out"
    code, stdout, stderr = _run(_format(CLI_RESULTS[case_id], inputs, out), capsys)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    _check_result(case_id, out, inputs)


def test_train_at_a_learning_rate_of_1e30_keeps_no_exploded_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", *TINY_RUN, "--checkpoint-every", "1", "--learning-rate", "1e30", "-o", out]
    code, stdout, stderr = _run(argv, capsys)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and re.search("diverged", lines[0]), stderr
    assert not list((out / "backup").glob("*.h5")), "a checkpoint of exploded weights"
    assert not (out / "generator.keras").exists()


# Writes onto a full disk: (id, argv with {d} = the inputs and {o} = a folder on a small disk, the disk's size,
# whether to fill it first, what must be there afterwards).
FULL_DISK = [
    ("full-disk-train", ["train", *TINY_RUN, "--epochs", "2", "--checkpoint-every", "1", "-o", "{o}"], "7m", False,
     ["backup/step_000000001.weights.h5", "backup/step_000000002.weights.h5"]),
    ("full-disk-generate", ["generate", "--reference", "{d}/good.png", "--pose", "{d}/good.npy", "-o", "{o}"], "64k",
     True, []),
    ("full-disk-export", ["export", "--model", str(MODEL), "-o", "{o}"], "64k", True, []),
]  # fmt: skip


@pytest.fixture
def small_disk(tmp_path):
    """A `mount -t tmpfs` of a given size (root only), unmounted afterwards."""
    mounted = []

    def mount(size, fill):
        folder = tmp_path / "disk"
        folder.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"a full disk needs a small tmpfs, which needs root: {result.stderr.strip()}")
        mounted.append(folder)
        if fill:
            with open(folder / "filler", "wb") as f, contextlib.suppress(OSError):
                f.write(b"\0" * 2**20)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)  # a TensorBoard writer may hold a file


@pytest.mark.parametrize(
    "case_id, argv, size, fill, kept", _sampled(FULL_DISK), ids=[c[0] for c in _sampled(FULL_DISK)]
)
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(
    case_id, argv, size, fill, kept, inputs, small_disk, capsys
):
    disk = small_disk(size, fill)
    out = disk / "out"
    code, stdout, stderr = _run(_format(argv, inputs, out), capsys)
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and re.search("No space left", lines[0]), stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
    assert not [p for p in written if ".tmp" in p], written
    assert set(kept) <= set(written), written
    if not kept:
        assert not out.exists(), f"written on failure: {written or 'an empty folder'}"
    for name in kept:  # complete files: they open
        h5py = pytest.importorskip("h5py")
        with h5py.File(out / name, "r") as f:
            assert len(f.keys()) > 0


# The Python API: (id, call(inputs folder) -> None, expected error type, message regex).
def _render(keypoints):
    from keras_nted.data import render_skeleton

    return lambda d: render_skeleton(keypoints, (64, 44), frame="pixels")


def _generate(references, poses):
    def call(d):
        from keras_nted import generation
        from keras_nted.models.generator import load_generator

        pairs = generation.pairs_from_files([d / r for r in references], [d / p for p in poses])
        generation.generate(load_generator(MODEL), pairs, d.parent / "api_out", verbose=0)

    return call


def _bad(index, value):
    keypoints = _pose()
    keypoints[index] = value
    return keypoints


API_ERRORS = [
    ("render-nan", _render(_bad((0, 0), np.nan)), ValueError, "finite"),
    ("render-inf", _render(_bad((4, 1), np.inf)), ValueError, "finite"),
    ("render-3e9", _render(_bad((0, 0), 3e9)), ValueError, "within"),
    ("render-shape", _render(np.zeros((17, 2))), ValueError, r"\(18, 2\)"),
    (
        "read-openpose-person-type",
        lambda d: __import__("keras_nted").data.read_openpose_json(d / "two_keypoints.json", person="1"),
        ValueError,
        "person",
    ),
    (
        "read-pose-missing",
        lambda d: __import__("keras_nted").data.read_pose_file(d / "nope.txt"),
        FileNotFoundError,
        "nope.txt",
    ),
    (
        "generator-60000-channels",
        lambda d: __import__("keras_nted").models.NTEDGenerator(
            64, {16: 60000, 32: 24, 64: 16}, {16: 6, 32: 10}, {16: 1, 32: 3}
        ),
        ValueError,
        "channels.*60000",
    ),
    (
        "generator-float-semantic-dim",
        lambda d: __import__("keras_nted").models.NTEDGenerator(
            64, {16: 32, 32: 24, 64: 16}, {16: 6, 32: 10}, {16: 1, 32: 3}, semantic_dim=20.5
        ),
        ValueError,
        "semantic_dim",
    ),
    (
        "discriminator-huge",
        lambda d: __import__("keras_nted").models.NTEDDiscriminator(64, {4: 10**6}),
        ValueError,
        "channels",
    ),
    (
        "load-official-nan",
        lambda d: __import__("keras_nted").convert.load_official_generator(
            {"a.weight": np.array([np.nan])}, "nted_tiny"
        ),
        ValueError,
        "finite.*a.weight",
    ),
    (
        "load-generator-other",
        lambda d: __import__("keras_nted").models.generator.load_generator(d / "other.keras"),
        ValueError,
        "could not be loaded",
    ),
    ("generate-truncated-later", _generate(["good.png", "truncated.png"], ["good.npy"]), ValueError, "truncated.png"),
    ("generate-bomb", _generate(["bomb.png"], ["good.npy"]), ValueError, "bomb.png"),
    (
        "mask-16-bit-ok-but-empty",
        lambda d: __import__("keras_nted").appearance.load_mask(d / "grey16.png", (64, 44)),
        ValueError,
        "grey16.png",
    ),
    (
        "export-bad-version",
        lambda d: __import__("keras_nted").export.export_saved_model(MODEL, d.parent / "api_export", version=-2),
        ValueError,
        "version",
    ),
]


@pytest.mark.parametrize(
    "case_id, call, error, expected", _sampled(API_ERRORS), ids=[c[0] for c in _sampled(API_ERRORS)]
)
def test_python_api_rejects_bad_input_naming_it(case_id, call, error, expected, inputs):
    with pytest.raises(error, match=expected):
        call(inputs)
    assert not (inputs.parent / "api_out").exists() and not (inputs.parent / "api_export").exists(), (
        "written on failure"
    )


# Issue 23's Python API traps, on every backend (cheap rows: tiny layers, tiny models, errors
# raised before any model runs). (id, call(inputs folder) -> None, expected error, message regex).
def _features(*shape, dtype="float32"):
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(dtype)


def _built_nted():
    from keras_nted.layers import NTED

    layer = NTED(num_labels=4)
    layer(_features(2, 8, 6, 5), _features(2, 8, 6, 7))
    return layer


_TASK = {}


def _task():
    """`PoseTransfer` on the tiny preset, built once per module (its errors come before it runs)."""
    if not _TASK:
        from keras_nted.models import PoseTransfer

        _TASK["task"] = PoseTransfer.from_preset("nted_tiny")
    return _TASK["task"]


def _pose_transfer(image, keypoints=None, **kwargs):
    keypoints = _pose() if keypoints is None else keypoints
    return lambda d: _task().predict(image, keypoints, **{"keypoints_frame": "pixels", **kwargs})


def _written(d, name, text):
    folder = d.parent / "api23_inputs"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def _read_keypoints(name, text):
    def call(d):
        from keras_nted.data.keypoints import read_keypoints

        read_keypoints(_written(d, name, text) if text is not None else d.parent / "api23_inputs" / name)

    return call


def _bool_npy(d):
    from keras_nted.data.keypoints import read_keypoints

    folder = d.parent / "api23_inputs"
    folder.mkdir(exist_ok=True)
    np.save(folder / "bool.npy", _pose() > 30)
    read_keypoints(folder / "bool.npy")


def _generator_config_typo(d):
    from keras_nted.models import NTEDGenerator

    config = NTEDGenerator.from_preset("nted_tiny").get_config()
    NTEDGenerator.from_config({**config, "semantic_dimm": 20})


def _gan_on_frozen_generator(d):
    from keras_nted.models import NTEDGAN
    from keras_nted.models import NTEDDiscriminator
    from keras_nted.models import NTEDGenerator

    generator = NTEDGenerator.from_preset("nted_tiny")
    generator.trainable = False
    NTEDGAN(generator, NTEDDiscriminator.from_preset("nted_tiny"), None)


def _models():
    return __import__("keras_nted").models


_OPENPOSE_TRUE = json.dumps({"people": [{"pose_keypoints_2d": [True] * 54}]})
_OPENPOSE_DEEP = '{"people": [{"pose_keypoints_2d": ' + "[" * 100_000 + "]" * 100_000 + "}]}"
_OPENPOSE_401_DIGITS = '{"people": [{"pose_keypoints_2d": [' + "9" * 401 + ", 1.0" * 53 + "]}]}"

API_ERRORS_EVERY_BACKEND = [
    # PoseTransfer.predict: images and the keypoints' image size
    ("generate-float-image-in-0-1", _pose_transfer(_features(64, 44, 3) / 2 + 0.5), ValueError, "value_range"),
    ("generate-float-image-in-minus-1-1", _pose_transfer(_features(64, 44, 3)), ValueError, "value_range"),
    (
        "generate-float-image-beyond-range",
        _pose_transfer(_features(64, 44, 3), value_range=(0, 1)),
        ValueError,
        r"value_range=\(0, 1\)",
    ),  # fmt: skip
    ("generate-bool-image", _pose_transfer(np.ones((64, 44, 3), bool)), ValueError, r"images\[0\].dtype=bool"),
    ("generate-bool-keypoints", _pose_transfer(np.ones((64, 44, 3), "uint8"), _pose() > 30), ValueError, "boolean"),
    (
        "generate-keypoints-image-size-0x0",
        _pose_transfer(np.ones((64, 44, 3), "uint8"), keypoints_image_size=(0, 0)),
        ValueError,
        "keypoints_image_size",
    ),  # fmt: skip
    (
        "generate-keypoints-image-size-negative",
        _pose_transfer(np.ones((64, 44, 3), "uint8"), keypoints_image_size=(-5, 10)),
        ValueError,
        "keypoints_image_size",
    ),  # fmt: skip
    # NTED and its parts
    (
        "nted-batch-2-vs-3",
        lambda d: _built_nted()(_features(2, 8, 6, 5), _features(3, 8, 6, 7)),
        ValueError,
        "equal batch sizes",
    ),  # fmt: skip
    (
        "nted-0x0-maps",
        lambda d: __import__("keras_nted").layers.NTED(4)(_features(2, 0, 0, 5), _features(2, 8, 6, 7)),
        ValueError,
        r"reference_features.shape=\(2, 0, 0, 5\)",
    ),  # fmt: skip
    (
        "nted-other-channels-after-build",
        lambda d: _built_nted()(_features(2, 8, 6, 9), _features(2, 8, 6, 7)),
        ValueError,
        "reference_features.*5 channels",
    ),  # fmt: skip
    ("nted-list-of-three", lambda d: _built_nted()([_features(2, 8, 6, 5)] * 3), ValueError, "two"),
    (
        "nted-distribute-wrong-k",
        lambda d: _built_nted().distribute(_features(2, 8, 6, 7), _features(2, 3, 7)),
        ValueError,
        r"textures.*\(batch, 4, channels\)",
    ),  # fmt: skip
    (
        "equalized-conv-rank-2",
        lambda d: __import__("keras_nted").layers.EqualizedConv2D(4, 3)(_features(3, 4)),
        ValueError,
        r"inputs.shape=\(3, 4\)",
    ),  # fmt: skip
    (
        "upfirdn2d-pad-minus-10",
        lambda d: __import__("keras_nted").layers.upfirdn2d(_features(1, 8, 8, 2), np.ones((4, 4)), pad=(-10, -10)),
        ValueError,
        r"pad=\(-10, -10\)",
    ),  # fmt: skip
    # Models: batches, unknown keywords, a frozen generator
    (
        "generator-batch-2-vs-1",
        lambda d: _models().NTEDGenerator.from_preset("nted_tiny")([_features(2, 64, 44, 3), _features(1, 64, 44, 20)]),
        ValueError,
        "equal batch sizes",
    ),  # fmt: skip
    ("generator-config-typo", _generator_config_typo, ValueError, "semantic_dimm.*Expected one of: size"),
    (
        "generator-from-preset-typo",
        lambda d: _models().NTEDGenerator.from_preset("nted_tiny", image_widht=44),
        ValueError,
        "image_widht.*Expected one of: size",
    ),  # fmt: skip
    (
        "discriminator-from-preset-typo",
        lambda d: _models().NTEDDiscriminator.from_preset("nted_tiny", chanels={}),
        ValueError,
        "chanels.*Expected one of: size",
    ),  # fmt: skip
    (
        "gan-from-preset-typo",
        lambda d: _models().NTEDGAN.from_preset("nted_tiny", vgg_weights="none", gan_start=3),
        ValueError,
        "gan_start.*Expected one of: name",
    ),  # fmt: skip
    (
        "gan-training-typo",
        lambda d: _models().NTEDGAN.from_model_config(
            {**_models().PRESETS["nted_tiny"], "training": {"weight_l1x": 1.0}}, vgg_weights="none"
        ),
        ValueError,
        "weight_l1x.*Expected one of: weight_perceptual",
    ),  # fmt: skip
    ("gan-frozen-generator", _gan_on_frozen_generator, ValueError, "generator.trainable"),
    # SkeletonRenderer on concrete keypoints
    (
        "skeleton-renderer-nan",
        lambda d: __import__("keras_nted").layers.SkeletonRenderer(64, 44)(_bad((3, 0), np.nan)[None]),
        ValueError,
        r"finite.*\[3\]",
    ),  # fmt: skip
    (
        "skeleton-renderer-inf",
        lambda d: __import__("keras_nted").layers.SkeletonRenderer(64, 44)(_bad((5, 1), np.inf)[None]),
        ValueError,
        r"finite.*\[5\]",
    ),  # fmt: skip
    # Keypoint files
    ("openpose-json-true", _read_keypoints("true_keypoints.json", _OPENPOSE_TRUE), ValueError, "booleans"),
    ("npy-bool", _bool_npy, ValueError, "boolean"),
    (
        "openpose-json-nested-100000",
        _read_keypoints("deep_keypoints.json", _OPENPOSE_DEEP),
        ValueError,
        "not an OpenPose keypoints JSON file.*RecursionError",
    ),  # fmt: skip
    (
        "openpose-json-401-digits",
        _read_keypoints("digits_keypoints.json", _OPENPOSE_401_DIGITS),
        ValueError,
        "not an OpenPose keypoints JSON file.*OverflowError",
    ),  # fmt: skip
]


@pytest.mark.parametrize(
    "case_id, call, error, expected", API_ERRORS_EVERY_BACKEND, ids=[c[0] for c in API_ERRORS_EVERY_BACKEND]
)
def test_python_api_traps_raise_one_value_error_naming_the_argument(case_id, call, error, expected, inputs):
    with pytest.raises(error, match=expected) as raised:
        call(inputs)
    assert len(str(raised.value).splitlines()) == 1, str(raised.value)


def test_python_api_reads_what_has_a_meaning(inputs):
    from keras_nted.data import read_openpose_json
    from keras_nted.data.images import read_image

    np.testing.assert_array_equal(read_openpose_json(inputs / "bom_keypoints.json"), _pose())
    np.testing.assert_array_equal(read_openpose_json(inputs / "two_keypoints.json"), _pose())  # most confident
    np.testing.assert_array_equal(read_openpose_json(inputs / "two_keypoints.json", person=0), _pose(5.0, 5.0))
    assert np.asarray(read_image(inputs / "grey16.png")).tolist()[0][0] == [128, 128, 128]


# Serving: bad requests to one export of the shipped model, from a TensorFlow-only process.
SERVING_CLIENT = r"""
import json, sys
import numpy as np
import tensorflow as tf

loaded = tf.saved_model.load(sys.argv[1])
serving, skeleton_fn = loaded.signatures["serving_default"], loaded.signatures["generate_from_skeleton"]
image = np.zeros((1, 64, 44, 3), np.uint8)
keypoints = np.full((1, 18, 2), -1.0, np.float32)
keypoints[0, :4] = [[20, 10], [22, 20], [14, 21], [30, 21]]
def bad(value, index=(0, 1, 0)):
    k = keypoints.copy(); k[index] = value; return k
requests = {
    "empty-batch": (serving, image[:0], keypoints[:0]),
    "2-images-3-keypoint-sets": (serving, np.repeat(image, 2, 0), np.repeat(keypoints, 3, 0)),
    "2-images-1-keypoint-set": (serving, np.repeat(image, 2, 0), keypoints),
    "1-image-2-keypoint-sets": (serving, image, np.repeat(keypoints, 2, 0)),
    "nan-keypoint": (serving, image, bad(np.nan)),
    "inf-keypoint": (serving, image, bad(np.inf)),
    "3e9-keypoint": (serving, image, bad(3e9)),
    "skeleton-empty-batch": (skeleton_fn, np.zeros((0, 64, 44, 3), np.float32), np.zeros((0, 64, 44, 20), np.float32)),
    "skeleton-2-images-1-skeleton": (
        skeleton_fn, np.zeros((2, 64, 44, 3), np.float32), np.zeros((1, 64, 44, 20), np.float32)),
    "ok": (serving, np.repeat(image, 2, 0), np.repeat(keypoints, 2, 0)),
}
results = {}
for name, (fn, a, b) in requests.items():
    names = ["reference_image", "keypoints" if fn is serving else "skeleton"]
    try:
        out = fn(**{names[0]: tf.constant(a), names[1]: tf.constant(b)})["image"]
        results[name] = "ok " + str(tuple(out.shape))
    except tf.errors.InvalidArgumentError as e:
        lines = [line for line in e.message.splitlines() if "assertion failed" in line]
        results[name] = lines[0] if lines else " ".join(e.message.split())
print(json.dumps(results))
"""

SERVING_ERRORS = {
    "empty-batch": "Expected a non-empty batch",
    "2-images-3-keypoint-sets": r"Expected reference_image and keypoints with equal batch sizes .*\[2\] \[3\]",
    "2-images-1-keypoint-set": r"Expected reference_image and keypoints with equal batch sizes .*\[2\] \[1\]",
    "1-image-2-keypoint-sets": r"Expected reference_image and keypoints with equal batch sizes .*\[1\] \[2\]",
    "nan-keypoint": "Expected finite keypoints",
    "inf-keypoint": "Expected finite keypoints",
    "3e9-keypoint": "Expected keypoint coordinates within",
    "skeleton-empty-batch": "Expected a non-empty batch",
    "skeleton-2-images-1-skeleton": r"Expected reference_image and skeleton with equal batch sizes .*\[2\] \[1\]",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from keras_nted.export import export_saved_model

    path = export_saved_model(MODEL, tmp_path_factory.mktemp("serving") / "models")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run([sys.executable, "-c", SERVING_CLIENT, str(path)], env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return path, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case_id", sorted(SERVING_ERRORS))
def test_serving_rejects_bad_requests_clearly(case_id, served):
    import re

    message = served[1][case_id]
    assert re.search(SERVING_ERRORS[case_id], message), message


def test_serving_accepts_a_good_batch_and_the_version_folder_follows_the_umask(served):
    path, results = served
    assert results["ok"] == "ok (2, 64, 44, 3)"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o777 & ~umask


# Start-up: fresh processes, side by side; each sets its own backend, so they are collected in
# the TensorFlow session only (the same processes would only run again in the others).
# (id, extra env, blocked imports, argv, expected stderr regex or None,
# expected stdout regex): exit 2 and one stderr line when a stderr regex is given, else exit 0.
STARTUP = [
    ("keras-backend-bogus", {"KERAS_BACKEND": "bogus"}, "", ["--version"], "KERAS_BACKEND=bogus", None),
    ("keras-backend-numpy", {"KERAS_BACKEND": "numpy"}, "", ["demo"], "KERAS_BACKEND=numpy", None),
    ("backend-torch-not-installed", {}, "torch", ["--backend", "torch", "--version"], "torch .*not installed", None),
    (
        "convert-pt-without-torch",
        {"KERAS_BACKEND": "jax"},
        "torch",
        ["convert", "x.pt", "-o", "x.keras"],
        "needs torch",
        None,
    ),
    # A JAX-only install with KERAS_BACKEND unset (Keras alone would pick TensorFlow), making JAX
    # arrays: JAX logs "Unable to initialize backend 'tpu'" at INFO when it starts.
    (
        "jax-only-install-unset-backend",
        {"KERAS_BACKEND": None},
        "torch,tensorflow",
        ["convert", "{d}/released.npz", "--config", "{d}/tiny.json", "-o", "g.keras"],
        None,
        "81,601 parameters",
    ),
    ("tensorflow-help-without-banners", {"KERAS_BACKEND": "tensorflow"}, "", ["--help"], None, "usage: keras-nted"),
    # Help and versions import no Keras and no backend: they work with those imports blocked.
    ("help-imports-no-keras", {}, "keras,tensorflow,jax,torch", ["train", "--help"], None, "usage: keras-nted train"),
    (
        "version-imports-no-keras",
        {"KERAS_BACKEND": "jax"},
        "keras",
        ["--version"],
        None,
        r"keras-nted \S+ \(Keras 3\.\S+, backend jax\)",
    ),
    (
        "tensorflow-error-is-one-line",
        {"KERAS_BACKEND": "tensorflow"},
        "",
        ["generate", "-o", "x"],
        "Give --reference",
        None,
    ),
]


@pytest.fixture(scope="module")
def startup_results(tmp_path_factory, inputs):
    cwd = tmp_path_factory.mktemp("startup")
    (cwd / "x.pt").write_bytes(b"x")
    processes = {}
    for case_id, env_update, blocked, argv, _, _ in STARTUP:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCKER), str(REPO)]), KERAS_NTED_BLOCK_IMPORTS=blocked)
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user has: nothing set
        for key, value in env_update.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        processes[case_id] = subprocess.Popen(
            [sys.executable, "-m", "keras_nted", *_format(argv, inputs, "")],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for case_id, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        results[case_id] = (process.returncode, stdout, stderr)
    return results


if keras.backend.backend() == "tensorflow":

    @pytest.mark.parametrize("case_id, env, blocked, argv, error, output", STARTUP, ids=[c[0] for c in STARTUP])
    def test_start_up_problems_are_one_line_before_keras_fails(
        case_id, env, blocked, argv, error, output, startup_results
    ):
        import re

        code, stdout, stderr = startup_results[case_id]
        # A command may say first what it loads; --help and --version load nothing.
        loading = [line for line in stderr.splitlines() if line.startswith("keras-nted: loading Keras (")]
        assert len(loading) <= (0 if "--help" in argv or "--version" in argv else 1), stderr
        assert not loading or stderr.startswith(loading[0]), stderr
        stderr = "".join(line + "\n" for line in stderr.splitlines() if line not in loading)
        assert "Traceback" not in stderr and "absl" not in stderr and "oneDNN" not in stderr, stderr
        assert "Unable to initialize backend" not in stderr, stderr
        if error is None:
            assert code == 0, stderr
            assert stderr == "", stderr
            assert re.search(output, stdout), stdout
        else:
            assert code == 2, (stdout, stderr)
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and re.search(error, lines[0]), stderr
