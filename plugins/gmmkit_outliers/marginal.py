"""Per-column marginal transforms fitted on the training rows, before the column scaling.

``marginal="quantile"`` (a Gaussian copula) replaces each value by the normal
score of its mid-rank among the training values of its column: the
mixtures then see the columns' dependence, not their marginal shapes, and
the detector is invariant to monotone per-column transforms (as
IsolationForest, ECOD and COPOD are). New values are interpolated between
the training values (at most :data:`MAX_KNOTS` of them per column); beyond
the training range the score continues linearly, one normal unit per
robust standard deviation of the column, so a new extreme value stays
extreme. ``marginal="yeo-johnson"`` applies Yeo-Johnson's power transform
with scipy's maximum-likelihood lambda to the robustly centred and scaled
column. A row's transformed values depend only on that row; NaN stays NaN.
"""

from __future__ import annotations

import numpy as np

#: the marginal options; None leaves the columns as they are
MARGINALS = (None, "quantile", "yeo-johnson")
#: at most this many (value, normal score) knots are kept per column
MAX_KNOTS = 1001
#: the interquartile range of a standard normal
NORMAL_IQR = 1.3489795003921634


def fit_marginal(table, marginal):
    """The fitted transform of every column: a list (one entry per column) or None.

    Parameters
    ----------
    table : ndarray of shape (n_samples, n_features)
        Training rows; NaN are left out of each column's fit.
    marginal : {None, "quantile", "yeo-johnson"}

    Returns
    -------
    list of dict or None
        Per column, JSON-ready: "quantile" {"values", "scores", "spread"}
        (sorted knots and their normal scores, and the slope's scale beyond
        them); "yeo-johnson" {"center", "spread", "lambda"}.
    """
    if marginal is None:
        return None
    return [_fit_column(column[~np.isnan(column)], marginal) for column in table.T]


def apply_marginal(table, fitted):
    """The transformed table: ndarray of shape (n_samples, n_features), a new array."""
    if fitted is None:
        return table
    out = np.empty_like(table, dtype=np.float64)
    for j, column in enumerate(fitted):
        out[:, j] = _apply_column(table[:, j], column)
    return out


def _spread(values):
    """Robust standard deviation of a column (IQR / 1.349, else std, else 1): float."""
    if values.size == 0:
        return 1.0
    q1, q3 = np.percentile(values, [25, 75])
    spread = float(q3 - q1) / NORMAL_IQR
    if not spread > 0:
        spread = float(values.std())
    return spread if spread > 0 else 1.0


def _fit_column(values, marginal):
    from scipy import stats

    spread = _spread(values)
    if marginal == "quantile":
        if values.size == 0:
            return {"values": [0.0], "scores": [0.0], "spread": 1.0}
        unique, counts = np.unique(values, return_counts=True)
        below = np.cumsum(counts) - counts
        scores = stats.norm.ppf((below + counts / 2.0) / values.size)
        if unique.size > MAX_KNOTS:
            keep = np.unique(np.linspace(0, unique.size - 1, MAX_KNOTS).round().astype(int))
            unique, scores = unique[keep], scores[keep]
        return {"values": unique.tolist(), "scores": scores.tolist(), "spread": spread}
    center = float(np.median(values)) if values.size else 0.0
    scaled = (values - center) / spread
    lam = float(stats.yeojohnson_normmax(scaled)) if np.ptp(scaled) > 0 else 1.0
    return {"center": center, "spread": spread, "lambda": lam}


def _apply_column(column, fitted):
    from scipy import stats

    if "values" in fitted:
        knots = np.asarray(fitted["values"], dtype=np.float64)
        scores = np.asarray(fitted["scores"], dtype=np.float64)
        out = np.interp(column, knots, scores)
        spread = fitted["spread"]
        low, high = column < knots[0], column > knots[-1]
        out[low] = scores[0] + (column[low] - knots[0]) / spread
        out[high] = scores[-1] + (column[high] - knots[-1]) / spread
        out[np.isnan(column)] = np.nan
        return out
    scaled = (column - fitted["center"]) / fitted["spread"]
    return stats.yeojohnson(scaled, lmbda=fitted["lambda"])
