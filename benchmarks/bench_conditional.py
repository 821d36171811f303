"""Posterior weights of conditioning (conditional_moments) on many rows, per covariance type.

    python benchmarks/bench_conditional.py [--rows N] [--repeat R]

A 16-component mixture fitted on 8 features (20,000 rows, 20 EM iterations);
conditional_moments of N rows (default 200,000) observed on 6 of the
features. Prints the best of R runs (default 3) per covariance type, in
seconds and rows per second. The weights run the engine's far-row scoring
(direct form, every row on its own) on the engine's threads.
"""

import argparse
import sys
import time

import numpy as np

from gmmkit import GaussianMixture
from gmmkit.estimators.conditional import conditional_moments


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print("covariance  seconds  rows/s")
    for covariance_type in ("full", "diag", "tied", "spherical"):
        X = rng.normal(size=(20_000, 8)) + rng.integers(0, 4, (20_000, 1)) * 3.0
        model = GaussianMixture(16, covariance_type=covariance_type, max_iter=20,
                                random_state=0).fit(X)
        rows = rng.normal(size=(args.rows, 6)) * 3.0
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            conditional_moments(model, rows, np.arange(6))
            times.append(time.perf_counter() - start)
        best = min(times)
        print(f"{covariance_type:10s}  {best:7.3f}  {args.rows / best:9.0f}")
        print(f"  ({covariance_type} done)", file=sys.stderr)


if __name__ == "__main__":
    main()
