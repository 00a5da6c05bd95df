"""`keras-nted metrics`: pairing, protocols, statistics files and every bad input, end to end."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from keras_nted.cli import main

SIZE = (64, 52)


def _save(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """6 ground truths and 6 generated images (noisy copies) at 64x52, plus hostile variants."""
    d = tmp_path_factory.mktemp("metrics")
    rng = np.random.default_rng(0)
    for i in range(6):
        truth = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
        noisy = np.clip(truth.astype(int) + rng.integers(-40, 41, truth.shape), 0, 255).astype(np.uint8)
        _save(d / "gt" / f"p{i}.png", truth)
        _save(d / "gen" / f"p{i}.png", noisy)
        _save(d / "released" / f"src{i}_2_p{i}_vis.png", noisy)
        _save(d / "real" / "img" / f"r{i}.png", rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8))
        _save(d / "small" / f"p{i}.png", noisy[::2, ::2])
    _save(d / "unpaired" / "p0.png", truth)
    _save(d / "unpaired" / "nobody.png", truth)
    _save(d / "unpaired" / "x_2_ghost_vis.png", truth)
    (d / "unreadable").mkdir()
    (d / "unreadable" / "p0.png").write_text("not an image")
    _save(d / "mixed" / "p0.png", truth)
    _save(d / "mixed" / "p1.png", truth[:32])
    (d / "empty").mkdir()
    _save(d / "square" / "gt" / "p0.png", np.zeros((64, 70, 3), np.uint8))
    _save(d / "square" / "gen" / "p0.png", np.zeros((64, 70, 3), np.uint8))
    _save(d / "narrow" / "p0.png", np.zeros((64, 44, 3), np.uint8))
    (d / "stats_text.npz").write_text("not an npz")
    np.savez(d / "stats_keys.npz", mean=np.zeros(4), cov=np.eye(4))
    np.savez(d / "stats_shape.npz", mu=np.zeros(4), sigma=np.eye(3))
    np.savez(d / "stats_nan.npz", mu=np.full(4, np.nan), sigma=np.eye(4))
    np.savez(d / "stats_pidm.npz", mu=np.zeros(4), sigma=np.eye(4), protocol=np.array("pidm"))
    np.savez(d / "stats_small.npz", mu=np.zeros(4), sigma=np.eye(4))
    (d / "weights.pth").write_bytes(b"never read: the arguments fail first")
    (d / "a_folder.json").mkdir()
    return d


FIDLESS = ["--metrics", "ssim,psnr"]

# (id, argv with {d} the folders, a regex the one-line error must match). Every row exits 2
# with one line on stderr before any network weights are read.
METRICS_ERRORS = [
    ("unpaired", ["{d}/unpaired", "{d}/gt", *FIDLESS], r"2 of 3 generated images have no ground truth .*e\.g\. "),
    ("unreadable", ["{d}/unreadable", "{d}/gt", *FIDLESS], r"Could not read .*p0\.png"),
    ("empty", ["{d}/empty", "{d}/gt", *FIDLESS], r"Expected image files .* GENERATED folder"),
    ("missing-folder", ["{d}/nope", "{d}/gt", *FIDLESS], r"GENERATED folder not found"),
    ("sizes-differ", ["{d}/small", "{d}/gt", "--protocol", "gfla", *FIDLESS], r"ground truth's size under protocol"),
    ("several-sizes", ["{d}/gen", "{d}/mixed", "--pairs", "{d}/nope.txt"], r"Pairs file not found"),
    ("mixed-ground-truth", ["{d}/mixed", "{d}/mixed", *FIDLESS], r"ground-truth images of one size.* 2 sizes"),
    ("dptn-square", ["{d}/square/gen", "{d}/square/gt", "--protocol", "dptn", *FIDLESS], r"pad to a square"),
    ("ssim-window", ["{d}/narrow", "{d}/narrow", "--metrics", "ssim"], r"at least 51x51 .* Received: 64x44"),
    ("unknown-metric", ["{d}/gen", "{d}/gt", "--metrics", "ssim,fsim"], r"Expected --metrics from"),
    ("batch-size", ["{d}/gen", "{d}/gt", "--batch-size", "0"], r"--batch-size >= 1"),
    ("fid-no-real", ["{d}/gen", "{d}/gt", "--metrics", "fid", "--fid-weights", "{d}/weights.pth"], r"real set"),
    (
        "fid-both-reals",
        ["{d}/gen", "{d}/gt", "--metrics", "fid", "--real", "{d}/real", "--real-stats", "{d}/stats_small.npz"],
        r"--real DIR or --real-stats FILE\.npz, not both",
    ),
    ("fid-no-weights", ["{d}/gen", "{d}/gt", "--metrics", "fid", "--real", "{d}/real"], r"Inception weights"),
    ("real-pairs-alone", ["{d}/gen", "{d}/gt", "--real-pairs", "{d}/x.txt", *FIDLESS], r"--real-pairs goes with"),
    ("save-stats-alone", ["{d}/gen", "{d}/gt", "--save-stats", "{d}/s.npz", *FIDLESS], r"--save-stats .* --real"),
    ("output-folder", ["{d}/gen", "{d}/gt", "-o", "{d}/a_folder.json", *FIDLESS], r"Expected -o to be a file"),
]
FID_STATS = ["{d}/gen", "{d}/gt", "--metrics", "fid", "--fid-weights", "{d}/weights.pth", "--real-stats"]
METRICS_ERRORS += [
    ("stats-not-npz", [*FID_STATS, "{d}/stats_text.npz"], r"Could not read statistics file"),
    ("stats-keys", [*FID_STATS, "{d}/stats_keys.npz"], r"to hold mu and sigma"),
    ("stats-shapes", [*FID_STATS, "{d}/stats_shape.npz"], r"mu \(d,\) and sigma \(d, d\)"),
    ("stats-nan", [*FID_STATS, "{d}/stats_nan.npz"], r"finite mu and sigma"),
    ("stats-protocol", [*FID_STATS, "{d}/stats_pidm.npz"], r"prepared under protocol 'pidm'"),
    ("stats-missing", [*FID_STATS, "{d}/nope.npz"], r"Statistics file not found"),
]


@pytest.mark.parametrize("case_id, argv, expected", METRICS_ERRORS, ids=[row[0] for row in METRICS_ERRORS])
def test_bad_input_is_one_line_and_exit_2(case_id, argv, expected, folders, capsys):
    before = sorted(folders.rglob("*"))
    code = main(["metrics", *[a.format(d=folders) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-nted metrics: error: "), err
    assert re.search(expected, lines[0]), lines[0]
    assert sorted(folders.rglob("*")) == before, "written on failure"


def _read(path):
    return np.asarray(Image.open(path).convert("RGB"))


def _expected_pixel_scores(gen_files, gt_files, protocol):
    """The library's SSIM / PSNR called directly on the files, prepared as `protocol` says."""
    import keras

    from keras_nted import metrics
    from keras_nted.metrics.protocols import get_protocol

    p = get_protocol(protocol)
    gt = np.stack([p.pixel_image(_read(f)) for f in gt_files])
    pred = np.stack([p.pixel_image(p.match_pair(_read(t), _read(f))) for f, t in zip(gen_files, gt_files)])
    values = {
        "ssim": metrics.ssim(gt, pred),
        "ssim_256": metrics.ssim_256(gt, pred, sigma=p.ssim_256_sigma),
        "psnr": metrics.psnr(gt, pred),
    }
    return {k: float(np.mean(keras.ops.convert_to_numpy(v))) for k, v in values.items()}


@pytest.mark.parametrize(
    "protocol, generated", [("cfld", "gen"), ("cfld", "small"), ("pidm", "released"), ("dptn", "gen")]
)
def test_pixel_metrics_end_to_end_equal_the_library_called_directly(protocol, generated, folders, tmp_path, capsys):
    out = tmp_path / "scores.json"
    argv = ["metrics", str(folders / generated), str(folders / "gt"), "--protocol", protocol]
    assert main([*argv, "--metrics", "ssim,ssim_256,psnr", "-o", str(out), "--batch-size", "4"]) == 0
    captured = capsys.readouterr()
    assert "6/6" in captured.out and "| ssim_256 |" in captured.out
    scores = json.loads(out.read_text())
    gen_files = sorted((folders / generated).glob("*.png"))
    gt_files = [
        folders / "gt" / f"p{f.name.split('_2_')[-1][1] if '_2_' in f.name else f.name[1]}.png" for f in gen_files
    ]
    expected = _expected_pixel_scores(gen_files, gt_files, protocol)
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, rel=1e-6), name
    assert scores["lpips"] is None and scores["fid"] is None and scores["protocol"] == protocol
    assert scores["counts"]["pairs"] == 6 and scores["image_size"] == list(SIZE)
