"""Combining the scores of several detectors: PyOD's combination functions.

Every function takes a score matrix of shape (n_samples, n_estimators),
higher is more anomalous, and returns one combined score per row, as
``pyod.models.combination`` does: :func:`average`, :func:`maximization`,
:func:`median`, :func:`aom` (average of maximum) and :func:`moa` (maximum of
average; Aggarwal and Sathe 2015). Scores of different detectors are on
different scales: standardise them first (:func:`standardizer`), as the
ensemble detector does with each member's training scores.
"""

from __future__ import annotations

import numbers

import numpy as np

#: the combinations the detector's ``combination`` parameter names
COMBINATIONS = ("average", "maximization", "aom", "moa")
BUCKET_METHODS = ("static", "dynamic")


def _matrix(scores):
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(
            f"scores must be a 2-D array of shape (n_samples, n_estimators); got shape "
            f"{scores.shape}. Stack one column per detector, e.g. np.column_stack(columns)."
        )
    return scores


def standardizer(X: np.ndarray, X_t: np.ndarray | None = None, *, keep_scalar: bool = False):
    """Z-scores of the columns of X (and of X_t with X's mean and standard deviation).

    As ``pyod.utils.utility.standardizer``: each column minus its mean,
    divided by its standard deviation; a column without spread is only
    centred.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_estimators)
        The training scores, one column per detector.
    X_t : array-like of shape (n_new, n_estimators), optional
        Scores of other rows, standardised with X's statistics.
    keep_scalar : bool, default=False
        Also return ``(mean, std)``, arrays of shape (n_estimators,).

    Returns
    -------
    ndarray, or a tuple of it with X_t's z-scores and/or (mean, std)
    """
    X = _matrix(X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    result = [(X - mean) / std]
    if X_t is not None:
        result.append((_matrix(X_t) - mean) / std)
    if keep_scalar:
        result.append((mean, std))
    return result[0] if len(result) == 1 else tuple(result)


def average(scores: np.ndarray, estimator_weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of each row's scores (weighted by ``estimator_weights``): shape (n_samples,)."""
    scores = _matrix(scores)
    if estimator_weights is None:
        return scores.mean(axis=1)
    weights = np.asarray(estimator_weights, dtype=np.float64).ravel()
    if weights.shape != (scores.shape[1],):
        raise ValueError(
            f"estimator_weights has {weights.size} values for {scores.shape[1]} estimators; "
            "give one weight per column of scores."
        )
    return scores @ weights / weights.sum()


def maximization(scores: np.ndarray) -> np.ndarray:
    """Largest of each row's scores: shape (n_samples,)."""
    return _matrix(scores).max(axis=1)


def median(scores: np.ndarray) -> np.ndarray:
    """Median of each row's scores: shape (n_samples,)."""
    return np.median(_matrix(scores), axis=1)


def make_buckets(n_estimators: int, n_buckets: int = 5, method: str = "static",
                 bootstrap_estimators: bool = False, random_state=None) -> list:
    """Subgroups of estimators for :func:`aom` and :func:`moa`, as PyOD builds them.

    Parameters
    ----------
    n_estimators : int
    n_buckets : int, default=5
        Between 2 and ``n_estimators``.
    method : {"static", "dynamic"}, default="static"
        "static": buckets of n_estimators / n_buckets estimators (which must
        divide evenly), a shuffled partition, or with ``bootstrap_estimators``
        drawn independently for each bucket. "dynamic": each bucket draws
        its own size between 2 and n_estimators / 2.
    bootstrap_estimators : bool, default=False
    random_state : int, numpy Generator or None

    Returns
    -------
    list of ndarray of int
        The estimator indices of each bucket.
    """
    _check_buckets(n_estimators, n_buckets, method)
    rng = np.random.default_rng(random_state)
    if method == "dynamic":
        largest = max(3, n_estimators // 2)
        return [np.sort(rng.choice(n_estimators, int(rng.integers(2, largest)), replace=False))
                for _ in range(n_buckets)]
    size = n_estimators // n_buckets
    if bootstrap_estimators:
        return [np.sort(rng.choice(n_estimators, size, replace=False)) for _ in range(n_buckets)]
    order = rng.permutation(n_estimators)
    return [order[i * size:(i + 1) * size] for i in range(n_buckets)]


def combine_buckets(scores: np.ndarray, buckets: list, inner: str, outer: str) -> np.ndarray:
    """``outer`` over the buckets of ``inner`` over each bucket's scores ("mean" or "max")."""
    scores = _matrix(scores)
    reduce = {"mean": np.mean, "max": np.max}
    per_bucket = np.column_stack([reduce[inner](scores[:, b], axis=1) for b in buckets])
    return reduce[outer](per_bucket, axis=1)


def member_weights(scores: np.ndarray, combination: str, buckets: list | None = None
                   ) -> np.ndarray:
    """Weights W with ``combined = (W * scores).sum(axis=1)`` exactly, row by row.

    Every combination here is linear in the scores once the maxima are
    known: average gives each member 1 / n_estimators; maximization gives
    the row's largest member 1; aom gives each bucket's largest member
    1 / n_buckets; moa gives the members of the row's best bucket 1 / its
    size. The explanations use W to split a row's combined score over the
    members (ties go to the first).

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_estimators)
    combination : {"average", "maximization", "aom", "moa"}
    buckets : list of ndarray of int, optional
        The buckets of aom and moa.

    Returns
    -------
    ndarray of shape (n_samples, n_estimators)
    """
    scores = _matrix(scores)
    n_samples, n_estimators = scores.shape
    rows = np.arange(n_samples)
    weights = np.zeros((n_samples, n_estimators))
    if combination == "average":
        weights[:] = 1.0 / n_estimators
    elif combination == "maximization":
        weights[rows, scores.argmax(axis=1)] = 1.0
    elif combination == "aom":
        for bucket in buckets:
            np.add.at(weights, (rows, bucket[scores[:, bucket].argmax(axis=1)]),
                      1.0 / len(buckets))
    else:  # moa
        means = np.column_stack([scores[:, b].mean(axis=1) for b in buckets])
        for i, best in enumerate(means.argmax(axis=1)):
            np.add.at(weights[i], buckets[best], 1.0 / len(buckets[best]))
    return weights


def combine(scores: np.ndarray, combination: str, buckets: list | None = None) -> np.ndarray:
    """The detector's combined score of each row: shape (n_samples,).

    ``combination`` is one of :data:`COMBINATIONS`; aom and moa use the
    ``buckets`` fixed when the detector was fitted.
    """
    if combination == "average":
        return average(scores)
    if combination == "maximization":
        return maximization(scores)
    inner, outer = ("max", "mean") if combination == "aom" else ("mean", "max")
    return combine_buckets(scores, buckets, inner, outer)


def aom(scores: np.ndarray, n_buckets: int = 5, method: str = "static",
        bootstrap_estimators: bool = False, random_state=None) -> np.ndarray:
    """Average of maximum: the mean over buckets of each bucket's largest score.

    Parameters are those of :func:`make_buckets` (``n_estimators`` is the
    number of columns of ``scores``). Returns shape (n_samples,).
    """
    scores = _matrix(scores)
    buckets = make_buckets(scores.shape[1], n_buckets, method, bootstrap_estimators,
                           random_state)
    return combine_buckets(scores, buckets, "max", "mean")


def moa(scores: np.ndarray, n_buckets: int = 5, method: str = "static",
        bootstrap_estimators: bool = False, random_state=None) -> np.ndarray:
    """Maximum of average: the largest over buckets of each bucket's mean score.

    Parameters are those of :func:`make_buckets`. Returns shape (n_samples,).
    """
    scores = _matrix(scores)
    buckets = make_buckets(scores.shape[1], n_buckets, method, bootstrap_estimators,
                           random_state)
    return combine_buckets(scores, buckets, "mean", "max")


def _check_buckets(n_estimators, n_buckets, method):
    if method not in BUCKET_METHODS:
        raise ValueError(f"method={method!r} is not supported; use 'static' or 'dynamic'.")
    valid = isinstance(n_buckets, numbers.Integral) and not isinstance(n_buckets, bool)
    if not valid or not 2 <= n_buckets <= n_estimators:
        raise ValueError(
            f"n_buckets={n_buckets!r} is not valid for {n_estimators} estimators; use an "
            f"integer from 2 to {n_estimators}."
        )
    if method == "static" and n_estimators % n_buckets:
        raise ValueError(
            f"{n_estimators} estimators do not split into {n_buckets} equal buckets; with "
            "method='static' use an n_buckets that divides the number of estimators, or "
            "method='dynamic'."
        )
