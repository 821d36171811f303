"""Model-based agglomerative hierarchical clustering: mclust's starts (Fraley 1998).

Starting from one cluster per row, each step merges the two clusters whose
merge lowers the classification likelihood the least; the sequence of
merges is a tree that gives a partition for every number of clusters K, so
one tree starts the fits of every K and every covariance model.

Two criteria, as in mclust's ``hc``:

- ``"VVV"`` (mclust's default): a cluster C of n rows with scatter W costs
  n log(beta (tr W + alpha) / n) while n <= d, and
  n log(|W / n| + beta (tr W + alpha) / n) beyond; alpha is the mean
  variance of the data (mclust's ``traceW(x / sqrt(n d))``) and beta = 1.
  The trace term keeps clusters of fewer than d + 1 rows, whose
  determinant is 0, from looking infinitely good.
- ``"EII"``: Ward's criterion, the increase of the total within-cluster sum
  of squares, n_i n_j / (n_i + n_j) |m_i - m_j|^2.

The data are first transformed as mclust's default ``use = "SVD"`` does:
columns standardised, then projected on their right singular vectors and
scaled by 1 / sqrt(singular value). The tree costs O(n^2) memory (one
float64 matrix of merge costs) and about n^2 / 2 small determinants, so
callers run it on a subset of at most a few thousand rows
(:data:`HC_MAX_ROWS`, mclust's ``subset``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gmmkit.engine.types import FloatArray, IntArray

#: hierarchical clustering runs on at most this many rows (mclust: 2000)
HC_MAX_ROWS = 2000
HC_MODELS = ("VVV", "EII")
HC_USES = ("SVD", "VARS")

_CACHE: OrderedDict[tuple[object, ...], IntArray] = OrderedDict()
_CACHE_SIZE = 4


def hc_transform(X: FloatArray, use: str = "SVD") -> FloatArray:
    """The data hierarchical clustering sees: (n, d').

    Parameters
    ----------
    X : ndarray of shape (n, d)
    use : {"SVD", "VARS"}
        "SVD": standardised columns (constant ones dropped) times V
        diag(1 / sqrt(s)) from their singular value decomposition, mclust's
        default; "VARS": the data as they are.

    Returns
    -------
    ndarray of shape (n, d'), float64
    """
    X = np.asarray(X, dtype=np.float64)
    if use == "VARS":
        return X
    if use != "SVD":
        raise ValueError(f"use={use!r} is not supported; use one of {list(HC_USES)}")
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
    keep = scale > 0
    if not np.any(keep):
        return np.zeros((len(X), 1))
    standard = centred[:, keep] / scale[keep]
    _, singular, vt = np.linalg.svd(standard, full_matrices=False)
    useful = singular > singular[0] * 1e-12
    return standard @ vt[useful].T / np.sqrt(singular[useful])


class _Clusters:
    """Sizes, means, scatters and criterion terms of the current clusters."""

    def __init__(self, Z: FloatArray, model: str) -> None:
        n, d = Z.shape
        self.model, self.d = model, d
        self.size = np.ones(n)
        self.mean = Z.copy()
        spread = ((Z - Z.mean(axis=0)) ** 2).sum() / (n * d)
        self.alpha = max(spread, np.finfo(np.float64).eps)
        if model == "VVV":
            self.scatter = np.zeros((n, d, d))
            self.trace = np.zeros(n)
            self.term = np.full(n, np.log(self.alpha))

    def costs(self, a: int, others: IntArray) -> FloatArray:
        """The increase of the criterion when ``a`` merges with each of ``others``: (m,).

        Scatter matrices are built only for merged clusters of more than d
        rows (fewer need only the trace): most pairs of a tree are small.
        """
        size = self.size[a] + self.size[others]
        delta = self.mean[others] - self.mean[a]
        coef = self.size[a] * self.size[others] / size
        increase = coef * np.einsum("md,md->m", delta, delta)
        if self.model != "VVV":
            return increase  # Ward: the increase of the within-cluster sum of squares
        trace = self.trace[a] + self.trace[others] + increase
        spread = np.log((trace + self.alpha) / size)
        big = np.flatnonzero(size > self.d)
        if big.size:
            scatter = self.scatter[others[big]] + self.scatter[a]
            scatter += coef[big, None, None] * delta[big, :, None] * delta[big, None, :]
            logdet = _log_det(scatter / size[big, None, None])
            spread[big] = np.logaddexp(logdet, spread[big])
        return size * spread - self.term[a] - self.term[others]

    def merge(self, a: int, b: int) -> None:
        """Merge cluster b into cluster a."""
        size = self.size[a] + self.size[b]
        delta = self.mean[b] - self.mean[a]
        coef = self.size[a] * self.size[b] / size
        if self.model == "VVV":
            self.term[a] += self.costs(a, np.array([b]))[0] + self.term[b]
            self.scatter[a] += self.scatter[b] + coef * np.outer(delta, delta)
            self.trace[a] += self.trace[b] + coef * float(delta @ delta)
        self.mean[a] += delta * (self.size[b] / size)
        self.size[a] = size


def _log_det(matrices: FloatArray) -> FloatArray:
    """log |M| of positive semi-definite matrices, -inf for singular ones: (m,)."""
    try:
        chol = np.linalg.cholesky(matrices)
        return 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    except np.linalg.LinAlgError:
        sign, logdet = np.linalg.slogdet(matrices)
        return np.where(sign > 0, logdet, -np.inf)


def _initial_costs(clusters: _Clusters, Z: FloatArray) -> FloatArray:
    """Merge costs of every pair of singletons: (n, n), inf on the diagonal."""
    squared = np.einsum("nd,nd->n", Z, Z)
    costs = Z @ Z.T  # the n x n work in place: one matrix of memory
    costs *= -2.0
    costs += squared[:, None]
    costs += squared[None, :]
    np.maximum(costs, 0.0, out=costs)  # squared distances
    if clusters.model != "VVV":
        costs *= 0.5
    elif clusters.d >= 2:  # a pair: 2 log((|d|^2 / 2 + alpha) / 2) - 2 log(alpha)
        costs /= 4.0 * clusters.alpha
        costs += 0.5
        np.log(costs, out=costs)
        costs *= 2.0
    else:
        for a in range(len(Z)):
            costs[a] = np.inf
            costs[a, a + 1:] = clusters.costs(a, np.arange(a + 1, len(Z)))
        costs = np.minimum(costs, costs.T)
    np.fill_diagonal(costs, np.inf)
    return costs


def hc_merges(Z: FloatArray, model: str = "VVV") -> IntArray:
    """The merges of model-based agglomerative clustering, first to last.

    Parameters
    ----------
    Z : ndarray of shape (n, d)
        The (transformed) rows, one initial cluster each.
    model : {"VVV", "EII"}

    Returns
    -------
    ndarray of shape (n - 1, 2), int
        Row t merges cluster ``[t, 1]`` into cluster ``[t, 0]`` (the smaller
        row index; a cluster keeps the index of its first row).
    """
    if model not in HC_MODELS:
        raise ValueError(f"model={model!r} is not supported; use one of {list(HC_MODELS)}")
    Z = np.asarray(Z, dtype=np.float64)
    n = len(Z)
    clusters = _Clusters(Z, model)
    costs = _initial_costs(clusters, Z)
    best = costs.argmin(axis=1)
    lowest = costs[np.arange(n), best]
    alive = np.ones(n, dtype=bool)
    merges = np.empty((max(n - 1, 0), 2), dtype=np.int64)
    for step in range(n - 1):
        i = int(np.argmin(lowest))
        a, b = sorted((i, int(best[i])))
        merges[step] = a, b
        clusters.merge(a, b)
        alive[b] = False
        costs[b, :] = costs[:, b] = lowest[b] = np.inf
        others = np.flatnonzero(alive)
        others = others[others != a]
        if others.size == 0:
            break
        row = clusters.costs(a, others)
        costs[a, others] = costs[others, a] = row
        j = int(np.argmin(row))
        best[a], lowest[a] = others[j], row[j]
        # rows whose best partner was a or b look again; the others compare with a
        stale = others[(best[others] == a) | (best[others] == b)]
        if stale.size:
            best[stale] = costs[stale].argmin(axis=1)
            lowest[stale] = costs[stale, best[stale]]
        fresh = others[(row < lowest[others]) & (best[others] != a)]
        best[fresh], lowest[fresh] = a, row[np.searchsorted(others, fresh)]
    return merges


def hc_partitions(merges: IntArray, n_rows: int, ks: Iterable[int]) -> dict[int, IntArray]:
    """The partition of the tree at each number of clusters K.

    Parameters
    ----------
    merges : ndarray of shape (n_rows - 1, 2)
        From :func:`hc_merges`.
    n_rows : int
    ks : iterable of int
        Each between 1 and ``n_rows``.

    Returns
    -------
    dict
        K -> labels, ndarray of shape (n_rows,) with values 0..K-1 (clusters
        numbered by their first row).
    """
    wanted = {int(k) for k in ks}
    owner = np.arange(n_rows)  # every row's cluster (the index of the cluster's first row)
    out: dict[int, IntArray] = {}
    for step in range(n_rows):
        if n_rows - step in wanted:
            out[n_rows - step] = np.unique(owner, return_inverse=True)[1]
        if step < len(merges):
            a, b = merges[step]
            owner[owner == b] = a
    return out


def hc_tree(X: FloatArray, model: str = "VVV", use: str = "SVD") -> IntArray:
    """:func:`hc_merges` of ``hc_transform(X, use)``, remembered for the last few data sets.

    A model selection grid starts every model and every K from one tree;
    fits of the same rows share it (also across calls in one process).
    """
    Z = hc_transform(X, use)
    key = (hashlib.sha1(np.ascontiguousarray(X, dtype=np.float64).tobytes()).hexdigest(),
           X.shape, model, use)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    merges = hc_merges(Z, model)
    _CACHE[key] = merges
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return merges
