"""The Frechet distance of FID: pytorch-fid's formula, feature statistics, and a Keras metric.

FID compares two sets of Inception features (`keras_nted.metrics.inception`) through the mean
and covariance of each: `||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2))`.
"""

import logging
import warnings

import keras
import numpy as np
import scipy.linalg
from keras import ops

from keras_nted.backend.precision import float64_available
from keras_nted.files import atomic_path

logger = logging.getLogger(__name__)

# scipy 1.16 deprecated `sqrtm(disp=False)` (pytorch-fid's call) and 1.18 removes it; without it,
# 1.16+ returns the same root, and older versions would print instead of returning an estimate.
_SQRTM_TAKES_DISP = tuple(int(part) for part in scipy.__version__.split(".")[:2]) < (1, 16)


def _matrix_sqrt(matrix):
    # A singular product is detected and handled by the caller (the eps fallback), as in pytorch-fid.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        if _SQRTM_TAKES_DISP:
            return scipy.linalg.sqrtm(matrix, disp=False)[0]
        return scipy.linalg.sqrtm(matrix)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """The Frechet distance between two Gaussians, computed as pytorch-fid 0.3.0 computes it.

    `||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2) - 2 Tr(sqrtm(sigma1 @ sigma2))`, with
    `scipy.linalg.sqrtm`. When the root is not finite (a singular product), `eps` is added to
    both diagonals and the root taken again (logged as a warning, which pytorch-fid prints);
    an imaginary part within 1e-3 on the root's diagonal is numerical noise and dropped.

    Args:
        mu1, mu2: feature means, `(dims,)`.
        sigma1, sigma2: feature covariances, `(dims, dims)`.
        eps: the diagonal offset of the fallback.

    Returns:
        The distance, a Python float.

    Raises:
        ValueError: for shapes that do not pair, or a root whose diagonal has an imaginary
            part above 1e-3 (covariances that are not positive semi-definite).

    Example:
    >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
    2.0

    Reference:
        Dowson and Landau, "The Frechet distance between multivariate normal distributions",
        J. Multivariate Analysis 1982; Heusel et al., NeurIPS 2017.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"Expected mu1 and mu2 of the same shape. Received: {mu1.shape} and {mu2.shape}")
    if sigma1.shape != sigma2.shape:
        raise ValueError(f"Expected sigma1 and sigma2 of the same shape. Received: {sigma1.shape} and {sigma2.shape}")
    diff = mu1 - mu2
    covmean = _matrix_sqrt(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        logger.warning("FID: the covariance product is singular; adding %s to the diagonal of both", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _matrix_sqrt((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                "Expected a real square root of sigma1 @ sigma2 (covariances positive semi-definite). "
                f"Received: an imaginary component of {np.max(np.abs(covmean.imag)):.4g}"
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


class FeatureStatistics:
    """Running mean and covariance of feature vectors, in float64 (FID's `mu` and `sigma`).

    Batches are combined exactly (Chan et al.'s pairwise update of the mean and the centred
    scatter matrix), so the statistics of a set do not depend on how it was batched and two
    accumulators over disjoint sets merge into those of their union. `covariance` is
    `np.cov(features, rowvar=False)` (ddof 1), as pytorch-fid computes it.

    Files: `save` writes pytorch-fid's `.npz` layout (`mu`, `sigma`) plus `count`; `load`
    reads either (a file without `count` gives statistics that cannot be updated or merged).

    Example:
    >>> stats = FeatureStatistics().update(np.eye(3)).update(np.ones((1, 3)))
    >>> stats.count, stats.mean.round(2).tolist()
    (4, [0.5, 0.5, 0.5])
    """

    def __init__(self):
        self._count = 0
        self._mean = None
        self._scatter = None
        self._frozen_covariance = None

    @property
    def count(self):
        """The number of feature vectors seen (`None` for statistics loaded without a count)."""
        return None if self._frozen_covariance is not None else self._count

    @property
    def mean(self):
        """`(dims,)` float64 mean."""
        self._check_filled()
        return self._mean.copy()

    @property
    def covariance(self):
        """`(dims, dims)` float64 sample covariance (divided by `count - 1`)."""
        self._check_filled()
        if self._frozen_covariance is not None:
            return self._frozen_covariance.copy()
        if self._count < 2:
            raise ValueError(f"Expected at least 2 feature vectors for a covariance. Received: {self._count}")
        return self._scatter / (self._count - 1)

    def _check_filled(self):
        if self._mean is None:
            raise ValueError("Expected statistics of at least one feature vector. Received: none (call update first)")

    def _check_updatable(self):
        if self._frozen_covariance is not None:
            raise ValueError("Expected statistics with a count. Received: statistics loaded from a file without one")

    def _combine(self, count, mean, scatter):
        if self._mean is not None and mean.shape != self._mean.shape:
            raise ValueError(f"Expected {self._mean.shape[0]}-d features. Received: {mean.shape[0]}-d")
        if self._mean is None:
            self._count, self._mean, self._scatter = count, mean, scatter
            return self
        total = self._count + count
        delta = mean - self._mean
        self._mean = self._mean + delta * (count / total)
        self._scatter = self._scatter + scatter + np.outer(delta, delta) * (self._count * count / total)
        self._count = total
        return self

    def update(self, features):
        """Adds a `(batch, dims)` batch of feature vectors; returns `self`."""
        self._check_updatable()
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2:
            raise ValueError(f"Expected features of shape (batch, dims). Received: shape {features.shape}")
        if len(features) == 0:
            return self
        mean = features.mean(axis=0)
        centred = features - mean
        return self._combine(len(features), mean, centred.T @ centred)

    def merge(self, other):
        """Adds the vectors another accumulator has seen (the union of both sets); returns `self`."""
        self._check_updatable()
        other._check_updatable()
        if other._mean is None:
            return self
        return self._combine(other._count, other._mean.copy(), other._scatter.copy())

    def frechet_distance(self, other, eps=1e-6):
        """The Frechet distance between these statistics and `other`'s (`frechet_distance`)."""
        return frechet_distance(self.mean, self.covariance, other.mean, other.covariance, eps=eps)

    def save(self, path):
        """Writes `mu`, `sigma` (pytorch-fid's keys) and `count` to an `.npz`, atomically."""
        arrays = {"mu": self.mean, "sigma": self.covariance}
        if self.count is not None:
            arrays["count"] = np.array(self.count)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path):
        """Reads an `.npz` with `mu` and `sigma` (pytorch-fid's, or `save`'s with `count`)."""
        with np.load(path) as data:
            if "mu" not in data or "sigma" not in data:
                raise ValueError(f"Expected an .npz with the arrays mu and sigma. Received: {path} with {data.files}")
            mean, covariance = data["mu"].astype(np.float64), data["sigma"].astype(np.float64)
            count = int(data["count"]) if "count" in data else None
        if mean.ndim != 1 or covariance.shape != (len(mean), len(mean)):
            raise ValueError(
                f"Expected mu (dims,) and sigma (dims, dims). Received: {mean.shape} and {covariance.shape}"
            )
        stats = cls()
        stats._mean = mean
        if count is None:
            stats._frozen_covariance = covariance
        else:
            stats._count, stats._scatter = count, covariance * (count - 1)
        return stats


def _trace_sqrt_product(sigma1, sigma2):
    """`Tr(sqrtm(sigma1 @ sigma2))` for symmetric positive semi-definite matrices, in `keras.ops`.

    `sigma1 @ sigma2` is similar to `R @ sigma2 @ R` with `R = sqrtm(sigma1)`, a symmetric
    positive semi-definite matrix, so the trace is the sum of the square roots of that
    matrix's eigenvalues; `eigh` twice replaces scipy's Schur-based `sqrtm` inside a graph.
    Products are `einsum` and clipping is `relu`: Keras' type promotion turns float64 into
    float32 in `matmul` and `maximum` on PyTorch (its `result_type` maps 64-bit to 32-bit
    outside TensorFlow), while these keep the operands' dtype.
    """
    values, vectors = ops.eigh(sigma1)
    root = ops.einsum("ik,jk->ij", vectors * ops.sqrt(ops.relu(values)), vectors)
    inner = ops.einsum("ik,kl,lj->ij", root, sigma2, root)
    values, _ = ops.eigh((inner + ops.transpose(inner)) / 2.0)
    return ops.sum(ops.sqrt(ops.relu(values)))


class FrechetInceptionDistance(keras.metrics.Metric):
    """FID between the images a model generates and the real ones, as a Keras metric.

    `update_state(y_true, y_pred)` runs `inception` on both batches and accumulates, for each
    set, the count, the sum and the scatter matrix of the features; `result()` is the Frechet
    distance of the two sets' means and covariances. Use it in `compile(metrics=[...])` of a
    model whose targets are real images and whose outputs are generated ones, so that
    `evaluate` (or validation in `fit`) reports FID over the whole pass; it resets with the
    other metrics.

    Precision: the state is float64 where the backend holds float64 (TensorFlow, PyTorch, and
    JAX with `JAX_ENABLE_X64=1`). On JAX without x64 it is float32, and the sums are taken
    about the first batch's mean (features minus that shift), so the covariance never
    subtracts two large, nearly equal numbers; the square-root trace uses two symmetric
    eigendecompositions (`eigh`) instead of scipy's `sqrtm`, which equals pytorch-fid's value
    for positive semi-definite covariances (tests/metrics/test_fid.py checks both against
    `FeatureStatistics` and `frechet_distance`). For pytorch-fid's exact arithmetic (its eps
    fallback included) over a data set, accumulate `FeatureStatistics` and call
    `frechet_distance`; `statistics()` gives this metric's state in that form.

    Args:
        inception: a model from images to `(batch, dims)` features, e.g.
            `keras_nted.metrics.inception_v3(...)` (2048 features).
        name: the metric's name (the log key).
        dtype: the state's dtype; by default float64 where available, else float32.

    Call arguments (`update_state`):
        y_true: real images, `(batch, height, width, 3)` in [0, 1].
        y_pred: generated images, same layout (any batch size).
        sample_weight: not supported (must be `None`).

    Returns:
        `result()`: the distance, a scalar; NaN until each set has two images.

    Example:
    >>> fid = FrechetInceptionDistance(inception_v3("field", weights=state_dict))  # doctest: +SKIP
    >>> generator.compile(metrics=[fid]); generator.evaluate(pairs)  # doctest: +SKIP
    """

    def __init__(self, inception, name="fid", dtype=None):
        if dtype is None:
            dtype = "float64" if float64_available() else "float32"
        super().__init__(name=name, dtype=dtype)
        self.inception = inception
        dims = int(inception.output_shape[-1])
        self._sets = {}
        for which in ("real", "generated"):
            self._sets[which] = tuple(
                self.add_variable(shape, initializer="zeros", dtype=self.dtype, name=f"{which}_{part}")
                for part, shape in (("count", ()), ("shift", (dims,)), ("sum", (dims,)), ("scatter", (dims, dims)))
            )

    def _accumulate(self, which, images):
        count, shift, total, scatter = self._sets[which]
        features = ops.cast(self.inception(images, training=False), self.dtype)
        new_shift = ops.where(ops.equal(count.value, 0.0), ops.mean(features, axis=0), shift.value)
        centred = features - new_shift
        shift.assign(new_shift)
        total.assign_add(ops.sum(centred, axis=0))
        scatter.assign_add(ops.einsum("ni,nj->ij", centred, centred))
        count.assign_add(ops.cast(ops.shape(features)[0], self.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("Expected sample_weight=None: FID weighs every image alike. Received: a sample_weight")
        self._accumulate("real", y_true)
        self._accumulate("generated", y_pred)

    def _moments(self, which):
        count, shift, total, scatter = (v.value for v in self._sets[which])
        # Below two images the statistics are undefined; a safe count keeps eigh finite, and
        # `result` returns NaN for them.
        safe = count + ops.relu(2.0 - count)
        offset = total / safe
        covariance = (scatter - ops.outer(total, offset)) / (safe - 1.0)
        return shift + offset, covariance, count >= 2.0

    def result(self):
        mean1, sigma1, enough1 = self._moments("real")
        mean2, sigma2, enough2 = self._moments("generated")
        diff = mean1 - mean2
        trace = ops.trace(sigma1) + ops.trace(sigma2) - 2.0 * _trace_sqrt_product(sigma1, sigma2)
        distance = ops.sum(diff * diff) + trace
        return ops.where(ops.logical_and(enough1, enough2), distance, ops.cast(float("nan"), self.dtype))

    def statistics(self):
        """`{"real": FeatureStatistics, "generated": FeatureStatistics}` of the state so far."""
        result = {}
        for which, variables in self._sets.items():
            count, shift, total, scatter = (np.asarray(ops.convert_to_numpy(v), np.float64) for v in variables)
            stats = FeatureStatistics()
            if count > 0:
                stats._combine(int(count), shift + total / count, scatter - np.outer(total, total) / count)
            result[which] = stats
        return result
