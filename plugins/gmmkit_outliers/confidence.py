"""How sure the detector is of each prediction: ExCeeD (Perini, Vercruyssen and Davis 2020).

A row's score is placed among the n training scores: with k of them at or
below it, the probability that a training row scores lower is estimated
with a uniform prior as p = (1 + k) / (2 + n). If the n training rows were
drawn again, the row is flagged when fewer than n * contamination of them
score higher, i.e. when at least t = n - floor(n * contamination) score
lower: a binomial event of probability P(Binomial(n, p) > t). That is the
confidence of an outlier prediction; an inlier prediction's confidence is
one minus it. Values near 1 are predictions that would stand on another
training set; near 0.5, predictions near the threshold.

This is PyOD's ``predict_confidence`` (the same formula) without its
per-row Python loop.
"""

from __future__ import annotations

import numpy as np

#: a detector file keeps at most this many of the sorted training scores
MAX_STORED_SCORES = 100_001


def order_statistic_ranks(n: int, m: int) -> np.ndarray:
    """The 0-based ranks of ``m`` evenly spaced order statistics of ``n`` values: int array."""
    return np.round(np.linspace(0, n - 1, m)).astype(int)


def thinned(sorted_scores: np.ndarray) -> np.ndarray:
    """At most MAX_STORED_SCORES evenly spaced order statistics of sorted scores."""
    n = sorted_scores.size
    if n <= MAX_STORED_SCORES:
        return sorted_scores
    return sorted_scores[order_statistic_ranks(n, MAX_STORED_SCORES)]


def exceed_confidence(scores: np.ndarray, training_scores: np.ndarray, contamination: float,
                      predictions: np.ndarray, *, n: int | None = None) -> np.ndarray:
    """ExCeeD confidence of each prediction: shape (n_samples,), values in [0, 1].

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Decision scores of the rows (higher is more anomalous).
    training_scores : ndarray of shape (n_train,)
        The decision scores of the training rows.
    contamination : float
        The share of anomalies the threshold assumes.
    predictions : ndarray of int, shape (n_samples,)
        1 for rows predicted as outliers, 0 for inliers.
    n : int, optional
        The number of training rows, when ``training_scores`` holds only
        evenly spaced order statistics of them (a detector file keeps at
        most :data:`MAX_STORED_SCORES`): the rank of a score is then that
        of the largest stored score at or below it.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    from scipy.stats import binom

    ranked = np.sort(np.asarray(training_scores, dtype=np.float64))
    stored = ranked.size
    n = stored if n is None else int(n)
    below = np.searchsorted(ranked, np.asarray(scores, dtype=np.float64), side="right")
    if stored != n:  # order statistics at ranks 0, ..., n - 1, evenly spaced
        ranks = order_statistic_ranks(n, stored)
        below = np.where(below > 0, ranks[np.maximum(below - 1, 0)] + 1, 0)
    probability = (1.0 + below) / (2.0 + n)
    outlier = binom.sf(n - int(n * contamination), n, probability)
    return np.where(np.asarray(predictions) == 1, outlier, 1.0 - outlier)
