"""BayesianGaussianMixture: gmmkit against scikit-learn, seconds per iteration.

    python benchmarks/bench_bayesian.py [--rows 200000] [--features 16] [--components 16]

Both estimators run a fixed number of variational iterations (tol=0) on the
same data; the time per iteration is the difference between a fit of
1 + iters iterations and a fit of 1, so initialisation (k-means) is left
out. The parity tests (tests/estimators/test_bayesian.py) check that both give the
same model from the same start.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.mixture import BayesianGaussianMixture as SkBayesian

from gmmkit import BayesianGaussianMixture


def fit_seconds(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached on purpose
        start = time.perf_counter()
        estimator.fit(X)
    return time.perf_counter() - start


def seconds_per_iteration(make, X, iterations):
    """(fit with 1 + iterations) - (fit with 1 iteration), per iteration: no initialisation."""
    return (fit_seconds(make(1 + iterations), X) - fit_seconds(make(1), X)) / iterations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (args.components, args.features))
    X = centres[rng.integers(args.components, size=args.rows)] + rng.normal(
        size=(args.rows, args.features)
    )
    print(f"{args.rows} x {args.features}, K={args.components}, {args.iters} iterations")
    print(f"{'covariance':<10} {'sklearn s/iter':>14} {'gmmkit s/iter':>14} {'faster':>7}")
    for covariance_type in ("full", "diag"):
        params = dict(n_components=args.components, covariance_type=covariance_type,
                      tol=0.0, random_state=0)
        sk = seconds_per_iteration(lambda n: SkBayesian(max_iter=n, **params), X, args.iters)
        gk = seconds_per_iteration(
            lambda n: BayesianGaussianMixture(max_iter=n, **params), X, args.iters
        )
        print(f"{covariance_type:<10} {sk:>14.3f} {gk:>14.3f} {sk / gk:>6.1f}x")


if __name__ == "__main__":
    main()
