"""frechet_distance vs pytorch-fid 0.3.0, FeatureStatistics vs np.cov, the Keras metric vs both."""

import logging

import keras
import numpy as np
import pytest

from keras_nted.metrics import FeatureStatistics
from keras_nted.metrics import FrechetInceptionDistance
from keras_nted.metrics import frechet_distance
from tests.helpers import to_numpy

CASES = ["random", "ill_conditioned", "rank_deficient", "eps_fallback"]
FIELDS = ("mu1", "sigma1", "mu2", "sigma2")


def case(fixture, name):
    return [fixture[f"frechet_{name}_{field}"] for field in FIELDS]


@pytest.mark.parametrize("name", CASES)
def test_frechet_distance_matches_pytorch_fid(inception_fixture, name, caplog):
    with caplog.at_level(logging.WARNING, logger="keras_nted.metrics.fid"):
        got = frechet_distance(*case(inception_fixture, name))
    expected = float(inception_fixture[f"frechet_{name}_distance"])
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert ("singular" in caplog.text) == (name == "eps_fallback")


def test_frechet_distance_refusals(inception_fixture):
    with pytest.raises(ValueError, match="Expected a real square root .* Received: an imaginary component of"):
        frechet_distance(*[inception_fixture[f"frechet_error_imaginary_{field}"] for field in FIELDS])
    with pytest.raises(ValueError, match=r"Expected mu1 and mu2 of the same shape. Received: \(2,\) and \(3,\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="Expected sigma1 and sigma2 of the same shape"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))


def features(seed, count, dims=6):
    # Far from the origin, as Inception features are: a naive sum of squares would cancel.
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, dims)) @ rng.standard_normal((dims, dims)) + 50.0


def test_statistics_equal_numpy_over_any_batching():
    data = features(0, 23)
    stats = FeatureStatistics()
    for start, stop in ((0, 1), (1, 9), (9, 9), (9, 23)):
        stats.update(data[start:stop])
    assert stats.count == 23
    np.testing.assert_allclose(stats.mean, data.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats.covariance, np.cov(data, rowvar=False), rtol=1e-10)
    merged = FeatureStatistics().update(data[:5]).merge(FeatureStatistics().update(data[5:]))
    np.testing.assert_allclose(merged.covariance, np.cov(data, rowvar=False), rtol=1e-10)
    other = features(1, 17)
    expected = frechet_distance(data.mean(0), np.cov(data, rowvar=False), other.mean(0), np.cov(other, rowvar=False))
    assert stats.frechet_distance(FeatureStatistics().update(other)) == pytest.approx(expected, rel=1e-9)


def test_statistics_files_use_pytorch_fids_layout(tmp_path):
    stats = FeatureStatistics().update(features(2, 10))
    path = stats.save(tmp_path / "real.npz")
    with np.load(path) as data:
        np.testing.assert_array_equal(data["mu"], stats.mean)
        np.testing.assert_array_equal(data["sigma"], stats.covariance)
    assert [p.name for p in tmp_path.iterdir()] == ["real.npz"]  # no temporary left behind
    loaded = FeatureStatistics.load(path).update(features(3, 4))
    reference = FeatureStatistics().update(features(2, 10)).update(features(3, 4))
    np.testing.assert_allclose(loaded.covariance, reference.covariance, rtol=1e-10)
    # pytorch-fid's own files have no count: usable for a distance, not for more updates.
    np.savez(tmp_path / "pytorch_fid.npz", mu=stats.mean, sigma=stats.covariance)
    frozen = FeatureStatistics.load(tmp_path / "pytorch_fid.npz")
    assert frozen.count is None and frozen.frechet_distance(stats) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="Expected statistics with a count"):
        frozen.update(features(3, 4))
    np.savez(tmp_path / "other.npz", mean=stats.mean)
    with pytest.raises(ValueError, match="Expected an .npz with the arrays mu and sigma"):
        FeatureStatistics.load(tmp_path / "other.npz")


def test_statistics_refusals():
    with pytest.raises(ValueError, match="Expected statistics of at least one feature vector"):
        _ = FeatureStatistics().mean
    with pytest.raises(ValueError, match="Expected at least 2 feature vectors for a covariance. Received: 1"):
        _ = FeatureStatistics().update(np.ones((1, 3))).covariance
    with pytest.raises(ValueError, match="Expected 3-d features. Received: 4-d"):
        FeatureStatistics().update(np.ones((2, 3))).update(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"Expected features of shape \(batch, dims\)"):
        FeatureStatistics().update(np.ones(3))


@pytest.fixture(scope="module")
def tiny_inception():
    """A stand-in for Inception: 8x8 images to 6 features far from the origin."""
    images = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(images)
    dense = keras.layers.Dense(6, kernel_initializer="zeros", bias_initializer="zeros")
    model = keras.Model(images, dense(x))
    rng = np.random.default_rng(4)
    dense.set_weights([rng.standard_normal((192, 6)).astype("float32") * 0.3, np.full(6, 40.0, "float32")])
    return model


def image_batches(seed, sizes, shift=0.0):
    rng = np.random.default_rng(seed)
    return [(rng.random((n, 8, 8, 3)) * (1.0 - shift) + shift).astype("float32") for n in sizes]


def numpy_distance(inception, real, generated):
    stats = [FeatureStatistics(), FeatureStatistics()]
    for batch_real, batch_generated in zip(real, generated):
        stats[0].update(to_numpy(inception(batch_real)))
        stats[1].update(to_numpy(inception(batch_generated)))
    return stats, stats[0].frechet_distance(stats[1])


def tolerance(metric):
    # float32 state (JAX without x64) vs float64 everywhere else.
    return 1e-4 if metric.dtype == "float32" else 1e-9


def test_metric_equals_the_numpy_path(tiny_inception):
    real, generated = image_batches(5, (4, 3, 5)), image_batches(6, (4, 3, 5), shift=0.2)
    metric = FrechetInceptionDistance(tiny_inception)
    assert np.isnan(float(to_numpy(metric.result())))
    for batch_real, batch_generated in zip(real, generated):
        metric.update_state(batch_real, batch_generated)
    stats, expected = numpy_distance(tiny_inception, real, generated)
    result = metric.result()
    assert str(to_numpy(result).dtype) == metric.dtype
    assert float(to_numpy(result)) == pytest.approx(expected, rel=tolerance(metric))
    state = metric.statistics()
    assert state["real"].count == 12
    np.testing.assert_allclose(state["generated"].covariance, stats[1].covariance, rtol=10 * tolerance(metric))
    metric.reset_state()
    assert metric.statistics()["real"].count == 0
    with pytest.raises(ValueError, match="Expected sample_weight=None"):
        metric.update_state(real[0], generated[0], sample_weight=np.ones(4))


def test_metric_in_evaluate(tiny_inception):
    inputs = keras.Input((8, 8, 3))
    generator = keras.Model(inputs, keras.layers.Rescaling(0.9, 0.05)(inputs))
    metric = FrechetInceptionDistance(tiny_inception)
    generator.compile(loss="mse", metrics=[metric])
    (sources,) = image_batches(7, (10,))
    (targets,) = image_batches(8, (10,))
    logs = generator.evaluate(sources, targets, batch_size=4, return_dict=True, verbose=0)
    fakes = to_numpy(generator(sources))
    _, expected = numpy_distance(tiny_inception, [targets], [fakes])
    # Batches of 4 instead of 10: float32 features differ by rounding (features ~40, FID ~4).
    assert logs["fid"] == pytest.approx(expected, rel=max(tolerance(metric), 1e-5))
