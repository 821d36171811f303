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

The fifth round's (benchmarks/README.md), each the default changed in one way:

- ``oob-k``: each member's K (1..5) is the one whose mixture gives the
  member's out-of-bag rows (those its bootstrap did not draw, at most
  2,048 of them) the highest mean log-likelihood, instead of the lowest BIC;
- ``mclust-cov``: each member's covariance type and K together by BIC,
  among full, tied, diag and spherical and K 1..5 (mclust's way);
- ``random-cov``: each member's covariance type drawn at random among the
  four (from the member's own seed), K by BIC;
- ``lk-subspace``: Lazarevic and Kumar's feature bagging as published: each
  member on between floor(d / 2) and d - 1 of the d columns (one column
  when d <= 2), never all of them;
- ``rank``: the members combined by the average of their percentile ranks
  (each training row's rank among the member's training scores, / n)
  instead of their robustly standardised scores;
- ``mahalanobis``: a member's score is the squared Mahalanobis distance to
  its nearest trusted component (robustly standardised) instead of minus
  the log density;
- ``icl``: each member's K by ICL (BIC plus twice the entropy of the
  responsibilities) instead of BIC.

The sixth and seventh rounds':

- ``jitter``: each member's discrete columns dequantised by U(-step/2, step/2)
  before its fit;
- ``nonrobust-discrete``: ``robust=False`` when half the columns or more are
  discrete;
- ``k-average``: the mean of the standardised ensembles of K = 1, ..., 5;
- ``robust-average``: the mean of the standardised robust and plain ensembles;
- ``classifier-reg``: GMMClassifier's ``reg_covar="auto"`` rule in every member;
- ``k10``: each member's K by BIC from 1..10 instead of 1..5;
- ``with-single``: the mean of the standardised scores of the ensemble and the
  single robust model (fitted to at most :data:`SINGLE_ROWS` rows);
- ``k10-single``: both.
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


#: oob-k: at most this many out-of-bag rows score a member's candidate K
OOB_ROWS = 2048
#: mclust-cov, random-cov: the covariance types a member chooses among
MEMBER_TYPES = ("full", "tied", "diag", "spherical")


def member_fit(choose, draw_log=None):
    """A replacement of scoring._fit for ensemble members: (type, K) by ``choose``.

    ``choose(params, fits, Z, weights)`` gets the successful fits as a dict
    {(covariance_type, K): model} of every candidate type (its
    ``types(params)`` attribute lists them; default: the member's own) and
    K 1..max_components, and returns the chosen model. The single model
    (``max_components`` None) is fitted as before.
    """
    from gmmkit_outliers import scoring

    from gmmkit import GaussianMixture

    original = scoring._fit

    def fit(Z, weights, params, max_components):
        if max_components is None:
            return original(Z, weights, params, max_components)
        types = getattr(choose, "types", lambda params: [params["covariance_type"]])(params)
        fits = {}
        for covariance_type in types:
            for k in range(1, max_components + 1):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model = GaussianMixture(**{**params, "n_components": k,
                                                   "covariance_type": covariance_type})
                        fits[covariance_type, k] = model.fit(Z, sample_weight=weights)
                except ValueError:
                    break
        if not fits:
            return original(Z, weights, params, max_components)
        return choose(params, fits, Z, weights)

    return fit


def by_criterion(name):
    def choose(params, fits, Z, weights):
        return min(fits.values(), key=lambda model: getattr(model, name)(Z, sample_weight=weights))

    return choose


def random_types(params):
    return [MEMBER_TYPES[np.random.default_rng(params["random_state"]).integers(4)]]


class OutOfBag:
    """oob-k: remembers each member's out-of-bag rows (a wrapped ensemble._draw)."""

    def __init__(self):
        from gmmkit_outliers import ensemble

        self.original, self.rows = ensemble._draw, None

    def draw(self, Z, rng, n_rows, max_features, bootstrap):
        # ensemble._draw, with the drawn rows kept: the same calls on rng, the same members
        from gmmkit_outliers import ensemble

        for _ in range(ensemble.MAX_DRAWS):
            features = ensemble.draw_subspace(rng, Z.shape[1], max_features)
            rows = rng.choice(len(Z), n_rows, replace=bootstrap)
            sample = Z[np.ix_(rows, features)]
            varying = ensemble._varies(sample)
            if varying.any():
                out = np.setdiff1d(np.arange(len(Z)), rows)
                out = out[:: max(1, int(np.ceil(out.size / OOB_ROWS)))]
                self.rows = Z[np.ix_(out, features[varying])]
                sample = sample[:, varying]
                return features[varying], sample[~np.isnan(sample).all(axis=1)]
        return self.original(Z, rng, n_rows, max_features, bootstrap)

    def choose(self, params, fits, Z, weights):
        if self.rows is None or len(self.rows) < 10:
            return by_criterion("bic")(params, fits, Z, weights)
        return max(fits.values(), key=lambda model: model.score(self.rows))


def lk_subspace(rng, n_features, max_features):
    """Lazarevic and Kumar: floor(d / 2) to d - 1 columns (1 when d <= 2): sorted indices."""
    low = max(1, n_features // 2)
    high = max(low, n_features - 1)
    return np.sort(rng.choice(n_features, int(rng.integers(low, high + 1)), replace=False))


def nearest_mahalanobis(normal, Z):
    """Squared Mahalanobis distance of each row to its nearest component: shape (n,)."""
    from gmmkit_outliers.covariance import layout

    kind, chol = layout(normal.covariance_type), np.asarray(normal.precisions_cholesky_)
    distances = []
    for k, mean in enumerate(normal.means_):
        if kind in ("full", "tied"):
            y = (Z - mean) @ (chol if kind == "tied" else chol[k])
        else:
            y = (Z - mean) * chol[k]
        distances.append((y**2).sum(axis=1))
    return np.min(distances, axis=0)


def rescored(detector, X, variant):
    """rank and mahalanobis: the fitted default's members, scored the variant's way."""
    from scipy.stats import rankdata

    Z = detector._scaled(X)
    columns = []
    for member in detector.members_:
        part = Z[:, member.features]
        if variant == "rank":
            columns.append(rankdata(member.raw_scores(Z)) / len(Z))
        else:
            columns.append(robust_z(nearest_mahalanobis(member.normal, part)))
    return np.mean(columns, axis=0)


#: the fifth round's variants that change how the members are fitted: the patches
FIT_VARIANTS = ("oob-k", "mclust-cov", "random-cov", "lk-subspace", "icl")


def fitted_variant(variant, detector, X):
    """Fit ``detector`` with the fifth round's ``variant`` patched in: its training scores."""
    from gmmkit_outliers import ensemble, scoring

    saved = scoring._fit, ensemble._draw, ensemble.draw_subspace
    try:
        if variant == "oob-k":
            bag = OutOfBag()
            ensemble._draw = bag.draw
            scoring._fit = member_fit(bag.choose)
        elif variant == "lk-subspace":
            ensemble.draw_subspace = lk_subspace
        else:
            choose = by_criterion("icl" if variant == "icl" else "bic")
            if variant != "icl":
                choose.types = (lambda params: list(MEMBER_TYPES)) if variant == "mclust-cov" \
                    else random_types
            scoring._fit = member_fit(choose)
        return detector.fit(X).decision_scores_
    finally:
        scoring._fit, ensemble._draw, ensemble.draw_subspace = saved


#: k-average: the members' K, each fitted with the same draws of rows and columns
AVERAGED_KS = (1, 2, 3, 4, 5)
#: nonrobust-discrete: the share of discrete columns from which members are plain mixtures
DISCRETE_SHARE = 0.5


def training_scores(params, X, seed, **changes):
    """The training scores of ``GMMOutlierDetector(random_state=seed, **params)``, changed."""
    from gmmkit_outliers import GMMOutlierDetector

    return GMMOutlierDetector(random_state=seed, **{**params, **changes}).fit(X).decision_scores_


def k_averaged(params, X, seed):
    """k-average: the mean of the robustly standardised scores of K = 1..5, same draws."""
    return np.mean([robust_z(training_scores(params, X, seed, n_components=k))
                    for k in AVERAGED_KS], axis=0)


def robust_averaged(params, X, seed):
    """robust-average: the mean of the standardised robust and plain ensembles' scores."""
    return np.mean([robust_z(training_scores(params, X, seed, robust=robust))
                    for robust in (True, False)], axis=0)


def nonrobust_discrete(params, X, seed):
    """nonrobust-discrete: ``robust=False`` when half the columns or more are discrete."""
    return training_scores(params, X, seed, robust=discrete_share(X) < DISCRETE_SHARE)


def discrete_share(X):
    """The share of X's varying columns that are discrete (gmmkit_outliers.discrete): a float."""
    from gmmkit_outliers.discrete import discrete_steps

    varying = np.nanstd(X, axis=0) > 0
    return float((discrete_steps(X)[varying] > 0).mean()) if varying.any() else 0.0


def jittered(params, X, seed):
    """jitter: each member's discrete columns dequantised by a uniform jitter before its fit.

    A discrete column's drawn values get U(-step/2, step/2) added (step in the
    scaled space), from a generator of the detector's seed and the member's
    number, so that the member's K by BIC sees a continuous column; the
    members then score the training rows as they are.
    """
    from gmmkit_outliers import detector as module
    from gmmkit_outliers import ensemble

    original_fit, original_draw = module.GMMOutlierDetector._fit_ensemble, ensemble._draw
    members = [0]

    def fit_ensemble(self, Z, floor=None):
        used = self._used_columns(self.n_features_in_)
        steps = self.discrete_steps_[used] / self.scale_[used]

        def draw(Z, rng, n_rows, max_features, bootstrap):
            features, sample = original_draw(Z, rng, n_rows, max_features, bootstrap)
            members[0] += 1
            jitter = np.random.default_rng([seed, members[0]]).uniform(-0.5, 0.5, sample.shape)
            return features, sample + jitter * steps[features]

        ensemble._draw = draw
        try:
            return original_fit(self, Z, floor)
        finally:
            ensemble._draw = original_draw

    module.GMMOutlierDetector._fit_ensemble = fit_ensemble
    try:
        return training_scores(params, X, seed)
    finally:
        module.GMMOutlierDetector._fit_ensemble = original_fit


def classifier_regularised(params, X, seed):
    """classifier-reg: GMMClassifier's reg_covar="auto" rule in every member.

    The columns are standardised, then divided by sqrt(r_j / 0.05) (r_j of
    gmmkit.estimators.classifier_auto_reg.feature_regularisation: 5% of the
    variance plus the rounding variance h_j**2 / 12), and the detector runs
    on them unscaled with reg_covar=0.05: what GMMClassifier does per class.
    """
    from gmmkit.estimators.classifier_auto_reg import AUTO_REG_COVAR, feature_regularisation

    Z = bench.standardised(X)
    Z = Z / np.sqrt(feature_regularisation(Z) / AUTO_REG_COVAR)
    return training_scores(params, Z, seed, scale=None, reg_covar=AUTO_REG_COVAR)


def wider_k(params, X, seed, largest=10):
    """k10: each member's K by BIC from 1..10 (GaussianMixture's own "auto" range), not 1..5."""
    from gmmkit_outliers import ensemble

    saved = ensemble.MEMBER_MAX_COMPONENTS
    ensemble.MEMBER_MAX_COMPONENTS = largest
    try:
        return training_scores(params, X, seed)
    finally:
        ensemble.MEMBER_MAX_COMPONENTS = saved


#: with-single: the single model is fitted to at most this many rows (drawn from the seed)
SINGLE_ROWS = 4096


def single_model_scores(params, X, seed):
    """The single robust model's scores of X, fitted to at most SINGLE_ROWS of its rows."""
    from gmmkit_outliers import GMMOutlierDetector

    detector = GMMOutlierDetector(random_state=seed, **{**params, "ensemble": None})
    if len(X) <= SINGLE_ROWS:
        return detector.fit(X).decision_scores_
    rows = np.random.default_rng(seed).choice(len(X), SINGLE_ROWS, replace=False)
    return detector.fit(X[np.sort(rows)]).decision_function(X)


def with_single(params, X, seed, ensemble_scores=None):
    """with-single: the mean of the standardised scores of the ensemble and the single model."""
    if ensemble_scores is None:
        ensemble_scores = training_scores(params, X, seed)
    return (robust_z(ensemble_scores) + robust_z(single_model_scores(params, X, seed))) / 2


def k10_with_single(params, X, seed):
    """k10-single: with-single, the ensemble's members choosing K from 1..10."""
    return with_single(params, X, seed, ensemble_scores=wider_k(params, X, seed))


#: the sixth round's variants (benchmarks/README.md): functions (params, X, seed) -> scores
SIXTH_VARIANTS = {
    "with-single": with_single,
    "k10-single": k10_with_single,
    "k10": wider_k,
    "classifier-reg": classifier_regularised,
    "k-average": k_averaged,
    "robust-average": robust_averaged,
    "nonrobust-discrete": nonrobust_discrete,
    "jitter": jittered,
}


def variant_scores(variant, params):
    """A bench_outliers.py detector function (X, seed) -> scores for ``variant``."""
    from gmmkit_outliers import GMMOutlierDetector, scoring

    def score(X, seed):
        if variant in SIXTH_VARIANTS:
            return SIXTH_VARIANTS[variant](params, X, seed)
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
        if variant in FIT_VARIANTS:
            return fitted_variant(variant, detector, X)
        scores = detector.fit(X).decision_scores_
        if variant in ("rank", "mahalanobis"):
            return rescored(detector, X, variant)
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
    parser.add_argument("--group", choices=["tuning", "seen", *bench.GROUPS],
                        default="tuning")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = {"tuning": bench.TUNING, "seen": bench.SEEN}.get(args.group, (args.group,))
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
