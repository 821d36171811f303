"""Per-call latency of predict/score calls, gmmkit against scikit-learn in the same run.

    python benchmarks/bench_latency.py            # 1, 35, 1,000 and 100,000 rows
    python benchmarks/bench_latency.py --quick    # 1, 35 and 1,000 rows, fewer repeats
    python benchmarks/bench_latency.py --only Regressor   # the cases whose name has "Regressor"

Serving, streaming and per-utterance scoring make many small calls: what
matters there is the fixed cost of a call, not the throughput. For each
estimator and method this prints the median microseconds per call of
gmmkit and of its scikit-learn counterpart with the same parameters
(copied from the gmmkit fit), and the ratio gmmkit / scikit-learn (below
1: gmmkit is faster). The two results are compared before timing.

- GaussianMixture, K=64 diag on 60 features and K=8 full on 16 features:
  predict, predict_proba, score_samples, score against
  ``sklearn.mixture.GaussianMixture``.
- BayesianGaussianMixture (K=16 diag, 60 features): predict, predict_proba
  against ``sklearn.mixture.BayesianGaussianMixture`` (fitted on its own:
  its variational parameters are not copied, only the times compare).
- GMMClassifier (3 classes, K=4 full, 16 features): predict_proba against
  one scikit-learn GaussianMixture per class and Bayes' rule in numpy.
- GaussianMixtureRegressor (K=8 full, 15 features + 1 target): predict
  against scikit-learn's predict_proba on the marginal mixture of X and
  the per-component conditional means in numpy.
- The outliers plugin's single-model detector (K=8 full, 16 features):
  decision_function against PyOD's ``GMM`` (scikit-learn inside), when
  PyOD is installed.
- The speech plugin's ``score_speakers`` over 300 utterances of 200 frames
  with 6 MAP-adapted speakers (K=64 diag UBM, 60 features): seconds in all.

Times are medians over repeats (at least 5, up to 1 s per case); the
machine may be shared, so compare the ratios, which come from one run.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

#: rows per call
SIZES = (1, 35, 1_000, 100_000)
QUICK_SIZES = (1, 35, 1_000)


def median_us(function, budget=1.0, min_repeat=5, max_repeat=2000):
    """Median microseconds of ``function()`` over repeats that fit in ``budget`` seconds."""
    function()  # warm up
    times, spent = [], 0.0
    while len(times) < min_repeat or (spent < budget and len(times) < max_repeat):
        start = time.perf_counter()
        function()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return 1e6 * float(np.median(times))


def copy_parameters(source, target):
    """Give a fitted scikit-learn GaussianMixture gmmkit's fitted parameters."""
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        setattr(target, name, np.asarray(getattr(source, name), dtype=np.float64))
    return target


def mixture_cases(rng):
    """(name, gmmkit model, scikit-learn model, data) of the GaussianMixture cases."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from gmmkit import GaussianMixture

    cases = []
    for k, cov, d in ((64, "diag", 60), (8, "full", 16)):
        X = rng.normal(size=(5_000, d)) + rng.integers(0, 4, size=(5_000, 1))
        ours = GaussianMixture(k, covariance_type=cov, max_iter=10, random_state=0).fit(X)
        theirs = SkGaussianMixture(k, covariance_type=cov, max_iter=1, random_state=0).fit(X)
        cases.append((f"GaussianMixture K={k} {cov}", ours, copy_parameters(ours, theirs), d))
    return cases


def method_rows(rng, n_max):
    """Test rows, drawn once: (n_max, d) per feature count, sliced per call size."""
    return {d: rng.normal(size=(n_max, d)) for d in (15, 16, 60)}


def sklearn_classifier(ours):
    """predict_proba of the classifier's class mixtures in scikit-learn, Bayes' rule in numpy."""
    from scipy.special import logsumexp
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    models = []
    for model in ours.estimators_:
        sk = SkGaussianMixture(len(model.weights_), covariance_type=model.covariance_type)
        models.append(copy_parameters(model, sk))
    log_prior = np.log(ours.class_prior_)

    def predict_proba(X):
        joint = np.column_stack([m.score_samples(X) for m in models]) + log_prior
        return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))

    return predict_proba


def sklearn_regressor(ours):
    """Conditional means of y | x: scikit-learn's predict_proba of the marginal mixture of X."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    gmm, d = ours.gmm_, ours.n_features_in_
    cov = np.asarray(gmm.covariances_)
    marginal = SkGaussianMixture(len(gmm.weights_), covariance_type="full")
    marginal.weights_ = np.asarray(gmm.weights_)
    marginal.means_ = np.asarray(gmm.means_)[:, :d]
    marginal.covariances_ = cov[:, :d, :d]
    marginal.precisions_cholesky_ = np.array(
        [np.linalg.cholesky(np.linalg.inv(c)) for c in marginal.covariances_]
    )
    # regression of y on x per component: E[y | x, k] = a_k + x @ B_k
    slopes = np.array([np.linalg.solve(c[:d, :d], c[:d, d:]) for c in cov])  # (K, d, t)
    intercepts = np.asarray(gmm.means_)[:, d:] - np.einsum("kd,kdt->kt", marginal.means_, slopes)

    def predict(X):
        resp = marginal.predict_proba(X)
        means = np.einsum("nd,kdt->nkt", X, slopes) + intercepts
        return np.einsum("nk,nkt->nt", resp, means)[:, 0]

    return predict


def estimator_cases(rng):
    """(name, method, gmmkit callable, scikit-learn callable, features) of every case."""
    from sklearn.mixture import BayesianGaussianMixture as SkBayesian

    from gmmkit import BayesianGaussianMixture, GaussianMixtureRegressor, GMMClassifier

    cases = []
    for name, ours, theirs, d in mixture_cases(rng):
        for method in ("predict", "predict_proba", "score_samples", "score"):
            cases.append((name, method, getattr(ours, method), getattr(theirs, method), d))
    X = rng.normal(size=(5_000, 60)) + rng.integers(0, 4, size=(5_000, 1))
    ours = BayesianGaussianMixture(n_components=16, covariance_type="diag", max_iter=20,
                                   random_state=0).fit(X)
    theirs = SkBayesian(n_components=16, covariance_type="diag", max_iter=20,
                        random_state=0).fit(X)
    for method in ("predict", "predict_proba"):
        cases.append(("BayesianGaussianMixture K=16 diag", method, getattr(ours, method),
                      getattr(theirs, method), 60))
    X = rng.normal(size=(3_000, 16))
    y = np.repeat([0, 1, 2], 1_000)
    X += y[:, None]
    classifier = GMMClassifier(4, covariance_type="full", max_iter=10, random_state=0).fit(X, y)
    cases.append(("GMMClassifier 3 x K=4 full", "predict_proba", classifier.predict_proba,
                  sklearn_classifier(classifier), 16))
    X = rng.normal(size=(5_000, 15))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=5_000)
    regressor = GaussianMixtureRegressor(8, max_iter=10, random_state=0).fit(X, y)
    cases.append(("GaussianMixtureRegressor K=8 full", "predict", regressor.predict,
                  sklearn_regressor(regressor), 15))
    cases.extend(outlier_cases(rng))
    return cases


def outlier_cases(rng):
    """The outliers plugin's single-model detector against PyOD's GMM (empty without PyOD)."""
    try:
        from gmmkit_outliers import GMMOutlierDetector
        from pyod.models.gmm import GMM
    except ImportError:
        return []
    X = rng.normal(size=(5_000, 16))
    ours = GMMOutlierDetector(n_components=8, ensemble=None, random_state=0).fit(X)
    theirs = GMM(n_components=8, covariance_type="full", max_iter=10, random_state=0).fit(X)
    return [("GMMOutlierDetector K=8 full (PyOD GMM)", "decision_function",
             ours.decision_function, theirs.decision_function, 16)]


def check_agreement(name, method, ours, theirs, X):
    """The results agree (GaussianMixture with the same parameters) or at least have one shape."""
    a, b = np.asarray(ours(X)), np.asarray(theirs(X))
    if a.shape != b.shape:
        raise AssertionError(f"{name} {method}: shapes {a.shape} and {b.shape} differ")
    if name.startswith(("GaussianMixture ", "GMMClassifier", "GaussianMixtureRegressor")):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8, err_msg=f"{name} {method}")


def speech_case(repeat=3):
    """Seconds of score_speakers over 300 utterances x 6 speakers (best of ``repeat``)."""
    from gmmkit_speech import FeatureConfig, map_adapt, score_speakers

    from gmmkit import ConvergenceWarning, GaussianMixture

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 60)) + rng.integers(0, 4, size=(20_000, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ubm = GaussianMixture(64, covariance_type="diag", max_iter=3, random_state=0).fit(X)
    ubm.speech_ = {"role": "ubm", "features": FeatureConfig().to_dict()}  # 60 features
    speakers = {f"speaker{i}": map_adapt(ubm, X[i * 1000:(i + 1) * 1000]) for i in range(6)}
    utterances = [X[rng.integers(0, len(X), 200)] for _ in range(300)]
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for frames in utterances:
            score_speakers(speakers, ubm, frames)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="calls of up to 1,000 rows only")
    parser.add_argument("--only", metavar="TEXT", help="only the estimators whose name "
                        "contains TEXT (e.g. Regressor), without score_speakers")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    budget = 0.3 if args.quick else 1.0
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits do not converge; timing only
        cases = estimator_cases(rng)
    rows = method_rows(rng, max(sizes))
    print(f"{'estimator':<40} {'method':<18} {'rows':>7} {'gmmkit us':>10} {'sklearn us':>11} "
          f"{'ratio':>6}")
    worst = 0.0
    for name, method, ours, theirs, d in cases:
        if args.only and args.only not in name:
            continue
        for n in sizes:
            X = rows[d][:n]
            if n == 1_000:
                check_agreement(name, method, ours, theirs, X)
            t_ours = median_us(lambda: ours(X), budget)
            t_theirs = median_us(lambda: theirs(X), budget)
            ratio = t_ours / t_theirs
            if n <= 1_000:
                worst = max(worst, ratio)
            print(f"{name:<40} {method:<18} {n:>7} {t_ours:>10.0f} {t_theirs:>11.0f} "
                  f"{ratio:>6.2f}", flush=True)
    print(f"worst small-call ratio (<= 1,000 rows): {worst:.2f}")
    if args.only:
        return
    try:
        seconds = speech_case(1 if args.quick else 3)
    except ImportError as error:
        print(f"score_speakers: skipped ({error})", file=sys.stderr)
    else:
        print(f"score_speakers, 300 utterances x 200 frames, 6 speakers, K=64 diag: "
              f"{seconds:.3f} s")


if __name__ == "__main__":
    main()
