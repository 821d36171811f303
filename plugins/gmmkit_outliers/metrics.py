"""How well scores find known anomalies: ROC-AUC, average precision, precision at a threshold.

scikit-learn's definitions (``roc_auc_score``, ``average_precision_score``),
computed with numpy and scipy so that the plugin needs nothing else; the
tests check them against scikit-learn.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def check_binary_labels(labels, name="labels"):
    """0/1 labels as an int array; ValueError naming what is wrong.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        1 marks a known anomaly, 0 a normal row.
    name : str
        How messages name the labels.

    Returns
    -------
    ndarray of int, shape (n_samples,)
    """
    values = np.asarray(labels, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError(f"{name} has {int(np.isnan(values).sum())} missing value(s); every "
                         "row needs a label (1 = anomaly, 0 = normal).")
    other = np.setdiff1d(np.unique(values), [0.0, 1.0])
    if other.size:
        shown = ", ".join(f"{v:g}" for v in other[:5])
        raise ValueError(f"{name} has values other than 0 and 1 ({shown}); use 1 for a known "
                         "anomaly and 0 for a normal row.")
    if np.unique(values).size < 2:
        raise ValueError(f"{name} is {int(values[0])} in every row; ROC-AUC and average "
                         "precision need both anomalies (1) and normal rows (0).")
    return values.astype(int)


def roc_auc(labels, scores):
    """Area under the ROC curve of ``scores`` (higher = more anomalous): a float.

    The Mann-Whitney statistic with tied scores counted half: the chance
    that a random anomaly scores higher than a random normal row.

    Parameters
    ----------
    labels : ndarray of int, shape (n_samples,)
        0/1, both present.
    scores : ndarray of shape (n_samples,)
    """
    labels = np.asarray(labels)
    ranks = rankdata(scores)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels, scores):
    """Average precision: sum over thresholds of (R_n - R_{n-1}) P_n, a float.

    As scikit-learn's ``average_precision_score``: the thresholds are the
    distinct scores, from the highest down.
    """
    labels = np.asarray(labels)
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    ranked_scores, ranked = np.asarray(scores)[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked_scores)), ranked.size - 1]
    true_pos = np.cumsum(ranked)[last_of_tie]
    precision = true_pos / (last_of_tie + 1)
    recall = true_pos / ranked.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def label_report(labels, scores, flags):
    """How the scores and flags find the labelled anomalies: dict.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        0/1 (checked by :func:`check_binary_labels`).
    scores : ndarray of shape (n_samples,)
        Higher is more anomalous.
    flags : ndarray of int, shape (n_samples,)
        1 for a row flagged as an outlier.

    Returns
    -------
    dict
        ``n_anomalies`` (labelled 1), ``roc_auc``, ``average_precision``,
        ``precision_at_threshold`` (share of flagged rows labelled 1; None
        when nothing is flagged) and ``recall_at_threshold`` (share of
        labelled anomalies flagged).
    """
    labels = check_binary_labels(labels)
    flags = np.asarray(flags)
    n_flagged = int(flags.sum())
    hits = int((labels[flags == 1]).sum())
    return {
        "n_anomalies": int(labels.sum()),
        "roc_auc": roc_auc(labels, scores),
        "average_precision": average_precision(labels, scores),
        "precision_at_threshold": hits / n_flagged if n_flagged else None,
        "recall_at_threshold": hits / int(labels.sum()),
    }
