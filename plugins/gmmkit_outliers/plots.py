"""Pictures of a detector on the user's own data: score histogram and a 2-D projection.

matplotlib is imported inside the function (``gmmkit --help`` stays fast).
"""

from __future__ import annotations

import numpy as np

#: colours of normal rows, flagged rows, the threshold and known anomalies
GREY, RED, BLUE = "#9e9e9e", "#d62728", "#1f77b4"
#: histogram bins
BINS = 50


def projection(detector, X):
    """The first two principal components of the scaled columns the detector uses.

    Parameters
    ----------
    detector : GMMOutlierDetector
        Fitted.
    X : array-like of shape (n_samples, n_features_in_)

    Returns
    -------
    coordinates : ndarray of shape (n_samples, 2)
        Projections on the first two principal axes of the scaled, used
        columns (missing values replaced by the column mean first); with a
        single used column, that column and zeros.
    explained : ndarray of shape (2,)
        Share of the variance each axis explains.
    """
    table = np.asarray(X, dtype=np.float64)
    used = np.setdiff1d(np.arange(table.shape[1]), detector.ignored_columns_)
    Z = ((table - detector.center_) / detector.scale_)[:, used]
    Z = np.where(np.isnan(Z), np.nanmean(Z, axis=0), Z)
    Z = Z - Z.mean(axis=0)
    _, singular, axes = np.linalg.svd(Z, full_matrices=False)
    variance = singular**2
    share = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    coordinates = Z @ axes[:2].T
    if coordinates.shape[1] == 1:
        coordinates = np.column_stack([coordinates, np.zeros(len(Z))])
        share = np.r_[share, 0.0]
    return coordinates, share[:2]


def detection_figure(detector, X, scores, flags, labels=None, title=None):
    """Score histogram with the threshold, and the rows in 2-D (PCA) with flags circled.

    Parameters
    ----------
    detector : GMMOutlierDetector
        Fitted.
    X : array-like of shape (n_samples, n_features_in_)
        The rows scored.
    scores : ndarray of shape (n_samples,)
    flags : ndarray of int, shape (n_samples,)
        1 for a flagged row.
    labels : ndarray of int, shape (n_samples,), optional
        Known 0/1 labels: the histogram is split by them and known anomalies
        are marked with a cross.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        matplotlib is not installed.
    """
    from gmmkit.demo import pyplot

    plt = pyplot()
    if plt is None:
        raise ValueError("plots need matplotlib: pip install 'gmmkit[plot]'")
    scores, flags = np.asarray(scores), np.asarray(flags)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    finite = scores[np.isfinite(scores)]
    bins = np.histogram_bin_edges(finite, bins=BINS)
    if labels is None:
        left.hist(finite, bins=bins, color=GREY, label="rows")
    else:
        left.hist([scores[(labels == 0) & np.isfinite(scores)],
                   scores[(labels == 1) & np.isfinite(scores)]],
                  bins=bins, stacked=True, color=[GREY, BLUE],
                  label=["labelled normal", "labelled anomaly"])
    threshold = float(detector.threshold_)
    left.axvline(threshold, color=RED, linestyle="--",
                 label=f"threshold {threshold:.3g}: {int(flags.sum())} of {flags.size} flagged")
    left.set_xlabel("score (higher is more anomalous)")
    left.set_ylabel("rows")
    left.legend(frameon=False, fontsize=8)
    left.set_title("Scores")
    coordinates, explained = projection(detector, X)
    normal = flags == 0
    right.scatter(*coordinates[normal].T, s=8, color=GREY, label="not flagged")
    right.scatter(*coordinates[~normal].T, s=40, facecolors="none", edgecolors=RED,
                  label="flagged")
    if labels is not None:
        known = labels == 1
        right.scatter(*coordinates[known].T, s=18, marker="x", color=BLUE,
                      label="labelled anomaly")
    right.set_xlabel(f"PC1 ({explained[0]:.0%} of the variance)")
    right.set_ylabel(f"PC2 ({explained[1]:.0%} of the variance)")
    right.legend(frameon=False, fontsize=8)
    right.set_title("Rows on the first two principal components")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
