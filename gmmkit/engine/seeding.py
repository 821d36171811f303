"""Initialisers: starting responsibilities for EM.

Every initialiser produces hard or soft responsibilities chunk by chunk;
the engine turns them into Stats and one M-step gives the starting
parameters, exactly as during EM.

- ``kmeans``: weighted k-means++ seeding and Lloyd iterations on (a
  subsample of at most ``KMEANS_MAX_ROWS`` rows of) the data, then every row
  is assigned to its nearest centre.
- ``k-means++``: the k-means++ seeds only, every row assigned to its nearest seed.
- ``random_from_data``: K distinct rows drawn at random as seeds, every row
  assigned to its nearest seed.
- ``random``: random soft responsibilities (rows of uniform draws, normalised).
- ``hc``: mclust's start, the partition into K clusters of model-based
  hierarchical clustering (:mod:`gmmkit.engine.hc`, VVV criterion on
  SVD-scaled data) of at most ``HC_MAX_ROWS`` rows; the starting M-step
  reads those rows only, as mclust's does with a subset.

scikit-learn's ``k-means++`` and ``random_from_data`` give responsibility
only to the K seed rows (so the first covariances are just ``reg_covar``);
gmmkit assigns every row to its nearest seed instead, which starts EM from
sensible covariances.

Seeds are drawn by inverse-CDF sampling on cumulative weights, so on data
of at most ``KMEANS_MAX_ROWS`` rows, integer sample weights select the same
k-means++ seeds as the rows repeated that many times (``np.repeat`` order).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.em import sum_stats
from gmmkit.engine.estep import stats_from_resp
from gmmkit.engine.hc import HC_MAX_ROWS, hc_partitions, hc_tree

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import Stats
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import FloatArray, Initializer, IntArray, Rows

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hc")

#: k-means in the kmeans initialiser runs on at most this many rows.
KMEANS_MAX_ROWS = 100_000
KMEANS_MAX_ITER = 100


def _squared_distances(Xc: FloatArray, centers: FloatArray) -> FloatArray:
    """(n, K) squared Euclidean distances, expanded (data are centred)."""
    d2 = Xc @ (-2.0 * centers.T)
    d2 += np.einsum("nd,nd->n", Xc, Xc)[:, None]
    d2 += np.einsum("kd,kd->k", centers, centers)
    np.maximum(d2, 0.0, out=d2)
    return d2


def _nearest(Xc: FloatArray, centers: FloatArray) -> tuple[IntArray, FloatArray]:
    d2 = _squared_distances(Xc, centers)
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(len(labels)), labels]


def _weighted_pick(rng: np.random.Generator, cumulative: FloatArray, n_draws: int = 1) -> IntArray:
    """Indices drawn with probability proportional to the increments of ``cumulative``."""
    u = rng.uniform(size=n_draws) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, u, side="right"), cumulative.size - 1)


def _distinct_weighted_rows(rng: np.random.Generator, weights: FloatArray, n_rows: int) -> IntArray:
    """``n_rows`` distinct row indices drawn with probability proportional to weight."""
    remaining = weights.astype(np.float64).copy()
    picked = []
    for _ in range(min(n_rows, int(np.count_nonzero(remaining)))):
        index = int(_weighted_pick(rng, np.cumsum(remaining))[0])
        picked.append(index)
        remaining[index] = 0.0
    while len(picked) < n_rows:  # fewer positive rows than components: repeat some
        picked.append(picked[len(picked) % max(len(picked), 1)])
    return np.array(picked)


def kmeans_plusplus(
    Xc: FloatArray, weights: FloatArray, n_clusters: int, rng: np.random.Generator
) -> FloatArray:
    """Greedy weighted k-means++ seeding (Arthur and Vassilvitskii, 2007).

    Parameters
    ----------
    Xc : ndarray of shape (n, D)
    weights : ndarray of shape (n,)
    n_clusters : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_clusters, D)
    """
    n_trials = 2 + int(np.log(n_clusters))
    first = _weighted_pick(rng, np.cumsum(weights))[0]
    centers = [Xc[first]]
    closest = _nearest(Xc, Xc[first][None, :])[1]
    for _ in range(1, n_clusters):
        potential = np.cumsum(weights * closest)
        if potential[-1] <= 0:  # fewer distinct points than clusters
            candidates = _weighted_pick(rng, np.cumsum(weights), n_trials)
        else:
            candidates = _weighted_pick(rng, potential, n_trials)
        d2 = _squared_distances(Xc, Xc[candidates])
        np.minimum(d2, closest[:, None], out=d2)
        best = int(np.argmin(weights @ d2))
        centers.append(Xc[candidates[best]])
        closest = d2[:, best]
    return np.array(centers)


def lloyd(
    Xc: FloatArray, weights: FloatArray, centers: FloatArray, max_iter: int = KMEANS_MAX_ITER
) -> FloatArray:
    """Weighted Lloyd iterations until the labels stop changing.

    Parameters
    ----------
    Xc : ndarray of shape (n, D)
    weights : ndarray of shape (n,)
    centers : ndarray of shape (K, D)

    Returns
    -------
    ndarray of shape (K, D)
        Final centres; an empty cluster keeps its previous centre.
    """
    labels = None
    for _ in range(max_iter):
        new_labels = _nearest(Xc, centers)[0]
        if labels is not None and np.array_equal(labels, new_labels):
            break
        labels = new_labels
        mass = np.bincount(labels, weights=weights, minlength=len(centers))
        sums = np.zeros_like(centers)
        np.add.at(sums, labels, Xc * weights[:, None])
        filled = mass > 0
        centers = centers.copy()
        centers[filled] = sums[filled] / mass[filled][:, None]
    return centers


def _subsample(
    data: ChunkedData, rng: np.random.Generator, max_rows: int
) -> tuple[FloatArray, FloatArray]:
    """Centred rows (n, D) and weights of (a weighted random subsample of) the data.

    At most ``max_rows`` rows with positive weight; a subsample is drawn with
    probability proportional to weight and its rows then count once each.
    """
    n = data.n_samples
    weighted = data.sample_weight is not None
    weights = np.ones(n) if data.sample_weight is None else data.sample_weight.astype(np.float64)
    rows: slice | IntArray
    if n <= max_rows:
        rows = slice(None)
    else:
        positive = np.flatnonzero(weights > 0)
        if positive.size > max_rows:
            p = weights[positive] / weights[positive].sum() if weighted else None
            positive = np.sort(rng.choice(positive, size=max_rows, replace=False, p=p))
            weights = np.ones(n)
        rows = positive
    return data.rows(rows).T.astype(np.float64), weights[rows]


def seed_centers(
    method: Initializer, data: ChunkedData, n_components: int, rng: np.random.Generator
) -> FloatArray:
    """Centres (centred coordinates) for the hard-assignment initialisers.

    Returns
    -------
    ndarray of shape (n_components, D)
    """
    Xc, weights = _subsample(data, rng, KMEANS_MAX_ROWS)
    if callable(method):
        return plugin_centers(method, Xc + data.center, weights, n_components, rng) - data.center
    if method == "random_from_data":
        return Xc[_distinct_weighted_rows(rng, weights, n_components)]
    centers = kmeans_plusplus(Xc, weights, n_components, rng)
    if method == "kmeans":
        centers = lloyd(Xc, weights, centers)
    return centers


def plugin_centers(
    initializer: Callable[..., ArrayLike],
    X: FloatArray,
    weights: FloatArray,
    n_components: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Starting means from a plugin's initialiser, checked.

    Parameters
    ----------
    initializer : callable
        ``initializer(X, n_components, sample_weight=, rng=)`` returning the
        means; its ``name`` attribute (the name it was registered under)
        is quoted in errors. The estimators resolve ``init_params`` into it.
    X : ndarray of shape (n_rows, n_features)
        A subsample of the data, in the data's own coordinates.
    weights : ndarray of shape (n_rows,)
    n_components : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_components, n_features)
    """
    name = getattr(initializer, "name", initializer)
    centers = np.asarray(
        initializer(X, n_components, sample_weight=weights, rng=rng), dtype=np.float64
    )
    expected = (n_components, X.shape[1])
    if centers.shape != expected:
        problem = f"means of shape {centers.shape}"
    elif not np.all(np.isfinite(centers)):
        problem = "NaN or infinite means"
    else:
        return centers
    raise ValueError(
        f"initializer {name!r} returned {problem}; it must return finite means of shape "
        f"{expected}. Fix the plugin or use another init_params."
    )


def hc_subset(
    data: ChunkedData, rng: np.random.Generator, max_rows: int | None = None
) -> tuple[FloatArray, FloatArray]:
    """The centred rows (n, D) and weights hierarchical clustering starts from.

    The rows of positive weight, or a random subset of ``max_rows`` (default
    ``HC_MAX_ROWS``) of them drawn with probability proportional to weight
    (a warning says so).
    """
    max_rows = HC_MAX_ROWS if max_rows is None else max_rows
    Xc, weights = _subsample(data, rng, max_rows)
    positive = weights > 0
    if data.n_samples > max_rows:
        warnings.warn(
            f"init_params='hc': hierarchical clustering ran on a random subset of {max_rows} "
            f"of the {data.n_samples} rows (its time and memory grow with the square of the "
            "rows, as mclust's subset); EM then fitted every row.",
            UserWarning,
            stacklevel=6,
        )
    return Xc[positive], weights[positive]


def hc_stats(
    data: ChunkedData, cov_type: CovarianceType, n_components: int, rng: np.random.Generator
) -> Stats:
    """Stats of the hierarchical clustering partition into ``n_components`` clusters."""
    Xc, weights = hc_subset(data, rng)
    labels = hc_partitions(hc_tree(Xc), len(Xc), [n_components])[n_components]
    resp = np.zeros((n_components, len(Xc)))
    resp[labels, np.arange(len(Xc))] = 1.0
    Xt = np.ascontiguousarray(Xc.T)
    return stats_from_resp(cov_type, cov_type.design(Xt), resp, weights, Xc.shape[1])


def initial_stats(
    method: Initializer,
    data: ChunkedData,
    cov_type: CovarianceType,
    n_components: int,
    rng: np.random.Generator,
    runner: ChunkRunner,
) -> Stats:
    """Stats of the starting responsibilities of ``method``.

    Parameters
    ----------
    method : {"kmeans", "k-means++", "random", "random_from_data", "hc"} or callable
        Or a plugin's initialiser (see :func:`plugin_centers`).
    data : gmmkit.engine.chunked_data.ChunkedData
    n_components : int
    rng : numpy.random.Generator

    Returns
    -------
    gmmkit.engine.em.Stats
    """
    if method == "hc":
        return hc_stats(data, cov_type, n_components, rng)
    if method == "random":
        seed = int(rng.integers(2**63))

        def chunk_resp(index: int, Xt: FloatArray) -> FloatArray:
            resp = np.random.default_rng([seed, index]).uniform(size=(Xt.shape[1], n_components))
            resp /= resp.sum(axis=1, keepdims=True)
            return np.ascontiguousarray(resp.T, dtype=Xt.dtype)

    else:
        centers = seed_centers(method, data, n_components, rng)

        def chunk_resp(index: int, Xt: FloatArray) -> FloatArray:
            labels = _nearest(Xt.T, centers.astype(Xt.dtype))[0]
            resp = np.zeros((n_components, Xt.shape[1]), dtype=Xt.dtype)
            resp[labels, np.arange(Xt.shape[1])] = 1.0
            return resp

    def one_chunk(item: tuple[int, Rows]) -> Stats:
        index, rows = item
        Xt = data.rows(rows)
        resp = chunk_resp(index, Xt)
        design = cov_type.design(Xt)
        return stats_from_resp(cov_type, design, resp, data.weights(rows), data.n_features)

    return sum_stats(runner.map(one_chunk, list(enumerate(data.slices))))
