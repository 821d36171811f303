"""ROC-AUC of GMMOutlierDetector against PyOD-style GMM(n_components=1) and IsolationForest.

Data no one here generated: scikit-learn's bundled tables, each turned
into an anomaly-detection set the way the ODDS benchmark does it (one
class down-sampled to a small share, seeded). Every detector scores the
same standardised rows in the same run (unsupervised: labels are used
for the ROC-AUC only). Constant columns are dropped first (digits has
pixels that are always 0).

    python benchmarks/bench_outliers.py          # the tables, with seconds per fit

The detector's defaults (covariance_type="tied", the small-weight rule)
were chosen by comparing options on PROTOCOLS; HELD_OUT are protocols
that were looked at only after that choice, reported as a second table.

tests/outliers/test_outliers_quality.py runs :func:`compare` and checks the averages.
"""

from __future__ import annotations

import time

import numpy as np

#: (name, loader, outlier class, outlier share, inlier classes or None for all others)
PROTOCOLS = (
    ("breast_cancer", "load_breast_cancer", 0, 0.10, None),  # malignant rare
    ("wine", "load_wine", 0, 0.10, None),
    ("digits", "load_digits", 0, 0.05, (1, 2, 3, 4, 5)),  # a subset, to stay fast
    ("iris", "load_iris", 0, 0.10, None),  # setosa rare: a tight, separate cluster
)

#: other classes and shares, not looked at when the defaults were chosen (a check that
#: the defaults were not fitted to PROTOCOLS)
HELD_OUT = (
    ("breast_cancer 5%", "load_breast_cancer", 0, 0.05, None),
    ("wine class 1", "load_wine", 1, 0.10, None),
    ("wine class 2", "load_wine", 2, 0.10, None),
    ("digits 7/all", "load_digits", 7, 0.05, None),
    ("digits 3/6-9", "load_digits", 3, 0.05, (6, 7, 8, 9)),
    ("iris virginica", "load_iris", 2, 0.10, None),
    ("iris versicolor", "load_iris", 1, 0.10, None),
)


def make_set(loader, outlier_class, share, inliers, *, seed=0):
    """(X, y) with y = 1 for the down-sampled outlier class, constant columns dropped."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    X, target = bunch.data, bunch.target
    is_inlier = target != outlier_class if inliers is None else np.isin(target, inliers)
    inlier_rows = np.flatnonzero(is_inlier)
    outlier_rows = np.flatnonzero(target == outlier_class)
    n_outliers = int(round(share * len(inlier_rows) / (1.0 - share)))
    rng = np.random.default_rng(seed)
    rows = np.concatenate([inlier_rows, rng.choice(outlier_rows, n_outliers, replace=False)])
    X = X[rows]
    y = (target[rows] == outlier_class).astype(int)
    return X[:, X.std(axis=0) > 0], y


def single_gaussian_scores(Z):
    """PyOD's GMM(n_components=1): minus the log density of one full-covariance Gaussian."""
    from gmmkit import GaussianMixture

    return -GaussianMixture(1, random_state=0).fit(Z).score_samples(Z)


def isolation_forest_scores(Z):
    from sklearn.ensemble import IsolationForest

    return -IsolationForest(random_state=0).fit(Z).score_samples(Z)


def detector_scores(Z, **params):
    from gmmkit_outliers import GMMOutlierDetector

    return GMMOutlierDetector(random_state=0, **params).fit(Z).decision_scores_


def ablations():
    """The default detector with one choice changed at a time: {label: score function}."""
    from functools import partial

    return {
        "default": detector_scores,
        "robust=False": partial(detector_scores, robust=False),
        "full cov": partial(detector_scores, covariance_type="full"),
        "diag cov": partial(detector_scores, covariance_type="diag"),
        "n_refits=1": partial(detector_scores, n_refits=1),
    }


def compare(detectors=None, protocols=PROTOCOLS):
    """ROC-AUC of every detector on every protocol.

    Returns
    -------
    list of dict
        One row per data set: name, shape, share of outliers, and for each
        detector its ROC-AUC and seconds.
    """
    from sklearn.metrics import roc_auc_score

    detectors = detectors or {
        "gmmkit": detector_scores,
        "GMM(1)": single_gaussian_scores,
        "IsolationForest": isolation_forest_scores,
    }
    table = []
    for name, loader, outlier_class, share, inliers in protocols:
        X, y = make_set(loader, outlier_class, share, inliers)
        Z = (X - X.mean(axis=0)) / X.std(axis=0)
        row = {"data": name, "shape": X.shape, "outliers": float(y.mean())}
        for label, score in detectors.items():
            start = time.perf_counter()
            scores = score(Z)
            row[label] = float(roc_auc_score(y, scores))
            row[f"{label} s"] = time.perf_counter() - start
        table.append(row)
    return table


def averages(table, labels):
    return {label: float(np.mean([row[label] for row in table])) for label in labels}


def format_table(table, labels):
    header = f"{'data':<17}{'rows x cols':>12}{'outliers':>9}" + "".join(
        f"{label:>17}" for label in labels
    )
    lines = [header]
    for row in table:
        shape = f"{row['shape'][0]} x {row['shape'][1]}"
        cells = "".join(f"{row[label]:>10.3f} ({row[f'{label} s']:.2f}s)" for label in labels)
        lines.append(f"{row['data']:<17}{shape:>12}{row['outliers']:>9.3f}{cells}")
    mean = averages(table, labels)
    lines.append(f"{'average':<38}" + "".join(f"{mean[label]:>10.3f}{'':7}" for label in labels))
    return "\n".join(lines)


if __name__ == "__main__":
    labels = ["gmmkit", "GMM(1)", "IsolationForest"]
    print("ROC-AUC (seconds per fit and score in brackets)")
    print(format_table(compare(), labels))
    print("\nheld-out protocols (not used to choose the defaults)")
    print(format_table(compare(protocols=HELD_OUT), labels))
    print("\nablations: the default detector with one option changed (all protocols)")
    variants = ablations()
    print(format_table(compare(variants, PROTOCOLS + HELD_OUT), list(variants)))
