"""The third round's prototype variants of the outlier ensemble (benchmarks/README.md).

    python benchmarks/outlier_variants.py VARIANT OUT.json [--params JSON] [--group tuning]
        [--seeds 3] [--first-seed 0]

Each variant is the default ``GMMOutlierDetector(random_state=seed, **params)``
changed in one way that gmmkit does not offer as an option (none of them
was kept); it scores the training rows, as bench_outliers.py's ``ensemble``
does, and the results are written in bench_outliers.py's JSON layout:

- ``quantile``: every column replaced by the normal score of its mid-rank
  (a Gaussian copula) before the detector; on the training rows this is
  what a transform fitted inside the detector would give;
- ``yeo-johnson``: each column centred by its median, divided by its
  IQR / 1.349, then Yeo-Johnson with scipy's maximum-likelihood lambda;
- ``alternate``: every second member one robust Gaussian (K=1), the others
  K by BIC;
- ``tailW``: the robustly standardised ensemble score plus W times the
  robustly standardised ECOD-like tail term (the sum over the columns of
  minus the log of the smaller empirical tail probability); ``tail`` is W=1;
- ``gmm1W``: the robustly standardised ensemble score plus W times that of
  one full-covariance Gaussian (bench_outliers.py's GMM(1));
- ``dequantiseF``: after the fit, F x step**2 is added to the variance of
  every scaled column with at most 32 distinct training values (step: its
  smallest gap between distinct values; 1/12 is the variance of a uniform
  over one step) in every member's covariances, and the members are
  standardised again.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_outliers as bench  # noqa: E402

#: dequantise: columns with at most this many distinct training values are discrete
DISCRETE_LEVELS = 32


def robust_z(scores):
    """(scores - median) / (IQR / 1.349); the standard deviation if the IQR is 0."""
    q1, median, q3 = np.percentile(scores, [25, 50, 75])
    spread = (q3 - q1) / 1.3489795003921634
    if not spread > 0:
        spread = scores.std() or 1.0
    return (scores - median) / spread


def quantile_columns(X):
    """Each column as the normal scores of its mid-ranks: ndarray like X."""
    from scipy import stats

    out = np.empty_like(X, dtype=float)
    n = len(X)
    for j, column in enumerate(X.T):
        unique, inverse, counts = np.unique(column, return_inverse=True, return_counts=True)
        below = np.cumsum(counts) - counts
        out[:, j] = stats.norm.ppf((below + counts / 2.0) / n)[inverse]
    return out


def yeo_johnson_columns(X):
    """Each column robustly scaled, then Yeo-Johnson with its ML lambda: ndarray like X."""
    from scipy import stats

    out = np.empty_like(X, dtype=float)
    for j, column in enumerate(X.T):
        q1, median, q3 = np.percentile(column, [25, 50, 75])
        spread = (q3 - q1) / 1.3489795003921634
        if not spread > 0:
            spread = column.std() or 1.0
        scaled = (column - median) / spread
        out[:, j] = stats.yeojohnson(scaled)[0] if np.ptp(scaled) > 0 else scaled
    return out


def tail_term(X):
    """ECOD-like: sum over the columns of -log(min(left, right) empirical tail): (n,)."""
    X = X[:, np.ptp(X, axis=0) > 0]
    n = len(X)
    total = np.zeros(n)
    for column in X.T:
        order = np.sort(column)
        left = np.searchsorted(order, column, side="right") / n
        right = (n - np.searchsorted(order, column, side="left")) / n
        total += -np.log(np.minimum(left, right))
    return total


def dequantised(detector, X, factor):
    """The fitted ensemble with variance floors on its discrete columns: its new scores."""
    from gmmkit_outliers import combination, ensemble, scoring
    from gmmkit_outliers.covariance import layout

    Z = detector._scaled(X)
    floor = np.zeros(Z.shape[1])
    for j, column in enumerate(Z.T):
        unique = np.unique(column)
        if 1 < unique.size <= DISCRETE_LEVELS:
            floor[j] = factor * np.diff(unique).min() ** 2
    for member in detector.members_:
        normal, add = member.normal, floor[member.features]
        cov = np.array(normal.covariances_, dtype=float)
        kind = layout(normal.covariance_type)
        if kind == "full":
            cov = cov + np.diag(add)[None]
            chol = np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in cov])
        elif kind == "tied":
            cov = cov + np.diag(add)
            chol = np.linalg.inv(np.linalg.cholesky(cov)).T
        else:
            cov = cov + (add[None] if kind == "diag" else add.mean())
            chol = 1.0 / np.sqrt(cov)
        member.normal = scoring.mixture_from_arrays(
            normal.covariance_type, normal.missing, normal.weights_, normal.means_, cov, chol)
        member.center, member.spread = ensemble.score_scale(member.raw_scores(Z),
                                                            detector.member_scale)
    return combination.combine(ensemble.member_scores(detector.members_, Z),
                               detector.combination, detector.buckets_)


def variant_scores(variant, params):
    """A bench_outliers.py detector function (X, seed) -> scores for ``variant``."""
    from gmmkit_outliers import GMMOutlierDetector, scoring

    def score(X, seed):
        detector = GMMOutlierDetector(random_state=seed, **params)
        if variant == "quantile":
            return detector.fit(quantile_columns(X)).decision_scores_
        if variant == "yeo-johnson":
            return detector.fit(yeo_johnson_columns(X)).decision_scores_
        if variant == "alternate":
            original, calls = scoring.fit_mixture, [0]

            def alternating(Z, *, params, **options):
                calls[0] += 1
                if calls[0] % 2 == 0:
                    params = {**params, "n_components": 1}
                return original(Z, params=params, **options)

            scoring.fit_mixture = alternating
            try:
                return detector.fit(X).decision_scores_
            finally:
                scoring.fit_mixture = original
        scores = detector.fit(X).decision_scores_
        for prefix, other in (("tail", lambda: tail_term(X)),
                              ("gmm1", lambda: bench.single_gaussian_scores(X, seed))):
            if variant.startswith(prefix):
                weight = float(variant[len(prefix):] or 1)
                return robust_z(scores) + weight * robust_z(other())
        if variant.startswith("dequantise"):
            return dequantised(detector, X, float(variant[len("dequantise"):]))
        raise ValueError(f"unknown variant {variant!r}")

    return score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant")
    parser.add_argument("out", help="the JSON results (bench_outliers.py's layout)")
    parser.add_argument("--params", default="{}", help="other detector arguments, JSON")
    parser.add_argument("--group", choices=["tuning", *bench.GROUPS], default="tuning")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = bench.TUNING if args.group == "tuning" else (args.group,)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    score = variant_scores(args.variant, json.loads(args.params))
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            table = bench.run(bench.GROUPS[name], {"ensemble": score}, seeds)
            results[name] = {"table": table, "summary": bench.summary(table, ["ensemble"])}
    Path(args.out).write_text(json.dumps(results, indent=1))
    means = [row["ensemble"]["auc"] for name in names for row in results[name]["table"]]
    print(f"{args.variant}: mean ROC-AUC {np.mean(means):.4f} over {len(means)} protocols")


if __name__ == "__main__":
    main()
